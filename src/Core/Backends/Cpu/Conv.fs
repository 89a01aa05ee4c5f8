namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Buffers
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Hybrid.Core
open Hybrid.Core.Backends

/// 2-D convolution (im2col + gemm) and pooling over NCHW arrays.
/// Shapes and arguments arrive validated (Ops/Convolution.fs checks them); these are the loops.
module Conv =

    /// Floor division (rounds toward −∞, unlike `/` on negative numerators).
    let private floorDiv (a: int) (b: int) = if a >= 0 then a / b else -((-a + b - 1) / b)

    /// Length of a convolution's output along one axis: ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1.
    let convOutSize (n: int) (k: int) (s: int) (p: int) (d: int) = floorDiv (n + 2 * p - d * (k - 1) - 1) s + 1

    /// Length of a pooling output along one axis, as torch: ceil mode rounds up, but the last window
    /// must start inside the input or its left padding ((o − 1)s < n + p).
    let poolOutSize (n: int) (k: int) (s: int) (p: int) (d: int) (ceilMode: bool) =
        let o = floorDiv (n + 2 * p - d * (k - 1) - 1 + (if ceilMode then s - 1 else 0)) s + 1
        if ceilMode && (o - 1) * s >= n + p then o - 1 else o

    /// Outputs o in [lo, hi) read an in-bounds input: 0 <= o·s + off < n.
    let inline private validRange (off: int) (s: int) (n: int) (outLen: int) =
        let lo = if off >= 0 then 0 else min outLen ((-off + s - 1) / s)
        let hi = if n - 1 - off < 0 then 0 else min outLen ((n - 1 - off) / s + 1)
        struct (lo, max lo hi)

    /// The geometry of one conv2d call, with the per-group gemm sizes.
    [<Struct>]
    type private Geo =
        { N: int; C: int; H: int; W: int; O: int; G: int; Cg: int; Og: int
          KH: int; KW: int; SH: int; SW: int; PH: int; PW: int; DH: int; DW: int
          Ho: int; Wo: int
          /// Rows of a column matrix: Cg·kH·kW.
          K: int
          /// Columns of a column matrix: Ho·Wo.
          L: int }
        /// A 1×1, stride-1, unpadded kernel: the column matrix is the input itself.
        member g.Pointwise = g.KH = 1 && g.KW = 1 && g.SH = 1 && g.SW = 1 && g.PH = 0 && g.PW = 0

    let private geo (xShape: int[]) (wShape: int[]) (spec: Conv2dSpec) =
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let dh, dw = spec.Dilation
        let kh, kw = wShape.[2], wShape.[3]
        let ho = convOutSize xShape.[2] kh sh ph dh
        let wo = convOutSize xShape.[3] kw sw pw dw
        { N = xShape.[0]; C = xShape.[1]; H = xShape.[2]; W = xShape.[3]; O = wShape.[0]; G = spec.Groups
          Cg = xShape.[1] / spec.Groups; Og = wShape.[0] / spec.Groups
          KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw; DH = dh; DW = dw
          Ho = ho; Wo = wo; K = wShape.[1] * kh * kw; L = ho * wo }

    // ---- gemm with transposes

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] on contiguous row-major blocks (op = transpose where asked), overwriting c:
    /// OpenBLAS where loaded (threaded inside: call it from one thread), else the managed packed kernel
    /// (parallel inside; it accumulates, so c is cleared first).
    let private gemmT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (m: int) (n: int) (k: int)
        (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) =
        if m > 0 && n > 0 then
            if not Blas.available.Value || k = 0 then Span<'T>(c, cOff, m * n).Clear()
            if k > 0 then Matmul.gemmT transA transB a aOff b bOff c cOff m n k

    // ---- scratch

    /// Reusable scratch arrays, one per slot and element type: the column matrices of a training step
    /// (MBs each) are taken and given back instead of allocated per op. A slot taken by another thread
    /// meanwhile just yields a fresh array.
    type private Scratch<'T>() =
        static let slots: 'T[][] = Array.zeroCreate 4
        /// An array of at least n elements (contents unspecified).
        static member Take(slot: int, n: int) : 'T[] =
            let a = Threading.Interlocked.Exchange(&slots.[slot], null)
            if isNull a || a.Length < n then Array.zeroCreate n else a
        /// Hand an array back to its slot.
        static member Give(slot: int, a: 'T[]) = Threading.Volatile.Write(&slots.[slot], a)

    let [<Literal>] private ColSlot = 0
    let [<Literal>] private GemmSlot = 1

    // ---- im2col / col2im over the whole batch

    /// Stride 1 both ways, no horizontal dilation and an output as wide as the input ("same" padding, e.g. a
    /// 3×3 kernel with padding 1): a kernel tap then reads the input plane shifted by one offset, so its block
    /// of the column matrix is one contiguous copy instead of one short copy per output row.
    let private sameWidthUnitStride (g: Geo) = g.SH = 1 && g.SW = 1 && g.DW = 1 && g.Wo = g.W

    /// For tap (kh, kw) under `sameWidthUnitStride`: the valid output rows [ohLo, ohHi) and columns [owLo, owHi),
    /// the block [lo, hi) of output positions to copy (the valid rows, less the wrapped positions at either end
    /// that would read outside the plane) and the input offset `shift` (input index = output index + shift).
    let inline private planeShift (g: Geo) (kh: int) (kw: int) =
        let offH = kh * g.DH - g.PH
        let offW = kw - g.PW
        let struct (ohLo, ohHi) = validRange offH 1 g.H g.Ho
        let struct (owLo, owHi) = validRange offW 1 g.W g.W
        let shift = offH * g.W + offW
        let lo = ohLo * g.W + max 0 (-offW)
        let hi = ohHi * g.W - max 0 offW
        struct (ohLo, ohHi, owLo, owHi, lo, max lo hi, shift)

    /// Calls body c kh kw row for every tap (channel c of the group, kernel row kh, column kw), `row` being the tap's
    /// block in a column matrix whose rows are `ld` long, starting at colOff: im2col and col2im walk the same taps.
    let inline private forTaps (g: Geo) (ld: int) (colOff: int) ([<InlineIfLambda>] body: int -> int -> int -> int -> unit) =
        for c in 0 .. g.Cg - 1 do
            for kh in 0 .. g.KH - 1 do
                for kw in 0 .. g.KW - 1 do
                    body c kh kw (((c * g.KH + kh) * g.KW + kw) * ld + colOff)

    /// Zeroes, in the rows [ohLo, ohHi) of a tap's block of a column matrix (rows `w` long from `row`), the columns
    /// outside [owLo, owHi): the positions a shifted-plane copy filled from a neighbouring row.
    let private zeroWrapped<'T when 'T :> IFloatingPointIeee754<'T>> (col: 'T[]) (row: int) (w: int) ohLo ohHi owLo owHi =
        for oh in ohLo .. ohHi - 1 do
            for ow in 0 .. owLo - 1 do col.[row + oh * w + ow] <- 'T.Zero
            for ow in owHi .. w - 1 do col.[row + oh * w + ow] <- 'T.Zero

    /// col[(c,kh,kw), colOff + (oh,ow)] = x[c, oh·sH − pH + kh·dH, ow·sW − pW + kw·dW] (0 outside), for the Cg
    /// channels of one group of one sample starting at xOff; rows of col are `ld` long (N·L for the batch
    /// matrix, the sample's block at colOff = n·L). Stride-1 rows are whole-row copies; only borders are zeroed.
    let private im2col<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xOff: int) (g: Geo) (col: 'T[]) (colOff: int) (ld: int) =
        let hw = g.H * g.W
        if sameWidthUnitStride g then
            forTaps g ld colOff (fun c kh kw row ->
                let struct (ohLo, ohHi, owLo, owHi, lo, hi, shift) = planeShift g kh kw
                if ohLo > 0 then Span<'T>(col, row, ohLo * g.W).Clear()
                if ohHi < g.Ho then Span<'T>(col, row + ohHi * g.W, (g.Ho - ohHi) * g.W).Clear()
                // one copy of the shifted plane; positions that wrap into a neighbouring row are zeroed after
                if hi > lo then ReadOnlySpan<'T>(x, xOff + c * hw + lo + shift, hi - lo).CopyTo(Span<'T>(col, row + lo, hi - lo))
                zeroWrapped col row g.W ohLo ohHi owLo owHi)
        else
            forTaps g ld colOff (fun c kh kw row ->
                let offH = kh * g.DH - g.PH
                let struct (ohLo, ohHi) = validRange offH g.SH g.H g.Ho
                let offW = kw * g.DW - g.PW
                let struct (owLo, owHi) = validRange offW g.SW g.W g.Wo
                // spans, not Array.Copy/Clear: the rows are short and Array's per-call checks dominate
                if ohLo > 0 then Span<'T>(col, row, ohLo * g.Wo).Clear()
                if ohHi < g.Ho then Span<'T>(col, row + ohHi * g.Wo, (g.Ho - ohHi) * g.Wo).Clear()
                for oh in ohLo .. ohHi - 1 do
                    let dst = row + oh * g.Wo
                    let src = xOff + c * hw + (oh * g.SH + offH) * g.W + offW
                    if owLo > 0 then Span<'T>(col, dst, owLo).Clear()
                    if owHi < g.Wo then Span<'T>(col, dst + owHi, g.Wo - owHi).Clear()
                    if g.SW = 1 then
                        if owHi > owLo then ReadOnlySpan<'T>(x, src + owLo, owHi - owLo).CopyTo(Span<'T>(col, dst + owLo, owHi - owLo))
                    else
                        for ow in owLo .. owHi - 1 do
                            col.[dst + ow] <- x.[src + ow * g.SW])

    /// The adjoint of im2col: x[c, ih, iw] += col[(c,kh,kw), colOff + (oh,ow)] over every pair that im2col reads.
    let private col2im<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (col: 'T[]) (colOff: int) (ld: int) (g: Geo) (x: 'T[]) (xOff: int) =
        let hw = g.H * g.W
        if sameWidthUnitStride g then
            forTaps g ld colOff (fun c kh kw row ->
                let struct (ohLo, ohHi, owLo, owHi, lo, hi, shift) = planeShift g kh kw
                // the wrapped positions of col (its own scratch) are zeroed, then one add of the shifted plane
                zeroWrapped col row g.W ohLo ohHi owLo owHi
                if hi > lo then
                    let d = Span<'T>(x, xOff + c * hw + lo + shift, hi - lo)
                    TensorPrimitives.Add(Kernels.ro d, ReadOnlySpan<'T>(col, row + lo, hi - lo), d))
        else
            forTaps g ld colOff (fun c kh kw row ->
                let offH = kh * g.DH - g.PH
                let struct (ohLo, ohHi) = validRange offH g.SH g.H g.Ho
                let offW = kw * g.DW - g.PW
                let struct (owLo, owHi) = validRange offW g.SW g.W g.Wo
                for oh in ohLo .. ohHi - 1 do
                    let srcCol = row + oh * g.Wo
                    let dst = xOff + c * hw + (oh * g.SH + offH) * g.W + offW
                    if g.SW = 1 && owHi > owLo then
                        let d = Span<'T>(x, dst + owLo, owHi - owLo)
                        TensorPrimitives.Add(Kernels.ro d, ReadOnlySpan<'T>(col, srcCol + owLo, owHi - owLo), d)
                    else
                        for ow in owLo .. owHi - 1 do
                            x.[dst + ow * g.SW] <- x.[dst + ow * g.SW] + col.[srcCol + ow])

    /// Samples per parallel chunk for a pass that moves `perSample` elements of each sample.
    let private minSamples (perSample: int) = max 1 (Par.grain / max 1 perSample)

    /// A batch column matrix and what it was built from (the input array, the geometry, the group).
    [<AllowNullLiteral>]
    type private Cols<'T>(src: 'T[], geo: Geo, gi: int, col: 'T[]) =
        member _.Src = src
        member _.Geo = geo
        member _.Gi = gi
        member _.Col = col

    /// Column matrices kept from conv2d's forward for its weight gradient, which reads the same columns
    /// (the im2col of a 3×3 kernel over 14-wide rows is ~130k short copies per batch). Keyed by the input
    /// array (raw tensors are immutable), geometry and group; forward always rebuilds, so an input updated in
    /// place between two forwards is never read stale. An entry is taken out of its slot while in use, so
    /// another thread never sees it half-built or overwritten (it just misses).
    type private ColCache<'T>() =
        static let slots: Cols<'T>[] = Array.zeroCreate 4
        static let next = [| 0 |]
        /// Take the first entry matching `fits`, or null.
        static member private TakeWhere(fits: Cols<'T> -> bool) : Cols<'T> =
            let mutable found = null
            for i in 0 .. slots.Length - 1 do
                if isNull found then
                    let e = Threading.Volatile.Read(&slots.[i])
                    if not (isNull e) && fits e && obj.ReferenceEquals(Threading.Interlocked.CompareExchange(&slots.[i], null, e), e) then
                        found <- e
            found
        /// The columns built from exactly (x, geo, gi), taken out of the cache; null if none.
        static member TakeBuilt(x: 'T[], geo: Geo, gi: int) =
            ColCache<'T>.TakeWhere(fun e -> obj.ReferenceEquals(e.Src, x) && e.Geo = geo && e.Gi = gi)
        /// An array of at least n elements to build into: preferably one of the same geometry's, else any slot's
        /// (round robin), else a fresh one.
        static member TakeArray(geo: Geo, gi: int, n: int) : 'T[] =
            let e = ColCache<'T>.TakeWhere(fun e -> e.Geo = geo && e.Gi = gi)
            let e =
                if isNull e then
                    let i = (Threading.Interlocked.Increment(&next.[0]) &&& 0x7fffffff) % slots.Length
                    Threading.Interlocked.Exchange(&slots.[i], null)
                else e
            if isNull e || e.Col.Length < n then Array.zeroCreate n else e.Col
        /// Keep an entry: in an empty slot, else in place of the round-robin one.
        static member Give(e: Cols<'T>) =
            let mutable placed = false
            for i in 0 .. slots.Length - 1 do
                if not placed && isNull (Threading.Interlocked.CompareExchange(&slots.[i], e, null)) then placed <- true
            if not placed then
                Threading.Volatile.Write(&slots.[(Threading.Volatile.Read(&next.[0]) &&& 0x7fffffff) % slots.Length], e)

    /// Whether x itself is the batch column matrix (a 1×1 kernel reading x as is: one sample, or one channel).
    let private columnsAreInput (g: Geo) = g.Pointwise && (g.N = 1 || g.C = 1)

    /// Build the batch column matrix [K, N·L] of group gi into col: im2col of every sample (parallel over the batch).
    let private buildColumns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (g: Geo) (gi: int) (col: 'T[]) =
        let nl = g.N * g.L
        Par.chunks g.N (minSamples (g.K * g.L)) (fun s e ->
            for n in s .. e - 1 do
                im2col x ((n * g.C + gi * g.Cg) * g.H * g.W) g col (n * g.L) nl)

    /// The batch column matrix [K, N·L] of group gi: x itself where a 1×1 kernel reads it as is, else built
    /// afresh (reusing a cached array) or, where `reuse`, taken as built from the same input. Returns the array,
    /// the offset, and the cache entry to hand back with `release` (null for x itself).
    let private columns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (reuse: bool) (x: 'T[]) (g: Geo) (gi: int) : struct ('T[] * int * Cols<'T>) =
        if columnsAreInput g then struct (x, gi * g.Cg * g.H * g.W, null)
        else
            let built = if reuse then ColCache<'T>.TakeBuilt(x, g, gi) else null
            if not (isNull built) then struct (built.Col, 0, built)
            else
                let col = ColCache<'T>.TakeArray(g, gi, g.K * g.N * g.L)
                buildColumns x g gi col
                struct (col, 0, Cols<'T>(x, g, gi, col))

    /// Hand columns back to the cache after use.
    let private release (e: Cols<'T>) = if not (isNull e) then ColCache<'T>.Give e

    /// z[o, n·L + l] = y[n, gi·Og + o, l]: group gi of an NCHW gradient as the gemm's [Og, N·L] operand
    /// (y itself when there is one sample).
    let private gatherRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (y: 'T[]) (g: Geo) (gi: int) : struct ('T[] * int * bool) =
        if g.N = 1 then struct (y, gi * g.Og * g.L, false)
        else
            let nl = g.N * g.L
            let z = Scratch<'T>.Take(GemmSlot, g.Og * nl)
            Par.chunks g.N (minSamples (g.Og * g.L)) (fun s e ->
                for n in s .. e - 1 do
                    for o in 0 .. g.Og - 1 do
                        ReadOnlySpan<'T>(y, (n * g.O + gi * g.Og + o) * g.L, g.L).CopyTo(Span<'T>(z, o * nl + n * g.L, g.L)))
            struct (z, 0, true)

    // ---- convolution

    /// y[n, o] = b[o] + Σ_{c,kh,kw} w[o, c, kh, kw] · x[n, g·Cg + c, oh·s − p + kh·d, ...] (b = null: no bias):
    /// per group, one gemm over the whole batch, Y_g [Og, N·L] = W_g [Og, K] · col [K, N·L], then scattered to
    /// NCHW with the bias added in the same pass.
    let conv2dBias<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (bias: 'T[]) (spec: Conv2dSpec) : 'T[] * int[] =
        let g = geo xShape wShape spec
        let nl = g.N * g.L
        // every element is written by the gemm or the row copies below
        let y = Pool.rent<'T> (g.N * g.O * g.L)
        let hasBias = not (isNull bias)
        for gi in 0 .. g.G - 1 do
            let struct (col, colOff, cols) = columns false x g gi
            if g.N = 1 then
                gemmT false false g.Og nl g.K w (gi * g.Og * g.K) col colOff y (gi * g.Og * g.L)
                if hasBias then
                    for o in gi * g.Og .. (gi + 1) * g.Og - 1 do
                        let r = Span<'T>(y, o * g.L, g.L)
                        TensorPrimitives.Add(Kernels.ro r, bias.[o], r)
            else
                let z = Scratch<'T>.Take(GemmSlot, g.Og * nl)
                gemmT false false g.Og nl g.K w (gi * g.Og * g.K) col colOff z 0
                Par.chunks g.N (minSamples (g.Og * g.L)) (fun s e ->
                    for n in s .. e - 1 do
                        for o in 0 .. g.Og - 1 do
                            let src = ReadOnlySpan<'T>(z, o * nl + n * g.L, g.L)
                            let dst = Span<'T>(y, (n * g.O + gi * g.Og + o) * g.L, g.L)
                            if hasBias then TensorPrimitives.Add(src, bias.[gi * g.Og + o], dst) else src.CopyTo dst)
                Scratch<'T>.Give(GemmSlot, z)
            release cols
        y, [| g.N; g.O; g.Ho; g.Wo |]

    /// conv2dBias without a bias.
    let conv2d<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (spec: Conv2dSpec) : 'T[] * int[] =
        conv2dBias x xShape w wShape null spec

    /// Adds group gi's ∂L/∂x into gx from its gradient rows gg [Og, N·L] (at ggOff): col [K, N·L] = W_gᵀ [K, Og] · gg
    /// (one gemm), then col2im sample by sample (parallel over the batch); a 1×1 kernel reading x as is writes gx directly.
    let private inputGradFromRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gg: 'T[]) (ggOff: int) (geo: Geo) (gi: int) (w: 'T[]) (gx: 'T[]) =
        let nl = geo.N * geo.L
        if columnsAreInput geo then
            gemmT true false geo.K nl geo.Og w (gi * geo.Og * geo.K) gg ggOff gx (gi * geo.Cg * geo.H * geo.W)
        else
            let col = Scratch<'T>.Take(ColSlot, geo.K * nl)
            gemmT true false geo.K nl geo.Og w (gi * geo.Og * geo.K) gg ggOff col 0
            Par.chunks geo.N (minSamples (geo.K * geo.L)) (fun s e ->
                for n in s .. e - 1 do
                    col2im col (n * geo.L) nl geo gx ((n * geo.C + gi * geo.Cg) * geo.H * geo.W))
            Scratch<'T>.Give(ColSlot, col)

    /// Writes group gi's ∂L/∂w into gw from its gradient rows gg [Og, N·L] (at ggOff): ∂W_g [Og, K] = gg · colᵀ [N·L, K],
    /// one gemm over the whole batch, with the columns conv2d's forward kept where it built them from the same x.
    let private weightGradFromRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gg: 'T[]) (ggOff: int) (geo: Geo) (gi: int) (x: 'T[]) (gw: 'T[]) =
        let struct (col, colOff, cols) = columns true x geo gi
        gemmT false true geo.Og geo.K (geo.N * geo.L) gg ggOff col colOff gw (gi * geo.Og * geo.K)
        release cols

    /// ∂L/∂x of conv2d: per group, the gradient's rows gathered to [Og, N·L], then `inputGradFromRows`.
    let conv2dBackwardInput<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (w: 'T[]) (wShape: int[]) (inputShape: int[]) (spec: Conv2dSpec) : 'T[] =
        ignore gShape
        let geo = geo inputShape wShape spec
        let gx = Pool.rentZeroed<'T> (Shape.numel inputShape)
        for gi in 0 .. geo.G - 1 do
            let struct (gg, ggOff, ggScratch) = gatherRows g geo gi
            inputGradFromRows gg ggOff geo gi w gx
            if ggScratch then Scratch<'T>.Give(GemmSlot, gg)
        gx

    /// ∂L/∂w of conv2d: per group, the gradient's rows gathered to [Og, N·L], then `weightGradFromRows`.
    let conv2dBackwardWeight<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (x: 'T[]) (xShape: int[]) (weightShape: int[]) (spec: Conv2dSpec) : 'T[] =
        ignore gShape
        let geo = geo xShape weightShape spec
        let gw = Pool.rentZeroed<'T> (Shape.numel weightShape)
        for gi in 0 .. geo.G - 1 do
            let struct (gg, ggOff, ggScratch) = gatherRows g geo gi
            weightGradFromRows gg ggOff geo gi x gw
            if ggScratch then Scratch<'T>.Give(GemmSlot, gg)
        gw

    // ---- pooling

    /// Planes (N·C) per parallel chunk for pooling over planes of `work` elements.
    let private minPlanes (work: int) = max 1 (Par.grain / max 1 work)

    /// Take v (at flat index i) over the running best where v > best or v is NaN: branch-free, in lane 0 of a
    /// vector register (random data mispredicts an `if` about once a window).
    let inline private takeMax<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (v: 'T) (i: int) (best: byref<Vector128<'T>>) (bestAt: byref<int>) =
        let v = Vector128.CreateScalarUnsafe v
        let take = Vector128.BitwiseOr(Vector128.GreaterThan(v, best), Vector128.OnesComplement(Vector128.Equals(v, v)))
        best <- Vector128.ConditionalSelect(take, v, best)
        let m = int (Vector128.ExtractMostSignificantBits take &&& 1u)
        bestAt <- bestAt + ((-m) &&& (i - bestAt))

    /// One plane of a 2×2, stride-2 max-pool, a window at a time: the plane of z at zOff (rows w long) into y (finish of
    /// each maximum) and ix (its flat index in the plane) at yOff, for ho × wo windows.
    let inline private pool2x2Plane<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (z: 'T[]) (zOff: int) (w: int) (ho: int) (wo: int) ([<InlineIfLambda>] finish: 'T -> 'T) (y: 'T[]) (ix: int64[]) (yOff: int) =
        for oh in 0 .. ho - 1 do
            let r0 = 2 * oh * w
            for ow in 0 .. wo - 1 do
                let i = r0 + 2 * ow
                let mutable best = Vector128.CreateScalarUnsafe z.[zOff + i]
                let mutable bestAt = i
                takeMax z.[zOff + i + 1] (i + 1) &best &bestAt
                takeMax z.[zOff + i + w] (i + w) &best &bestAt
                takeMax z.[zOff + i + w + 1] (i + w + 1) &best &bestAt
                y.[yOff + oh * wo + ow] <- finish (best.ToScalar())
                ix.[yOff + oh * wo + ow] <- int64 bestAt

    /// maxPool2d's common case, 2×2 windows at stride 2 without padding or dilation: the four reads unrolled,
    /// in the general loop's order (so the same first maximum and NaN rule).
    let private maxPool2x2<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (planes: int) (h: int) (w: int) (ho: int) (wo: int) (y: 'T[]) (ix: int64[]) =
        Par.chunks planes (minPlanes (ho * wo * 4)) (fun s e ->
            for plane in s .. e - 1 do
                pool2x2Plane x (plane * h * w) w ho wo id y ix (plane * ho * wo))

    /// Max over each window (−∞ padding, dilation): the value and the flat index ih·W + iw of the first
    /// maximum within its plane; NaN counts as the maximum, as in torch.
    let maxPool2d<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int64[] * int[] =
        let n, c, h, w = xShape.[0], xShape.[1], xShape.[2], xShape.[3]
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let dh, dw = spec.Dilation
        let ho = poolOutSize h kh sh ph dh spec.CeilMode
        let wo = poolOutSize w kw sw pw dw spec.CeilMode
        // every output is written below
        let y = Pool.rent<'T> (n * c * ho * wo)
        let ix = Pool.rent<int64> y.Length
        if kh = 2 && kw = 2 && sh = 2 && sw = 2 && ph = 0 && pw = 0 && dh = 1 && dw = 1 && 2 * ho <= h && 2 * wo <= w then
            maxPool2x2 x (n * c) h w ho wo y ix
        else
            Par.chunks (n * c) (minPlanes (ho * wo * kh * kw)) (fun s e ->
                for plane in s .. e - 1 do
                    let xOff = plane * h * w
                    let yOff = plane * ho * wo
                    for oh in 0 .. ho - 1 do
                        let mutable hs = oh * sh - ph
                        let he = min (hs + (kh - 1) * dh + 1) h
                        while hs < 0 do hs <- hs + dh
                        for ow in 0 .. wo - 1 do
                            let mutable ws = ow * sw - pw
                            let we = min (ws + (kw - 1) * dw + 1) w
                            while ws < 0 do ws <- ws + dw
                            // branch-free select (random data mispredicts an `if` about once a window):
                            // take v where v > best or v is NaN, in lane 0 of a vector register
                            let mutable best = Vector128.CreateScalarUnsafe 'T.NegativeInfinity
                            let mutable bestAt = hs * w + ws
                            let mutable ih = hs
                            while ih < he do
                                let mutable iw = ws
                                while iw < we do
                                    let v = Vector128.CreateScalarUnsafe x.[xOff + ih * w + iw]
                                    let take = Vector128.BitwiseOr(Vector128.GreaterThan(v, best), Vector128.OnesComplement(Vector128.Equals(v, v)))
                                    best <- Vector128.ConditionalSelect(take, v, best)
                                    let m = int (Vector128.ExtractMostSignificantBits take &&& 1u)
                                    bestAt <- bestAt + ((-m) &&& (ih * w + iw - bestAt))
                                    iw <- iw + dw
                                ih <- ih + dh
                            y.[yOff + oh * wo + ow] <- best.ToScalar()
                            ix.[yOff + oh * wo + ow] <- int64 bestAt)
        y, ix, [| n; c; ho; wo |]

    /// ∂L/∂x of maxPool2d: each output's gradient goes to the input its index names (summed where shared).
    let maxPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (indices: int64[]) (inputShape: int[]) : 'T[] =
        let planes = inputShape.[0] * inputShape.[1]
        let hw = inputShape.[2] * inputShape.[3]
        let ohw = gShape.[2] * gShape.[3]
        let gx = Pool.rentZeroed<'T> (planes * hw)
        Par.chunks planes (minPlanes ohw) (fun s e ->
            for plane in s .. e - 1 do
                let xOff = plane * hw
                for j in plane * ohw .. (plane + 1) * ohw - 1 do
                    let at = xOff + int indices.[j]
                    gx.[at] <- gx.[at] + g.[j])
        gx

    /// The window of output (oh, ow) clipped to the input, and torch's divisor: the window's size within
    /// the padded input (countIncludePad) or the number of real inputs in it.
    let inline private avgWindow (o: int) (k: int) (s: int) (p: int) (n: int) =
        let st = o * s - p
        let en = min (st + k) (n + p)
        let padded = en - st
        struct (max st 0, min en n, padded)

    /// Mean over each window (no dilation), zero padding, divisor as torch's count_include_pad.
    let avgPool2d<'T when 'T :> IFloatingPointIeee754<'T>> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int[] =
        let n, c, h, w = xShape.[0], xShape.[1], xShape.[2], xShape.[3]
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let ho = poolOutSize h kh sh ph 1 spec.CeilMode
        let wo = poolOutSize w kw sw pw 1 spec.CeilMode
        let y = Pool.rentZeroed<'T> (n * c * ho * wo)
        Par.chunks (n * c) (minPlanes (ho * wo * kh * kw)) (fun s e ->
            for plane in s .. e - 1 do
                let xOff = plane * h * w
                let yOff = plane * ho * wo
                for oh in 0 .. ho - 1 do
                    let struct (hs, he, hp) = avgWindow oh kh sh ph h
                    for ow in 0 .. wo - 1 do
                        let struct (ws, we, wp) = avgWindow ow kw sw pw w
                        let mutable sum = 'T.Zero
                        for ih in hs .. he - 1 do
                            for iw in ws .. we - 1 do
                                sum <- sum + x.[xOff + ih * w + iw]
                        let count = if spec.CountIncludePad then hp * wp else (he - hs) * (we - ws)
                        y.[yOff + oh * wo + ow] <- sum / 'T.CreateTruncating count)
        y, [| n; c; ho; wo |]

    /// ∂L/∂x of avgPool2d: each output's gradient, divided by its window's divisor, added over the window.
    let avgPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (inputShape: int[]) (spec: Pool2dSpec) : 'T[] =
        let n, c, h, w = inputShape.[0], inputShape.[1], inputShape.[2], inputShape.[3]
        let ho, wo = gShape.[2], gShape.[3]
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let gx = Pool.rentZeroed<'T> (n * c * h * w)
        Par.chunks (n * c) (minPlanes (ho * wo * kh * kw)) (fun s e ->
            for plane in s .. e - 1 do
                let xOff = plane * h * w
                let gOff = plane * ho * wo
                for oh in 0 .. ho - 1 do
                    let struct (hs, he, hp) = avgWindow oh kh sh ph h
                    for ow in 0 .. wo - 1 do
                        let struct (ws, we, wp) = avgWindow ow kw sw pw w
                        let count = if spec.CountIncludePad then hp * wp else (he - hs) * (we - ws)
                        let share = g.[gOff + oh * wo + ow] / 'T.CreateTruncating count
                        for ih in hs .. he - 1 do
                            for iw in ws .. we - 1 do
                                gx.[xOff + ih * w + iw] <- gx.[xOff + ih * w + iw] + share)
        gx

    // ---- conv2d → relu → 2×2 max-pool in one op

    /// relu(v) as TensorPrimitives.Max(v, 0) computes it (IEEE maximum: NaN stays NaN, −0 becomes +0).
    let inline private relu<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> (v: 'T) =
        Vector128.Max(Vector128.CreateScalarUnsafe v, Vector128<'T>.Zero).ToScalar()

    /// Whether poolPlane32 takes a plane: float32, rows of whole pairs, ≥ 8 pairs in the pooled rows, ≥ 4 windows a row.
    let private vectorPool<'T> (g: Geo) =
        typeof<'T> = typeof<float32> && g.Wo % 2 = 0 && g.Wo / 2 >= 4 && (g.Ho / 2) * g.Wo >= 8

    /// One float32 plane of biasReluPool2x2 in vectors (see vectorPool). First the pairs along each row, over the pooled
    /// rows at once (a row holds whole pairs): 16 inputs split into even and odd lanes give 8 first maxima and which of
    /// the two won (the odd one where strictly greater or NaN). Then the two rows of each window, 4 windows at a time,
    /// the lower row's taken where strictly greater or NaN: the first maximum in row-major order, and the last NaN, as
    /// the scalar loop. A vector that would run past a row's end is moved back to end there (recomputing a few lanes).
    let private poolPlane32 (z: float32[]) (zOff: int) (w: int) (ho: int) (wo: int) (b: float32)
                            (y: float32[]) (ix: int64[]) (yOff: int) (hv: float32[]) (hs: int[]) =
        let pairs = 2 * ho * wo
        let hv0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference hv
        let hs0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference hs
        let mutable next = 0
        while next < pairs do
            let k = min next (pairs - 8)
            let struct (ev, od) = Kernels.deinterleave z (zOff + 2 * k)
            let take = Vector256.BitwiseOr(Vector256.GreaterThan(od, ev), Vector256.OnesComplement(Vector256.Equals(od, od)))
            Vector256.StoreUnsafe(Vector256.ConditionalSelect(take, od, ev), &hv0, unativeint k)
            Vector256.StoreUnsafe(Vector256.BitwiseAnd(take.AsInt32(), Vector256<int>.One), &hs0, unativeint k)
            next <- next + 8
        let y0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference y
        let ix0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference ix
        let vb = Vector128.Create b
        let lane2 = Vector128.Create(0, 2, 4, 6)
        for oh in 0 .. ho - 1 do
            let r0 = 2 * oh * wo
            let mutable next = 0
            while next < wo do
                let j = min next (wo - 4)
                let top = Vector128.LoadUnsafe(&hv0, unativeint (r0 + j))
                let low = Vector128.LoadUnsafe(&hv0, unativeint (r0 + wo + j))
                let topSel = Vector128.LoadUnsafe(&hs0, unativeint (r0 + j))
                let lowSel = Vector128.LoadUnsafe(&hs0, unativeint (r0 + wo + j))
                let take = Vector128.BitwiseOr(Vector128.GreaterThan(low, top), Vector128.OnesComplement(Vector128.Equals(low, low)))
                let best = Vector128.ConditionalSelect(take, low, top)
                let out = unativeint (yOff + oh * wo + j)
                Vector128.StoreUnsafe(Vector128.Max(best + vb, Vector128<float32>.Zero), &y0, out)
                // flat index into the conv plane: (2·oh + row) · w + 2·(j + lane) + column
                let takeI = take.AsInt32()
                let at = Vector128.Create(2 * oh * w + 2 * j) + lane2 + Vector128.BitwiseAnd(takeI, Vector128.Create w)
                         + Vector128.ConditionalSelect(takeI, lowSel, topSel)
                let struct (lo, hi) = Vector128.Widen at
                Vector128.StoreUnsafe(lo, &ix0, out)
                Vector128.StoreUnsafe(hi, &ix0, out + 2un)
                next <- next + 4

    /// Pools plane (n, o) of z (at zOff, rows Wo long) into y and ix at yOff with the bias b[o]: in vectors where
    /// `vector` (vectorPool; hv and hs its scratch), else a window at a time.
    let inline private poolPlane<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (vector: bool) (z: 'T[]) (zOff: int) (g: Geo) (bias: 'T[]) (o: int) (y: 'T[]) (ix: int64[]) (yOff: int) (hv: float32[]) (hs: int[]) =
        let ho, wo = g.Ho / 2, g.Wo / 2
        if vector then
            let b = if isNull bias then 0.0f else (box bias :?> float32[]).[o]
            poolPlane32 (box z :?> float32[]) zOff g.Wo ho wo b (box y :?> float32[]) ix yOff hv hs
        else
            let b = if isNull bias then 'T.Zero else bias.[o]
            pool2x2Plane z zOff g.Wo ho wo (fun v -> relu (v + b)) y ix yOff

    /// y[n, o, i, j] = relu(b[o] + max of the 2×2 window (2i, 2j) of z's plane (o, n)), z being the gemm's output [O, N·L];
    /// ix the window's first maximum as a flat index into the conv output's plane (max-pool's order and NaN rule:
    /// relu is monotone, so pooling before it chooses the same value).
    let private biasReluPool2x2<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (z: 'T[]) (g: Geo) (bias: 'T[]) (y: 'T[]) (ix: int64[]) =
        let pooled = (g.Ho / 2) * (g.Wo / 2)
        let nl = g.N * g.L
        let vector = vectorPool<'T> g
        Par.chunks (g.N * g.O) (minPlanes (g.L)) (fun s e ->
            let hv = if vector then Array.zeroCreate<float32> (2 * pooled) else null
            let hs = if vector then Array.zeroCreate<int> (2 * pooled) else null
            for plane in s .. e - 1 do
                let o = plane % g.O
                poolPlane vector z (o * nl + (plane / g.O) * g.L) g bias o y ix (plane * pooled) hv hs)

    /// One float32 plane of the pool's backward in vectors (the planes vectorPool takes): each window's four inputs
    /// written at once, the gradient m at the input its index names and 0 at the other three, 4 windows at a time (their
    /// two rows interleaved into 8 columns each), so the plane needs no clearing and no scattered stores. Rows past the
    /// last window (an odd height) are cleared.
    let private unpoolPlane32 (m: float32[]) (ix: int64[]) (p0: int) (gz: float32[]) (zOff: int) (w: int) (h: int) (ho: int) (wo: int) =
        let gz0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference gz
        let m0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference m
        let ix0 = &Runtime.InteropServices.MemoryMarshal.GetArrayDataReference ix
        let lane2 = Vector128.Create(0, 2, 4, 6)
        let zip = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)
        let vw = Vector128.Create w
        for oh in 0 .. ho - 1 do
            let mutable next = 0
            while next < wo do
                let j = min next (wo - 4)
                let q = oh * wo + j
                let g = Vector128.LoadUnsafe(&m0, unativeint q)
                let at = Vector128.Narrow(Vector128.LoadUnsafe(&ix0, unativeint (p0 + q)), Vector128.LoadUnsafe(&ix0, unativeint (p0 + q + 2)))
                // position within the window: 0, 1 (top row), w, w + 1 (bottom row)
                let c = at - (Vector128.Create(2 * oh * w + 2 * j) + lane2)
                let right = Vector128.Equals(Vector128.BitwiseAnd(c, Vector128<int>.One), Vector128<int>.One).AsSingle()
                let bottom = Vector128.GreaterThanOrEqual(c, vw).AsSingle()
                let gTop = Vector128.AndNot(g, bottom)
                let gBottom = Vector128.BitwiseAnd(g, bottom)
                let top = Kernels.permute (Vector256.Create(Vector128.AndNot(gTop, right), Vector128.BitwiseAnd(gTop, right))) zip
                let low = Kernels.permute (Vector256.Create(Vector128.AndNot(gBottom, right), Vector128.BitwiseAnd(gBottom, right))) zip
                let dst = zOff + 2 * oh * w + 2 * j
                Vector256.StoreUnsafe(top, &gz0, unativeint dst)
                Vector256.StoreUnsafe(low, &gz0, unativeint (dst + w))
                next <- next + 4
        if h > 2 * ho then Span<float32>(gz, zOff + 2 * ho * w, (h - 2 * ho) * w).Clear()

    /// The pool's backward for plane (n, o): m (the plane's gradients already masked by y > 0) at the inputs the indices
    /// at p0 name, 0 elsewhere, into gz at zOff (every element of the plane written): in vectors where `vector`.
    let inline private unpoolPlane<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (vector: bool) (m: 'T[]) (ix: int64[]) (p0: int) (gz: 'T[]) (zOff: int) (g: Geo) =
        let ho, wo = g.Ho / 2, g.Wo / 2
        if vector then unpoolPlane32 (box m :?> float32[]) ix p0 (box gz :?> float32[]) zOff g.Wo g.Ho ho wo
        else
            Span<'T>(gz, zOff, g.L).Clear()
            for q in 0 .. ho * wo - 1 do
                gz.[zOff + int ix.[p0 + q]] <- m.[q]

    /// Masks plane (n, o) of the pooled gradient by y > 0 into m and returns its sum (∂b's share).
    let inline private maskPlane<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gy: 'T[]) (y: 'T[]) (p0: int) (m: 'T[]) =
        Kernels.reluBackward (ReadOnlySpan<'T>(gy, p0, m.Length)) (ReadOnlySpan<'T>(y, p0, m.Length)) (Span<'T>(m))
        TensorPrimitives.Sum(ReadOnlySpan<'T>(m))

    /// The backward of biasReluPool2x2: gz [O, N·L] holds gy[n, o, i, j] at the input its window chose where y > 0 and 0
    /// everywhere else (every element written); gb[o] = Σ of those gradients (gb null: not wanted).
    let private biasReluPool2x2Backward<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gy: 'T[]) (y: 'T[]) (ix: int64[]) (g: Geo) (gz: 'T[]) (gb: 'T[]) =
        let pooled = (g.Ho / 2) * (g.Wo / 2)
        let nl = g.N * g.L
        let vector = vectorPool<'T> g
        Par.chunks g.O (max 1 (Par.grain / max 1 nl)) (fun s e ->
            let masked = Array.zeroCreate<'T> pooled
            for o in s .. e - 1 do
                let mutable sum = 'T.Zero
                for n in 0 .. g.N - 1 do
                    let p0 = (n * g.O + o) * pooled
                    sum <- sum + maskPlane gy y p0 masked
                    unpoolPlane vector masked ix p0 gz (o * nl + n * g.L) g
                if not (isNull gb) then gb.[o] <- sum)

    // ---- the block chunk by chunk: a few samples' column matrix and products stay in L2

    /// Samples per chunk: a chunk's column matrix about 512 KB in float32 (K·L values a sample; for a thin product, whose
    /// output rows outweigh its columns, (K + O)·L), with S·L a multiple of 8 where one fits (vector-aligned rows for
    /// BLAS). Measured on the CNN: 4 samples for the second block (rows of 784) as fast as 2, against 3 and 5 samples
    /// (588, 980 floats) 10 % slower and 9 slower still; 6 samples for the first.
    let private chunkSamples (g: Geo) =
        let most = max 1 ((128 * 1024) / max 1 ((if g.K <= 16 then g.K + g.O else g.K) * g.L))
        match Seq.tryFind (fun s -> s * g.L % 8 = 0) (seq { most .. -1 .. 1 }) with
        | Some s -> s
        | None -> most

    /// Whether the fused block runs chunk by chunk: a column matrix of its own (not a 1×1 kernel reading x as is), a
    /// BLAS for the per-chunk products (thin ones run in the managed thin kernels, on the chunk's core), and two chunks
    /// or more. The CNN's whole step, 8 interleaved runs each: median 3.03–3.57 ms with the thin first block over the
    /// whole batch, 2.89–3.21 ms chunked (lower in each of the 8 pairs; measured alone, the block looked no faster:
    /// its inputs were hot in cache).
    let private runsChunked (g: Geo) = Blas.available.Value && not g.Pointwise && g.N > chunkSamples g

    /// Runs body over the batch's chunks of s samples, split over the cores: body c n0 ns col z, with the chunk's first
    /// sample and sample count, and two scratch arrays of K·s·L and O·s·L elements owned by the calling core.
    let private forChunks<'T> (g: Geo) (s: int) (body: int -> int -> int -> 'T[] -> 'T[] -> unit) =
        Par.chunks ((g.N + s - 1) / s) 1 (fun c0 c1 ->
            let col = ArrayPool<'T>.Shared.Rent(g.K * s * g.L)
            let z = ArrayPool<'T>.Shared.Rent(g.O * s * g.L)
            try
                for c in c0 .. c1 - 1 do
                    body c (c * s) (min s (g.N - c * s)) col z
            finally
                ArrayPool<'T>.Shared.Return col
                ArrayPool<'T>.Shared.Return z)

    /// im2col of samples [n0, n0 + ns) into col [K, ns·L].
    let private chunkColumns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (g: Geo) (n0: int) (ns: int) (col: 'T[]) =
        for n in n0 .. n0 + ns - 1 do
            im2col x (n * g.C * g.H * g.W) g col ((n - n0) * g.L) (ns * g.L)

    /// The fused forward of samples [n0, n0 + ns) on the calling core: their columns, Z_c [O, ns·L] = W · col_c (col and
    /// z scratch of K·ns·L and O·ns·L elements), then the pool pass.
    let private forwardSamples<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (g: Geo) (w: 'T[]) (bias: 'T[]) (y: 'T[]) (ix: int64[]) (n0: int) (ns: int) (col: 'T[]) (z: 'T[]) =
        let pooled = (g.Ho / 2) * (g.Wo / 2)
        let vector = vectorPool<'T> g
        let ld = ns * g.L
        let hv = if vector then Array.zeroCreate<float32> (2 * pooled) else null
        let hs = if vector then Array.zeroCreate<int> (2 * pooled) else null
        chunkColumns x g n0 ns col
        // one-threaded BLAS where it is loaded; else the managed gemm (Winograd's per-sample fallback runs without BLAS too)
        if Blas.available.Value then Matmul.gemmSerial false false false g.O ld g.K w 0 g.K col 0 ld z 0 ld
        else gemmT false false g.O ld g.K w 0 col 0 z 0
        for n in n0 .. n0 + ns - 1 do
            for o in 0 .. g.O - 1 do
                poolPlane vector z (o * ld + (n - n0) * g.L) g bias o y ix ((n * g.O + o) * pooled) hv hs

    /// The fused forward a chunk at a time: its columns, Z_c [O, ns·L] = W · col_c, then the pool pass, all in L2.
    let private forwardChunked<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (g: Geo) (w: 'T[]) (bias: 'T[]) (y: 'T[]) (ix: int64[]) =
        forChunks<'T> g (chunkSamples g) (fun _ n0 ns col z -> forwardSamples x g w bias y ix n0 ns col z)

    /// Whether the fused block runs Winograd's F(2×2, 3×3) (`useWinograd`, float32, a 3×3 kernel with stride 1, padding 1,
    /// one group, planes at most 16 wide, AVX2 and FMA: the second block of the Fashion-MNIST CNN): its forward always, its
    /// input gradient where the planes' height and width are even. HYBRID_NO_WINOGRAD=1 or `useWinograd <- false` turns
    /// it off (im2col's products then run).
    let mutable useWinograd = Environment.GetEnvironmentVariable "HYBRID_NO_WINOGRAD" <> "1"

    let private winograd<'T> (g: Geo) =
        useWinograd && typeof<'T> = typeof<float32> && g.KH = 3 && g.KW = 3 && g.SH = 1 && g.SW = 1 && g.PH = 1 && g.PW = 1
        && g.DH = 1 && g.DW = 1 && g.G = 1 && Winograd.fits g.H g.W && Avx2.IsSupported && Fma.IsSupported

    /// The fused forward by Winograd, a few samples on each core; a sample with a non-finite input or output (or every
    /// sample, when a weight is not finite) is computed again by im2col, so NaN and infinities stay where they were.
    let private forwardWinograd (x: float32[]) (g: Geo) (w: float32[]) (bias: float32[]) (y: float32[]) (ix: int64[]) =
        let pooled = (g.Ho / 2) * (g.Wo / 2)
        let direct (n: int) =
            let col = ArrayPool<float32>.Shared.Rent(g.K * g.L)
            let z = ArrayPool<float32>.Shared.Rent(g.O * g.L)
            try forwardSamples x g w bias y ix n 1 col z
            finally
                ArrayPool<float32>.Shared.Return col
                ArrayPool<float32>.Shared.Return z
        let finite = Winograd.allFinite w && (isNull bias || Winograd.allFinite bias)
        let u = if finite then Winograd.filters w g.O g.C else null
        Par.chunks g.N 1 (fun s e ->
            let scratch = if finite then Winograd.Scratch.For(g.C, g.H, g.O) else null
            for n in s .. e - 1 do
                if not finite || not (Winograd.sample x (n * g.C * g.H * g.W) g.C g.H g.W u g.O bias y ix (n * g.O * pooled) scratch) then
                    direct n)

    /// The fused backward a chunk at a time: the chunk's gradient rows gZ_c [O, ns·L] (with ∂b's shares), then
    /// ∂W_cᵀ = col_c · gZ_cᵀ (its columns rebuilt) and col_c = Wᵀ · gZ_c scattered into gx, all in L2. The chunks' ∂W and
    /// ∂b are added in chunk order, so the result does not depend on how the cores took them.
    let private backwardChunked<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gy: 'T[]) (y: 'T[]) (ix: int64[]) (x: 'T[]) (g: Geo) (w: 'T[]) (gx: 'T[]) (gw: 'T[]) (gb: 'T[]) =
        let pooled = (g.Ho / 2) * (g.Wo / 2)
        let vector = vectorPool<'T> g
        let s = chunkSamples g
        let chunks = (g.N + s - 1) / s
        let gwParts = if isNull gw then null else Array.zeroCreate<'T> (chunks * g.O * g.K)
        // the input gradient by Winograd: the flipped bank's U, or null where it does not apply
        let uFlip =
            if isNull gx || not (winograd<'T> g) || g.H % 2 = 1 || g.W % 2 = 1 then null
            else
                let w32 = box w :?> float32[]
                if Winograd.allFinite w32 then Winograd.flipped w32 g.O g.C else null
        let gbParts = if isNull gb then null else Array.zeroCreate<'T> (chunks * g.O)
        forChunks<'T> g s (fun c n0 ns col gz ->
            let ld = ns * g.L
            let masked = Array.zeroCreate<'T> pooled
            for o in 0 .. g.O - 1 do
                let mutable sum = 'T.Zero
                for n in n0 .. n0 + ns - 1 do
                    let p0 = (n * g.O + o) * pooled
                    sum <- sum + maskPlane gy y p0 masked
                    unpoolPlane vector masked ix p0 gz (o * ld + (n - n0) * g.L) g
                if not (isNull gbParts) then gbParts.[c * g.O + o] <- sum
            if not (isNull gwParts) then
                chunkColumns x g n0 ns col
                // ∂W_cᵀ [K, O] = col_c · gZ_cᵀ: OpenBLAS runs this shape faster than [O, K] (measured 107 vs 95 GFLOP/s
                // for 144 × 32 by 784); transposed once at the end
                Matmul.gemmSerial false false true g.K g.O ld col 0 ld gz 0 ld gwParts (c * g.O * g.K) g.O
            if not (isNull gx) then
                if isNull uFlip then
                    Matmul.gemmSerial false true false g.K ld g.O w 0 g.K gz 0 ld col 0 ld
                    for n in n0 .. n0 + ns - 1 do
                        col2im col ((n - n0) * g.L) ld g gx (n * g.C * g.H * g.W)
                else
                    // by Winograd, sample by sample; a sample it declines (not finite) by the gemm and col2im
                    let scratch = Winograd.Scratch.For(g.O, g.H, g.C)
                    for n in n0 .. n0 + ns - 1 do
                        let xOff = n * g.C * g.H * g.W
                        if not (Winograd.inputGradient (box gz :?> float32[]) ((n - n0) * g.L) ld g.O g.H g.W uFlip g.C (box gx :?> float32[]) xOff scratch) then
                            Span<'T>(gx, xOff, g.C * g.H * g.W).Clear()
                            Matmul.gemmSerial false true false g.K g.L g.O w 0 g.K gz ((n - n0) * g.L) ld col 0 g.L
                            col2im col 0 g.L g gx xOff)
        let sumParts (parts: 'T[]) (out: 'T[]) =
            if not (isNull parts) then
                let len = out.Length
                Span<'T>(parts, 0, len).CopyTo(Span<'T>(out))
                for c in 1 .. chunks - 1 do
                    TensorPrimitives.Add(ReadOnlySpan<'T>(out), ReadOnlySpan<'T>(parts, c * len, len), Span<'T>(out))
        if not (isNull gw) then
            let gwT = Array.zeroCreate<'T> gw.Length
            sumParts gwParts gwT
            for k in 0 .. g.K - 1 do
                for o in 0 .. g.O - 1 do gw.[o * g.K + k] <- gwT.[k * g.O + o]
        sumParts gbParts gb

    /// Whether conv2dReluMaxPool handles a geometry itself (one group); the caller composes the three ops otherwise.
    let fusesReluMaxPool (spec: Conv2dSpec) = spec.Groups = 1

    /// max_pool2d(relu(conv2d(x, w) + b), 2) (b null: no bias) in one pass after the gemm: Z [O, N·L] = W · col, then each
    /// 2×2 window of Z pooled, biased and rectified straight into y [N, O, H'/2, W'/2]; no conv output, relu output or
    /// NCHW copy of Z is made. Returns y, the pool indices into the conv output's planes (as maxPool2d's) and y's shape.
    let conv2dReluMaxPool<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (bias: 'T[]) (spec: Conv2dSpec) : 'T[] * int64[] * int[] =
        let g = geo xShape wShape spec
        if g.G <> 1 then invalidArg "spec" (sprintf "conv2d_relu_max_pool2d: groups %d (the fused kernel takes 1)" g.G)
        let shape = [| g.N; g.O; g.Ho / 2; g.Wo / 2 |]
        let y = Pool.rent<'T> (Shape.numel shape)
        let ix = Pool.rent<int64> y.Length
        if winograd<'T> g then forwardWinograd (box x :?> float32[]) g (box w :?> float32[]) (box bias :?> float32[]) (box y :?> float32[]) ix
        elif runsChunked g then forwardChunked x g w bias y ix
        else
            let nl = g.N * g.L
            let struct (col, colOff, cols) = columns false x g 0
            let z = Scratch<'T>.Take(GemmSlot, g.O * nl)
            gemmT false false g.O nl g.K w 0 col colOff z 0
            release cols
            biasReluPool2x2 z g bias y ix
            Scratch<'T>.Give(GemmSlot, z)
        y, ix, shape

    /// Gradients of conv2dReluMaxPool from gy [N, O, H'/2, W'/2], its output y and indices ix: the pooled gradients where
    /// y > 0 scattered into Z's layout [O, N·L] (with ∂b summed on the way), then the conv's two gemms on those rows.
    /// Returns (∂x or null unless needInput, ∂w or null unless needWeight, ∂b or null unless hasBias).
    let conv2dReluMaxPoolBackward<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gy: 'T[]) (y: 'T[]) (ix: int64[]) (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[])
        (hasBias: bool) (needInput: bool) (needWeight: bool) (spec: Conv2dSpec) : 'T[] * 'T[] * 'T[] =
        let g = geo xShape wShape spec
        let gb = if hasBias then Array.zeroCreate<'T> g.O else null
        let gw = if needWeight then Pool.rentZeroed<'T> (Shape.numel wShape) else null
        let gx = if needInput then Pool.rentZeroed<'T> (Shape.numel xShape) else null
        if runsChunked g then backwardChunked gy y ix x g w gx gw gb
        else
            let gz = Scratch<'T>.Take(GemmSlot, g.O * g.N * g.L)
            biasReluPool2x2Backward gy y ix g gz gb
            if needWeight then weightGradFromRows gz 0 g 0 x gw
            if needInput then inputGradFromRows gz 0 g 0 w gx
            Scratch<'T>.Give(GemmSlot, gz)
        gx, gw, gb
