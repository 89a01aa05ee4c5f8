/// Laws of the pointwise ops: gradients agree with finite differences, second derivatives with
/// finite differences of the gradient, and the values are the functions they claim to be.
module Hybrid.Tests.PointwiseTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check

/// A generated shape (rank 0..3) and a seed.
let shapeSeed = Arb.fromGen (gen {
    let! shape = genShape
    let! seed = Gen.choose (0, 1_000_000)
    return shape, seed })

/// Σ w⊙y with fixed random weights: a scalar whose gradient reaches every output element differently.
let wsum (seed: int) (y: Tensor) = Reduction.sum (y * tensorOf (seed + 7919) y.Shape)

/// The values of t mapped elementwise (a new float64 leaf).
let mapValues (f: float -> float) (t: Tensor) = Create.ofFloat64 (t.ToFloat64Array() |> Array.map f) t.Shape

/// Move values at least `margin` away from each kink.
let awayFrom (kinks: float list) (margin: float) (v: float) =
    kinks |> List.fold (fun v k -> if abs (v - k) < margin then (if v >= k then k + margin else k - margin) else v) v

let positive (v: float) = abs v + 0.2

/// Every differentiable unary op: its name, the op, and the domain its inputs are moved into.
let unaryOps : (string * (Tensor -> Tensor) * (float -> float)) list =
    [ "neg", Pointwise.neg, id
      "abs", Pointwise.abs, awayFrom [ 0.0 ] 0.05
      "exp", Pointwise.exp, id
      "log", Pointwise.log, positive
      "sqrt", Pointwise.sqrt, positive
      "square", Pointwise.square, id
      "powScalar 3", Pointwise.powScalar 3.0, id
      "powScalar 2.5", Pointwise.powScalar 2.5, positive
      "powScalar -1.5", Pointwise.powScalar -1.5, positive
      "sin", Pointwise.sin, id
      "cos", Pointwise.cos, id
      "tanh", Pointwise.tanh, id
      "sigmoid", Pointwise.sigmoid, id
      "relu", Pointwise.relu, awayFrom [ 0.0 ] 0.05
      "leakyRelu 0.1", Pointwise.leakyRelu 0.1, awayFrom [ 0.0 ] 0.05
      "elu 1.3", Pointwise.elu 1.3, awayFrom [ 0.0 ] 0.05
      "gelu", Pointwise.gelu, id
      "softplus", Pointwise.softplus, id
      "erf", Pointwise.erf, id
      "clamp -0.5 0.7", Pointwise.clamp -0.5 0.7, awayFrom [ -0.5; 0.7 ] 0.05 ]

[<Property(MaxTest = 30)>]
let ``every unary op's gradient agrees with finite differences`` () =
    Prop.forAll shapeSeed (fun (shape, seed) ->
        for name, op, domain in unaryOps do
            let x = mapValues domain (tensorOf seed shape)
            try gradCheck (fun x -> wsum seed (op x)) x |> ignore
            with e -> failwithf "%s: %s" name e.Message)

/// Pairs of shapes that broadcast: one generated shape and a copy with some dims set to 1 or dropped.
let broadcastPair = Arb.fromGen (gen {
    let! shape = genShape
    let! ones = Gen.arrayOfLength shape.Length (Gen.elements [ true; false ])
    let! drop = Gen.choose (0, shape.Length)
    let! swap = Gen.elements [ true; false ]
    let! seed = Gen.choose (0, 1_000_000)
    let other = (shape |> Array.mapi (fun i d -> if ones.[i] then 1 else d)).[drop ..]
    return (if swap then (other, shape) else (shape, other)), seed })

/// Every differentiable binary op, with the domain of each operand.
let binaryOps : (string * (Tensor -> Tensor -> Tensor) * (float -> float) * (float -> float)) list =
    [ "add", (+), id, id
      "mul", (*), id, id
      "div", (/), id, positive
      "pow", Pointwise.pow, positive, id
      "maximum", Pointwise.maximum, id, id
      "minimum", Pointwise.minimum, id, id ]

[<Property(MaxTest = 20)>]
let ``every binary op's gradients agree with finite differences under broadcasting`` () =
    Prop.forAll broadcastPair (fun ((sa, sb), seed) ->
        for name, op, da, db in binaryOps do
            let a = mapValues da (tensorOf seed sa)
            let b = mapValues db (tensorOf (seed + 1) sb)
            try
                gradCheck (fun a -> wsum seed (op a b)) a |> ignore
                gradCheck (fun b -> wsum seed (op a b)) b |> ignore
            with e -> failwithf "%s %s %s: %s" name (Shape.show sa) (Shape.show sb) e.Message)

[<Property(MaxTest = 20)>]
let ``where sends the gradient to a where cond holds and to b elsewhere`` () =
    Prop.forAll broadcastPair (fun ((sa, sb), seed) ->
        let a = tensorOf seed sa
        let b = tensorOf (seed + 1) sb
        let cond = Pointwise.gt (tensorOf (seed + 2) sa) (Create.scalar Float64 0.0)
        gradCheck (fun a -> wsum seed (Pointwise.where cond a b)) a |> ignore
        gradCheck (fun b -> wsum seed (Pointwise.where cond a b)) b)

/// Second derivatives by double backward against finite differences of the gradient.
let hvpAgreesWithFiniteDifferences (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
    let h = 1e-5
    let gradAt (t: Tensor) = (Tape.grad f t).ToFloat64Array()
    let shifted s = Create.ofFloat64 (Array.map2 (fun a b -> a + s * b) (x.ToFloat64Array()) (v.ToFloat64Array())) x.Shape
    let numeric = Array.map2 (fun p m -> (p - m) / (2.0 * h)) (gradAt (shifted h)) (gradAt (shifted -h))
    let analytic = (Tape.hvp f x v).ToFloat64Array()
    assertClose 1e-5 1e-7 numeric analytic

let smoothOps : (string * (Tensor -> Tensor) * (float -> float)) list =
    [ "tanh", Pointwise.tanh, id; "sigmoid", Pointwise.sigmoid, id; "softplus", Pointwise.softplus, id
      "gelu", Pointwise.gelu, id; "erf", Pointwise.erf, id; "exp", Pointwise.exp, id; "log", Pointwise.log, positive
      "sqrt", Pointwise.sqrt, positive; "sin", Pointwise.sin, id; "cos", Pointwise.cos, id
      "powScalar 2.5", Pointwise.powScalar 2.5, positive; "elu", Pointwise.elu 0.7, awayFrom [ 0.0 ] 0.05 ]

[<Property(MaxTest = 10)>]
let ``hessian-vector products of smooth unary ops agree with finite differences of the gradient`` (seed: int) =
    for name, op, domain in smoothOps do
        let x = mapValues domain (tensorOf seed [| 2; 3 |])
        let v = tensorOf (seed + 3) [| 2; 3 |]
        try hvpAgreesWithFiniteDifferences (fun x -> wsum seed (op x) + Reduction.sum (op x * op x)) x v
        with e -> failwithf "%s: %s" name e.Message

[<Property(MaxTest = 10)>]
let ``second derivatives of pow flow to both base and exponent`` (seed: int) =
    let a = mapValues positive (tensorOf seed [| 3 |])
    let b = tensorOf (seed + 1) [| 3 |]
    hvpAgreesWithFiniteDifferences (fun a -> wsum seed (Pointwise.pow a b)) a (tensorOf (seed + 2) [| 3 |])
    hvpAgreesWithFiniteDifferences (fun b -> wsum seed (Pointwise.pow a b)) b (tensorOf (seed + 2) [| 3 |])

[<Fact>]
let ``the hessian of sum of tanh is diagonal with -2 tanh (1 - tanh squared)`` () =
    let xs = [| 0.3; -1.1 |]
    let h = Tape.hessian (fun x -> Reduction.sum (Pointwise.tanh x)) (Create.vector xs)
    let d v = -2.0 * tanh v * (1.0 - tanh v * tanh v)
    assertClose 1e-12 1e-12 [| d xs.[0]; 0.0; 0.0; d xs.[1] |] (h.ToFloat64Array())

[<Fact>]
let ``values match the math they name`` () =
    let xs = [| -1.5; -0.2; 0.0; 0.4; 2.0 |]
    let x = Create.vector xs
    let check (op: Tensor -> Tensor) (f: float -> float) = assertClose 1e-14 1e-15 (Array.map f xs) ((op x).ToFloat64Array())
    check Pointwise.gelu (fun v -> 0.5 * v * (1.0 + Hybrid.Core.Backends.ScalarMath.erf (v / sqrt 2.0)))
    check Pointwise.softplus (fun v -> log (1.0 + exp v))
    check (Pointwise.leakyRelu 0.1) (fun v -> if v > 0.0 then v else 0.1 * v)
    check (Pointwise.elu 1.3) (fun v -> if v > 0.0 then v else 1.3 * (exp v - 1.0))
    check (Pointwise.clamp -0.5 0.7) (fun v -> max -0.5 (min 0.7 v))
    check Pointwise.sigmoid (fun v -> 1.0 / (1.0 + exp -v))

[<Fact>]
let ``gelu and erf equal torch at fixed points`` () =
    // torch 1.13 float64: F.gelu(x), torch.erf(x) for x = [-1.5, -0.2, 0.4, 2.0]
    let x = Create.vector [| -1.5; -0.2; 0.4; 2.0 |]
    assertClose 1e-14 1e-15 [| -0.10021080190328704; -0.0841480581121794; 0.2621686966441297; 1.9544997361036416 |] ((Pointwise.gelu x).ToFloat64Array())
    assertClose 1e-14 1e-15 [| -0.9661051464753108; -0.22270258921047847; 0.42839235504666845; 0.9953222650189527 |] ((Pointwise.erf x).ToFloat64Array())

[<Fact>]
let ``comparisons give 0 or 1 in the input dtype and broadcast`` () =
    let a = Create.ofFloat32 [| 1.0f; 2.0f; 3.0f |] [| 3 |]
    let b = Create.ofFloat32 [| 2.0f |] [| 1 |]
    let check op expected =
        let r: Tensor = op a b
        Assert.Equal(Float32, r.DType)
        Assert.Equal<float[]>(expected, r.ToFloat64Array())
    check Pointwise.eq [| 0.0; 1.0; 0.0 |]
    check Pointwise.ne [| 1.0; 0.0; 1.0 |]
    check Pointwise.lt [| 1.0; 0.0; 0.0 |]
    check Pointwise.le [| 1.0; 1.0; 0.0 |]
    check Pointwise.gt [| 0.0; 0.0; 1.0 |]
    check Pointwise.ge [| 0.0; 1.0; 1.0 |]

[<Fact>]
let ``comparisons are constants even of tensors that require grad`` () =
    let a = Create.vector [| 1.0; 2.0 |]
    a.RequiresGrad <- true
    Assert.False((Pointwise.gt a (Create.scalar Float64 1.5)).RequiresGrad)

[<Fact>]
let ``maximum splits the gradient of a tie in halves`` () =
    let g = Tape.grad (fun a -> Reduction.sum (Pointwise.maximum a (Create.vector [| 1.0; 1.0; 1.0 |]))) (Create.vector [| 0.0; 1.0; 2.0 |])
    Assert.Equal<float[]>([| 0.0; 0.5; 1.0 |], g.ToFloat64Array())

[<Property(MaxTest = 20)>]
let ``cast to float32 and back sends the gradient back in the input's dtype`` (seed: int) =
    let x = tensorOf seed [| 2; 3 |]
    let w = tensorOf (seed + 1) [| 2; 3 |]
    let w32 = Pointwise.cast Float32 w
    let g = Tape.grad (fun x -> Reduction.sum (Pointwise.cast Float32 x * w32)) x
    Assert.Equal(Float64, g.DType)
    assertClose 1e-6 1e-7 (w.ToFloat64Array()) (g.ToFloat64Array())

[<Fact>]
let ``binary ops name both shapes when they do not broadcast`` () =
    let a = Create.zeros Float64 [| 2; 3 |]
    let b = Create.zeros Float64 [| 4 |]
    let e = Assert.Throws<ArgumentException>(fun () -> Pointwise.maximum a b |> ignore)
    Assert.Contains("[2,3]", e.Message)
    Assert.Contains("[4]", e.Message)

[<Fact>]
let ``binary ops refuse mixed dtypes naming both`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Pointwise.pow (Create.zeros Float64 [| 2 |]) (Create.zeros Float32 [| 2 |]) |> ignore)
    Assert.Contains("float64", e.Message)
    Assert.Contains("float32", e.Message)

[<Fact>]
let ``clamp refuses bounds out of order`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Pointwise.clamp 1.0 -1.0 (Create.zeros Float64 [| 2 |]) |> ignore)
    Assert.Contains("lo=1", e.Message)
    Assert.Contains("hi=-1", e.Message)

[<Fact>]
let ``float ops refuse int64 tensors naming the op`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Pointwise.exp (Create.ofInt64 [| 1L |] [| 1 |]) |> ignore)
    Assert.Contains("exp", e.Message)
    Assert.Contains("int64", e.Message)
