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
