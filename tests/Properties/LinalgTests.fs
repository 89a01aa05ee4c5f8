module Hybrid.Tests.LinalgTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.OpCheck

let private values (t: Tensor) = t.ToFloat64Array()

/// Two shapes torch.matmul accepts: [batchA..., m, k] and [batchB..., k, n] with broadcastable batches
/// (some batch dims 1 on one side), or a 1-D operand on either side.
let private genMatmulShapes =
    gen {
        let! m, k, n = Gen.zip3 (Gen.choose (1, 4)) (Gen.choose (1, 4)) (Gen.choose (1, 4))
        let! batch = genShapeOfRank 0 2
        let! maskA = Gen.arrayOfLength batch.Length (Gen.elements [ true; false ])
        let! dropA = Gen.choose (0, batch.Length)
        let! dropB = Gen.choose (0, batch.Length)
        let ba = (Array.map2 (fun d keep -> if keep then d else 1) batch maskA).[dropA ..]
        let bb = (Array.map2 (fun d keep -> if keep then 1 else d) batch maskA).[dropB ..]
        let! kind = Gen.choose (0, 5)
        return
            match kind with
            | 0 -> [| k |], Array.append bb [| k; n |]
            | 1 -> Array.append ba [| m; k |], [| k |]
            | 2 -> [| k |], [| k |]
            | _ -> Array.append ba [| m; k |], Array.append bb [| k; n |]
    }

// ---- gradients

[<Property(MaxTest = 60)>]
let ``matmul has exact gradients in both operands, broadcast batch dims and vectors included`` () =
    forAll (Gen.zip genMatmulShapes (Gen.choose (0, 1000))) (fun ((sa, sb), seed) ->
        let a, b = tensorOf seed sa, tensorOf (seed + 1) sb
        gradCheck (fun a -> loss (Linalg.matmul a b)) a
        && gradCheck (fun b -> loss (Linalg.matmul a b)) b)

[<Property(MaxTest = 30)>]
let ``matmul's gradient differentiates again (hvp equals finite differences of the gradient)`` () =
    forAll (Gen.zip genMatmulShapes (Gen.choose (0, 1000))) (fun ((sa, sb), seed) ->
        let a, b = tensorOf seed sa, tensorOf (seed + 1) sb
        // through a only, through b only, and through both at once (a product of x with itself)
        hvpCheck (fun a -> cubic (Linalg.matmul a b)) a (tensorOf (seed + 2) sa)
        && hvpCheck (fun b -> cubic (Linalg.matmul a b)) b (tensorOf (seed + 3) sb))

[<Property(MaxTest = 30)>]
let ``mm bmm dot outer and mT have exact gradients`` () =
    forAll (Gen.zip3 (Gen.choose (1, 4)) (Gen.choose (1, 4)) (Gen.choose (0, 1000))) (fun (m, k, seed) ->
        let a = tensorOf seed [| m; k |]
        let b = tensorOf (seed + 1) [| k; m + 1 |]
        let ab = tensorOf (seed + 2) [| 2; m; k |]
        let bb = tensorOf (seed + 3) [| 2; k; 3 |]
        let u, v = tensorOf (seed + 4) [| k |], tensorOf (seed + 5) [| m |]
        gradCheck (fun a -> loss (Linalg.mm a b)) a
        && gradCheck (fun b -> loss (Linalg.mm a b)) b
        && gradCheck (fun ab -> loss (Linalg.bmm ab bb)) ab
        && gradCheck (fun bb -> loss (Linalg.bmm ab bb)) bb
        && gradCheck (fun u -> loss (Linalg.dot u u)) u
        && gradCheck (fun u -> loss (Linalg.outer u v)) u
        && gradCheck (fun v -> loss (Linalg.outer u v)) v
        && gradCheck (fun ab -> loss (Linalg.mT ab)) ab
        && hvpCheck (fun a -> cubic (Linalg.mm a (Linalg.mT a))) a (tensorOf (seed + 6) [| m; k |]))

[<Property(MaxTest = 40)>]
let ``linear has exact gradients in x, weight and bias, to second order`` () =
    forAll (Gen.zip3 (genShapeOfRank 0 2) (Gen.zip (Gen.choose (1, 4)) (Gen.choose (1, 4))) (Gen.choose (0, 1000))) (fun (lead, (inF, outF), seed) ->
        let xs = Array.append lead [| inF |]
        let x, w, b = tensorOf seed xs, tensorOf (seed + 1) [| outF; inF |], tensorOf (seed + 2) [| outF |]
        gradCheck (fun x -> loss (Linalg.linear x w b)) x
        && gradCheck (fun w -> loss (Linalg.linear x w b)) w
        && gradCheck (fun b -> loss (Linalg.linear x w b)) b
        && gradCheck (fun w -> loss (Linalg.linear x w null)) w
        && hvpCheck (fun x -> cubic (Linalg.linear x w b)) x (tensorOf (seed + 3) xs)
        && hvpCheck (fun w -> cubic (Linalg.linear x w b)) w (tensorOf (seed + 4) [| outF; inF |])
        && hvpCheck (fun w -> cubic (Linalg.linear w w null)) w (tensorOf (seed + 5) [| outF; inF |])
        // the fused op's rule through the bias and through an input shared by x and W (inF = outF there)
        && hvpCheck (fun b -> cubic (Linalg.linear x w b)) b (tensorOf (seed + 6) [| outF |])
        && hvpCheck (fun w -> cubic (Linalg.linear w w (Reduction.sumDims [| 1 |] false w))) w (tensorOf (seed + 7) [| outF; inF |]))

[<Fact>]
let ``the fused raw linear equals the transposed product plus the broadcast bias, small and split over the cores`` () =
    // 64·256·264 multiply-adds is above Blas.splitMacs: the bias rows are accumulated onto by two halves at once
    for (m, k, n) in [ 1, 1, 1; 5, 7, 3; 64, 264, 256 ] do
        let x, w, b = tensorOf m [| m; k |], tensorOf (m + 1) [| n; k |], tensorOf (m + 2) [| n |]
        for cast in [ id; (fun (r: Backends.RawTensor) -> r.Cast Float32) ] do
            let fused = (cast x.Raw).LinearT(cast w.Raw, cast b.Raw)
            let separate = (cast x.Raw).MatmulT(cast w.Raw, false, true).Binary(Backends.BinaryOp.Add, cast b.Raw)
            Assert.Equal<int[]>([| m; n |], fused.Shape)
            assertClose 1e-5 1e-5 (separate.ToFloat64Array()) (fused.ToFloat64Array())

// ---- laws

[<Property(MaxTest = 50)>]
let ``matmul is associative within rounding`` () =
    forAll (Gen.zip (Gen.arrayOfLength 4 (Gen.choose (1, 5))) (Gen.choose (0, 1000))) (fun (d, seed) ->
        let a = tensorOf seed [| 2; d.[0]; d.[1] |]
        let b = tensorOf (seed + 1) [| d.[1]; d.[2] |]
        let c = tensorOf (seed + 2) [| 1; d.[2]; d.[3] |]
        let l = Linalg.matmul (Linalg.matmul a b) c
        let r = Linalg.matmul a (Linalg.matmul b c)
        l.Shape = r.Shape && (close 1e-10 1e-12 (values l) (values r)).IsNone)

[<Property(MaxTest = 50)>]
let ``the transpose of a product is the product of the transposes reversed`` () =
    forAll (Gen.zip genMatmulShapes (Gen.choose (0, 1000))) (fun ((sa, sb), seed) ->
        let sa, sb = (if sa.Length = 1 then [| 2; sa.[0] |] else sa), (if sb.Length = 1 then [| sb.[0]; 3 |] else sb)
        let a, b = tensorOf seed sa, tensorOf (seed + 1) sb
        let lhs = Linalg.mT (Linalg.matmul a b)
        let rhs = Linalg.matmul (Linalg.mT b) (Linalg.mT a)
        lhs.Shape = rhs.Shape && (close 1e-12 1e-12 (values lhs) (values rhs)).IsNone)

[<Property(MaxTest = 30)>]
let ``the raw transposed product equals the product of explicit transposes in float32 and float64`` () =
    forAll (Gen.zip3 (Gen.arrayOfLength 3 (Gen.choose (1, 6))) (Gen.zip (Gen.elements [ true; false ]) (Gen.elements [ true; false ])) (Gen.choose (0, 1000)))
        (fun (d, (ta, tb), seed) ->
            let m, k, n = d.[0], d.[1], d.[2]
            let a = tensorOf seed (if ta then [| 2; k; m |] else [| 2; m; k |])
            let b = tensorOf (seed + 1) (if tb then [| n; k |] else [| k; n |])
            let expected = Linalg.matmul (if ta then Linalg.mT a else a) (if tb then Linalg.mT b else b)
            let r64 = a.Raw.MatmulT(b.Raw, ta, tb)
            let r32 = (a.Raw.Cast Float32).MatmulT(b.Raw.Cast Float32, ta, tb)
            r64.Shape = expected.Shape
            && (close 1e-12 1e-12 (values expected) (r64.ToFloat64Array())).IsNone
            && (close 1e-4 1e-5 (values expected) (r32.ToFloat64Array())).IsNone)

[<Fact>]
let ``the Hessian of one half x'Ax is A`` () =
    // A = M + Mᵀ, symmetric random; f(x) = ½ xᵀ A x with Linalg.matmul
    let m = tensorOf 42 [| 4; 4 |]
    let a = m + Linalg.mT m
    let f (x: Tensor) = Linalg.dot x (Linalg.matmul a x) * 0.5
    let h = Tape.hessian f (tensorOf 43 [| 4 |])
    assertClose 1e-12 1e-12 (values a) (values h)

[<Property(MaxTest = 30)>]
let ``hvp equals finite differences of the gradient for a quartic built from matmul`` () =
    forAll (Gen.zip (Gen.choose (1, 5)) (Gen.choose (0, 1000))) (fun (n, seed) ->
        let a = tensorOf seed [| n; n |]
        // f(x) = Σ (Ax)⁴ / 4 + xᵀ A x: gradient and Hessian both depend on x
        let f (x: Tensor) =
            let ax = Linalg.matmul a x
            Reduction.sum (ax * ax * ax * ax) * 0.25 + Linalg.dot x ax
        hvpCheck f (tensorOf (seed + 1) [| n |]) (tensorOf (seed + 2) [| n |]))

// ---- values (torch: golden/layout_indexing_matmul.py)

let private golden = [| -0.32; -0.26; -1.4400000000000002; -1.22; -2.56; -2.18; 0.15999999999999998; 0.22000000000000003; 0.3199999999999999; 0.54; 0.4799999999999999; 0.8600000000000002; 0.6400000000000001; 0.7; 2.08; 2.3; 3.5200000000000005; 3.8999999999999995; -3.68; -3.14; -4.8; -4.1; -5.92; -5.0600000000000005; 0.6399999999999999; 1.1800000000000002; 0.7999999999999998; 1.5000000000000002; 0.9599999999999997; 1.8200000000000003; 4.960000000000001; 5.5; 6.4; 7.1; 7.84; 8.7 |]

[<Fact>]
let ``batched matmul with broadcast batch dims and its gradients match torch`` () =
    let a = Reshaping.reshape [| 2; 1; 3; 4 |] (Create.arange Float64 0.0 24.0 1.0 / 10.0)
    let b = Reshaping.reshape [| 3; 4; 2 |] (Create.arange Float64 0.0 24.0 1.0 / 10.0 - 1.0)
    let c = Linalg.matmul a b
    Assert.Equal<int[]>([| 2; 3; 3; 2 |], c.Shape)
    assertClose 1e-12 1e-12 golden (values c)
    let w = Create.ofFloat64 (Array.init 36 (fun i -> cos (float i))) [| 2; 3; 3; 2 |]
    let ga = Tape.grad (fun a -> Reduction.sum (Linalg.matmul a b * w)) a
    let gb = Tape.grad (fun b -> Reduction.sum (Linalg.matmul a b * w)) b
    assertClose 1e-12 1e-12 [| -0.6121712357910967; 0.38896388161780293; 1.3900989990267028; 2.391234116435602; 0.977613908361259; 0.3604698436628857; -0.25667422103548765; -0.8738182857338606; -0.20149063486695507; -0.6889806518397088; -1.1764706688124624; -1.6639606857852163; -1.0012364268701068; -0.17455703620543983; 0.6521223544592274; 1.478801745123894; 0.4759445820438698; 0.6831605677373453; 0.8903765534308211; 1.0975925391242969; 0.6051107624914904; -0.3940331820298524; -1.393177126551195; -2.3923210710725376 |] (values ga)
    assertClose 1e-12 1e-12 [| -1.2439839353046973; -0.9246545654712186; -1.2441191866794894; -0.950443132235226; -1.2442544380542813; -0.9762316989992339; -1.2443896894290731; -1.0020202657632413; -1.1105832448815196; -1.1350053254794004; -1.1021741261697826; -1.1551849090906687; -1.0937650074580458; -1.1753644927019375; -1.085355888746308; -1.1955440763132057; -0.8887141298692675; -1.2549422119592772; -0.8724305066466247; -1.267905318356303; -0.8561468834239815; -1.2808684247533286; -0.8398632602013387; -1.2938315311503543 |] (values gb)

[<Fact>]
let ``matmul promotes vectors as torch does`` () =
    let v = Create.vector [| 1.0; -2.0; 0.5 |]
    let m = Reshaping.reshape [| 2; 3; 2 |] (Create.arange Float64 0.0 12.0 1.0 / 4.0)
    let vm = Linalg.matmul v m
    Assert.Equal<int[]>([| 2; 2 |], vm.Shape)
    assertClose 1e-12 1e-12 [| -0.5; -0.625; -1.25; -1.375 |] (values vm)
    let mv = Linalg.matmul (Linalg.mT m) v
    Assert.Equal<int[]>([| 2; 2 |], mv.Shape)
    assertClose 1e-12 1e-12 [| -0.5; -0.625; -1.25; -1.375 |] (values mv)
    let d = Linalg.matmul v v
    Assert.Equal<int[]>([||], d.Shape)
    Assert.Equal(5.25, d.Item)
    Assert.Equal<float[]>([| 1.0; -2.0; -2.0; 4.0 |], values (Linalg.outer (Create.vector [| 1.0; -2.0 |]) (Create.vector [| 1.0; -2.0 |])))

[<Fact>]
let ``linear and its gradients match torch.nn.functional.linear`` () =
    let x = Reshaping.reshape [| 2; 2; 3 |] (Create.arange Float64 0.0 12.0 1.0 / 6.0 - 1.0)
    let w = Reshaping.reshape [| 4; 3 |] (Create.arange Float64 0.0 12.0 1.0 / 5.0 - 0.5)
    let b = Create.vector [| 0.1; -0.2; 0.3; -0.4 |]
    let y = Linalg.linear x w b
    Assert.Equal<int[]>([| 2; 2; 4 |], y.Shape)
    assertClose 1e-12 1e-12 [| 0.9166666666666666; -0.8833333333333333; -1.8833333333333335; -4.083333333333334; 0.4666666666666667; -0.43333333333333335; -0.5333333333333334; -1.8333333333333335; 0.016666666666666663; 0.016666666666666663; 0.8166666666666667; 0.41666666666666674; -0.43333333333333335; 0.46666666666666673; 2.1666666666666665; 2.666666666666667 |] (values y)
    let sq (y: Tensor) = Reduction.sum (y * y)
    assertClose 1e-12 1e-12 [| -14.34666666666667; -16.720000000000002; -19.093333333333337; -6.066666666666667; -7.000000000000001; -7.9333333333333345; 2.2133333333333334; 2.7199999999999998; 3.226666666666667; 10.493333333333334; 12.440000000000001; 14.386666666666668 |] (values (Tape.grad (fun x -> sq (Linalg.linear x w b)) x))
    assertClose 1e-12 1e-12 [| -2.7333333333333334; -2.411111111111111; -2.088888888888889; 2.666666666666667; 2.3888888888888893; 2.111111111111111; 6.466666666666667; 6.655555555555556; 6.844444444444444; 12.666666666666668; 11.722222222222227; 10.777777777777779 |] (values (Tape.grad (fun w -> sq (Linalg.linear x w b)) w))
    assertClose 1e-12 1e-12 [| 1.9333333333333331; -1.6666666666666665; 1.1333333333333324; -5.666666666666668 |] (values (Tape.grad (fun b -> sq (Linalg.linear x w b)) b))

[<Fact>]
let ``linear in float32 goes through the transposed product and matches float64`` () =
    let x, w, b = tensorOf 1 [| 5; 7 |], tensorOf 2 [| 3; 7 |], tensorOf 3 [| 3 |]
    let f32 (t: Tensor) = Tensor(t.Raw.Cast Float32)
    let y64 = Linalg.linear x w b
    let y32 = Linalg.linear (f32 x) (f32 w) (f32 b)
    Assert.Equal(Float32, y32.DType)
    assertClose 1e-5 1e-5 (values y64) (values y32)
    assertClose 1e-12 1e-12 (values (Linalg.matmul x (Linalg.mT w) + b)) (values y64)

// ---- bad input

let private throwsWith<'E when 'E :> exn> (parts: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<'E>(fun () -> f () |> ignore)
    for p in parts do Assert.Contains(p, e.Message)
    e

[<Fact>]
let ``matmul of disagreeing inner dimensions names both shapes`` () =
    let e = throwsWith<ArgumentException> [] (fun () -> box (Linalg.matmul (Create.zeros Float64 [| 3; 4 |]) (Create.zeros Float64 [| 5; 2 |])))
    Assert.StartsWith("matmul: shapes [3,4] and [5,2] do not agree on the inner dimension (4 vs 5)", e.Message)
    throwsWith<ArgumentException> [ "matmul"; "[3]"; "[2,4]"; "(3 vs 2)" ] (fun () -> box (Linalg.matmul (Create.zeros Float64 [| 3 |]) (Create.zeros Float64 [| 2; 4 |]))) |> ignore
    throwsWith<ArgumentException> [ "matmul"; "[2,3,4]"; "[3,4,5]"; "[2]"; "[3]"; "broadcast" ] (fun () -> box (Linalg.matmul (Create.zeros Float64 [| 2; 3; 4 |]) (Create.zeros Float64 [| 3; 4; 5 |]))) |> ignore
    throwsWith<ArgumentException> [ "matmul"; "[]"; "at least one dimension" ] (fun () -> box (Linalg.matmul (Create.scalar Float64 1.0) (Create.zeros Float64 [| 2 |]))) |> ignore
    throwsWith<ArgumentException> [ "matmul"; "float32"; "float64" ] (fun () -> box (Linalg.matmul (Create.zeros Float32 [| 2; 2 |]) (Create.zeros Float64 [| 2; 2 |]))) |> ignore

[<Fact>]
let ``mm bmm dot outer mT and linear name the op and the shapes`` () =
    let z (s: int[]) = Create.zeros Float64 s
    throwsWith<ArgumentException> [ "mm"; "[2,3,4]"; "[4,2]" ] (fun () -> box (Linalg.mm (z [| 2; 3; 4 |]) (z [| 4; 2 |]))) |> ignore
    throwsWith<ArgumentException> [ "mm"; "[2,3]"; "[4,2]"; "(3 vs 4)" ] (fun () -> box (Linalg.mm (z [| 2; 3 |]) (z [| 4; 2 |]))) |> ignore
    throwsWith<ArgumentException> [ "bmm"; "[2,3,4]"; "[3,4,2]"; "(2 vs 3)" ] (fun () -> box (Linalg.bmm (z [| 2; 3; 4 |]) (z [| 3; 4; 2 |]))) |> ignore
    throwsWith<ArgumentException> [ "dot"; "[3]"; "[4]" ] (fun () -> box (Linalg.dot (z [| 3 |]) (z [| 4 |]))) |> ignore
    throwsWith<ArgumentException> [ "outer"; "[2,2]" ] (fun () -> box (Linalg.outer (z [| 2; 2 |]) (z [| 4 |]))) |> ignore
    throwsWith<ArgumentException> [ "mT"; "[3]" ] (fun () -> box (Linalg.mT (z [| 3 |]))) |> ignore
    throwsWith<ArgumentException> [ "linear"; "[5,3]"; "[4,2]"; "in_features 2" ] (fun () -> box (Linalg.linear (z [| 5; 3 |]) (z [| 4; 2 |]) null)) |> ignore
    throwsWith<ArgumentException> [ "linear"; "bias"; "[3]"; "[4]" ] (fun () -> box (Linalg.linear (z [| 5; 2 |]) (z [| 4; 2 |]) (z [| 3 |]))) |> ignore
    throwsWith<ArgumentException> [ "linear"; "weight"; "[4]" ] (fun () -> box (Linalg.linear (z [| 5; 2 |]) (z [| 4 |]) null)) |> ignore
