module Hybrid.Tests.NewtonHessianTests

open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Optim
open Hybrid.Tests.Check
open Hybrid.Tests.SecondOrderTests

// Laws of Newton.differenceHessian, the Hessian Newton's closure Step uses (central differences of gradients).

[<Property(MaxTest = 30)>]
let ``the difference Hessian of a quadratic is its matrix`` (seed: int) =
    // ∇(½xᵀAx − bᵀx) = Ax − b is linear, so central differences are exact up to rounding
    let n = 1 + abs seed % 5
    let a, b = spdProblem seed n
    let obj = Objective.ofArrays n (fun x -> 0.5 * Vec.dot x (Dense.mulVec n a x) - Vec.dot b x) (fun x -> Vec.sub (Dense.mulVec n a x) b)
    let x = Array.init n (fun i -> float (seed % 7) * 0.3 + float i)
    let h = Newton.differenceHessian 1e-5 obj x
    (close 1e-7 1e-7 a h).IsNone

[<Property(MaxTest = 30)>]
let ``the difference Hessian is symmetric and agrees with the tape Hessian`` (seed: int) =
    let n = 1 + abs seed % 4
    let w = tensorOf seed [| n |]
    // f(x) = Σ eˣ·w + (Σ x)³/6: a full, x-dependent Hessian
    let f (x: Tensor) = Reduction.sum (Pointwise.exp x * w) + Pointwise.powScalar 3.0 (Reduction.sum x) * (1.0 / 6.0)
    let obj = Objective.ofTensorFn Float64 n f
    let x = (tensorOf (seed + 1) [| n |]).ToFloat64Array() |> Array.map (fun v -> 0.5 * v)
    let h = Newton.differenceHessian 1e-5 obj x
    let exact = Newton.tapeHessian Float64 f x
    let symmetric = Seq.forall (fun k -> h.[k] = h.[(k % n) * n + k / n]) (seq { 0 .. n * n - 1 })
    symmetric && (close 1e-6 1e-6 exact h).IsNone

[<Fact>]
let ``the difference Hessian refuses a non-positive step`` () =
    let obj = Objective.ofArrays 1 (fun x -> x.[0] * x.[0]) (fun x -> [| 2.0 * x.[0] |])
    let e = Assert.Throws<System.ArgumentOutOfRangeException>(fun () -> Newton.differenceHessian 0.0 obj [| 1.0 |] |> ignore)
    Assert.Contains("hessianEps", e.Message)
