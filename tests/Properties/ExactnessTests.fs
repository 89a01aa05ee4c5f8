/// Regressions of issue 17's differential testing against PyTorch 1.13: hvp / hessian of functions whose gradient
/// does not depend on x, and ties in full reductions.
module Hybrid.Tests.ExactnessTests

open System
open Xunit
open Hybrid.Core
open Hybrid.Tests.Check

let private x0 = Create.vector [| 0.7; -1.3; 2.0; 0.0 |]
let private v0 = Create.vector [| 1.0; 2.0; -0.5; 3.0 |]
let private w = Create.vector [| 0.5; -1.0; 2.0; 1.5 |]

/// Functions whose gradient does not depend on x: linear, piecewise linear (relu, abs, max, maximum, selections), constant.
let private flatGradient : (string * (Tensor -> Tensor)) list =
    [ "linear", (fun x -> Reduction.sum (x * w))
      "relu", (fun x -> Reduction.sum (Pointwise.relu x * w))
      "abs", (fun x -> Reduction.sum (Pointwise.abs x))
      "max", Reduction.max
      "min of linear", (fun x -> Reduction.min (x * w + 1.0))
      "maximum", (fun x -> Reduction.sum (Pointwise.maximum x (x * 2.0)))
      "selection", (fun x -> Reduction.sum (Indexing.indexSelect 0 (Create.ofInt64 [| 2L; 0L |] [| 2 |]) x))
      "constant", (fun _ -> Create.scalar Float64 3.0) ]

[<Fact>]
let ``hvp of a function whose gradient does not depend on x is zero (torch strict = false)`` () =
    for name, f in flatGradient do
        let hv = Tape.hvp f x0 v0
        Assert.True(hv.Shape = x0.Shape, name)
        Assert.Equal<float[]>(Array.zeroCreate 4, hv.ToFloat64Array())

[<Fact>]
let ``hessian of a function whose gradient does not depend on x is the zero matrix`` () =
    for name, f in flatGradient do
        let h = Tape.hessian f x0
        Assert.True(h.Shape = [| 4; 4 |], name)
        Assert.Equal<float[]>(Array.zeroCreate 16, h.ToFloat64Array())

[<Fact>]
let ``strict hvp and hessian raise where the gradient does not depend on x, as torch's strict = true`` () =
    for name, f in flatGradient do
        let e = Assert.Throws<InvalidOperationException>(fun () -> Tape.hvpWith true f x0 v0 |> ignore)
        Assert.Contains("strict", e.Message)
        Assert.Contains("does not depend on its input", e.Message)
        Assert.Throws<InvalidOperationException>(fun () -> Tape.hessianWith true f x0 |> ignore) |> ignore
        ignore name

[<Fact>]
let ``strict hvp agrees with the default where the gradient depends on x`` () =
    // f = Σ relu(x)·x² mixes a kink with curvature: H = diag(6x) on x > 0, 0 elsewhere
    let f (x: Tensor) = Reduction.sum (Pointwise.relu x * x * x)
    let hv = Tape.hvpWith true f x0 v0
    assertClose 1e-12 1e-12 [| 6.0 * 0.7 * 1.0; 0.0; 6.0 * 2.0 * -0.5; 0.0 |] (hv.ToFloat64Array())
    Assert.Equal<float[]>(hv.ToFloat64Array(), (Tape.hvp f x0 v0).ToFloat64Array())

[<Fact>]
let ``grad of a function that does not depend on x is zero`` () =
    Assert.Equal<float[]>(Array.zeroCreate 4, (Tape.grad (fun _ -> Create.scalar Float64 3.0) x0).ToFloat64Array())

[<Fact>]
let ``the gradient of max and min over all elements is split evenly among ties, as torch 1.13`` () =
    let x = Create.vector [| 1.0; 3.0; 3.0; -1.0; 3.0; 0.0 |]
    let third = 1.0 / 3.0
    Assert.Equal<float[]>([| 0.0; third; third; 0.0; third; 0.0 |], (Tape.grad Reduction.max x).ToFloat64Array())
    let y = Create.ofFloat64 [| 2.0; -1.0; -1.0; 5.0 |] [| 2; 2 |]
    Assert.Equal<float[]>([| 0.0; 0.5; 0.5; 0.0 |], (Tape.grad Reduction.min y).ToFloat64Array())
    // no ties: all of it to the one extreme element; rank 0: to the element itself
    Assert.Equal<float[]>([| 0.0; 0.0; 1.0 |], (Tape.grad Reduction.max (Create.vector [| 1.0; 2.0; 3.0 |])).ToFloat64Array())
    Assert.Equal<float[]>([| 1.0 |], (Tape.grad Reduction.max (Create.scalar Float64 4.0)).ToFloat64Array())

[<Fact>]
let ``ties of a float32 max split the gradient too`` () =
    let x = Tensor((Create.vector [| 2.0; 2.0; 1.0; 2.0 |]).Raw.Cast Float32)
    let g = Tape.grad Reduction.max x
    Assert.Equal(Float32, g.DType)
    assertClose 1e-7 1e-7 [| 1.0 / 3.0; 1.0 / 3.0; 0.0; 1.0 / 3.0 |] (g.ToFloat64Array())

[<Fact>]
let ``the split gradient of max can be differentiated again`` () =
    // y = max(x)·Σx²: the recorded backward of max keeps the hvp well defined (max's own Hessian is zero)
    let f (x: Tensor) = Reduction.max x * Reduction.sum (x * x)
    let x = Create.vector [| 1.0; 3.0; 3.0 |]
    let v = Create.vector [| 1.0; 0.0; 0.0 |]
    // ∇f = m·2x + (Σx²)·e, e = [0, ½, ½]; H·v = 2m·v + 2(eᵀv)x + 2(xᵀv)e = [6, 0, 0] + 0 + 2·1·[0, ½, ½]
    assertClose 1e-12 1e-12 [| 6.0; 1.0; 1.0 |] ((Tape.hvp f x v).ToFloat64Array())

[<Fact>]
let ``the gradient of the standard deviation of a constant is zero, as torch (not NaN)`` () =
    // found by the differential test: std = √var had ∂/∂var = 1/(2·0) at a constant input; torch masks it to 0
    let g = Tape.grad (Reduction.stdAll) (Create.vector [| 2.0; 2.0; 2.0 |])
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], g.ToFloat64Array())
    let g = Tape.grad (fun x -> Reduction.sum (Reduction.std [| 1 |] 1 false x)) (Create.ofFloat64 [| 1.0; 1.0; 0.0; 2.0 |] [| 2; 2 |])
    assertClose 1e-12 1e-12 [| 0.0; 0.0; -1.0 / Math.Sqrt 2.0; 1.0 / Math.Sqrt 2.0 |] (g.ToFloat64Array())

[<Fact>]
let ``elu has no curvature at exactly zero, as torch's double backward`` () =
    let hv = Tape.hvp (fun x -> Reduction.sum (Pointwise.elu 1.5 x)) (Create.vector [| 0.0; -1.0; 1.0 |]) (Create.vector [| 1.0; 1.0; 1.0 |])
    assertClose 1e-12 1e-12 [| 0.0; 1.5 * Math.Exp -1.0; 0.0 |] (hv.ToFloat64Array())
    let g = Tape.grad (fun x -> Reduction.sum (Pointwise.elu 1.5 x)) (Create.vector [| 0.0; -1.0; 1.0 |])
    assertClose 1e-12 1e-12 [| 1.5; 1.5 * Math.Exp -1.0; 1.0 |] (g.ToFloat64Array())
