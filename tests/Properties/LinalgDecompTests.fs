module Hybrid.Tests.LinalgDecompTests

open System
open System.IO
open System.Text.Json
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check

// ---- generated matrices (float64, from a seed)

/// A well-conditioned square matrix: entries in [-1, 1] plus (n + 1)·I (strictly diagonally dominant).
let wellConditioned (seed: int) (batch: int[]) (n: int) =
    let g = Generator(seed)
    let count = Shape.numel batch
    Create.ofFloat64 (Array.init (count * n * n) (fun k -> g.NextDouble() * 2.0 - 1.0 + (if (k % (n * n)) / n = k % n then float n + 1.0 else 0.0))) (Array.append batch [| n; n |])

/// A symmetric positive-definite matrix MᵀM/n + I.
let spd (seed: int) (batch: int[]) (n: int) =
    let g = Generator(seed)
    let count = Shape.numel batch
    let data =
        Array.init count (fun _ ->
            let m = Array.init (n * n) (fun _ -> g.NextDouble() * 2.0 - 1.0)
            Array.init (n * n) (fun k ->
                let i, j = k / n, k % n
                let mutable s = if i = j then 1.0 else 0.0
                for r in 0 .. n - 1 do s <- s + m.[r * n + i] * m.[r * n + j] / float n
                s))
        |> Array.concat
    Create.ofFloat64 data (Array.append batch [| n; n |])

/// A rectangular matrix with entries in [-1, 1] and a boosted diagonal (full rank, distinct singular values likely).
let rectangular (seed: int) (m: int) (n: int) =
    let g = Generator(seed)
    Create.ofFloat64 (Array.init (m * n) (fun k -> g.NextDouble() * 2.0 - 1.0 + (if k / n = k % n then 2.0 + float (k / n) else 0.0))) [| m; n |]

/// Two tensors agree elementwise (rtol = atol = tol).
let private near (tol: float) (a: Tensor) (b: Tensor) = (close tol tol (a.ToFloat64Array()) (b.ToFloat64Array())).IsNone

let private sym (x: Tensor) = (x + Reshaping.transpose -2 -1 x) * 0.5
let private mT (x: Tensor) = Reshaping.transpose -2 -1 x

/// Sign-invariant loss Σ w ⊙ y ⊙ y (eigenvectors and singular vectors are defined up to sign).
let private sqLoss (y: Tensor) = OpCheck.loss y

/// A size 1..4, a batch shape ([], [2] or [2, 1]) and a second size, all from one seed.
let private sizes (seed: int) =
    let s = abs (seed % 1000003)
    1 + s % 4, [| [||]; [| 2 |]; [| 2; 1 |] |].[(s / 4) % 3], 1 + (s / 12) % 4

// ---- laws: values

[<Property(MaxTest = 20)>]
let ``A·solve(A, B) = B, batched with broadcast`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n
        // k = n + 1 columns: never read as a batch of vectors (torch's rule for B of A's shape without its last dim)
        let b = tensorOf (seed + 1) [| n; n + 1 |]
        let x = LinalgDecomp.solve a b
        (near 1e-10 (Tensor.Expand(b, x.Shape)) (Linalg.matmul a x)))

[<Property(MaxTest = 20)>]
let ``A·inv(A) = I and det(A)·det(inv A) = 1`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n
        let y = LinalgDecomp.inv a
        let eye = Tensor.Expand(Create.eye Float64 n, a.Shape)
        let d = (LinalgDecomp.det a * LinalgDecomp.det y).ToFloat64Array()
        (near 1e-10 eye (Linalg.matmul a y))
        && d |> Array.forall (fun v -> abs (v - 1.0) < 1e-10))

[<Property(MaxTest = 20)>]
let ``slogdet agrees with det`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n * -1.0
        let s, l = LinalgDecomp.slogdet a
        let d = (LinalgDecomp.det a).ToFloat64Array()
        let viaLog = Array.map2 (fun s l -> s * exp l) (s.ToFloat64Array()) (l.ToFloat64Array())
        (close 1e-10 1e-12 d viaLog).IsNone)

[<Property(MaxTest = 20)>]
let ``cholesky factors an SPD matrix: L Lᵀ = A, L lower with a positive diagonal`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = spd seed batch n
        let l = LinalgDecomp.cholesky false a
        let lv = l.ToFloat64Array()
        let shapeOk = lv |> Array.mapi (fun k v -> let i, j = (k % (n * n)) / n, k % n in (j <= i || v = 0.0) && (i <> j || v > 0.0)) |> Array.forall id
        shapeOk && (near 1e-10 (a) (Linalg.matmul l (mT l)))
        && (near 0.0 (mT l) (LinalgDecomp.cholesky true a)))

[<Property(MaxTest = 20)>]
let ``eigh: V diag(λ) Vᵀ = A, Vᵀ V = I, λ ascending`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = sym (tensorOf seed (Array.append batch [| n; n |]))
        let lam, v = LinalgDecomp.eigh a
        let recon = Linalg.matmul (v * Reshaping.unsqueeze -2 lam) (mT v)
        let lv = lam.ToFloat64Array()
        let ascending = lv |> Array.chunkBySize n |> Array.forall (fun c -> c |> Array.pairwise |> Array.forall (fun (p, q) -> p <= q))
        ascending
        && (near 1e-10 (a) (recon))
        && (near 1e-10 (Tensor.Expand(Create.eye Float64 n, a.Shape)) (Linalg.matmul (mT v) v)))

[<Property(MaxTest = 20)>]
let ``svd: U diag(S) Vh = A with S descending and orthonormal factors`` (seed: int) =
    let m, _, n = sizes seed
    (
        let a = tensorOf seed [| 2; m; n |]
        let u, s, vh = LinalgDecomp.svd false a
        let k = min m n
        let recon = Linalg.matmul (u * Reshaping.unsqueeze -2 s) vh
        let sv = s.ToFloat64Array()
        let full, sFull, vFull = LinalgDecomp.svd true a
        u.Shape = [| 2; m; k |] && vh.Shape = [| 2; k; n |] && full.Shape = [| 2; m; m |] && vFull.Shape = [| 2; n; n |]
        && (sv |> Array.chunkBySize k |> Array.forall (fun c -> c |> Array.pairwise |> Array.forall (fun (p, q) -> p >= q)))
        && (near 1e-10 (a) (recon))
        && (near 1e-10 (Tensor.Expand(Create.eye Float64 k, [| 2; k; k |])) (Linalg.matmul (mT u) u))
        && (close 1e-12 1e-12 sv (sFull.ToFloat64Array())).IsNone)

[<Property(MaxTest = 20)>]
let ``qr: Q R = A with orthonormal Q and upper triangular R`` (seed: int) =
    let m, _, n = sizes seed
    (
        let a = tensorOf seed [| m; n |]
        let q, r = LinalgDecomp.qr false a
        let k = min m n
        let rv = r.ToFloat64Array()
        let upper = rv |> Array.mapi (fun idx v -> idx / n <= idx % n || v = 0.0) |> Array.forall id
        let qc, rc = LinalgDecomp.qr true a
        q.Shape = [| m; k |] && r.Shape = [| k; n |] && qc.Shape = [| m; m |] && rc.Shape = [| m; n |] && upper
        && (near 1e-10 (a) (Linalg.matmul q r))
        && (near 1e-10 (Create.eye Float64 k) (Linalg.matmul (mT q) q))
        && (near 1e-10 (a) (Linalg.matmul qc rc)))

[<Property(MaxTest = 20)>]
let ``lstsq solves the normal equations Aᵀ(A X − B) = 0`` (seed: int) =
    let extra, _, k = sizes seed
    (
        let n = 1 + abs seed % 3
        let a = rectangular seed (n + extra) n
        let b = tensorOf (seed + 3) [| n + extra; k |]
        let x = LinalgDecomp.lstsq a b
        let residual = Linalg.matmul (mT a) (Linalg.matmul a x - b)
        x.Shape = [| n; k |] && residual.ToFloat64Array() |> Array.forall (fun v -> abs v < 1e-10))

// ---- laws: gradients against central differences (float64)

[<Property(MaxTest = 15)>]
let ``solve's gradients match central differences in A and in B`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n
        let b = tensorOf (seed + 1) (Array.append batch [| n; 2 |])
        gradCheck (fun a -> OpCheck.loss (LinalgDecomp.solve a b)) a
        && gradCheck (fun b -> OpCheck.loss (LinalgDecomp.solve a b)) b
        && gradCheck (fun b -> OpCheck.loss (LinalgDecomp.solve a b)) (tensorOf (seed + 2) (Array.append batch [| n |])))

[<Property(MaxTest = 15)>]
let ``inv's gradient matches central differences, and its Hessian-vector product too`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n
        let f a = OpCheck.loss (LinalgDecomp.inv a)
        gradCheck f a && OpCheck.hvpCheck f a (tensorOf (seed + 5) a.Shape))

[<Property(MaxTest = 15)>]
let ``det's and slogdet's gradients match central differences (second order too)`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = wellConditioned seed batch n * 0.5
        let f a = OpCheck.loss (LinalgDecomp.det a)
        let g a = OpCheck.loss (snd (LinalgDecomp.slogdet a))
        gradCheck f a && gradCheck g a && OpCheck.hvpCheck f a (tensorOf (seed + 5) a.Shape))

[<Property(MaxTest = 15)>]
let ``det's gradient at a singular matrix is the cofactor matrix`` (seed: int) =
    let n = 2 + abs (seed % 3)
    (
        // rank n − 1: the last row repeats the first
        let r = (tensorOf seed [| n; n |]).ToFloat64Array()
        for j in 0 .. n - 1 do r.[(n - 1) * n + j] <- r.[j]
        let a = Create.ofFloat64 r [| n; n |]
        gradCheck (fun a -> LinalgDecomp.det a * 1.0) a)

[<Property(MaxTest = 15)>]
let ``cholesky's gradient matches central differences (symmetric input)`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = spd seed batch n
        let f x = OpCheck.loss (LinalgDecomp.cholesky false (sym x))
        gradCheck f a && OpCheck.hvpCheck f a (sym (tensorOf (seed + 5) a.Shape)))

[<Property(MaxTest = 15)>]
let ``eigh's gradient matches central differences (eigenvalues and sign-invariant eigenvector loss)`` (seed: int) =
    let n, batch, _ = sizes seed
    (
        let a = spd seed batch n
        let f x =
            let lam, v = LinalgDecomp.eigh (sym x)
            OpCheck.loss lam + sqLoss v
        gradCheck f a)

[<Property(MaxTest = 15)>]
let ``svd's gradient matches central differences (reduced, tall, wide and square)`` (seed: int) =
    let m, _, n = sizes seed
    (
        let a = rectangular seed m n
        let f x =
            let u, s, vh = LinalgDecomp.svd false x
            OpCheck.loss s + sqLoss u + sqLoss vh
        gradCheck f a)

[<Property(MaxTest = 15)>]
let ``qr's gradient matches central differences (m >= n)`` (seed: int) =
    let extra, _, n = sizes seed
    (
        let a = rectangular seed (n + extra - 1) n
        let f x =
            let q, r = LinalgDecomp.qr false x
            OpCheck.loss q + OpCheck.loss r
        gradCheck f a)

[<Property(MaxTest = 15)>]
let ``lstsq's gradients match central differences in A and in B (full column rank)`` (seed: int) =
    let extra, _, n = sizes seed
    (
        let a = rectangular seed (n + extra - 1) n
        let b = tensorOf (seed + 1) [| n + extra - 1; 2 |]
        gradCheck (fun a -> OpCheck.loss (LinalgDecomp.lstsq a b)) a
        && gradCheck (fun b -> OpCheck.loss (LinalgDecomp.lstsq a b)) b)

// ---- errors

[<Fact>]
let ``a singular system is an error naming the batch element`` () =
    let a = Create.ofFloat64 [| 1.0; 0.0; 0.0; 1.0; 1.0; 2.0; 2.0; 4.0 |] [| 2; 2; 2 |]
    let e = Assert.Throws<InvalidOperationException>(fun () -> LinalgDecomp.solve a (Create.ones Float64 [| 2; 2; 1 |]) |> ignore)
    Assert.Contains("batch element 1", e.Message)
    Assert.Contains("singular", e.Message)
    let i = Assert.Throws<InvalidOperationException>(fun () -> LinalgDecomp.inv a |> ignore)
    Assert.Contains("singular", i.Message)

[<Fact>]
let ``cholesky of a matrix that is not positive definite names the failing minor`` () =
    let a = Create.ofFloat64 [| 4.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; -1.0 |] [| 3; 3 |]
    let e = Assert.Throws<InvalidOperationException>(fun () -> LinalgDecomp.cholesky false a |> ignore)
    Assert.Contains("order 3", e.Message)
    let _, info = LinalgDecomp.choleskyEx (Create.ofFloat64 [| 1.0; 0.0; 0.0; 1.0; -1.0; 0.0; 0.0; 1.0 |] [| 2; 2; 2 |])
    Assert.Equal<int[]>([| 0; 1 |], info)

[<Fact>]
let ``shape errors name the shapes`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> LinalgDecomp.inv (Create.ones Float64 [| 2; 3 |]) |> ignore)
    Assert.Contains("[2,3]", e.Message)
    let s = Assert.Throws<ArgumentException>(fun () -> LinalgDecomp.solve (Create.eye Float64 3) (Create.ones Float64 [| 2; 1 |]) |> ignore)
    Assert.Contains("does not match", s.Message)
    let d = Assert.Throws<ArgumentException>(fun () -> LinalgDecomp.det (Create.ones Float64 [| 3 |]) |> ignore)
    Assert.Contains("at least 2 dimensions", d.Message)

[<Fact>]
let ``float32 matrices give float32 results close to float64`` () =
    let a64 = wellConditioned 3 [| 2 |] 3
    let a32 = Pointwise.cast Float32 a64
    let y = LinalgDecomp.inv a32
    Assert.Equal(Float32, y.DType)
    assertClose 1e-5 1e-6 ((LinalgDecomp.inv a64).ToFloat64Array()) (y.ToFloat64Array())

// ---- golden values from torch 1.13 (golden/make_linalg.py)

let private golden = lazy (JsonDocument.Parse(File.ReadAllText(Path.Combine(__SOURCE_DIRECTORY__, "golden", "linalg.json"))))

let private case (name: string) = golden.Force().RootElement.GetProperty("cases").GetProperty(name)
let private floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]
let private ints (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetInt32() |]
let private inputsOf (c: JsonElement) =
    [| for i in c.GetProperty("inputs").EnumerateArray() -> Create.ofFloat64 (floats (i.GetProperty "data")) (ints (i.GetProperty "shape")) |]
let private outputOf (c: JsonElement) (k: int) = floats ((c.GetProperty("outputs").[k]).GetProperty "data")
let private gradOf (c: JsonElement) (k: int) = floats (c.GetProperty("grads").[k])

/// torch's loss weights: w[i] = 0.1·((i + k) mod 7 + 1).
let private weights (k: int) (t: Tensor) =
    Create.ofFloat64 (Array.init t.Numel (fun i -> 0.1 * float ((i + k) % 7 + 1))) t.Shape
let private lin (k: int) (t: Tensor) = Reduction.sum (weights k t * t)
let private sq (k: int) (t: Tensor) = Reduction.sum (weights k t * t * t)

/// Flip the sign of each column (of an [m, c] row-major matrix) to agree with the reference.
let private alignColumns (c: int) (reference: float[]) (ours: float[]) =
    let m = ours.Length / c
    let signs = Array.init c (fun j -> if Seq.sum (seq { for i in 0 .. m - 1 -> reference.[i * c + j] * ours.[i * c + j] }) < 0.0 then -1.0 else 1.0)
    ours |> Array.mapi (fun k v -> v * signs.[k % c])

let private alignRows (c: int) (reference: float[]) (ours: float[]) =
    let rows = ours.Length / c
    let signs = Array.init rows (fun i -> if Seq.sum (seq { for j in 0 .. c - 1 -> reference.[i * c + j] * ours.[i * c + j] }) < 0.0 then -1.0 else 1.0)
    ours |> Array.mapi (fun k v -> v * signs.[k / c])

/// Compare our outputs and the gradients of the same loss with torch's.
let rec private goldenCheck (name: string) (run: Tensor[] -> Tensor[]) (loss: Tensor[] -> Tensor) (align: int -> float[] -> float[] -> float[]) =
    try goldenCheckOf name run loss align
    with e -> failwithf "%s: %s" name e.Message

and private goldenCheckOf (name: string) (run: Tensor[] -> Tensor[]) (loss: Tensor[] -> Tensor) (align: int -> float[] -> float[] -> float[]) =
    let c = case name
    let xs = inputsOf c |> Array.map (fun x -> x.RequiresGrad <- true; x)
    let outs = run xs
    outs |> Array.iteri (fun k o -> assertClose 1e-10 1e-12 (outputOf c k) (align k (outputOf c k) (o.ToFloat64Array())))
    let grads = Tape.gradWith [| loss outs |] null xs false false
    grads |> Array.iteri (fun k g -> assertClose 1e-9 1e-11 (gradOf c k) (g.ToFloat64Array()))

let private asIs (_: int) (_: float[]) (ours: float[]) = ours

[<Fact>]
let ``solve, inv, det, slogdet, cholesky and lstsq match torch`` () =
    goldenCheck "solve" (fun x -> [| LinalgDecomp.solve x.[0] x.[1] |]) (fun o -> lin 0 o.[0]) asIs
    goldenCheck "solve_batched" (fun x -> [| LinalgDecomp.solve x.[0] x.[1] |]) (fun o -> lin 0 o.[0]) asIs
    goldenCheck "inv" (fun x -> [| LinalgDecomp.inv x.[0] |]) (fun o -> lin 0 o.[0]) asIs
    goldenCheck "det" (fun x -> [| LinalgDecomp.det x.[0] |]) (fun o -> o.[0] * 0.7) asIs
    goldenCheck "det_batched" (fun x -> [| LinalgDecomp.det x.[0] |]) (fun o -> lin 0 o.[0]) asIs
    // at a singular matrix torch 1.13 returns a zero gradient; the true one is the cofactor matrix (det is a
    // polynomial), here [[4, 4, −4], [−2, −2, 2], [0, 0, 0]], which central differences confirm
    let sing = (inputsOf (case "det_singular")).[0]
    sing.RequiresGrad <- true
    let d = LinalgDecomp.det sing
    assertClose 1e-12 1e-12 (outputOf (case "det_singular") 0) (d.ToFloat64Array())
    assertClose 1e-9 1e-9 [| 4.0; 4.0; -4.0; -2.0; -2.0; 2.0; 0.0; 0.0; 0.0 |] ((Tape.gradWith [| d |] null [| sing |] false false).[0].ToFloat64Array())
    assertClose 1e-6 1e-6 [| 4.0; 4.0; -4.0; -2.0; -2.0; 2.0; 0.0; 0.0; 0.0 |] (numericGrad LinalgDecomp.det (Create.ofFloat64 (sing.ToFloat64Array()) [| 3; 3 |]) 1e-6)
    goldenCheck "slogdet" (fun x -> let s, l = LinalgDecomp.slogdet x.[0] in [| s; l |]) (fun o -> o.[1] * 1.0) asIs
    goldenCheck "cholesky" (fun x -> [| LinalgDecomp.cholesky false x.[0] |]) (fun o -> lin 0 o.[0]) asIs
    goldenCheck "lstsq" (fun x -> [| LinalgDecomp.lstsq x.[0] x.[1] |]) (fun o -> lin 0 o.[0]) asIs

[<Fact>]
let ``eigh, svd and qr match torch up to the signs of vectors`` () =
    goldenCheck "eigh" (fun x -> let l, v = LinalgDecomp.eigh x.[0] in [| l; v |]) (fun o -> lin 0 o.[0] + sq 3 o.[1])
        (fun k r o -> if k = 1 then alignColumns 3 r o else o)
    goldenCheck "svd" (fun x -> let u, s, vh = LinalgDecomp.svd false x.[0] in [| u; s; vh |]) (fun o -> lin 0 o.[1] + sq 1 o.[0] + sq 2 o.[2])
        (fun k r o -> if k = 0 then alignColumns 2 r o elif k = 2 then alignRows 2 r o else o)
    goldenCheck "qr" (fun x -> let q, r = LinalgDecomp.qr false x.[0] in [| q; r |]) (fun o -> sq 0 o.[0] + sq 2 o.[1])
        (fun k r o -> if k = 0 then alignColumns 2 r o else alignRows 2 r o)

[<Property(MaxTest = 20)>]
let ``trySolveSpd solves an SPD system and refuses an indefinite one`` (seed: int) =
    let n, _, _ = sizes seed
    let a = spd seed [||] n
    let b = (tensorOf (seed + 1) [| n |]).ToFloat64Array()
    let av = a.ToFloat64Array()
    match LinalgDecomp.trySolveSpd n av b with
    | None -> false
    | Some x ->
        let ax = Array.init n (fun i -> Seq.sum (seq { for j in 0 .. n - 1 -> av.[i * n + j] * x.[j] }))
        (close 1e-10 1e-10 b ax).IsNone
        && (LinalgDecomp.trySolveSpd n (Array.map (fun v -> -v) av) b).IsNone

[<Fact>]
let ``an ILGPU tensor is decomposed on the host and the result returned to its device`` () =
    let dev = Devices.parse "ilgpu-cpu"
    let a64 = wellConditioned 5 [| 2 |] 3
    let a = Tensor((Devices.backendOf dev).Import a64.Raw)
    a.RequiresGrad <- true
    let y = LinalgDecomp.inv a
    Assert.Equal(dev, y.Device)
    assertClose 1e-12 1e-12 ((LinalgDecomp.inv a64).ToFloat64Array()) (y.ToFloat64Array())
    let g = (Tape.gradWith [| Reduction.sum (LinalgDecomp.det a) |] null [| a |] false false).[0]
    Assert.Equal(dev, g.Device)
    let a64' = Tensor(a64.Raw)
    a64'.RequiresGrad <- true
    let g64 = (Tape.gradWith [| Reduction.sum (LinalgDecomp.det a64') |] null [| a64' |] false false).[0]
    assertClose 1e-10 1e-12 (g64.ToFloat64Array()) (g.ToFloat64Array())
