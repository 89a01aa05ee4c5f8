namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Buffers
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Hybrid.Core
open Hybrid.Core.Backends

/// max_pool2d(relu(conv2d(x, w) + b), 2) as one op and its backward: the gemm, then the bias, relu and 2×2 pool in one
/// pass over its output; chunk by chunk where the batch is large enough, and by Winograd's F(2×2, 3×3) where it applies.
module ConvReluPool =

    open ConvShapes
    open Im2col
    open Conv2d
    open Pooling

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
            let struct (ev, od) = Elementwise.deinterleave z (zOff + 2 * k)
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
                let top = Elementwise.permute (Vector256.Create(Vector128.AndNot(gTop, right), Vector128.BitwiseAnd(gTop, right))) zip
                let low = Elementwise.permute (Vector256.Create(Vector128.AndNot(gBottom, right), Vector128.BitwiseAnd(gBottom, right))) zip
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
        Elementwise.reluBackward (ReadOnlySpan<'T>(gy, p0, m.Length)) (ReadOnlySpan<'T>(y, p0, m.Length)) (Span<'T>(m))
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
    /// BLAS: the chunk counts whose rows are not were the slower ones on the CNN, docs/performance.md).
    let private chunkSamples (g: Geo) =
        let most = max 1 ((128 * 1024) / max 1 ((if g.K <= 16 then g.K + g.O else g.K) * g.L))
        match Seq.tryFind (fun s -> s * g.L % 8 = 0) (seq { most .. -1 .. 1 }) with
        | Some s -> s
        | None -> most

    /// Whether the fused block runs chunk by chunk: a column matrix of its own (not a 1×1 kernel reading x as is), a
    /// BLAS for the per-chunk products (thin ones run in the managed thin kernels, on the chunk's core), and two chunks
    /// or more. Chunks keep each sample's columns and products in L2 between the gemm and the pool pass; a thin first
    /// block gains from it too, though only when timed inside a whole step (alone, its inputs are already in cache).
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
                // ∂W_cᵀ [K, O] = col_c · gZ_cᵀ: the shape OpenBLAS runs faster than [O, K] for the CNN's
                // blocks; transposed once at the end
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
        let y = OutputArrays.rent<'T> (Shape.numel shape)
        let ix = OutputArrays.rent<int64> y.Length
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
        let gw = if needWeight then OutputArrays.rentZeroed<'T> (Shape.numel wShape) else null
        let gx = if needInput then OutputArrays.rentZeroed<'T> (Shape.numel xShape) else null
        if runsChunked g then backwardChunked gy y ix x g w gx gw gb
        else
            let gz = Scratch<'T>.Take(GemmSlot, g.O * g.N * g.L)
            biasReluPool2x2Backward gy y ix g gz gb
            if needWeight then weightGradFromRows gz 0 g 0 x gw
            if needInput then inputGradFromRows gz 0 g 0 w gx
            Scratch<'T>.Give(GemmSlot, gz)
        gx, gw, gb
