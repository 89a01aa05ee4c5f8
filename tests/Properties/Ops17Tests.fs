/// Laws of issue 17's ops (Special, Activation, Cumulative, Extrema, Sorting): every gradient agrees with central
/// differences in float64 over generated shapes, smooth ones also in their second derivatives; sort and topk
/// order the values; amax, median and prod take torch's conventions at ties and zeros.
module Hybrid.Tests.Ops17Tests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.PointwiseTests

/// A dim of a shape (negative half the time), from a seed; 0 for a scalar.
let dimOf (seed: int) (shape: int[]) =
    if shape.Length = 0 then 0
    else
        let d = abs seed % shape.Length
        if seed % 2 = 0 then d else d - shape.Length

/// Every new unary op: its name, the op given the seed and shape (for dims and masks), and the domain its inputs
/// are moved into (away from kinks, inside the domain).
let unaryOps17 : (string * (int -> int[] -> Tensor -> Tensor) * (float -> float)) list =
    let plain f = fun (_: int) (_: int[]) x -> f x
    [ "log1p", plain Special.log1p, (fun v -> v * 0.4)
      "expm1", plain Special.expm1, id
      "rsqrt", plain Special.rsqrt, positive
      "reciprocal", plain Special.reciprocal, (fun v -> if v >= 0.0 then v + 0.3 else v - 0.3)
      "sign", plain Special.sign, awayFrom [ 0.0 ] 0.05
      "tan", plain Special.tan, (fun v -> v * 0.6)
      "atan", plain Special.atan, id
      "asin", plain Special.asin, (fun v -> v * 0.45)
      "acos", plain Special.acos, (fun v -> v * 0.45)
      "sinh", plain Special.sinh, id
      "cosh", plain Special.cosh, id
      "asinh", plain Special.asinh, (fun v -> v * 3.0)
      "clampMin 0.3", plain (Special.clampMin 0.3), awayFrom [ 0.3 ] 0.05
      "clampMax -0.2", plain (Special.clampMax -0.2), awayFrom [ -0.2 ] 0.05
      "maskedFill", (fun seed shape x -> Special.maskedFill (Pointwise.gt (tensorOf (seed + 5) shape) (Create.scalar Float64 0.0)) 1.5 x), id
      "silu", plain Activation.silu, id
      "mish", plain Activation.mish, id
      "selu", plain Activation.selu, awayFrom [ 0.0 ] 0.05
      "celu 1.3", plain (Activation.celu 1.3), awayFrom [ 0.0 ] 0.05
      "logSigmoid", plain Activation.logSigmoid, (fun v -> v * 5.0)
      "softsign", plain Activation.softsign, awayFrom [ 0.0 ] 0.05
      "hardtanh", plain (Activation.hardtanh -1.0 1.0), awayFrom [ -1.0; 1.0 ] 0.05
      "hardtanh -0.5 1.5", plain (Activation.hardtanh -0.5 1.5), awayFrom [ -0.5; 1.5 ] 0.05
      "hardswish", plain Activation.hardswish, (fun v -> awayFrom [ -3.0; 3.0 ] 0.05 (v * 2.0))
      "softmin", (fun seed shape x -> Activation.softmin (dimOf seed shape) x), id
      "cumsum", (fun seed shape x -> Cumulative.cumsum (dimOf seed shape) x), id
      "cumprod", (fun seed shape x -> Cumulative.cumprod (dimOf seed shape) x), id
      "prodDim", (fun seed shape x -> Cumulative.prodDim (dimOf seed shape) (seed % 3 = 0) x), id
      "prod", plain Cumulative.prod, id
      "amax", (fun seed shape x -> Extrema.amax [| dimOf seed shape |] (seed % 3 = 0) x), id
      "amin all", plain (Extrema.amin [||] false), id
      "amax first and last dims", (fun seed _ x -> Extrema.amax [| 0; -1 |] (seed % 2 = 0) x), id
      "sort", (fun seed shape x -> fst (Sorting.sort (dimOf seed shape) (seed % 3 = 0) x)), id
      "topk", (fun seed shape x ->
                 let d = dimOf seed shape
                 let n = if shape.Length = 0 then 1 else shape.[(d + shape.Length) % shape.Length]
                 fst (Sorting.topk (1 + abs seed % n) d (seed % 3 <> 0) x)), id
      "medianDim", (fun seed shape x -> fst (Sorting.medianDim (dimOf seed shape) (seed % 3 = 0) x)), id
      "median", plain Sorting.median, id
      "logsumexp all", plain (fun x -> Reduction.logsumexp [| 0 .. x.Rank - 1 |] false x), id
      "var all", plain (fun x -> if x.Numel > 1 then Reduction.varAll x else x), id ]

[<Property(MaxTest = 25)>]
let ``every new unary op's gradient agrees with finite differences`` () =
    Prop.forAll shapeSeed (fun (shape, seed) ->
        for name, op, domain in unaryOps17 do
            let x = mapValues domain (tensorOf seed shape)
            try gradCheck (fun x -> wsum seed (op seed shape x)) x |> ignore
            with e -> failwithf "%s at shape %s seed %d: %s" name (Shape.show shape) seed e.Message)

[<Property(MaxTest = 20)>]
let ``cumprod and prod have exact gradients where the input holds zeros`` () =
    Prop.forAll shapeSeed (fun (shape, seed) ->
        // zero out about a third of the elements: the products are polynomials, so central differences stay exact
        let x = tensorOf seed shape |> mapValues (fun v -> if abs v < 0.7 then 0.0 else v)
        let d = dimOf seed shape
        gradCheck (fun x -> wsum seed (Cumulative.cumprod d x)) x |> ignore
        gradCheck (fun x -> wsum seed (Cumulative.prodDim d false x)) x |> ignore
        gradCheck (fun x -> wsum seed (Cumulative.prod x)) x)

/// Every new binary (and ternary) op with the domain of each operand.
let binaryOps17 : (string * (Tensor -> Tensor -> Tensor) * (float -> float) * (float -> float)) list =
    [ "atan2", Special.atan2, id, positive
      "hypot", Special.hypot, positive, id
      "logaddexp", Special.logaddexp, id, id
      "lerp 0.3", (fun a b -> Special.lerpScalar a b 0.3), id, id
      "lerp 0.8", (fun a b -> Special.lerpScalar a b 0.8), id, id
      "lerp tensor", (fun a b -> Special.lerp a b (a * b)), id, id
      "addcmul", (fun a b -> Special.addcmul 0.7 a b (b * 0.5)), id, id
      "addcdiv", (fun a b -> Special.addcdiv -1.3 a b a), id, positive ]

[<Property(MaxTest = 20)>]
let ``every new binary op's gradients agree with finite differences under broadcasting`` () =
    Prop.forAll broadcastPair (fun ((sa, sb), seed) ->
        for name, op, da, db in binaryOps17 do
            let a = mapValues da (tensorOf seed sa)
            let b = mapValues db (tensorOf (seed + 1) sb)
            try
                gradCheck (fun a -> wsum seed (op a b)) a |> ignore
                gradCheck (fun b -> wsum seed (op a b)) b |> ignore
            with e -> failwithf "%s %s %s: %s" name (Shape.show sa) (Shape.show sb) e.Message)

let smoothOps17 : (string * (Tensor -> Tensor) * (float -> float)) list =
    [ "log1p", Special.log1p, (fun v -> v * 0.4); "expm1", Special.expm1, id; "rsqrt", Special.rsqrt, positive
      "reciprocal", Special.reciprocal, positive; "tan", Special.tan, (fun v -> v * 0.6); "atan", Special.atan, id
      "asin", Special.asin, (fun v -> v * 0.45); "acos", Special.acos, (fun v -> v * 0.45); "sinh", Special.sinh, id
      "cosh", Special.cosh, id; "asinh", Special.asinh, id; "silu", Activation.silu, id; "mish", Activation.mish, id
      "logSigmoid", Activation.logSigmoid, id; "softmin", Activation.softmin -1, id
      "hardswish", Activation.hardswish, (fun v -> v * 1.4); "cumprod", Cumulative.cumprod 1, id
      "logaddexp", (fun x -> Special.logaddexp x (x * x)), id; "hypot", (fun x -> Special.hypot x (x + 3.0)), id
      "atan2", (fun x -> Special.atan2 x (x * x + 1.0)), id ]

[<Property(MaxTest = 5)>]
let ``hessian-vector products of the smooth new ops agree with finite differences of the gradient`` (seed: int) =
    for name, op, domain in smoothOps17 do
        let x = mapValues domain (tensorOf seed [| 2; 3 |])
        let v = tensorOf (seed + 3) [| 2; 3 |]
        try hvpAgreesWithFiniteDifferences (fun x -> wsum seed (op x) + Reduction.sum (op x * op x)) x v
        with e -> failwithf "%s: %s" name e.Message

[<Property(MaxTest = 30)>]
let ``sort orders each line and its indices point at the values`` () =
    Prop.forAll shapeSeed (fun (shape, seed) ->
        let x = tensorOf seed shape |> mapValues (fun v -> Math.Round(v * 2.0) / 2.0) // ties on purpose
        let d = dimOf seed shape
        let descending = seed % 2 = 0
        let v, ix = Sorting.sort d descending x
        Assert.Equal<float[]>((Indexing.gather d ix x).ToFloat64Array(), v.ToFloat64Array())
        // consecutive values along d are ordered; equal values keep ascending indices (stable)
        if shape.Length > 0 && shape.[(d + shape.Length) % shape.Length] > 1 then
            let dn = (d + shape.Length) % shape.Length
            let n = shape.[dn]
            let lo = Reshaping.narrow dn 0 (n - 1) v
            let hi = Reshaping.narrow dn 1 (n - 1) v
            let ilo = (Reshaping.narrow dn 0 (n - 1) ix).ToInt64Array()
            let ihi = (Reshaping.narrow dn 1 (n - 1) ix).ToInt64Array()
            Array.iteri2 (fun i (a: float) (b: float) ->
                Assert.True((if descending then a >= b else a <= b), sprintf "out of order at %d: %g, %g" i a b)
                if a = b then Assert.True(ilo.[i] < ihi.[i], "ties keep their input order")) (lo.ToFloat64Array()) (hi.ToFloat64Array())
        true)

[<Fact>]
let ``amax splits the gradient evenly among ties`` () =
    let g = Tape.grad (fun x -> Extrema.amax [||] false x) (Create.vector [| 1.0; 3.0; 3.0; -1.0; 3.0; 0.0 |])
    assertClose 1e-15 0.0 [| 0.0; 1.0 / 3.0; 1.0 / 3.0; 0.0; 1.0 / 3.0; 0.0 |] (g.ToFloat64Array())

[<Fact>]
let ``sign has a zero gradient and stays on the tape`` () =
    let g = Tape.grad (fun x -> Reduction.sum (Special.sign x * x)) (Create.vector [| -2.0; 0.0; 3.0 |])
    Assert.Equal<float[]>([| -1.0; 0.0; 1.0 |], g.ToFloat64Array())

[<Fact>]
let ``hypot's gradient is a/y and b/y, and NaN at the origin as torch's`` () =
    let a = Create.vector [| 3.0; 0.0 |]
    let b = Create.vector [| 4.0; 0.0 |]
    let ga = Tape.grad (fun a -> Reduction.sum (Special.hypot a b)) a
    let gb = Tape.grad (fun b -> Reduction.sum (Special.hypot a b)) b
    Assert.Equal(0.6, ga.ToFloat64Array().[0], 15)
    Assert.Equal(0.8, gb.ToFloat64Array().[0], 15)
    Assert.True(Double.IsNaN(ga.ToFloat64Array().[1]) && Double.IsNaN(gb.ToFloat64Array().[1]))

[<Fact>]
let ``prod of one zero sends the product of the others to it`` () =
    let g = Tape.grad Cumulative.prod (Create.vector [| 2.0; 0.0; 3.0; -1.5 |])
    Assert.Equal<float[]>([| 0.0; -9.0; 0.0; 0.0 |], g.ToFloat64Array() |> Array.map (fun v -> v + 0.0))

[<Fact>]
let ``median is the lower median and ties share its gradient`` () =
    let x = Create.vector [| 5.0; 1.0; 2.0; 3.0; 2.0; 9.0 |]
    Assert.Equal(2.0, (Sorting.median x).Item)
    assertClose 0.0 0.0 [| 0.0; 0.0; 0.5; 0.0; 0.5; 0.0 |] ((Tape.grad Sorting.median x).ToFloat64Array())

[<Fact>]
let ``a line holding NaN has median NaN at its first NaN`` () =
    let v, ix = Sorting.medianDim 0 false (Create.vector [| 1.0; nan; 2.0; nan |])
    Assert.True(Double.IsNaN v.Item)
    Assert.Equal<int64[]>([| 1L |], ix.ToInt64Array())

[<Fact>]
let ``log1p, expm1 and asinh keep tiny inputs exact`` () =
    let x = Create.vector [| 1e-10; -3e-17; 1e-300 |]
    assertClose 1e-15 0.0 [| 9.9999999995e-11; -3e-17; 1e-300 |] ((Special.log1p x).ToFloat64Array())
    assertClose 1e-15 0.0 [| 1.00000000005e-10; -3e-17; 1e-300 |] ((Special.expm1 x).ToFloat64Array())
    assertClose 1e-15 0.0 [| 1e-10; -3e-17; 1e-300 |] ((Special.asinh x).ToFloat64Array())

[<Fact>]
let ``bad arguments name the op and the values`` () =
    let x = Create.zeros Float64 [| 2; 3 |]
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Sorting.topk 4 1 true x |> ignore)
    Assert.Contains("topk: k=4", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Special.maskedFill (Create.zeros Float64 [| 4 |]) 1.0 x |> ignore)
    Assert.Contains("[4]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Activation.hardtanh 1.0 -1.0 x |> ignore)
    Assert.Contains("minVal=1", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Extrema.amax [| 1 |] false (Create.zeros Float64 [| 2; 0 |]) |> ignore)
    Assert.Contains("amax", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Activation.celu 0.0 x |> ignore)
    Assert.Contains("alpha=0", e.Message)
