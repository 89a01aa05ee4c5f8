/// Laws of the reductions and of softmax: gradients, second derivatives, stability, identities.
module Hybrid.Tests.ReductionTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.PointwiseTests

/// A generated shape of rank ≥ 1, a dim in range (negative half of the time), and a seed.
let shapeDimSeed = Arb.fromGen (gen {
    let! rank = Gen.choose (1, 3)
    let! shape = Gen.arrayOfLength rank (Gen.choose (1, 4))
    let! dim = Gen.choose (0, rank - 1)
    let! negative = Gen.elements [ true; false ]
    let! seed = Gen.choose (0, 1_000_000)
    return shape, (if negative then dim - rank else dim), seed })

/// Every differentiable reduction over one dim, keeping it or not.
let reductions : (string * (int -> bool -> Tensor -> Tensor) * (float -> float)) list =
    [ "sumDims", (fun d k x -> Reduction.sumDims [| d |] k x), id
      "meanDims", (fun d k x -> Reduction.meanDims [| d |] k x), id
      "maxDim", (fun d k x -> fst (Reduction.maxDim d k x)), id
      "minDim", (fun d k x -> fst (Reduction.minDim d k x)), id
      "logsumexp", (fun d k x -> Reduction.logsumexp [| d |] k x), id
      "var correction 1", (fun d k x -> Reduction.var [| d |] 1 k x), id
      "var correction 0", (fun d k x -> Reduction.var [| d |] 0 k x), id
      "norm 2", (fun d k x -> Reduction.norm 2.0 [| d |] k x), id
      "norm 1", (fun d k x -> Reduction.norm 1.0 [| d |] k x), awayFrom [ 0.0 ] 0.05
      "norm inf", (fun d k x -> Reduction.norm Double.PositiveInfinity [| d |] k x), id
      "norm 3", (fun d k x -> Reduction.norm 3.0 [| d |] k x), id
      "softmax", (fun d _ x -> Softmax.softmax d x), id
      "logSoftmax", (fun d _ x -> Softmax.logSoftmax d x), id ]

[<Property(MaxTest = 30)>]
let ``every reduction's gradient agrees with finite differences over any dim`` () =
    Prop.forAll shapeDimSeed (fun (shape, dim, seed) ->
        // var with one element per slice and correction 1 is NaN (as torch); give it two
        let shape = shape |> Array.mapi (fun i s -> if i = (dim + shape.Length) % shape.Length then max s 2 else s)
        for name, op, domain in reductions do
            for keep in [ true; false ] do
                let x = mapValues domain (tensorOf seed shape)
                try gradCheck (fun x -> wsum seed (op dim keep x)) x |> ignore
                with e -> failwithf "%s dim %d keepDim %b: %s" name dim keep e.Message)

[<Property(MaxTest = 20)>]
let ``reductions over every dim at once agree with finite differences`` () =
    Prop.forAll shapeSeed (fun (shape, seed) ->
        let all = [| 0 .. shape.Length - 1 |]
        let x = tensorOf seed shape
        let big = tensorOf seed (Array.append shape [| 2 |])
        let ops : (string * (Tensor -> Tensor)) list =
            [ "mean", Reduction.mean; "max", Reduction.max; "min", Reduction.min
              "logsumexp", Reduction.logsumexp all false; "normAll 2", Reduction.normAll 2.0
              "norm -inf", Reduction.norm Double.NegativeInfinity all true ]
        for name, op in ops do
            try gradCheck (fun x -> wsum seed (op x)) x |> ignore
            with e -> failwithf "%s: %s" name e.Message
        // at least two elements for the unbiased estimates
        gradCheck (fun x -> Reduction.varAll x) big |> ignore
        gradCheck (fun x -> Reduction.stdAll x) big |> ignore
        gradCheck (fun x -> wsum seed (Reduction.std [| 0; -1 |] 0 true x)) big)

[<Property(MaxTest = 10)>]
let ``second derivatives of logsumexp softmax and logSoftmax agree with finite differences of the gradient`` (seed: int) =
    let x = tensorOf seed [| 2; 3 |]
    let v = tensorOf (seed + 1) [| 2; 3 |]
    hvpAgreesWithFiniteDifferences (fun x -> Reduction.sum (Pointwise.square (Reduction.logsumexp [| 1 |] false x))) x v
    hvpAgreesWithFiniteDifferences (fun x -> wsum seed (Softmax.softmax 1 x) + Reduction.sum (Pointwise.square (Softmax.softmax 0 x))) x v
    hvpAgreesWithFiniteDifferences (fun x -> Reduction.sum (Pointwise.square (Softmax.logSoftmax -1 x))) x v
    hvpAgreesWithFiniteDifferences (fun x -> Reduction.stdAll x + Reduction.normAll 2.0 x * Reduction.mean x) x v

[<Property(MaxTest = 30)>]
let ``softmax rows sum to one`` () =
    Prop.forAll shapeDimSeed (fun (shape, dim, seed) ->
        let x = tensorOf seed shape * 10.0
        let s = Reduction.sumDims [| dim |] false (Softmax.softmax dim x)
        assertClose 1e-12 1e-12 (Array.create s.Numel 1.0) (s.ToFloat64Array()))

[<Property(MaxTest = 30)>]
let ``logSoftmax is the log of softmax`` () =
    Prop.forAll shapeDimSeed (fun (shape, dim, seed) ->
        let x = tensorOf seed shape * 5.0
        assertClose 1e-10 1e-12 ((Pointwise.log (Softmax.softmax dim x)).ToFloat64Array()) ((Softmax.logSoftmax dim x).ToFloat64Array()))

[<Fact>]
let ``logsumexp is exact and finite at plus and minus a thousand`` () =
    let at v = (Reduction.logsumexp [| 0 |] false (Create.vector [| v; v |])).Item
    Assert.Equal(1000.0 + log 2.0, at 1000.0)
    Assert.Equal(-1000.0 + log 2.0, at -1000.0)
    let g = Tape.grad (fun x -> Reduction.logsumexp [| 0 |] false x) (Create.vector [| 1000.0; 1000.0 |])
    Assert.Equal<float[]>([| 0.5; 0.5 |], g.ToFloat64Array())
    Assert.Equal(Double.NegativeInfinity, at Double.NegativeInfinity)

[<Fact>]
let ``softmax stays finite at a thousand`` () =
    let s = Softmax.softmax 0 (Create.vector [| 1000.0; 1000.0; -1000.0 |])
    Assert.Equal<float[]>([| 0.5; 0.5; 0.0 |], s.ToFloat64Array())

[<Property(MaxTest = 30)>]
let ``variance is never negative`` () =
    Prop.forAll shapeDimSeed (fun (shape, dim, seed) ->
        let v = Reduction.var [| dim |] 0 false (tensorOf seed shape)
        v.ToFloat64Array() |> Array.forall (fun x -> x >= 0.0))

[<Property(MaxTest = 30)>]
let ``the mean of a constant is the constant and its variance zero`` (c: NormalFloat) =
    let c = float c % 1e6
    let x = Create.full Float64 [| 3; 4 |] c
    Assert.Equal(c, (Reduction.mean x).Item, 6)
    assertClose 1e-12 1e-9 [| c; c; c |] ((Reduction.meanDims [| 1 |] false x).ToFloat64Array())
    assertClose 0.0 1e-9 [| 0.0 |] [| (Reduction.varAll x).Item |]

[<Fact>]
let ``reductions equal torch at fixed points`` () =
    // torch 1.13, float64, x = [[0.3,-1.2,2.5],[0.05,-0.7,1.1]]
    let x = Create.ofFloat64 [| 0.3; -1.2; 2.5; 0.05; -0.7; 1.1 |] [| 2; 3 |]
    let check (expected: float[]) (t: Tensor) = assertClose 1e-13 1e-14 expected (t.ToFloat64Array())
    check [| 1.7564166666666665 |] (Reduction.varAll x)
    check [| 3.4633333333333334; 0.8175 |] (Reduction.var [| 1 |] 1 false x)
    check [| 0.015624999999999998; 0.0625; 0.48999999999999994 |] (Reduction.var [| 0 |] 0 false x)
    check [| 1.8610033136277144; 0.9041570660012562 |] (Reduction.std [| -1 |] 1 false x)
    check [| 2.911566085408018 |] (Reduction.logsumexp [| 0; 1 |] false x)
    check [| 2.7892651361962706; 1.3047988350699888 |] (Reduction.norm 2.0 [| 1 |] false x)
    check [| 0.35; 1.9; 3.6 |] (Reduction.norm 1.0 [| 0 |] false x)
    check [| 2.5 |] (Reduction.normAll Double.PositiveInfinity x)
    check [| 2.6709330577278365 |] (Reduction.normAll 3.0 x)

[<Fact>]
let ``max and min return values and int64 indices of the first extreme`` () =
    let x = Create.ofFloat64 [| 1.0; 3.0; 3.0; -2.0; -2.0; 0.0 |] [| 2; 3 |]
    let v, i = Reduction.maxDim 1 false x
    Assert.Equal<float[]>([| 3.0; 0.0 |], v.ToFloat64Array())
    Assert.Equal(Int64, i.DType)
    Assert.Equal<int64[]>([| 1L; 2L |], i.ToInt64Array())
    let v, i = Reduction.minDim 0 true x
    Assert.Equal<int[]>([| 1; 3 |], v.Shape)
    Assert.Equal<int64[]>([| 1L; 1L; 1L |], i.ToInt64Array())
    Assert.Equal<int64[]>([| 1L; 2L |], (Reduction.argmax 1 x).ToInt64Array())
    Assert.Equal<int64[]>([| 0L; 0L |], (Reduction.argmin -1 x).ToInt64Array())
    Assert.Equal(3.0, (Reduction.max x).Item)
    Assert.Equal(-2.0, (Reduction.min x).Item)

[<Fact>]
let ``the gradient of max over all elements is split among tied maxima, of max over a dim goes to the first`` () =
    // torch 1.13: max() uses evenly_distribute_backward, max(dim) the index of the first maximum
    let g = Tape.grad Reduction.max (Create.vector [| 1.0; 3.0; 3.0 |])
    Assert.Equal<float[]>([| 0.0; 0.5; 0.5 |], g.ToFloat64Array())
    let g = Tape.grad (fun x -> Reduction.sum (fst (Reduction.maxDim 0 false x))) (Create.ofFloat64 [| 1.0; 5.0; 1.0; 2.0 |] [| 2; 2 |])
    Assert.Equal<float[]>([| 1.0; 1.0; 0.0; 0.0 |], g.ToFloat64Array())

[<Fact>]
let ``the gradient of the euclidean norm at zero is zero`` () =
    let g = Tape.grad (Reduction.normAll 2.0) (Create.zeros Float64 [| 3 |])
    Assert.Equal<float[]>([| 0.0; 0.0; 0.0 |], g.ToFloat64Array())

[<Fact>]
let ``a dim out of range names the op the dim and the rank`` () =
    let x = Create.zeros Float64 [| 2; 3 |]
    let check (f: unit -> obj) (op: string) =
        let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> f () |> ignore)
        Assert.Contains(op, e.Message)
        Assert.Contains("dim 2", e.Message)
        Assert.Contains("rank 2", e.Message)
    check (fun () -> box (Reduction.meanDims [| 2 |] false x)) "mean"
    check (fun () -> box (Reduction.maxDim 2 false x)) "max"
    check (fun () -> box (Reduction.logsumexp [| 2 |] false x)) "logsumexp"
    check (fun () -> box (Reduction.var [| 2 |] 1 false x)) "var"
    check (fun () -> box (Softmax.softmax 2 x)) "softmax"
    check (fun () -> box (Softmax.logSoftmax 2 x)) "log_softmax"

[<Fact>]
let ``max of an empty tensor and a bad norm order are refused`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Reduction.max (Create.zeros Float64 [| 0; 2 |]) |> ignore)
    Assert.Contains("[0,2]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Reduction.normAll -1.0 (Create.zeros Float64 [| 2 |]) |> ignore)
    Assert.Contains("p=-1", e.Message)
