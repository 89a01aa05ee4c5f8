/// Helpers shared by the layout, indexing and matmul tests: a loss that makes every output element
/// count differently, a second-order check (hvp vs finite differences of the gradient), generators.
module Hybrid.Tests.OpCheck

open System
open Hybrid.Core
open FsCheck
open FsCheck.FSharp
open Hybrid.Tests.Check

/// L(y) = Σ w ⊙ y ⊙ y with fixed random weights w: nonlinear (so second derivatives go through the op)
/// and sensitive to where each element lands.
let loss (y: Tensor) = Reduction.sum (y * y * tensorOf 7 y.Shape)

/// L(y) = Σ w ⊙ y³: a loss whose Hessian depends on x (so hvp exercises backward of backward).
let cubic (y: Tensor) = Reduction.sum (y * y * y * tensorOf 11 y.Shape)

/// H(x)·v by double backward equals the central difference of the gradient along v.
let hvpCheck (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
    let analytic = (Tape.hvp f x v).ToFloat64Array()
    let h = 1e-5
    let shifted (s: float) = Create.ofFloat64 (Array.map2 (fun a b -> a + s * b) (x.ToFloat64Array()) (v.ToFloat64Array())) x.Shape
    let gp = (Tape.grad f (shifted h)).ToFloat64Array()
    let gm = (Tape.grad f (shifted -h)).ToFloat64Array()
    let numeric = Array.map2 (fun a b -> (a - b) / (2.0 * h)) gp gm
    match close 1e-5 1e-6 numeric analytic with
    | None -> true
    | Some msg -> failwithf "hvp check failed for x of shape %s: %s" (Shape.show x.Shape) msg

/// Shapes of rank lo..hi with dims 1..4.
let genShapeOfRank (lo: int) (hi: int) =
    gen {
        let! rank = Gen.choose (lo, hi)
        return! Gen.arrayOfLength rank (Gen.choose (1, 4))
    }

/// A property over values drawn from a generator.
let forAll (g: Gen<'a>) (body: 'a -> bool) = Prop.forAll (Arb.fromGen g) body

/// An int64 index tensor.
let indexOf (values: int64[]) (shape: int[]) = Create.ofInt64 values shape

/// Random indices in 0..size-1 of a shape, from a seed.
let randomIndex (seed: int) (size: int) (shape: int[]) =
    let g = Generator(seed)
    indexOf (Array.init (Shape.numel shape) (fun _ -> int64 (g.NextInt(0, size)))) shape
