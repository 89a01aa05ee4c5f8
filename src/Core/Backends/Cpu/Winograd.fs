namespace Hybrid.Core.Backends.Cpu

open System
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86

/// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016)
/// for float32 3×3 convolutions with stride 1 and padding 1, fused with bias, relu and the 2×2 max-pool: each 2×2
/// output tile is exactly one pool window, so the conv output is never stored.
///
///   y_tile = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A, summed over input channels, for the 4×4 input patch d and the 3×3 filter g;
///   16 products of [O × C] by [C × tiles] replace im2col's [O × 9C] by [9C × 4·tiles]: 2.25x fewer multiplies.
///
/// The input gradient runs the same way: ∂x is the convolution of ∂z with the bank turned 180° and transposed.
///
/// Tiles run along the vector lanes, one vector per tile row, so a plane may be at most 16 columns wide (the small late
/// planes of a CNN). A non-finite input, weight, gradient or output makes the caller recompute the sample directly:
/// Winograd would spread one NaN or infinity over the whole tile, where the direct convolution keeps it to the outputs
/// it touches.
module Winograd =
    /// Lanes of a tile row.
    let [<Literal>] private Lanes = 8
    /// Floats of a padded input row: one column of padding on the left, 16 columns, zeros up to 24.
    let [<Literal>] private Pitch = 24

    /// Whether a float32 plane of h × w takes this path: at least one 2×2 window, at most 8 windows a row.
    let fits (h: int) (w: int) = h >= 2 && w >= 2 && w <= 2 * Lanes

    /// U[ξ, o, c] = (G g Gᵀ)[ξ] for the filter g = w[o, c] (3×3), ξ = 4·i + k, with
    /// G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
    let filters (w: float32[]) (o: int) (c: int) : float32[] =
        let u = Array.zeroCreate<float32> (16 * o * c)
        let oc = o * c
        for f in 0 .. oc - 1 do
            let g r k = w.[f * 9 + r * 3 + k]
            for i in 0 .. 3 do
                // row i of t = G·g (4 × 3), then row i of u = t·Gᵀ (4 × 4)
                let t k =
                    match i with
                    | 0 -> g 0 k
                    | 1 -> 0.5f * (g 0 k + g 1 k + g 2 k)
                    | 2 -> 0.5f * (g 0 k - g 1 k + g 2 k)
                    | _ -> g 2 k
                let t0, t1, t2 = t 0, t 1, t 2
                u.[(4 * i) * oc + f] <- t0
                u.[(4 * i + 1) * oc + f] <- 0.5f * (t0 + t1 + t2)
                u.[(4 * i + 2) * oc + f] <- 0.5f * (t0 - t1 + t2)
                u.[(4 * i + 3) * oc + f] <- t2
        u

    /// U of the input gradient's bank: the filters w[o, c] turned 180° and the bank transposed to [c, o], so that
    /// ∂x = conv2d(∂z, flipped, padding 1) for a 3×3 kernel with stride 1 and padding 1.
    let flipped (w: float32[]) (o: int) (c: int) : float32[] =
        let t = Array.zeroCreate<float32> (o * c * 9)
        for f in 0 .. o - 1 do
            for ch in 0 .. c - 1 do
                for k in 0 .. 8 do t.[(ch * o + f) * 9 + k] <- w.[(f * c + ch) * 9 + 8 - k]
        filters t c o

    /// Whether every element is finite.
    let allFinite (a: float32[]) = Array.forall Single.IsFinite a

    /// Scratch of one core, big enough for samples of c input channels, o filters and planes h high: the padded sample,
    /// the transformed inputs V [16, c, tiles], the products M [16, o, tiles] and the row transforms of one channel.
    [<AllowNullLiteral>]
    type Scratch(c: int, h: int, o: int) =
        [<ThreadStatic; DefaultValue>]
        static val mutable private mine: Scratch
        /// This thread's scratch, made larger when these sizes need it.
        static member For(c: int, h: int, o: int) =
            let s = Scratch.mine
            if isNull s || s.C < c || s.H < h || s.O < o then
                Scratch.mine <- Scratch((if isNull s then c else max c s.C), (if isNull s then h else max h s.H), (if isNull s then o else max o s.O))
            Scratch.mine
        member _.C = c
        member _.H = h
        member _.O = o
        member val Xp = Array.zeroCreate<float32> (c * (h + 2) * Pitch)
        /// The plane size (h, w) whose padding Xp's zeros were laid out for (0: none yet): the padded copies write only
        /// the interior, so the zeros stay while the planes keep their size.
        member val XpSize = 0L with get, set
        member val V = Array.zeroCreate<float32> (16 * c * (h / 2) * Lanes)
        member val M = Array.zeroCreate<float32> (16 * o * (h / 2) * Lanes)
        member val R = Array.zeroCreate<float32> ((h + 2) * 4 * Lanes)
        member val Y = Array.zeroCreate<float32> Lanes
        member val I = Array.zeroCreate<int> Lanes

    let inline private load (a: float32[]) (i: int) = Vector256.LoadUnsafe(&MemoryMarshal.GetArrayDataReference a, unativeint i)
    let inline private store (v: Vector256<float32>) (a: float32[]) (i: int) = Vector256.StoreUnsafe(v, &MemoryMarshal.GetArrayDataReference a, unativeint i)
    /// (v − v): 0 in each finite lane, NaN in each infinite or NaN one.
    let inline private nonFinite (v: Vector256<float32>) = v - v

    let inline private fma (a: Vector256<float32>) (b: Vector256<float32>) (acc: Vector256<float32>) =
        if Fma.IsSupported then Fma.MultiplyAdd(a, b, acc) else acc + a * b

    /// V[ξ, ch, ti·8 + tj] = (Bᵀ d B)[ξ] for the 4×4 patch d at rows 2ti − 1.., columns 2tj − 1.. of channel ch, with
    /// Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]]. Returns (v − v) summed over every V written:
    /// 0 when all are finite.
    let private transformInput (x: float32[]) (xOff: int) (cs: int) (c: int) (h: int) (w: int) (s: Scratch) =
        let th = h / 2
        let xp, v, r = s.Xp, s.V, s.R
        // the padded sample (channel ch at xOff + ch·cs): row 0 and rows past h are zeros, column 0 and columns past w too;
        // only the interior is written, so the zeros are laid once for each plane size
        if s.XpSize <> (int64 h <<< 32 ||| int64 w) then
            Array.Clear xp
            s.XpSize <- int64 h <<< 32 ||| int64 w
        for ch in 0 .. c - 1 do
            for row in 0 .. h - 1 do
                let src, dst = xOff + ch * cs + row * w, (ch * (h + 2) + row + 1) * Pitch + 1
                // rows of 8 to 16: two vectors, the second ending at the row's end (a call per short copy cost more)
                if w >= Lanes then
                    store (load x src) xp dst
                    store (load x (src + w - Lanes)) xp (dst + w - Lanes)
                else Span<float32>(x, src, w).CopyTo(Span<float32>(xp, dst, w))
        let mutable bad = Vector256<float32>.Zero
        let plane = th * Lanes
        for ch in 0 .. c - 1 do
            // along each padded row: d0..d3 = p[2tj..2tj+3] → (d0 − d2, d1 + d2, d2 − d1, d1 − d3)
            for row in 0 .. 2 * th + 1 do
                let at = (ch * (h + 2) + row) * Pitch
                let struct (e, o) = Elementwise.deinterleave xp at
                let struct (e1, o1) = Elementwise.deinterleave xp (at + 2)
                let rr = row * 4 * Lanes
                store (e - e1) r rr
                store (o + e1) r (rr + Lanes)
                store (e1 - o) r (rr + 2 * Lanes)
                store (o - o1) r (rr + 3 * Lanes)
            // down the columns, the same transform over rows 2ti..2ti+3 of the padded plane
            for ti in 0 .. th - 1 do
                for k in 0 .. 3 do
                    let a0 = load r (((2 * ti) * 4 + k) * Lanes)
                    let a1 = load r (((2 * ti + 1) * 4 + k) * Lanes)
                    let a2 = load r (((2 * ti + 2) * 4 + k) * Lanes)
                    let a3 = load r (((2 * ti + 3) * 4 + k) * Lanes)
                    let out = ch * plane + ti * Lanes
                    let v0, v1, v2, v3 = a0 - a2, a1 + a2, a2 - a1, a1 - a3
                    bad <- bad + nonFinite v0 + nonFinite v1 + nonFinite v2 + nonFinite v3
                    store v0 v (k * c * plane + out)
                    store v1 v ((4 + k) * c * plane + out)
                    store v2 v ((8 + k) * c * plane + out)
                    store v3 v ((12 + k) * c * plane + out)
        Vector256.Sum bad

    /// M[ξ] [o, tiles] = U[ξ] [o, c] · V[ξ] [c, tiles] for the 16 ξ: 4 filters × 2 tile vectors a block (8 accumulators),
    /// 8 filters × 1 vector for an odd last vector, one by one for what is left.
    let private products (u: float32[]) (o: int) (c: int) (th: int) (s: Scratch) =
        let plane = th * Lanes
        let v, m = s.V, s.M
        for xi in 0 .. 15 do
            let uX, vX, mX = xi * o * c, xi * c * plane, xi * o * plane
            let mutable f = 0
            while f + 4 <= o do
                let mutable t = 0
                while t + 2 <= th do
                    let mutable a00, a01, a10, a11 = Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero
                    let mutable a20, a21, a30, a31 = Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero
                    for k in 0 .. c - 1 do
                        let vk = vX + k * plane + t * Lanes
                        let b0 = load v vk
                        let b1 = load v (vk + Lanes)
                        let uk = uX + f * c + k
                        let w0 = Vector256.Create(u.[uk])
                        a00 <- fma w0 b0 a00
                        a01 <- fma w0 b1 a01
                        let w1 = Vector256.Create(u.[uk + c])
                        a10 <- fma w1 b0 a10
                        a11 <- fma w1 b1 a11
                        let w2 = Vector256.Create(u.[uk + 2 * c])
                        a20 <- fma w2 b0 a20
                        a21 <- fma w2 b1 a21
                        let w3 = Vector256.Create(u.[uk + 3 * c])
                        a30 <- fma w3 b0 a30
                        a31 <- fma w3 b1 a31
                    let mo = mX + f * plane + t * Lanes
                    store a00 m mo
                    store a01 m (mo + Lanes)
                    store a10 m (mo + plane)
                    store a11 m (mo + plane + Lanes)
                    store a20 m (mo + 2 * plane)
                    store a21 m (mo + 2 * plane + Lanes)
                    store a30 m (mo + 3 * plane)
                    store a31 m (mo + 3 * plane + Lanes)
                    t <- t + 2
                f <- f + 4
            // an odd last tile vector: 8 filters at a time (8 accumulators: one would wait on each FMA's latency)
            let mutable f8 = 0
            if th % 2 = 1 then
                let t = th - 1
                while f8 + 8 <= f do
                    let mutable a0, a1, a2, a3 = Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero
                    let mutable a4, a5, a6, a7 = Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero, Vector256<float32>.Zero
                    for k in 0 .. c - 1 do
                        let b0 = load v (vX + k * plane + t * Lanes)
                        let uk = uX + f8 * c + k
                        a0 <- fma (Vector256.Create(u.[uk])) b0 a0
                        a1 <- fma (Vector256.Create(u.[uk + c])) b0 a1
                        a2 <- fma (Vector256.Create(u.[uk + 2 * c])) b0 a2
                        a3 <- fma (Vector256.Create(u.[uk + 3 * c])) b0 a3
                        a4 <- fma (Vector256.Create(u.[uk + 4 * c])) b0 a4
                        a5 <- fma (Vector256.Create(u.[uk + 5 * c])) b0 a5
                        a6 <- fma (Vector256.Create(u.[uk + 6 * c])) b0 a6
                        a7 <- fma (Vector256.Create(u.[uk + 7 * c])) b0 a7
                    let mo = mX + f8 * plane + t * Lanes
                    store a0 m mo
                    store a1 m (mo + plane)
                    store a2 m (mo + 2 * plane)
                    store a3 m (mo + 3 * plane)
                    store a4 m (mo + 4 * plane)
                    store a5 m (mo + 5 * plane)
                    store a6 m (mo + 6 * plane)
                    store a7 m (mo + 7 * plane)
                    f8 <- f8 + 8
            // what the blocks left: the odd last vector of filters f8..f − 1, and every vector of the rest
            for ff in f8 .. o - 1 do
                for t in (if ff < f then th - th % 2 else 0) .. th - 1 do
                    let mutable acc = Vector256<float32>.Zero
                    for k in 0 .. c - 1 do
                        acc <- fma (Vector256.Create(u.[uX + ff * c + k])) (load v (vX + k * plane + t * Lanes)) acc
                    store acc m (mX + ff * plane + t * Lanes)

    /// The four outputs of a vector of tiles, Y = Aᵀ M A with Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]]: (Y00, Y01, Y10, Y11),
    /// M(i, k) being the vector at at0 + (4i + k)·step.
    let inline private outputTile (mm: float32[]) (at0: int) (step: int) =
        let m i k = load mm (at0 + (4 * i + k) * step)
        // P = Aᵀ M (rows i), then Y = P A (columns k)
        let p0 k = m 0 k + m 1 k + m 2 k
        let p1 k = m 1 k - m 2 k - m 3 k
        let p00, p01, p02, p03 = p0 0, p0 1, p0 2, p0 3
        let p10, p11, p12, p13 = p1 0, p1 1, p1 2, p1 3
        struct (p00 + p01 + p02, p01 - p02 - p03, p10 + p11 + p12, p11 - p12 - p13)

    /// Output transform Y = Aᵀ M A of filter f's tiles, then per tile: the first
    /// maximum of its four outputs in row-major order (a later one where strictly greater), plus the bias, relu, into
    /// y and ix (ix: flat index into the conv output's plane of width w). Returns (v − v) summed over the outputs.
    let private transformOutput (f: int) (o: int) (th: int) (tw: int) (w: int) (b: float32) (s: Scratch)
                                (y: float32[]) (ix: int64[]) (yOff: int) =
        let plane = th * Lanes
        let mm = s.M
        let vb = Vector256.Create b
        let lane2 = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14)
        let mutable bad = Vector256<float32>.Zero
        let yv, iv = s.Y, s.I
        for ti in 0 .. th - 1 do
            let struct (y00, y01, y10, y11) = outputTile mm (f * plane + ti * Lanes) (o * plane)
            bad <- bad + nonFinite y00 + nonFinite y01 + nonFinite y10 + nonFinite y11
            let right0 = Vector256.GreaterThan(y01, y00)
            let top = Vector256.ConditionalSelect(right0, y01, y00)
            let right1 = Vector256.GreaterThan(y11, y10)
            let low = Vector256.ConditionalSelect(right1, y11, y10)
            let down = Vector256.GreaterThan(low, top)
            let best = Vector256.ConditionalSelect(down, low, top)
            let right = Vector256.ConditionalSelect(down, right1, right0).AsInt32()
            // flat index (2ti + row)·w + 2tj + column
            let at = Vector256.Create(2 * ti * w) + lane2 + Vector256.BitwiseAnd(down.AsInt32(), Vector256.Create w)
                     + Vector256.BitwiseAnd(right, Vector256<int>.One)
            Vector256.Max(best + vb, Vector256<float32>.Zero).CopyTo(yv)
            at.CopyTo(iv)
            let dst = yOff + ti * tw
            for j in 0 .. tw - 1 do
                y.[dst + j] <- yv.[j]
                ix.[dst + j] <- int64 iv.[j]
        Vector256.Sum bad

    /// The skeleton of both passes: the sample's c input planes (cs apart from xOff) transformed, multiplied by U into
    /// o output planes, then `output f` for each plane f, until one reports a non-finite value (v − v summed ≠ 0). True
    /// when every input and output was finite; on false, the later planes are left unwritten.
    let private convolve (x: float32[]) (xOff: int) (cs: int) (c: int) (h: int) (w: int) (u: float32[]) (o: int) (s: Scratch)
                         (output: int -> float32) =
        transformInput x xOff cs c h w s = 0.0f
        && (products u o c (h / 2) s
            let mutable f = 0
            while f < o && output f = 0.0f do f <- f + 1
            f = o)

    /// One sample of max_pool2d(relu(conv2d(x, w, padding 1) + bias), 2) for a float32 3×3 filter bank given as U
    /// (`filters`), into y and ix at the sample's planes. False, with y and ix of this sample unspecified, where an
    /// input or an output is not finite (the caller then computes the sample directly).
    let sample (x: float32[]) (xOff: int) (c: int) (h: int) (w: int) (u: float32[]) (o: int) (bias: float32[])
               (y: float32[]) (ix: int64[]) (yOff: int) (s: Scratch) : bool =
        let th, tw = h / 2, w / 2
        convolve x xOff (h * w) c h w u o s (fun f ->
            transformOutput f o th tw w (if isNull bias then 0.0f else bias.[f]) s y ix (yOff + f * th * tw))

    /// Output transform Y = Aᵀ M A of filter f's tiles, written whole into the h × w plane at yOff (h and w even: the
    /// tiles cover it). Returns (v − v) summed over the outputs.
    let private transformOutputPlain (f: int) (o: int) (th: int) (w: int) (s: Scratch) (y: float32[]) (yOff: int) =
        let plane = th * Lanes
        let mm = s.M
        let last = s.Y
        let mutable bad = Vector256<float32>.Zero
        for ti in 0 .. th - 1 do
            let struct (y00, y01, y10, y11) = outputTile mm (f * plane + ti * Lanes) (o * plane)
            bad <- bad + nonFinite y00 + nonFinite y01 + nonFinite y10 + nonFinite y11
            // each output row interleaves the tiles' two columns: (y·0[0], y·1[0], y·0[1], y·1[1], ...)
            let writeRow (row: int) (a: Vector256<float32>) (b: Vector256<float32>) =
                let lo, hi = Avx.UnpackLow(a, b), Avx.UnpackHigh(a, b)
                let first = Avx.Permute2x128(lo, hi, 0x20uy)
                let second = Avx.Permute2x128(lo, hi, 0x31uy)
                let at = yOff + row * w
                if w >= Lanes then store first y at else (first.CopyTo(last); Array.Copy(last, 0, y, at, w))
                if w > Lanes then
                    // columns 8..w − 1; a whole vector would run into the next row (written after) or past the plane
                    if row < 2 * th - 1 then store second y (at + Lanes)
                    else (second.CopyTo(last); Array.Copy(last, 0, y, at + Lanes, w - Lanes))
            writeRow (2 * ti) y00 y01
            writeRow (2 * ti + 1) y10 y11
        Vector256.Sum bad

    /// One sample of conv2d's input gradient for a 3×3 kernel with stride 1 and padding 1 on h × w planes (h, w even):
    /// ∂x[ch] = Σ_f conv(∂z[f], w[f, ch] turned 180°), U the `flipped` bank; ∂z's o planes stand cs apart from gzOff, ∂x's
    /// c planes are written whole from gxOff. False, with the sample's ∂x unspecified, where an input or an output is
    /// not finite.
    let inputGradient (gz: float32[]) (gzOff: int) (cs: int) (o: int) (h: int) (w: int) (u: float32[]) (c: int)
                      (gx: float32[]) (gxOff: int) (s: Scratch) : bool =
        convolve gz gzOff cs o h w u c s (fun ch -> transformOutputPlain ch c (h / 2) w s gx (gxOff + ch * h * w))
