namespace Hybrid.Core

open System
open MathNet.Numerics.LinearAlgebra
open Hybrid.Core.Backends

/// torch.linalg's solvers and decompositions: solve, cholesky, inv, det, slogdet, eigh, svd, qr, lstsq on float32 /
/// float64 matrices [..., m, n], batched over the leading dims.
///
/// Values are computed by MathNet.Numerics on the host, in float64, one matrix at a time, and returned in the input's
/// dtype on the input's device (a tensor on an ILGPU device is copied to the host and the result copied back).
/// Backward rules are those of torch.linalg, written with differentiable ops (solve, matmul, transposes, masks), so
/// gradients differentiate again; the exceptions are stated on each op.
module LinalgDecomp =

    type private M = Matrix<float>

    let private build = Matrix<float>.Build

    // ---- checks and host transfer

    let private floatMatrix (op: string) (name: string) (x: Tensor) =
        if isNull x then invalidArg name (sprintf "%s: %s is null" op name)
        if not x.DType.IsFloat then
            invalidArg name (sprintf "%s: %s must be float32 or float64, got %O of shape %s" op name x.DType (Shape.show x.Shape))
        if x.Rank < 2 then
            invalidArg name (sprintf "%s: %s must have at least 2 dimensions [..., m, n], got shape %s" op name (Shape.show x.Shape))

    let private squareMatrix (op: string) (name: string) (x: Tensor) =
        floatMatrix op name x
        if x.Shape.[x.Rank - 1] <> x.Shape.[x.Rank - 2] then
            invalidArg name (sprintf "%s: %s must be a batch of square matrices [..., n, n], got shape %s" op name (Shape.show x.Shape))

    let private batchOf (x: Tensor) = x.Shape.[.. x.Rank - 3]
    let private rowsOf (x: Tensor) = x.Shape.[x.Rank - 2]
    let private colsOf (x: Tensor) = x.Shape.[x.Rank - 1]

    /// The matrices of x [..., r, c], copied to the host (float64), in batch order.
    let private toHost (x: Tensor) : M[] =
        let r, c = rowsOf x, colsOf x
        let data = x.Raw.ToFloat64Array()
        Array.init (Shape.numel (batchOf x)) (fun b -> build.Dense(r, c, fun i j -> data.[b * r * c + i * c + j]))

    /// Host values of a shape, on like's backend in like's dtype.
    let private toDevice (like: Tensor) (shape: int[]) (data: float[]) : RawTensor =
        like.Raw.Backend.FromFloat64(data, shape).Cast like.DType

    /// Row-major values of every matrix, concatenated.
    let private flat (ms: M[]) = ms |> Array.collect (fun m -> m.ToRowMajorArray())

    /// "" for an unbatched matrix, " (batch element k)" otherwise.
    let private where' (x: Tensor) (b: int) = if x.Rank = 2 then "" else sprintf " (batch element %d)" b

    // ---- differentiable helpers

    /// A constant [n, n] tensor of like's dtype and device with entries f i j.
    let private constMatrix (like: Tensor) (n: int) (f: int -> int -> float) =
        Tensor(toDevice like [| n; n |] (Array.init (n * n) (fun k -> f (k / n) (k % n))))

    /// tril(x, k): entries above the k-th diagonal zeroed (a constant mask, so it differentiates).
    let private tril (k: int) (x: Tensor) =
        let n = colsOf x
        let m = rowsOf x
        let mask = Tensor(toDevice x [| m; n |] (Array.init (m * n) (fun idx -> if idx % n - idx / n <= k then 1.0 else 0.0)))
        x * mask

    /// [..., n] -> [..., n, n] with v on the diagonal.
    let private diagEmbed (v: Tensor) =
        let n = v.Shape.[v.Rank - 1]
        Reshaping.unsqueeze -1 v * constMatrix v n (fun i j -> if i = j then 1.0 else 0.0)

    let private mT (x: Tensor) = Reshaping.transpose -2 -1 x
    let private mm (a: Tensor) (b: Tensor) = Linalg.matmul a b

    /// g of shape [...] -> [..., 1, 1] (to scale whole matrices).
    let private asMatrixScale (g: Tensor) = Reshaping.unsqueeze -1 (Reshaping.unsqueeze -1 g)

    /// Several outputs of one recorded op: the values travel as one packed tensor [batch..., Σ sizes], each output a
    /// differentiable slice of it, so one backward rule sees all the outputs' gradients (zeros for unused ones).
    let private recordMulti (op: string) (like: Tensor) (batch: int[]) (shapes: int[][]) (values: float[][][]) (inputs: Tensor[])
                            (backward: Tensor[] -> Tensor[] -> Tensor[]) : Tensor[] =
        let sizes = shapes |> Array.map Shape.numel
        let total = Array.sum sizes
        let offsets = Array.scan (+) 0 sizes
        let count = Shape.numel batch
        let packed = Array.zeroCreate (count * total)
        for b in 0 .. count - 1 do
            for o in 0 .. shapes.Length - 1 do
                Array.blit values.[o].[b] 0 packed (b * total + offsets.[o]) sizes.[o]
        let unpack (p: Tensor) =
            shapes |> Array.mapi (fun o s -> Reshaping.reshape (Array.append batch s) (Reshaping.narrow -1 offsets.[o] sizes.[o] p))
        let outs = ref null
        let p =
            Tensor.Record(op, toDevice like (Array.append batch [| total |]) packed, inputs, fun g -> backward outs.Value (unpack g))
        outs.Value <- unpack p
        outs.Value

    // ---- solve

    /// LU solve of each A X = B on the host; a singular A is an error naming its batch element.
    let private solveValues (op: string) (a: Tensor) (b: Tensor) =
        let am, bm = toHost a, toHost b
        Array.init am.Length (fun k ->
            let lu = am.[k].LU()
            let x = lu.Solve bm.[k]
            if lu.Determinant = 0.0 || x.Enumerate() |> Seq.exists (fun v -> not (Double.IsFinite v)) then
                invalidOp (sprintf "%s: the matrix A%s is singular (or nearly so): the system has no unique solution" op (where' a k))
            x)

    /// X = A⁻¹B for A [..., n, n] and B [..., n, k] of the same batch shape.
    /// Backward (torch): gB = A⁻ᵀ g (a solve with Aᵀ), gA = −gB Xᵀ.
    let rec private solveMatrix (a: Tensor) (b: Tensor) : Tensor =
        let xs = solveValues "solve" a b
        let x = ref null
        x.Value <-
            Tensor.Record("linalg_solve", toDevice a b.Shape (flat xs), [| a; b |], fun g ->
                let gb = solveMatrix (mT a) g
                [| (if a.RequiresGrad then -(mm gb (mT x.Value)) else null)
                   (if b.RequiresGrad then gb else null) |])
        x.Value

    /// torch.linalg.solve: X with A X = B. A is [..., n, n]; B is [..., n, k], or [..., n] (a batch of vectors) when it
    /// has one dim fewer than A. Batch dims broadcast. A singular A is an error.
    let solve (a: Tensor) (b: Tensor) =
        squareMatrix "solve" "A" a
        if isNull b then invalidArg "B" "solve: B is null"
        Tensor.Agree("solve", a, b)
        let n = rowsOf a
        // torch's rule: B is a (batch of) vector(s) when it is 1-D, or has A's shape without its last dim
        let vector = b.Rank = 1 || (b.Rank = a.Rank - 1 && b.Shape = a.Shape.[.. a.Rank - 2])
        let b2 = if vector then Reshaping.unsqueeze -1 b else b
        if b2.Rank < 2 || rowsOf b2 <> n then
            invalidArg "B" (sprintf "solve: B of shape %s does not match A of shape %s (expected [..., %d, k] or [..., %d])" (Shape.show b.Shape) (Shape.show a.Shape) n n)
        let batch =
            try Shape.broadcast "solve" (batchOf a) (batchOf b2)
            with :? ArgumentException ->
                invalidArg "B" (sprintf "solve: batch dimensions of A %s and B %s cannot be broadcast" (Shape.show a.Shape) (Shape.show b.Shape))
        let a' = Tensor.Expand(a, Array.append batch [| n; n |])
        let b' = Tensor.Expand(b2, Array.append batch [| n; colsOf b2 |])
        let x = solveMatrix a' b'
        if vector then Reshaping.squeezeDim -1 x else x

    // ---- inverse, determinant

    /// torch.linalg.inv: A⁻¹ of each square matrix; a singular A is an error.
    /// Backward (torch): gA = −A⁻ᵀ g A⁻ᵀ.
    let inv (a: Tensor) =
        squareMatrix "inv" "A" a
        let ms = toHost a
        let invs =
            ms |> Array.mapi (fun k m ->
                let lu = m.LU()
                let y = lu.Inverse()
                if lu.Determinant = 0.0 || y.Enumerate() |> Seq.exists (fun v -> not (Double.IsFinite v)) then
                    invalidOp (sprintf "inv: the matrix%s is singular (or nearly so) and has no inverse" (where' a k))
                y)
        let y = ref null
        y.Value <-
            Tensor.Record("linalg_inv", toDevice a a.Shape (flat invs), [| a |], fun g ->
                let yt = mT y.Value
                [| -(mm yt (mm g yt)) |])
        y.Value

    /// The cofactor matrix cof(A) = det(A)·A⁻ᵀ, also for a singular A, from the SVD A = UΣVᵀ:
    /// cof(A) = det(U)det(V) · U diag(Πⱼ≠ᵢ σⱼ) Vᵀ.
    let private cofactor (m: M) =
        let n = m.RowCount
        let svd = m.Svd(true)
        let s = svd.S.ToArray()
        let pi = Array.init n (fun i -> Seq.init n id |> Seq.filter (fun j -> j <> i) |> Seq.fold (fun p j -> p * s.[j]) 1.0)
        let sign = svd.U.Determinant() * svd.VT.Determinant()
        (svd.U * build.DenseOfDiagonalArray pi * svd.VT) * sign

    /// torch.linalg.det: det A of each square matrix, shape [...]. Backward: gA = g·det(A)·A⁻ᵀ when every matrix of
    /// the batch is well away from singular (|det A| > 1e-8·Πᵢ‖aᵢ‖, Hadamard's bound; differentiable again); otherwise gA = g·cof(A), the cofactor matrix from the SVD, which
    /// is correct for singular matrices too but is a constant (no second derivatives through it).
    let det (a: Tensor) =
        squareMatrix "det" "A" a
        let ms = toHost a
        let dets = ms |> Array.map (fun m -> if m.RowCount = 0 then 1.0 else m.LU().Determinant)
        let batch = batchOf a
        let d = ref null
        d.Value <-
            Tensor.Record("linalg_det", toDevice a batch dets, [| a |], fun g ->
                // |det A| ≤ Πᵢ‖aᵢ‖ (Hadamard): a ratio far below 1 means A is (nearly) singular and A⁻ᵀ unusable
                let invertible (k: int) =
                    let bound = Seq.init ms.[k].RowCount (fun i -> ms.[k].Row(i).L2Norm()) |> Seq.fold (*) 1.0
                    Double.IsFinite dets.[k] && abs dets.[k] > 1e-8 * bound
                if Seq.forall invertible (seq { 0 .. ms.Length - 1 }) then
                    [| asMatrixScale (g * d.Value) * mT (inv a) |]
                else
                    let cof = Tensor(toDevice a a.Shape (flat (Array.map cofactor ms)))
                    [| asMatrixScale g * cof |])
        d.Value

    /// torch.linalg.slogdet: (sign, log|det A|) of each square matrix, each of shape [...]. The sign is a constant;
    /// log|det| has gradient g·A⁻ᵀ (a singular matrix gives log|det| = −∞ and an error on backward, as A⁻¹ does not exist).
    let slogdet (a: Tensor) =
        squareMatrix "slogdet" "A" a
        let ms = toHost a
        let parts =
            ms |> Array.map (fun m ->
                let n = m.RowCount
                if n = 0 then 1.0, 0.0
                else
                    let lu = m.LU()
                    let u = lu.U
                    let logabs = Seq.init n (fun i -> log (abs u.[i, i])) |> Seq.sum
                    if Double.IsNegativeInfinity logabs then 0.0, logabs
                    else
                        // det = ±Π uᵢᵢ: the sign of the permutation comes from det(P) = det(A)/Π uᵢᵢ (its sign only)
                        let diagSign = Seq.init n (fun i -> float (sign u.[i, i])) |> Seq.fold (*) 1.0
                        let detSign = float (sign lu.Determinant)
                        let permutationSign () =
                            let p = build.DenseIdentity n
                            p.PermuteRows lu.P
                            float (sign (p.Determinant()))
                        let s = if detSign <> 0.0 then detSign else diagSign * permutationSign ()
                        s, logabs)
        let batch = batchOf a
        let sgn = Tensor(toDevice a batch (Array.map fst parts))
        let logabs =
            Tensor.Record("linalg_slogdet", toDevice a batch (Array.map snd parts), [| a |], fun g ->
                [| asMatrixScale g * mT (inv a) |])
        sgn, logabs

    // ---- Cholesky

    /// The symmetric matrix that A's lower triangle describes (what LAPACK's UPLO = 'L' reads).
    let private symmetricFromLower (m: M) =
        let n = m.RowCount
        build.Dense(n, n, fun i j -> if i >= j then m.[i, j] else m.[j, i])

    /// The lower factor of a symmetric positive-definite matrix, or the order k (1-based) of its first leading minor
    /// that is not positive definite.
    let private choleskyOf (m: M) : Result<M, int> =
        let n = m.RowCount
        let s = symmetricFromLower m
        let pd (k: int) =
            try
                let l = s.SubMatrix(0, k, 0, k).Cholesky().Factor
                Seq.init k (fun i -> l.[i, i]) |> Seq.forall (fun v -> v > 0.0 && Double.IsFinite v)
            with :? ArgumentException -> false
        if n = 0 then Ok s
        else
            let whole = try Some (s.Cholesky().Factor) with :? ArgumentException -> None
            match whole with
            | Some l when Seq.init n (fun i -> l.[i, i]) |> Seq.forall (fun v -> v > 0.0 && Double.IsFinite v) -> Ok l
            | _ ->
                // leading minors stay positive definite up to some order, then never again: bisect for the first failure
                let mutable lo, hi = 0, n   // minor lo is PD (0 trivially), minor hi is not
                while hi - lo > 1 do
                    let mid = (lo + hi) / 2
                    if pd mid then lo <- mid else hi <- mid
                Error hi

    /// Backward of L = cholesky(A) (torch's cholesky_backward): with T = tril(Lᵀ g),
    /// gA = L⁻ᵀ · ½(T + tril(T, −1)ᵀ) · L⁻¹ (symmetric; the two triangular solves go through `solve`).
    let private choleskyBackward (l: Tensor) (g: Tensor) =
        let t = tril 0 (mm (mT l) g)
        let s = (t + mT (tril -1 t)) * 0.5
        let y = solve (mT l) s
        mT (solve (mT l) (mT y))

    let private choleskyRecord (a: Tensor) (factors: M[]) =
        let l = ref null
        l.Value <- Tensor.Record("linalg_cholesky", toDevice a a.Shape (flat factors), [| a |], fun g -> [| choleskyBackward l.Value g |])
        l.Value

    /// torch.linalg.cholesky_ex: (L, info) where info.[k] = 0 if batch element k is positive definite and otherwise the
    /// order of its first leading minor that is not (L is then zero for that element). Reads the lower triangle.
    let choleskyEx (a: Tensor) =
        squareMatrix "cholesky" "A" a
        let n = rowsOf a
        let results = toHost a |> Array.map choleskyOf
        let factors = results |> Array.map (function Ok l -> l | Error _ -> build.Dense(n, n))
        let info = results |> Array.map (function Ok _ -> 0 | Error k -> k)
        choleskyRecord a factors, info

    /// torch.linalg.cholesky: the lower triangular L with A = L Lᵀ (Lᵀ when upper) of each symmetric positive-definite
    /// matrix; only the lower triangle of A is read. A matrix that is not positive definite is an error naming the
    /// order of the leading minor that fails.
    let cholesky (upper: bool) (a: Tensor) =
        squareMatrix "cholesky" "A" a
        let results = toHost a
        let factors =
            results |> Array.mapi (fun k m ->
                match choleskyOf m with
                | Ok l -> l
                | Error order ->
                    invalidOp (sprintf "cholesky: the matrix%s is not positive definite (its leading minor of order %d is not)" (where' a k) order))
        let l = choleskyRecord a factors
        if upper then mT l else l

    /// torch.cholesky_solve: X with A X = B given A's lower Cholesky factor L (A = L Lᵀ): X = L⁻ᵀ(L⁻¹B), two solves.
    /// B is [..., n, k] or [..., n]; differentiable in both.
    let choleskySolve (b: Tensor) (l: Tensor) = solve (mT l) (solve l b)

    /// A symmetric positive-definite system A x = b of float64 arrays (A n×n row-major), by Cholesky; None when A is
    /// not positive definite. For the small dense solves of optimizers (Newton's damped step).
    let trySolveSpd (n: int) (a: float[]) (b: float[]) : float[] option =
        if a.Length <> n * n || b.Length <> n then
            invalidArg "a" (sprintf "trySolveSpd: A has %d entries and b %d, expected %d×%d and %d" a.Length b.Length n n n)
        use _ = GradMode.NoGrad()
        let at = Create.ofFloat64 (Array.copy a) [| n; n |]
        let l, info = choleskyEx at
        if info.[0] <> 0 then None
        else Some ((choleskySolve (Create.ofFloat64 (Array.copy b) [| n |]) l).ToFloat64Array())

    // ---- symmetric eigendecomposition

    /// torch.linalg.eigh: (eigenvalues [..., n] ascending, eigenvectors [..., n, n] as columns) of each symmetric
    /// matrix, reading its lower triangle. Eigenvectors are unique up to sign (the signs may differ from LAPACK's).
    /// Backward (torch, Hermitian case): gA = V (diag(gλ) + ½(VᵀgV − (VᵀgV)ᵀ) ⊘ E) Vᵀ with Eᵢⱼ = λⱼ − λᵢ (defined for
    /// distinct eigenvalues; a repeated eigenvalue makes the eigenvector gradient infinite, as in torch).
    let eigh (a: Tensor) =
        squareMatrix "eigh" "A" a
        let n = rowsOf a
        let batch = batchOf a
        let evds =
            toHost a |> Array.map (fun m ->
                let evd = (symmetricFromLower m).Evd(Symmetricity.Symmetric)
                let values = evd.EigenValues.ToArray() |> Array.map (fun c -> c.Real)
                let order = Array.init n id |> Array.sortBy (fun i -> values.[i])
                let vectors = evd.EigenVectors
                Array.map (fun i -> values.[i]) order,
                build.Dense(n, n, fun r c -> vectors.[r, order.[c]]).ToRowMajorArray())
        let outs =
            recordMulti "linalg_eigh" a batch [| [| n |]; [| n; n |] |] [| Array.map fst evds; Array.map snd evds |] [| a |] (fun outs gs ->
                let lam, v = outs.[0], outs.[1]
                let gl, gv = gs.[0], gs.[1]
                let vtgv = mm (mT v) gv
                let skew = (vtgv - mT vtgv) * 0.5
                let e = Reshaping.unsqueeze -2 lam - Reshaping.unsqueeze -1 lam + constMatrix a n (fun i j -> if i = j then 1.0 else 0.0)
                let inner = skew / e + diagEmbed gl
                [| mm v (mm inner (mT v)) |])
        outs.[0], outs.[1]

    // ---- SVD

    /// torch.linalg.svd: (U, S, Vh) with A = U diag(S) Vh and S descending, for A [..., m, n], k = min(m, n).
    /// fullMatrices: U is [..., m, m] and Vh [..., n, n]; otherwise U [..., m, k] and Vh [..., k, n]. Singular vectors
    /// are unique up to sign (paired: uᵢ and the row vhᵢ flip together).
    /// Backward (torch's svd_backward) for the reduced SVD (or square A), with distinct nonzero singular values:
    /// gA = U [(Sk(UᵀgU)·S + S·Sk(Vh gVhᵀ)) ⊘ E + diag(gS)] Vh + (I − UUᵀ) gU S⁻¹ Vh + U S⁻¹ gVh (I − VhᵀVh),
    /// Sk(X) = X − Xᵀ, Eᵢⱼ = σⱼ² − σᵢ².
    let svd (fullMatrices: bool) (a: Tensor) =
        floatMatrix "svd" "A" a
        let m, n = rowsOf a, colsOf a
        let k = min m n
        let batch = batchOf a
        let ucols, vrows = (if fullMatrices then m else k), (if fullMatrices then n else k)
        let parts =
            toHost a |> Array.map (fun x ->
                let s = x.Svd(true)
                s.U.SubMatrix(0, m, 0, ucols).ToRowMajorArray(), s.S.ToArray().[.. k - 1], s.VT.SubMatrix(0, vrows, 0, n).ToRowMajorArray())
        let outs =
            recordMulti "linalg_svd" a batch [| [| m; ucols |]; [| k |]; [| vrows; n |] |]
                [| parts |> Array.map (fun (u, _, _) -> u); parts |> Array.map (fun (_, s, _) -> s); parts |> Array.map (fun (_, _, v) -> v) |] [| a |]
                (fun outs gs ->
                    if fullMatrices && m <> n then
                        invalidOp (sprintf "svd: backward of the full SVD of a non-square matrix (shape %s) is not defined; use fullMatrices = false" (Shape.show a.Shape))
                    let u, s, vh = outs.[0], outs.[1], outs.[2]
                    let gu, gs', gvh = gs.[0], gs.[1], gs.[2]
                    let skew (x: Tensor) = x - mT x
                    let uhgu = skew (mm (mT u) gu)
                    let vhgv = skew (mm vh (mT gvh))
                    let s2 = s * s
                    let e = Reshaping.unsqueeze -2 s2 - Reshaping.unsqueeze -1 s2 + constMatrix a k (fun i j -> if i = j then 1.0 else 0.0)
                    let core = (uhgu * Reshaping.unsqueeze -2 s + Reshaping.unsqueeze -1 s * vhgv) / e + diagEmbed gs'
                    let ga =
                        if m > k then
                            let guSinv = gu / Reshaping.unsqueeze -2 s
                            mm (mm u core + guSinv - mm u (mm (mT u) guSinv)) vh
                        elif n > k then
                            let sinvGvh = gvh / Reshaping.unsqueeze -1 s
                            mm u (mm core vh + sinvGvh - mm (mm sinvGvh (mT vh)) vh)
                        else mm u (mm core vh)
                    [| ga |])
        outs.[0], outs.[1], outs.[2]

    // ---- QR

    /// torch.linalg.qr: (Q, R) with A = QR, Q orthonormal columns, R upper triangular, by Householder reflections.
    /// complete = false ("reduced"): Q [..., m, k], R [..., k, n]; complete = true: Q [..., m, m], R [..., m, n].
    /// The signs of Q's columns and R's rows may differ from LAPACK's (paired).
    /// Backward for m ≥ n, reduced (full column rank): with M = R gRᵀ − gQᵀQ and copyltu(M) = tril(M) + tril(M, −1)ᵀ,
    /// gA = (gQ + Q copyltu(M)) R⁻ᵀ.
    let qr (complete: bool) (a: Tensor) =
        floatMatrix "qr" "A" a
        let m, n = rowsOf a, colsOf a
        let k = min m n
        let batch = batchOf a
        let qcols = if complete then m else k
        let parts =
            toHost a |> Array.map (fun x ->
                // the full factorisation: Q m×m, R m×n; the reduced one keeps the first k columns / rows. A wide matrix
                // (m < n) factors its first m columns, A₁ = QR₁, and then R = QᵀA (upper trapezoidal)
                let q, r =
                    if m >= n then
                        let f = x.QR(Factorization.QRMethod.Full)
                        f.Q, f.R
                    else
                        let q = x.SubMatrix(0, m, 0, m).QR(Factorization.QRMethod.Full).Q
                        let r = q.Transpose() * x
                        q, build.Dense(m, n, fun i j -> if j >= i then r.[i, j] else 0.0)
                q.SubMatrix(0, m, 0, qcols).ToRowMajorArray(), r.SubMatrix(0, qcols, 0, n).ToRowMajorArray())
        let outs =
            recordMulti "linalg_qr" a batch [| [| m; qcols |]; [| qcols; n |] |] [| Array.map fst parts; Array.map snd parts |] [| a |]
                (fun outs gs ->
                    if m < n || (complete && m > n) then
                        invalidOp (sprintf "qr: backward is defined for m >= n with the reduced factorisation; got shape %s%s" (Shape.show a.Shape) (if complete then " and complete = true" else ""))
                    let q, r = outs.[0], outs.[1]
                    let gq, gr = gs.[0], gs.[1]
                    let mM = mm r (mT gr) - mm (mT gq) q
                    let copyltu = tril 0 mM + mT (tril -1 mM)
                    let x = gq + mm q copyltu
                    // X R⁻ᵀ = (R⁻¹ Xᵀ)ᵀ
                    [| mT (solve r (mT x)) |])
        outs.[0], outs.[1]

    // ---- least squares

    /// torch.linalg.lstsq's solution: X minimising ‖A X − B‖ for A [..., m, n] and B [..., m, k] (batch dims broadcast);
    /// the minimum-norm solution when A is rank deficient (singular values below max(m, n)·ε·σ₁ are dropped, from
    /// the SVD). Backward for full column rank (m ≥ n), from X = (AᵀA)⁻¹AᵀB: with Z = (AᵀA)⁻¹ g,
    /// gB = A Z and gA = (B − A X) Zᵀ − A Z Xᵀ.
    let lstsq (a: Tensor) (b: Tensor) =
        floatMatrix "lstsq" "A" a
        floatMatrix "lstsq" "B" b
        Tensor.Agree("lstsq", a, b)
        let m, n = rowsOf a, colsOf a
        if rowsOf b <> m then
            invalidArg "B" (sprintf "lstsq: B of shape %s does not match A of shape %s (expected [..., %d, k])" (Shape.show b.Shape) (Shape.show a.Shape) m)
        let batch =
            try Shape.broadcast "lstsq" (batchOf a) (batchOf b)
            with :? ArgumentException ->
                invalidArg "B" (sprintf "lstsq: batch dimensions of A %s and B %s cannot be broadcast" (Shape.show a.Shape) (Shape.show b.Shape))
        let kcols = colsOf b
        let a' = Tensor.Expand(a, Array.append batch [| m; n |])
        let b' = Tensor.Expand(b, Array.append batch [| m; kcols |])
        let am, bm = toHost a', toHost b'
        let xs =
            Array.init am.Length (fun i ->
                let s = am.[i].Svd(true)
                let sv = s.S.ToArray()
                let cutoff = if sv.Length = 0 then 0.0 else float (max m n) * 2.220446049250313e-16 * sv.[0]
                let r = min m n
                let inv = Array.init r (fun j -> if sv.[j] > cutoff then 1.0 / sv.[j] else 0.0)
                let v = s.VT.Transpose().SubMatrix(0, n, 0, r)
                let ut = s.U.SubMatrix(0, m, 0, r).Transpose()
                v * build.DenseOfDiagonalArray inv * (ut * bm.[i]))
        let x = ref null
        x.Value <-
            Tensor.Record("linalg_lstsq", toDevice a' (Array.append batch [| n; kcols |]) (flat xs), [| a'; b' |], fun g ->
                if m < n then
                    invalidOp (sprintf "lstsq: backward is defined for full column rank A (m >= n); got shape %s" (Shape.show a.Shape))
                let z = solve (mm (mT a') a') g
                let az = mm a' z
                [| (if a'.RequiresGrad then mm (b' - mm a' x.Value) (mT z) - mm az (mT x.Value) else null)
                   (if b'.RequiresGrad then az else null) |])
        x.Value
