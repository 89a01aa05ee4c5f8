namespace Hybrid.Core.Backends.Cpu

open System
open System.Buffers
open System.Numerics
open System.Numerics.Tensors
open System.Runtime.CompilerServices
open System.Runtime.InteropServices
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Hybrid.Core
open Hybrid.Core.Backends

/// Matrix products: OpenBLAS through P/Invoke where it loads, else a managed SIMD kernel.
module Matmul =

    // ---- managed GEMM (Goto/BLIS): C += A·B as blocks of panels packed so the micro-kernel streams them.
    // Loops: jc over n by NC; pc over k by KC (pack B[pc, jc] as NR-wide panels, shared);
    // rows split between the cores; ic over m by MC (pack A[ic, pc] as MR-high panels, per thread);
    // jr, ir over the panels: an MR x NR tile of C accumulated in registers over kc steps.

    /// Rows of the register tile.
    let [<Literal>] private MR = 6
    /// Depth of a packed block (A block MC x KC stays in L2, B panel KC x NR in L1).
    let [<Literal>] private KC = 256
    /// Rows of a packed A block (a multiple of MR).
    let [<Literal>] private MC = 120

    /// Columns of the register tile: two Vector256 per row (16 float32, 8 float64).
    let inline private nrOf<'T when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> () = 2 * Vector256<'T>.Count

    /// a·b + c per lane, fused (one rounding) where the CPU has FMA.
    let inline private fma<'T when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (a: Vector256<'T>) (b: Vector256<'T>) (c: Vector256<'T>) =
        if Fma.IsSupported && Type.op_Equality(typeof<'T>, typeof<float32>) then
            Vector256.As<float32, 'T>(Fma.MultiplyAdd(Vector256.As<'T, float32> a, Vector256.As<'T, float32> b, Vector256.As<'T, float32> c))
        elif Fma.IsSupported && Type.op_Equality(typeof<'T>, typeof<float>) then
            Vector256.As<float, 'T>(Fma.MultiplyAdd(Vector256.As<'T, float> a, Vector256.As<'T, float> b, Vector256.As<'T, float> c))
        else Vector256.Add(Vector256.Multiply(a, b), c)

    /// c[off .. off+W) += v.
    let inline private addTo<'T when 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (c: byref<'T>) (off: int) (v: Vector256<'T>) =
        let o = unativeint off
        Vector256.StoreUnsafe(Vector256.Add(Vector256.LoadUnsafe(&c, o), v), &c, o)

    // Tiering: these run at tier 0 for their first calls (F# drops MethodImplOptions.AggressiveOptimization);
    // a long-running process reaches the optimised code after a few products (measured in bench/).
    /// C tile (mr x nr of MR x NR at c[cOff], row stride ldc) += Apanel(MR x kc) · Bpanel(kc x NR).
    /// Packed A: ap[aOff + p*MR + r]; packed B: bp[bOff + p*NR + j]. Partial tiles go through `tmp`.
    let private microKernel<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (ap: 'T[]) (aOff: int) (bp: 'T[]) (bOff: int) (kc: int) (c: 'T[]) (cOff: int) (ldc: int) (mr: int) (nr: int) (tmp: 'T[]) =
        let w = Vector256<'T>.Count
        let nrFull = 2 * w
        let mutable c00 = Vector256<'T>.Zero
        let mutable c01 = Vector256<'T>.Zero
        let mutable c10 = Vector256<'T>.Zero
        let mutable c11 = Vector256<'T>.Zero
        let mutable c20 = Vector256<'T>.Zero
        let mutable c21 = Vector256<'T>.Zero
        let mutable c30 = Vector256<'T>.Zero
        let mutable c31 = Vector256<'T>.Zero
        let mutable c40 = Vector256<'T>.Zero
        let mutable c41 = Vector256<'T>.Zero
        let mutable c50 = Vector256<'T>.Zero
        let mutable c51 = Vector256<'T>.Zero
        let a0 = &MemoryMarshal.GetArrayDataReference ap
        let b0 = &MemoryMarshal.GetArrayDataReference bp
        let mutable ai = aOff
        let mutable bi = bOff
        for _ in 1 .. kc do
            let vb0 = Vector256.LoadUnsafe(&b0, unativeint bi)
            let vb1 = Vector256.LoadUnsafe(&b0, unativeint (bi + w))
            let va = Vector256.Create(Unsafe.Add(&a0, ai))
            c00 <- fma va vb0 c00
            c01 <- fma va vb1 c01
            let va = Vector256.Create(Unsafe.Add(&a0, ai + 1))
            c10 <- fma va vb0 c10
            c11 <- fma va vb1 c11
            let va = Vector256.Create(Unsafe.Add(&a0, ai + 2))
            c20 <- fma va vb0 c20
            c21 <- fma va vb1 c21
            let va = Vector256.Create(Unsafe.Add(&a0, ai + 3))
            c30 <- fma va vb0 c30
            c31 <- fma va vb1 c31
            let va = Vector256.Create(Unsafe.Add(&a0, ai + 4))
            c40 <- fma va vb0 c40
            c41 <- fma va vb1 c41
            let va = Vector256.Create(Unsafe.Add(&a0, ai + 5))
            c50 <- fma va vb0 c50
            c51 <- fma va vb1 c51
            ai <- ai + MR
            bi <- bi + nrFull
        if mr = MR && nr = nrFull then
            let cr = &MemoryMarshal.GetArrayDataReference c
            addTo &cr cOff c00
            addTo &cr (cOff + w) c01
            addTo &cr (cOff + ldc) c10
            addTo &cr (cOff + ldc + w) c11
            addTo &cr (cOff + 2 * ldc) c20
            addTo &cr (cOff + 2 * ldc + w) c21
            addTo &cr (cOff + 3 * ldc) c30
            addTo &cr (cOff + 3 * ldc + w) c31
            addTo &cr (cOff + 4 * ldc) c40
            addTo &cr (cOff + 4 * ldc + w) c41
            addTo &cr (cOff + 5 * ldc) c50
            addTo &cr (cOff + 5 * ldc + w) c51
        else
            // edge tile: spill the registers, add the valid mr x nr corner
            let t = Span<'T>(tmp)
            c00.CopyTo(t.Slice(0)); c01.CopyTo(t.Slice(w))
            c10.CopyTo(t.Slice(nrFull)); c11.CopyTo(t.Slice(nrFull + w))
            c20.CopyTo(t.Slice(2 * nrFull)); c21.CopyTo(t.Slice(2 * nrFull + w))
            c30.CopyTo(t.Slice(3 * nrFull)); c31.CopyTo(t.Slice(3 * nrFull + w))
            c40.CopyTo(t.Slice(4 * nrFull)); c41.CopyTo(t.Slice(4 * nrFull + w))
            c50.CopyTo(t.Slice(5 * nrFull)); c51.CopyTo(t.Slice(5 * nrFull + w))
            for r in 0 .. mr - 1 do
                let row = Span<'T>(c, cOff + r * ldc, nr)
                TensorPrimitives.Add(Elementwise.ro row, ReadOnlySpan<'T>(tmp, r * nrFull, nr), row)

    /// Pack A[i0 .. i0+mc, p0 .. p0+kc) (row stride k) into MR-high panels, zero-padded: ap[panel*MR*kc + p*MR + r].
    let private packA<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: ReadOnlySpan<'T>) (k: int) (i0: int) (mc: int) (p0: int) (kc: int) (ap: 'T[]) =
        let panels = (mc + MR - 1) / MR
        for q in 0 .. panels - 1 do
            let baseP = q * MR * kc
            for r in 0 .. MR - 1 do
                let i = q * MR + r
                if i < mc then
                    let src = a.Slice((i0 + i) * k + p0, kc)
                    for p in 0 .. kc - 1 do ap.[baseP + p * MR + r] <- src.[p]
                else
                    for p in 0 .. kc - 1 do ap.[baseP + p * MR + r] <- 'T.Zero

    /// Pack panels [q0, q1) of B[p0 .. p0+kc, j0 .. j0+nc) (row stride n) NR wide, zero-padded: bp[panel*NR*kc + p*NR + j].
    let private packB<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (b: ReadOnlySpan<'T>) (n: int) (p0: int) (kc: int) (j0: int) (nc: int) (q0: int) (q1: int) (bp: 'T[]) =
        let nr = nrOf<'T> ()
        for q in q0 .. q1 - 1 do
            let cols = min nr (nc - q * nr)
            for p in 0 .. kc - 1 do
                let dst = Span<'T>(bp, (q * kc + p) * nr, nr)
                b.Slice((p0 + p) * n + j0 + q * nr, cols).CopyTo(dst)
                if cols < nr then dst.Slice(cols).Clear()

    /// Managed C[m,n] += A[m,k] · B[k,n] (row-major, contiguous): packed panels, a 6 x (2·Vector256) register
    /// tile with FMA, rows of C split over the cores. Every element of C is a sum over p in increasing order.
    let managed<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: ReadOnlyMemory<'T>) (b: ReadOnlyMemory<'T>) (c: Memory<'T>) (m: int) (n: int) (k: int) =
        if m > 0 && n > 0 && k > 0 then
            let nr = nrOf<'T> ()
            let nc = 256 * nr
            // C as an array + offset (the micro-kernel writes through refs into it)
            let cArr, cBase =
                match MemoryMarshal.TryGetArray(Memory<'T>.op_Implicit c : ReadOnlyMemory<'T>) with
                | true, seg -> seg.Array, seg.Offset
                | _ -> invalidArg "c" "matmul: the output must be backed by an array"
            let bpack = ArrayPool<'T>.Shared.Rent(KC * (nc + nr))
            try
                let mPanels = (m + MR - 1) / MR
                for jc in 0 .. nc .. n - 1 do
                    let ncb = min nc (n - jc)
                    let nPanels = (ncb + nr - 1) / nr
                    for pc in 0 .. KC .. k - 1 do
                        let kcb = min KC (k - pc)
                        Par.chunks nPanels (max 1 (Par.grain / max 1 (kcb * nr))) (fun q0 q1 ->
                            packB b.Span n pc kcb jc ncb q0 q1 bpack)
                        // a thread's share is worth the hand-off (~µs) from ~256k multiply-adds up
                        let minPanels = max 1 ((1 <<< 18) / max 1 (MR * ncb * kcb))
                        Par.chunks mPanels minPanels (fun s e ->
                            let apack = ArrayPool<'T>.Shared.Rent(MC * KC)
                            let tmp = Array.zeroCreate<'T> (MR * nr)
                            try
                                for ic in s * MR .. MC .. min m (e * MR) - 1 do
                                    let mcb = min MC (min m (e * MR) - ic)
                                    packA a.Span k ic mcb pc kcb apack
                                    for q in 0 .. nPanels - 1 do
                                        let j = q * nr
                                        let nrb = min nr (ncb - j)
                                        for ir in 0 .. MR .. mcb - 1 do
                                            microKernel apack (ir * kcb) bpack (q * kcb * nr) kcb
                                                cArr (cBase + (ic + ir) * n + jc + j) n (min MR (mcb - ir)) nrb tmp
                            finally ArrayPool<'T>.Shared.Return apack)
            finally ArrayPool<'T>.Shared.Return bpack


    /// The rows x cols block at `off` of `x`, transposed into a new cols x rows array (the managed path's op(X)).
    let private transposed<'T> (x: 'T[]) (off: int) (rows: int) (cols: int) : 'T[] =
        let y = Array.zeroCreate<'T> (rows * cols)
        for r in 0 .. rows - 1 do
            for c in 0 .. cols - 1 do
                y.[c * rows + r] <- x.[off + r * cols + c]
        y

    // ---- thin products: one side of the product is a handful of rows, the other tens of thousands of columns
    // (a convolution over a one-channel image: 9 taps). OpenBLAS packs the long operand and clears C first, which
    // costs more than the arithmetic there (measured 16×50176 by k 9: 0.19 ms; 16×9 by k 50176: 0.25 ms).

    /// Columns of B (NN) or of the reduction (NT) per parallel block: A's rows and the block's rows of B stay in L1/L2.
    let [<Literal>] private ThinBlock = 2048

    /// Reduction length per block of `thinN` (a row of A and four of B: 40 KB in float32).
    let [<Literal>] private ThinReduceBlock = 2048

    /// body over [0, n) in chunks split between the cores, or at once on the calling thread (inside another split).
    let private split (acrossCores: bool) (n: int) (body: int -> int -> unit) = if acrossCores then Par.chunks n 1 body else body 0 n

    /// Whether C[m,n] = A[m,k]·B[k,n] has a short k and long rows: the `thinK` kernel.
    /// (Split over the cores, the long side must make several blocks; on one thread any length does.)
    let private isThinK (acrossCores: bool) (m: int) (n: int) (k: int) = k <= 16 && m <= 64 && (not acrossCores || n >= 4 * ThinBlock)

    /// C[m,n] = A[m,k]·B[k,n] for a short k: C's rows a Vector256 at a time as Σ_p a[i,p]·B[p, j..] (p increasing),
    /// over blocks of B's columns split between the cores. Writes every element of C.
    let private thinK<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (acrossCores: bool) (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        let w = Vector256<'T>.Count
        split acrossCores ((n + ThinBlock - 1) / ThinBlock) (fun s e ->
            let b0 = &MemoryMarshal.GetArrayDataReference b
            let c0 = &MemoryMarshal.GetArrayDataReference c
            for blk in s .. e - 1 do
                let j0 = blk * ThinBlock
                let j1 = min n (j0 + ThinBlock)
                let mutable i = 0
                // four rows of C by two vectors: eight independent FMA chains, each load of B feeding four of them
                while i + 4 <= m do
                    let aRow = aOff + i * k
                    let mutable j = j0
                    while j + 2 * w <= j1 do
                        let mutable c00 = Vector256<'T>.Zero
                        let mutable c01 = Vector256<'T>.Zero
                        let mutable c10 = Vector256<'T>.Zero
                        let mutable c11 = Vector256<'T>.Zero
                        let mutable c20 = Vector256<'T>.Zero
                        let mutable c21 = Vector256<'T>.Zero
                        let mutable c30 = Vector256<'T>.Zero
                        let mutable c31 = Vector256<'T>.Zero
                        for p in 0 .. k - 1 do
                            let at = unativeint (bOff + p * n + j)
                            let vb0 = Vector256.LoadUnsafe(&b0, at)
                            let vb1 = Vector256.LoadUnsafe(&b0, at + unativeint w)
                            let va = Vector256.Create a.[aRow + p]
                            c00 <- fma va vb0 c00
                            c01 <- fma va vb1 c01
                            let va = Vector256.Create a.[aRow + k + p]
                            c10 <- fma va vb0 c10
                            c11 <- fma va vb1 c11
                            let va = Vector256.Create a.[aRow + 2 * k + p]
                            c20 <- fma va vb0 c20
                            c21 <- fma va vb1 c21
                            let va = Vector256.Create a.[aRow + 3 * k + p]
                            c30 <- fma va vb0 c30
                            c31 <- fma va vb1 c31
                        let at = unativeint (cOff + i * n + j)
                        let row = unativeint n
                        Vector256.StoreUnsafe(c00, &c0, at)
                        Vector256.StoreUnsafe(c01, &c0, at + unativeint w)
                        Vector256.StoreUnsafe(c10, &c0, at + row)
                        Vector256.StoreUnsafe(c11, &c0, at + row + unativeint w)
                        Vector256.StoreUnsafe(c20, &c0, at + 2un * row)
                        Vector256.StoreUnsafe(c21, &c0, at + 2un * row + unativeint w)
                        Vector256.StoreUnsafe(c30, &c0, at + 3un * row)
                        Vector256.StoreUnsafe(c31, &c0, at + 3un * row + unativeint w)
                        j <- j + 2 * w
                    // the block's last columns, one at a time
                    while j < j1 do
                        for r in i .. i + 3 do
                            let mutable acc = 'T.Zero
                            for p in 0 .. k - 1 do acc <- acc + a.[aOff + r * k + p] * b.[bOff + p * n + j]
                            c.[cOff + r * n + j] <- acc
                        j <- j + 1
                    i <- i + 4
                // the last m mod 4 rows, a vector at a time
                while i < m do
                    let aRow = aOff + i * k
                    let mutable j = j0
                    while j + w <= j1 do
                        let mutable acc = Vector256<'T>.Zero
                        for p in 0 .. k - 1 do
                            acc <- fma (Vector256.Create a.[aRow + p]) (Vector256.LoadUnsafe(&b0, unativeint (bOff + p * n + j))) acc
                        Vector256.StoreUnsafe(acc, &c0, unativeint (cOff + i * n + j))
                        j <- j + w
                    while j < j1 do
                        let mutable acc = 'T.Zero
                        for p in 0 .. k - 1 do acc <- acc + a.[aRow + p] * b.[bOff + p * n + j]
                        c.[cOff + i * n + j] <- acc
                        j <- j + 1
                    i <- i + 1)

    /// Whether C[m,n] = A[m,k]·B[n,k]ᵀ has few rows and columns and a long reduction: the `thinN` kernel.
    let private isThinN (acrossCores: bool) (m: int) (n: int) (k: int) = n <= 16 && m <= 64 && (not acrossCores || k >= 4 * ThinBlock)

    /// C[m,n] = A[m,k]·B[n,k]ᵀ (B stored [n,k]) for a small m·n and a long k: per block of k, each row of A is loaded once
    /// a vector at a time against four rows of B (four accumulators); the blocks' partial sums are added in block
    /// order, so the result does not depend on how the cores split the blocks. Writes every element of C.
    let private thinN<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (acrossCores: bool) (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        // sweep the side that needs fewer loads: m rows of A × ⌈n/4⌉ sweeps, or (the transposed product, Cᵀ = B·Aᵀ)
        // n rows × ⌈m/4⌉ (16 × 9 by k 50176: 9 rows against four groups of 4 wastes no accumulator; 0.18 -> 0.14-0.16 ms)
        let swap = n * ((m + 3) / 4) < m * ((n + 3) / 4)
        let a, aOff, b, bOff, m, n = if swap then b, bOff, a, aOff, n, m else a, aOff, b, bOff, m, n
        let w = Vector256<'T>.Count
        let blocks = (k + ThinReduceBlock - 1) / ThinReduceBlock
        let partial = ArrayPool<'T>.Shared.Rent(blocks * m * n)
        try
            split acrossCores blocks (fun s e ->
                let a0 = &MemoryMarshal.GetArrayDataReference a
                let b0 = &MemoryMarshal.GetArrayDataReference b
                for blk in s .. e - 1 do
                    let p0 = blk * ThinReduceBlock
                    let p1 = min k (p0 + ThinReduceBlock)
                    let vecEnd = p0 + (p1 - p0) / w * w
                    for i in 0 .. m - 1 do
                        let aRow = aOff + i * k
                        let mutable q = 0
                        while q < n do
                            // up to four rows of B per sweep over the block of A's row
                            let rows = min 4 (n - q)
                            let r0 = bOff + q * k
                            let r1 = bOff + (q + min 1 (rows - 1)) * k
                            let r2 = bOff + (q + min 2 (rows - 1)) * k
                            let r3 = bOff + (q + min 3 (rows - 1)) * k
                            let mutable s0 = Vector256<'T>.Zero
                            let mutable s1 = Vector256<'T>.Zero
                            let mutable s2 = Vector256<'T>.Zero
                            let mutable s3 = Vector256<'T>.Zero
                            let mutable p = p0
                            while p < vecEnd do
                                let va = Vector256.LoadUnsafe(&a0, unativeint (aRow + p))
                                s0 <- fma va (Vector256.LoadUnsafe(&b0, unativeint (r0 + p))) s0
                                s1 <- fma va (Vector256.LoadUnsafe(&b0, unativeint (r1 + p))) s1
                                s2 <- fma va (Vector256.LoadUnsafe(&b0, unativeint (r2 + p))) s2
                                s3 <- fma va (Vector256.LoadUnsafe(&b0, unativeint (r3 + p))) s3
                                p <- p + w
                            let mutable t0 = Vector256.Sum s0
                            let mutable t1 = Vector256.Sum s1
                            let mutable t2 = Vector256.Sum s2
                            let mutable t3 = Vector256.Sum s3
                            while p < p1 do
                                let x = a.[aRow + p]
                                t0 <- t0 + x * b.[r0 + p]
                                t1 <- t1 + x * b.[r1 + p]
                                t2 <- t2 + x * b.[r2 + p]
                                t3 <- t3 + x * b.[r3 + p]
                                p <- p + 1
                            let out = (blk * m + i) * n + q
                            partial.[out] <- t0
                            if rows > 1 then partial.[out + 1] <- t1
                            if rows > 2 then partial.[out + 2] <- t2
                            if rows > 3 then partial.[out + 3] <- t3
                            q <- q + rows)
            for e in 0 .. m * n - 1 do
                let mutable sum = partial.[e]
                for blk in 1 .. blocks - 1 do sum <- sum + partial.[blk * m * n + e]
                // partial is [m, n] of the swept orientation; C is [n, m] of it when swapped
                c.[cOff + (if swap then (e % n) * m + e / n else e)] <- sum
        finally ArrayPool<'T>.Shared.Return partial

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C where `accumulate`) with leading dimensions lda, ldb, ldc (op transposes
    /// where flagged: A stored [k,m] when transA, B stored [n,k] when transB). Thin shapes on contiguous operands run in
    /// the managed thin kernels, else BLAS reads the transposes in place; `acrossCores` splits the work over the cores,
    /// else it runs on the calling thread (for a product inside a parallel chunk). Without BLAS only a split product on
    /// contiguous operands runs (the managed kernel, which adds A·B to c: it must start zeroed unless accumulating).
    let private product<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (acrossCores: bool) (accumulate: bool) (transA: bool) (transB: bool) (m: int) (n: int) (k: int)
        (a: 'T[]) (aOff: int) (lda: int) (b: 'T[]) (bOff: int) (ldb: int) (c: 'T[]) (cOff: int) (ldc: int) =
        if m > 0 && n > 0 && k > 0 then
            let thin = not accumulate && not transA && lda = k && ldc = n
            if thin && not transB && ldb = n && isThinK acrossCores m n k then thinK acrossCores a aOff b bOff c cOff m n k
            elif thin && transB && ldb = k && isThinN acrossCores m n k then thinN acrossCores a aOff b bOff c cOff m n k
            else
                match box a, box b, box c with
                | (:? (float32[]) as a), (:? (float32[]) as b), (:? (float32[]) as c) when Blas.available.Value ->
                    let a = ReadOnlySpan(a, aOff, a.Length - aOff)
                    let b = ReadOnlySpan(b, bOff, b.Length - bOff)
                    let c = Span(c, cOff, c.Length - cOff)
                    let beta = if accumulate then 1.0f else 0.0f
                    if acrossCores then Blas.sgemm transA transB m n k 1.0f a lda b ldb beta c ldc
                    else Blas.sgemmSerial transA transB m n k 1.0f a lda b ldb beta c ldc
                | (:? (float[]) as a), (:? (float[]) as b), (:? (float[]) as c) when Blas.available.Value ->
                    let a = ReadOnlySpan(a, aOff, a.Length - aOff)
                    let b = ReadOnlySpan(b, bOff, b.Length - bOff)
                    let c = Span(c, cOff, c.Length - cOff)
                    let beta = if accumulate then 1.0 else 0.0
                    if acrossCores then Blas.dgemm transA transB m n k 1.0 a lda b ldb beta c ldc
                    else Blas.dgemmSerial transA transB m n k 1.0 a lda b ldb beta c ldc
                | _ when acrossCores && lda = (if transA then m else k) && ldb = (if transB then k else n) && ldc = n ->
                    let a, aOff = if transA then transposed a aOff k m, 0 else a, aOff
                    let b, bOff = if transB then transposed b bOff n k, 0 else b, bOff
                    managed (ReadOnlyMemory(a, aOff, m * k)) (ReadOnlyMemory(b, bOff, k * n)) (Memory(c, cOff, m * n)) m n k
                | _ -> invalidArg "a" (sprintf "matmul: no kernel for a %s product on one thread with leading dimensions %d, %d, %d (BLAS is %s)"
                                          typeof<'T>.Name lda ldb ldc (if Blas.available.Value then "loaded" else "not loaded"))

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C where `accumulate`) on contiguous row-major blocks, split over the cores;
    /// see `product`.
    let gemmTWith<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (accumulate: bool) (transA: bool) (transB: bool) (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        product true accumulate transA transB m n k a aOff (if transA then m else k) b bOff (if transB then k else n) c cOff n

    /// One [m,k] x [k,n] product into c (which starts zeroed).
    let gemm<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        product true false false false m n k a aOff k b bOff n c cOff n

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] (+ C where `accumulate`) with explicit leading dimensions, on the calling thread
    /// (for a product inside a parallel chunk): the thin kernels for their shapes, else one BLAS call (the caller checks
    /// `Blas.available`). With k = 0, C is cleared unless accumulating.
    let gemmSerial<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (accumulate: bool) (transA: bool) (transB: bool) (m: int) (n: int) (k: int)
        (a: 'T[]) (aOff: int) (lda: int) (b: 'T[]) (bOff: int) (ldb: int) (c: 'T[]) (cOff: int) (ldc: int) =
        if m > 0 && n > 0 && k = 0 && not accumulate then
            for i in 0 .. m - 1 do Span<'T>(c, cOff + i * ldc, n).Clear()
        else product false accumulate transA transB m n k a aOff lda b bOff ldb c cOff ldc

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] into c (which starts zeroed); see gemmTWith.
    let gemmT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        gemmTWith false transA transB a aOff b bOff c cOff m n k

    /// A linear layer, Y[m,n] = X[m,k] · Wᵀ + b (W stored [n,k], b [n]): Y starts as b in every row and the product
    /// is accumulated into it, one gemm and no separate bias pass.
    let linearT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (w: 'T[]) (bias: 'T[]) (m: int) (n: int) (k: int) : 'T[] =
        // every element is written by the bias rows before the product adds to it
        let y = OutputArrays.rent<'T>(m * n)
        for i in 0 .. m - 1 do bias.AsSpan().CopyTo(Span(y, i * n, n))
        gemmTWith true false true x 0 w 0 y 0 m n k
        y

    /// Batched matmul with broadcast batch dims; both inputs have rank >= 2 (the caller promotes vectors).
    let batched<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) : 'T[] * int[] =
        let ra, rb = aShape.Length, bShape.Length
        let m, k = aShape.[ra - 2], aShape.[ra - 1]
        let n = bShape.[rb - 1]
        let batchA = aShape.[.. ra - 3]
        let batchB = bShape.[.. rb - 3]
        let batch = Shape.broadcast "matmul" batchA batchB
        let outShape = Array.append batch [| m; n |]
        let nb = Shape.numel batch
        let c = OutputArrays.rentZeroed<'T> (nb * m * n)
        let sa = if batch.Length = 0 then [||] else Geometry.broadcastStrides batchA batch
        let sb = if batch.Length = 0 then [||] else Geometry.broadcastStrides batchB batch
        let bst = Shape.strides batch
        for bi in 0 .. nb - 1 do
            let mutable ia = 0
            let mutable ib = 0
            let mutable r = bi
            for d in 0 .. batch.Length - 1 do
                let q = r / bst.[d]
                r <- r % bst.[d]
                ia <- ia + q * sa.[d]
                ib <- ib + q * sb.[d]
            gemm a (ia * m * k) b (ib * k * n) c (bi * m * n) m n k
        c, outShape

    /// Batched op(A) · op(B) with broadcast batch dims (op = transpose of the last two dims where flagged);
    /// both inputs have rank >= 2 and agree on the inner dimension (the caller checks).
    let batchedT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) : 'T[] * int[] =
        let ra, rb = aShape.Length, bShape.Length
        let m, k = (if transA then aShape.[ra - 1], aShape.[ra - 2] else aShape.[ra - 2], aShape.[ra - 1])
        let n = if transB then bShape.[rb - 2] else bShape.[rb - 1]
        let batchA = aShape.[.. ra - 3]
        let batchB = bShape.[.. rb - 3]
        let batch = Shape.broadcast "matmul" batchA batchB
        let outShape = Array.append batch [| m; n |]
        let nb = Shape.numel batch
        let c = OutputArrays.rentZeroed<'T> (nb * m * n)
        let sa = if batch.Length = 0 then [||] else Geometry.broadcastStrides batchA batch
        let sb = if batch.Length = 0 then [||] else Geometry.broadcastStrides batchB batch
        let bst = Shape.strides batch
        let one bi =
            let mutable ia = 0
            let mutable ib = 0
            let mutable r = bi
            for d in 0 .. batch.Length - 1 do
                let q = r / bst.[d]
                r <- r % bst.[d]
                ia <- ia + q * sa.[d]
                ib <- ib + q * sb.[d]
            gemmT transA transB a (ia * m * k) b (ib * k * n) c (bi * m * n) m n k
        // many small products: one per task (BLAS threads itself inside each large one)
        if nb > 1 && m * n * k < Par.grain then Par.chunks nb 1 (fun s e -> for bi in s .. e - 1 do one bi)
        else for bi in 0 .. nb - 1 do one bi
        c, outShape
