module Hybrid.Tests.TapeTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check

[<Property(MaxTest = 50)>]
let ``arithmetic gradients agree with finite differences under broadcasting`` (seed: int) =
    let a = tensorOf seed [| 3; 1 |]
    let b = tensorOf (seed + 1) [| 4 |]
    gradCheck (fun x -> Reduction.sum (x * b + x / (b * b + 1.0) - x)) a

[<Fact>]
let ``backward on a non-scalar without an output gradient names the shape`` () =
    let x = Create.ones Float64 [| 2; 3 |]
    x.RequiresGrad <- true
    let y = x * 2.0
    let e = Assert.Throws<InvalidOperationException>(fun () -> Tape.backward y)
    Assert.Contains("[2,3]", e.Message)

[<Fact>]
let ``hessian of a quadratic one half x'Ax is A`` () =
    // f(x) = ½ Σ x_i (A x)_i with A symmetric, built from broadcasting ops only
    let a = Create.ofFloat64 [| 2.0; 1.0; 1.0; 3.0 |] [| 2; 2 |]
    let f (x: Tensor) =
        let ax = Reduction.sumDims [| 1 |] false (a * Reshaping.reshape [| 1; 2 |] x)
        Reduction.sum (x * ax) * 0.5
    let h = Tape.hessian f (Create.ofFloat64 [| 0.3; -0.7 |] [| 2 |])
    assertClose 1e-12 1e-12 [| 2.0; 1.0; 1.0; 3.0 |] (h.ToFloat64Array())

let private leaf (data: float[]) =
    let t = Create.ofFloat64 data [| data.Length |]
    t.RequiresGrad <- true
    t

[<Fact>]
let ``a second backward through a freed graph names the op and changes no gradient`` () =
    let x = leaf [| 1.0; 2.0 |]
    let y = Reduction.sum (Pointwise.exp x)
    Tape.backward y
    let before = x.Grad.ToFloat64Array()
    let e = Assert.Throws<InvalidOperationException>(fun () -> Tape.backward y)
    Assert.Contains("freed", e.Message)
    Assert.Contains("retainGraph", e.Message)
    Assert.Equal<float[]>(before, x.Grad.ToFloat64Array())

[<Fact>]
let ``retainGraph lets backward run twice and gradients accumulate until cleared`` () =
    let x = leaf [| 1.0; -2.0 |]
    let y = Reduction.sum (x * x)
    Tape.backwardWith y null true false
    Tape.backwardWith y null true false
    Assert.Equal<float[]>([| 4.0; -8.0 |], x.Grad.ToFloat64Array())
    x.Grad <- null
    Tape.backwardWith y null false false
    Assert.Equal<float[]>([| 2.0; -4.0 |], x.Grad.ToFloat64Array())

[<Fact>]
let ``noGrad records nothing and detach cuts the graph`` () =
    let x = leaf [| 3.0 |]
    let y =
        use _ = GradMode.NoGrad()
        x * 2.0
    Assert.False(y.RequiresGrad)
    Assert.True(y.IsLeaf)
    let z = Reshaping.detach (x * 2.0)
    Assert.False(z.RequiresGrad)

[<Fact>]
let ``an output gradient of the wrong shape names both shapes`` () =
    let x = leaf [| 1.0; 2.0; 3.0 |]
    let y = x * 2.0
    let e = Assert.Throws<ArgumentException>(fun () -> Tape.backwardWith y (Create.ones Float64 [| 2 |]) false false)
    Assert.Contains("[2]", e.Message)
    Assert.Contains("[3]", e.Message)

[<Fact>]
let ``mixing float32 and float64 names both dtypes and shapes`` () =
    let a = Create.ones Float32 [| 2; 3 |]
    let b = Create.ones Float64 [| 3 |]
    let e = Assert.Throws<ArgumentException>(fun () -> a + b |> ignore)
    Assert.Contains("float32", e.Message)
    Assert.Contains("[2,3]", e.Message)

[<Property(MaxTest = 30)>]
let ``jacobian agrees with finite differences`` (seed: int) =
    let x = tensorOf seed [| 3 |]
    let f (v: Tensor) = Pointwise.tanh (v * v) + Pointwise.sin v
    let j = (Tape.jacobian f x).ToFloat64Array()
    let x0 = x.ToFloat64Array()
    let h = 1e-6
    for c in 0 .. 2 do
        let shifted d = (f (Create.ofFloat64 (Array.mapi (fun i v -> if i = c then v + d else v) x0) [| 3 |])).ToFloat64Array()
        let col = Array.map2 (fun p m -> (p - m) / (2.0 * h)) (shifted h) (shifted (-h))
        for r in 0 .. 2 do
            if abs (j.[r * 3 + c] - col.[r]) > 1e-6 * (1.0 + abs col.[r]) then
                failwithf "J[%d,%d] = %g, finite differences %g" r c j.[r * 3 + c] col.[r]
    true

[<Property(MaxTest = 30)>]
let ``hvp agrees with finite differences of the gradient`` (seed: int) =
    let x = tensorOf seed [| 4 |]
    let v = tensorOf (seed + 7) [| 4 |]
    let f (t: Tensor) = Reduction.sum (Pointwise.exp (t * 0.5) * t * t)
    let hv = (Tape.hvp f x v).ToFloat64Array()
    let h = 1e-5
    let gradAt d = (Tape.grad f (x + v * d)).ToFloat64Array()
    let fd = Array.map2 (fun p m -> (p - m) / (2.0 * h)) (gradAt h) (gradAt (-h))
    match close 1e-5 1e-7 fd hv with
    | None -> true
    | Some msg -> failwithf "hvp: %s" msg
