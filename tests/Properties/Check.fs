/// Shared helpers of the property tests: finite differences, tolerances, generators.
module Hybrid.Tests.Check

open System
open Hybrid.Core
open FsCheck
open FsCheck.FSharp

/// Central finite differences of a scalar function of x (float64), one coordinate at a time.
let numericGrad (f: Tensor -> Tensor) (x: Tensor) (h: float) =
    let x0 = x.ToFloat64Array()
    Array.init x0.Length (fun i ->
        let at d =
            let xs = Array.copy x0
            xs.[i] <- xs.[i] + d
            (f (Create.ofFloat64 xs x.Shape)).Item
        (at h - at (-h)) / (2.0 * h))

/// |a - b| <= atol + rtol * max(|a|, |b|), elementwise; returns the first failure for the message.
let close (rtol: float) (atol: float) (a: float[]) (b: float[]) =
    if a.Length <> b.Length then Some (sprintf "lengths %d vs %d" a.Length b.Length)
    else
        Seq.init a.Length id
        |> Seq.tryFind (fun i -> not (abs (a.[i] - b.[i]) <= atol + rtol * max (abs a.[i]) (abs b.[i])))
        |> Option.map (fun i -> sprintf "at %d: %.12g vs %.12g" i a.[i] b.[i])

/// Assert closeness with a readable failure.
let assertClose (rtol: float) (atol: float) (expected: float[]) (actual: float[]) =
    match close rtol atol expected actual with
    | None -> ()
    | Some msg -> failwithf "not close (rtol %g, atol %g): %s" rtol atol msg

/// Autodiff gradient of a scalar function vs central differences, in float64.
let gradCheck (f: Tensor -> Tensor) (x: Tensor) =
    let analytic = (Tape.grad f x).ToFloat64Array()
    let numeric = numericGrad f x 1e-6
    match close 1e-5 1e-7 numeric analytic with
    | None -> true
    | Some msg -> failwithf "gradient check failed for x of shape %s: %s" (Shape.show x.Shape) msg

/// Small shapes (rank 0..3, dims 1..4) for generated tests.
let genShape =
    gen {
        let! rank = Gen.choose (0, 3)
        return! Gen.arrayOfLength rank (Gen.choose (1, 4))
    }

/// A float64 tensor of a shape with values in [-2, 2] drawn from a seed.
let tensorOf (seed: int) (shape: int[]) =
    let g = Generator(seed)
    Create.uniform g Float64 shape -2.0 2.0
