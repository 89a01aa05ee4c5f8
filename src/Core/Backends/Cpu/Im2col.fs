namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core.Backends

/// Column matrices for convolution as a gemm (im2col and its adjoint col2im over the whole batch), the scratch arrays
/// and the cache they live in, and the gemm with transposes that reads them.
module Im2col =

    open ConvShapes

    // ---- gemm with transposes

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] on contiguous row-major blocks (op = transpose where asked), overwriting c:
    /// OpenBLAS where loaded (threaded inside: call it from one thread), else the managed packed kernel
    /// (parallel inside; it accumulates, so c is cleared first).
    let internal gemmT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (m: int) (n: int) (k: int)
        (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) =
        if m > 0 && n > 0 then
            if not Blas.available.Value || k = 0 then Span<'T>(c, cOff, m * n).Clear()
            if k > 0 then Matmul.gemmT transA transB a aOff b bOff c cOff m n k

    // ---- scratch

    /// Reusable scratch arrays, one per slot and element type: the column matrices of a training step
    /// (MBs each) are taken and given back instead of allocated per op. A slot taken by another thread
    /// meanwhile just yields a fresh array.
    type internal Scratch<'T>() =
        static let slots: 'T[][] = Array.zeroCreate 4
        /// An array of at least n elements (contents unspecified).
        static member Take(slot: int, n: int) : 'T[] =
            let a = Threading.Interlocked.Exchange(&slots.[slot], null)
            if isNull a || a.Length < n then Array.zeroCreate n else a
        /// Hand an array back to its slot.
        static member Give(slot: int, a: 'T[]) = Threading.Volatile.Write(&slots.[slot], a)

    let [<Literal>] internal ColSlot = 0
    let [<Literal>] internal GemmSlot = 1

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
    let internal im2col<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
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
    let internal col2im<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (col: 'T[]) (colOff: int) (ld: int) (g: Geo) (x: 'T[]) (xOff: int) =
        let hw = g.H * g.W
        if sameWidthUnitStride g then
            forTaps g ld colOff (fun c kh kw row ->
                let struct (ohLo, ohHi, owLo, owHi, lo, hi, shift) = planeShift g kh kw
                // the wrapped positions of col (its own scratch) are zeroed, then one add of the shifted plane
                zeroWrapped col row g.W ohLo ohHi owLo owHi
                if hi > lo then
                    let d = Span<'T>(x, xOff + c * hw + lo + shift, hi - lo)
                    TensorPrimitives.Add(Elementwise.ro d, ReadOnlySpan<'T>(col, row + lo, hi - lo), d))
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
                        TensorPrimitives.Add(Elementwise.ro d, ReadOnlySpan<'T>(col, srcCol + owLo, owHi - owLo), d)
                    else
                        for ow in owLo .. owHi - 1 do
                            x.[dst + ow * g.SW] <- x.[dst + ow * g.SW] + col.[srcCol + ow])

    /// Samples per parallel chunk for a pass that moves `perSample` elements of each sample.
    let internal minSamples (perSample: int) = max 1 (Par.grain / max 1 perSample)

    /// A batch column matrix and what it was built from (the input array, the geometry, the group).
    [<AllowNullLiteral>]
    type internal Cols<'T>(src: 'T[], geo: Geo, gi: int, col: 'T[]) =
        member _.Src = src
        member _.Geo = geo
        member _.Gi = gi
        member _.Col = col

    /// Column matrices kept from conv2d's forward for its weight gradient, which reads the same columns
    /// (the im2col of a 3×3 kernel over 14-wide rows is ~130k short copies per batch). Keyed by the input
    /// array (raw tensors are immutable), geometry and group; forward always rebuilds, so an input updated in
    /// place between two forwards is never read stale. An entry is taken out of its slot while in use, so
    /// another thread never sees it half-built or overwritten (it just misses).
    type internal ColCache<'T>() =
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
    let internal columnsAreInput (g: Geo) = g.Pointwise && (g.N = 1 || g.C = 1)

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
    let internal columns<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
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
    let internal release (e: Cols<'T>) = if not (isNull e) then ColCache<'T>.Give e

    /// z[o, n·L + l] = y[n, gi·Og + o, l]: group gi of an NCHW gradient as the gemm's [Og, N·L] operand
    /// (y itself when there is one sample).
    let internal gatherRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
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
