/// Issue 17's shape and linear-algebra ops: values and gradients against torch 1.13 on fixed inputs
/// (golden/make_shape17.py writes golden/shape17.json), float64 gradient checks against central differences
/// over FsCheck-generated shapes, second-order checks, torch's error cases, and the same ops on ilgpu-cpu.
module Hybrid.Tests.ShapeOpsTests

open System
open System.IO
open System.Text.Json
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.OpCheck

// ---- golden values from torch 1.13

type private Golden = { Name: string; Inputs: Tensor[]; Output: Tensor; Grads: Tensor[] }

let private goldenCases =
    lazy (
        let path = Path.Combine(AppContext.BaseDirectory, "golden", "shape17.json")
        use doc = JsonDocument.Parse(File.ReadAllText path)
        let tensor (e: JsonElement) =
            let shape = e.GetProperty("shape").EnumerateArray() |> Seq.map (fun v -> v.GetInt32()) |> Array.ofSeq
            let data = e.GetProperty("data").EnumerateArray() |> Seq.map (fun v -> v.GetDouble()) |> Array.ofSeq
            Create.ofFloat64 data shape
        let many (e: JsonElement) = e.EnumerateArray() |> Seq.map tensor |> Array.ofSeq
        [ for c in doc.RootElement.GetProperty("cases").EnumerateArray() ->
            { Name = c.GetProperty("name").GetString()
              Inputs = many (c.GetProperty "inputs")
              Output = tensor (c.GetProperty "output")
              Grads = many (c.GetProperty "grads") } ])

/// The op of a golden case, rebuilt from its name exactly as make_shape17.py calls torch.
let private opOf (name: string) : Tensor[] -> Tensor =
    let one f = fun (xs: Tensor[]) -> f xs.[0]
    let two f = fun (xs: Tensor[]) -> f xs.[0] xs.[1]
    match name.Split ':' with
    | [| "einsum"; eq |] -> Einsum.einsum eq
    | [| "cdist"; p |] | [| "cdist_batch"; p |] ->
        two (Distance.cdist (if p = "inf" then Double.PositiveInfinity else Double.Parse(p, Globalization.CultureInfo.InvariantCulture)))
    | _ ->
    match name with
    | "flip_0_2" -> one (Structure.flip [| 0; 2 |])
    | "flip_-1" -> one (Structure.flip [| -1 |])
    | "roll_1_-2_dims_0_1" -> one (Structure.roll [| 1; -2 |] [| 0; 1 |])
    | "roll_flat_5" -> one (Structure.roll [| 5 |] [||])
    | "roll_-7_dim_0" -> one (Structure.roll [| -7 |] [| 0 |])
    | "narrow_1_-3_2" -> one (Reshaping.narrow 1 -3 2)
    | "repeat_2_1_3" -> one (Structure.repeat [| 2; 1; 3 |])
    | "repeat_0_2" -> one (Structure.repeat [| 0; 2 |])
    | "tile_2" -> one (Structure.tile [| 2 |])
    | "tile_2_2" -> one (Structure.tile [| 2; 2 |])
    | "tril_0" -> one (Structure.tril 0)
    | "tril_-1" -> one (Structure.tril -1)
    | "triu_1" -> one (Structure.triu 1)
    | "triu_-2" -> one (Structure.triu -2)
    | "diag_vec_0" -> one (Structure.diag 0)
    | "diag_vec_2" -> one (Structure.diag 2)
    | "diag_vec_-1" -> one (Structure.diag -1)
    | "diag_mat_1" -> one (Structure.diag 1)
    | "diag_mat_-2" -> one (Structure.diag -2)
    | "diagonal_1_2_0" -> one (Structure.diagonal 1 2 0)
    | "diagonal_-1_1_2" -> one (Structure.diagonal -1 1 2)
    | "trace" -> one Structure.trace
    | "outer" -> two Linalg.outer
    | "mm" -> two Linalg.mm
    | "bmm" -> two Linalg.bmm
    | "linear" -> fun xs -> Linalg.linear xs.[0] xs.[1] xs.[2]
    | "linear_nobias" -> fun xs -> Linalg.linear xs.[0] xs.[1] null
    | "cosine_similarity_1" | "cosine_similarity_1_tiny" -> two (Distance.cosineSimilarity 1 1e-8)
    | "cosine_similarity_-1_broadcast" -> two (Distance.cosineSimilarity -1 1e-8)
    | "normalize_2_1" | "normalize_2_1_zero_row" -> one (Distance.normalize 2.0 1 1e-12)
    | "normalize_1_0" -> one (Distance.normalize 1.0 0 1e-12)
    | "normalize_3_-1" -> one (Distance.normalize 3.0 -1 1e-12)
    | other -> failwithf "golden case %s has no op in ShapeOpsTests.opOf" other

/// Every case of the golden file: the value and every input's gradient of sum(y ⊙ cos(arange)) agree with torch.
let private replay (pick: string -> bool) =
    let cases = goldenCases.Force() |> List.filter (fun c -> pick c.Name)
    Assert.NotEmpty cases
    for c in cases do
        let xs = c.Inputs |> Array.map (fun t -> let x = Create.ofFloat64 (t.ToFloat64Array()) t.Shape in x.RequiresGrad <- true; x)
        let y = opOf c.Name xs
        Assert.True((c.Output.Shape = y.Shape), sprintf "%s: shape %s, torch %s" c.Name (Shape.show y.Shape) (Shape.show c.Output.Shape))
        (try assertClose 1e-10 1e-12 (c.Output.ToFloat64Array()) (y.ToFloat64Array())
         with e -> failwithf "%s value: %s" c.Name e.Message)
        let w = Create.ofFloat64 (Array.init y.Numel (fun i -> cos (float i))) y.Shape
        Tape.backward (Reduction.sum (y * w))
        xs |> Array.iteri (fun i x ->
            let g = if isNull x.Grad then Array.zeroCreate x.Numel else x.Grad.ToFloat64Array()
            try assertClose 1e-9 1e-11 (c.Grads.[i].ToFloat64Array()) g
            with e -> failwithf "%s gradient of input %d: %s" c.Name i e.Message)

[<Fact>]
let ``flip roll narrow repeat tile tril triu diag diagonal and trace equal torch's values and gradients`` () =
    replay (fun n -> [ "flip"; "roll"; "narrow"; "repeat"; "tile"; "tril"; "triu"; "diag"; "trace" ] |> List.exists n.StartsWith)

[<Fact>]
let ``outer mm bmm and linear equal torch's values and gradients`` () =
    replay (fun n -> [ "outer"; "mm"; "bmm"; "linear" ] |> List.contains (n.Split('_').[0]))

[<Fact>]
let ``einsum equals torch's on two-operand contractions, traces, permutations, sums, ellipses and three operands`` () =
    replay (fun n -> n.StartsWith "einsum:")

[<Fact>]
let ``cdist equals torch's for p = 2, 1, 3, 0.5, inf and 0, zero distances and broadcast batches included`` () =
    replay (fun n -> n.StartsWith "cdist")

[<Fact>]
let ``cosine_similarity and normalize equal torch's, tiny norms and zero rows included`` () =
    replay (fun n -> n.StartsWith "cosine" || n.StartsWith "normalize")

// ---- gradient checks over generated shapes

let private genSeed = Gen.choose (0, 10000)

[<Property(MaxTest = 40)>]
let ``flip roll repeat and tile have exact gradients`` () =
    forAll (Gen.zip3 (genShapeOfRank 1 3) genSeed (Gen.choose (-5, 5))) (fun (shape, seed, shift) ->
        let x = tensorOf seed shape
        let r = shape.Length
        let reps = Array.init (r + 1) (fun i -> 1 + (seed + i) % 3)
        gradCheck (fun x -> loss (Structure.flip (if r = 1 then [| 0 |] else [| 0; r - 1 |]) x)) x
        && gradCheck (fun x -> loss (Structure.roll [| shift; -shift |] [| 0; -1 |] x)) x
        && gradCheck (fun x -> loss (Structure.roll [| shift |] [||] x)) x
        && gradCheck (fun x -> loss (Structure.repeat reps x)) x
        && gradCheck (fun x -> loss (Structure.tile reps.[.. r - 1 - (seed % r)] x)) x)

[<Property(MaxTest = 40)>]
let ``tril triu diagonal diag and trace have exact gradients`` () =
    forAll (Gen.zip3 (genShapeOfRank 2 3) genSeed (Gen.choose (-3, 3))) (fun (shape, seed, k) ->
        let x = tensorOf seed shape
        let v = tensorOf (seed + 1) [| shape.[0] |]
        gradCheck (fun x -> loss (Structure.tril k x)) x
        && gradCheck (fun x -> loss (Structure.triu k x)) x
        && gradCheck (fun x -> loss (Structure.diagonal k 0 -1 x)) x
        && gradCheck (fun v -> loss (Structure.diag k v)) v
        && gradCheck (fun x -> loss (Structure.trace (Reshaping.reshape [| shape.[0]; -1 |] x))) x)

/// Two operands and the equation of a random contraction: a batch, a contracted and a free label on each side.
let private genEinsum =
    gen {
        let! b = Gen.choose (1, 3)
        let! m = Gen.choose (1, 3)
        let! k = Gen.choose (1, 3)
        let! n = Gen.choose (1, 3)
        let! orderA = Gen.shuffle [| 'b'; 'm'; 'k' |]
        let! orderB = Gen.shuffle [| 'b'; 'k'; 'n' |]
        let! orderOut = Gen.shuffle [| 'b'; 'm'; 'n' |]
        let size c = match c with 'b' -> b | 'm' -> m | 'k' -> k | _ -> n
        let eq = String(orderA) + "," + String(orderB) + "->" + String(orderOut)
        return eq, Array.map size (Array.ofSeq orderA), Array.map size (Array.ofSeq orderB)
    }

[<Property(MaxTest = 40)>]
let ``einsum of any labelled batched contraction has exact gradients in both operands, to second order`` () =
    forAll (Gen.zip genEinsum genSeed) (fun ((eq, sa, sb), seed) ->
        let a, b = tensorOf seed sa, tensorOf (seed + 1) sb
        gradCheck (fun a -> loss (Einsum.einsum eq [| a; b |])) a
        && gradCheck (fun b -> loss (Einsum.einsum eq [| a; b |])) b
        && hvpCheck (fun a -> cubic (Einsum.einsum eq [| a; b |])) a (tensorOf (seed + 2) sa))

[<Property(MaxTest = 40)>]
let ``einsum of a contraction equals the same contraction written with permute and matmul`` () =
    forAll (Gen.zip genEinsum genSeed) (fun ((eq, sa, sb), seed) ->
        let a, b = tensorOf seed sa, tensorOf (seed + 1) sb
        // the reference: both operands to [b, m, k] and [b, k, n], one matmul, then the output's order
        let lhs, out = eq.Split("->").[0], eq.Split("->").[1]
        let ta, tb = lhs.Split(',').[0], lhs.Split(',').[1]
        let perm (term: string) (order: string) = order |> Seq.map (fun c -> term.IndexOf c) |> Array.ofSeq
        let c = Linalg.matmul (Reshaping.permute (perm ta "bmk") a) (Reshaping.permute (perm tb "bkn") b)
        let expected = Reshaping.permute (perm "bmn" out) c
        assertClose 1e-12 1e-12 (expected.ToFloat64Array()) ((Einsum.einsum eq [| a; b |]).ToFloat64Array())
        true)

[<Property(MaxTest = 30)>]
let ``cdist has exact gradients for p = 2, 1, 3 and inf away from ties, to second order for p = 2`` () =
    forAll (Gen.zip3 (Gen.choose (1, 4)) (Gen.choose (1, 4)) genSeed) (fun (p, r, seed) ->
        let x1, x2 = tensorOf seed [| p; 3 |], tensorOf (seed + 1) [| r; 3 |]
        [ 2.0; 1.0; 3.0; Double.PositiveInfinity ]
        |> List.forall (fun q -> gradCheck (fun x1 -> loss (Distance.cdist q x1 x2)) x1 && gradCheck (fun x2 -> loss (Distance.cdist q x1 x2)) x2)
        && hvpCheck (fun x1 -> cubic (Distance.cdist 2.0 x1 x2)) x1 (tensorOf (seed + 2) [| p; 3 |]))

[<Property(MaxTest = 30)>]
let ``cosine_similarity and normalize have exact gradients`` () =
    forAll (Gen.zip (genShapeOfRank 1 3) genSeed) (fun (shape, seed) ->
        let x1, x2 = tensorOf seed shape, tensorOf (seed + 1) shape
        let d = seed % shape.Length
        gradCheck (fun x1 -> loss (Distance.cosineSimilarity d 1e-8 x1 x2)) x1
        && gradCheck (fun x2 -> loss (Distance.cosineSimilarity d 1e-8 x1 x2)) x2
        && gradCheck (fun x -> loss (Distance.normalize 2.0 d 1e-12 x)) x1
        && gradCheck (fun x -> loss (Distance.normalize 3.0 d 1e-12 x)) x1
        && hvpCheck (fun x -> cubic (Distance.normalize 2.0 d 1e-12 x)) x1 x2)

// ---- laws and torch's conventions

[<Property(MaxTest = 40)>]
let ``roll by n along a dim of size n is the identity, and roll by s then by -s too`` () =
    forAll (Gen.zip3 (genShapeOfRank 1 3) genSeed (Gen.choose (-9, 9))) (fun (shape, seed, s) ->
        let x = tensorOf seed shape
        let back = Structure.roll [| -s |] [| 0 |] (Structure.roll [| s |] [| 0 |] x)
        let full = Structure.roll [| shape.[0] |] [| 0 |] x
        back.ToFloat64Array() = x.ToFloat64Array() && full.ToFloat64Array() = x.ToFloat64Array())

[<Property(MaxTest = 40)>]
let ``tril k plus triu (k+1) rebuilds the matrix`` () =
    forAll (Gen.zip3 (genShapeOfRank 2 3) genSeed (Gen.choose (-4, 4))) (fun (shape, seed, k) ->
        let x = tensorOf seed shape
        (Structure.tril k x + Structure.triu (k + 1) x).ToFloat64Array() = x.ToFloat64Array())

[<Fact>]
let ``cdist with p = 2 gives a zero gradient at a zero distance, as torch`` () =
    let x1 = Create.ofFloat64 [| 1.0; 2.0; 3.0 |] [| 1; 3 |]
    x1.RequiresGrad <- true
    let x2 = Create.ofFloat64 [| 1.0; 2.0; 3.0 |] [| 1; 3 |]
    let d = Distance.cdist 2.0 x1 x2
    Tape.backward (Reduction.sum d)
    Assert.Equal(0.0, d.Item)
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], x1.Grad.ToFloat64Array())

[<Fact>]
let ``tril and triu drop infinities to exact zeros, as torch`` () =
    let x = Create.ofFloat64 [| 1.0; infinity; -infinity; 2.0 |] [| 2; 2 |]
    Assert.Equal<float[]>([| 1.0; 0.0; -infinity; 2.0 |], (Structure.tril 0 x).ToFloat64Array())
    Assert.Equal<float[]>([| 1.0; infinity; 0.0; 2.0 |], (Structure.triu 0 x).ToFloat64Array())

[<Fact>]
let ``bad arguments throw errors that name the op and what was wrong`` () =
    let x = tensorOf 1 [| 2; 3 |]
    let msg (f: unit -> Tensor) = (Assert.ThrowsAny<ArgumentException>(fun () -> f () |> ignore)).Message
    Assert.Contains("roll: shifts [1,2] and dims [0]", msg (fun () -> Structure.roll [| 1; 2 |] [| 0 |] x))
    Assert.Contains("repeat: 1 repeats", msg (fun () -> Structure.repeat [| 2 |] x))
    Assert.Contains("flip: dims [0,-2]", msg (fun () -> Structure.flip [| 0; -2 |] x))
    Assert.Contains("tril: expected a tensor of rank >= 2", msg (fun () -> Structure.tril 0 (tensorOf 1 [| 3 |])))
    Assert.Contains("diag: expected a 1-D or 2-D tensor", msg (fun () -> Structure.diag 0 (tensorOf 1 [| 2; 2; 2 |])))
    Assert.Contains("trace: expected a 2-D tensor", msg (fun () -> Structure.trace (tensorOf 1 [| 3 |])))
    Assert.Contains("einsum: \"ij,jk\" has 2 terms but 1 operands", msg (fun () -> Einsum.einsum "ij,jk" [| x |]))
    Assert.Contains("names 3 dims but its operand has rank 2", msg (fun () -> Einsum.einsum "ijk->i" [| x |]))
    Assert.Contains("spans dims of sizes 3 and 2", msg (fun () -> Einsum.einsum "ij,jk->ik" [| x; x |]))
    Assert.Contains("'#'", msg (fun () -> Einsum.einsum "i#->i" [| x |]))
    Assert.Contains("cdist: shapes [2,3] and [2,4] have different row sizes", msg (fun () -> Distance.cdist 2.0 x (tensorOf 2 [| 2; 4 |])))
    Assert.Contains("norm: order p=-1", msg (fun () -> Distance.cdist -1.0 x x))

// ---- the same ops on ilgpu-cpu (the kernels a GPU runs)

[<Fact>]
let ``the shape ops and their gradients on ilgpu-cpu equal the cpu's`` () =
    let dev = IlgpuTests.dev
    let run (onDev: bool) =
        let leaf seed shape =
            let t = tensorOf seed shape
            let t = if onDev then Devices.toDevice dev t else t
            let t = Tensor(t.Raw)
            t.RequiresGrad <- true
            t
        let x, y = leaf 1 [| 3; 4 |], leaf 2 [| 4; 2 |]
        let parts =
            [ Structure.flip [| 0; 1 |] x; Structure.roll [| 1; -1 |] [| 0; 1 |] x; Structure.repeat [| 2; 1 |] x
              Structure.tril 0 x; Structure.triu 1 x; Structure.diag 0 (Structure.diagonal 1 0 1 x)
              Einsum.einsum "ij,jk->ik" [| x; y |]; Einsum.einsum "ij,kj->ik" [| x; x |]
              Distance.cdist 2.0 x x; Distance.normalize 2.0 1 1e-12 x
              Reshaping.reshape [| 1 |] (Distance.cosineSimilarity 0 1e-8 (Reshaping.reshape [| -1 |] x) (Reshaping.reshape [| -1 |] x))
              Reshaping.reshape [| 1 |] (Structure.trace (Reshaping.narrow 1 0 3 x)) ]
        // a loss made on the tensors' own device: Σ t²·sin t
        let total = parts |> List.map (fun t -> Reduction.sum (t * t * Pointwise.sin t)) |> List.reduce (+)
        Tape.backward total
        total.ToFloat64Array(), x.Grad.ToFloat64Array(), y.Grad.ToFloat64Array(), x.Grad.Device
    let v, gx, gy, _ = run false
    let vd, gxd, gyd, devOfGrad = run true
    Assert.Equal(dev, devOfGrad)
    assertClose 1e-12 1e-12 v vd
    assertClose 1e-12 1e-12 gx gxd
    assertClose 1e-12 1e-12 gy gyd
