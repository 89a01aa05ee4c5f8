/// Laws of the losses, and golden values from PyTorch 1.13 (golden/make_losses.py, float64).
module Hybrid.Tests.LossTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.PointwiseTests

/// Output of /usr/bin/python3 tests/Properties/golden/make_losses.py, pasted.
module Golden =
    let mseSumValue = [| 7.460000000000001 |]
    let mseSumGradInput = [| 0.39999999999999997; -2.0; 1.0; -1.9; 0.10000000000000009; 1.8000000000000003; -2.4000000000000004; -0.09999999999999987; 2.4000000000000004; 0.09999999999999998; -1.2; -2.2 |]
    let mseSumGradTarget = [| -0.39999999999999997; 2.0; -1.0; 1.9; -0.10000000000000009; -1.8000000000000003; 2.4000000000000004; 0.09999999999999987; -2.4000000000000004; -0.09999999999999998; 1.2; 2.2 |]
    let mseNoneValue = [| 0.039999999999999994; 1.0; 0.25; 0.9025; 0.0025000000000000044; 0.8100000000000003; 1.4400000000000004; 0.0024999999999999935; 1.4400000000000004; 0.0024999999999999988; 0.36; 1.2100000000000002 |]
    let mseNoneGradInput = [| 0.39999999999999997; -4.0; 3.0; -7.6; 0.5000000000000004; 10.8; -16.800000000000004; -0.7999999999999989; 21.6; 0.9999999999999998; -13.2; -26.400000000000002 |]
    let mseNoneGradTarget = [| -0.39999999999999997; 4.0; -3.0; 7.6; -0.5000000000000004; -10.8; 16.800000000000004; 0.7999999999999989; -21.6; -0.9999999999999998; 13.2; 26.400000000000002 |]
    let l1MeanValue = [| 0.65 |]
    let l1MeanGradInput = [| 0.08333333333333333; -0.08333333333333333; 0.08333333333333333; -0.08333333333333333; 0.08333333333333333; 0.08333333333333333; -0.08333333333333333; -0.08333333333333333; 0.08333333333333333; 0.08333333333333333; -0.08333333333333333; -0.08333333333333333 |]
    let l1MeanGradTarget = [| -0.08333333333333333; 0.08333333333333333; -0.08333333333333333; 0.08333333333333333; -0.08333333333333333; -0.08333333333333333; 0.08333333333333333; 0.08333333333333333; -0.08333333333333333; -0.08333333333333333; 0.08333333333333333; 0.08333333333333333 |]
    let smoothL1Beta05SumValue = [| 5.4975000000000005 |]
    let smoothL1Beta05SumGradInput = [| 0.39999999999999997; -1.0; 1.0; -1.0; 0.10000000000000009; 1.0; -1.0; -0.09999999999999987; 1.0; 0.09999999999999998; -1.0; -1.0 |]
    let smoothL1Beta05SumGradTarget = [| -0.39999999999999997; 1.0; -1.0; 1.0; -0.10000000000000009; -1.0; 1.0; 0.09999999999999987; -1.0; -0.09999999999999998; 1.0; 1.0 |]
    let smoothL1Beta2NoneValue = [| 0.009999999999999998; 0.25; 0.0625; 0.225625; 0.0006250000000000011; 0.20250000000000007; 0.3600000000000001; 0.0006249999999999984; 0.3600000000000001; 0.0006249999999999997; 0.09; 0.30250000000000005 |]
    let smoothL1Beta2NoneGradInput = [| 0.09999999999999999; -1.0; 0.75; -1.9; 0.1250000000000001; 2.7; -4.200000000000001; -0.19999999999999973; 5.4; 0.24999999999999994; -3.3; -6.6000000000000005 |]
    let smoothL1Beta2NoneGradTarget = [| -0.09999999999999999; 1.0; -0.75; 1.9; -0.1250000000000001; -2.7; 4.200000000000001; 0.19999999999999973; -5.4; -0.24999999999999994; 3.3; 6.6000000000000005 |]
    let huberDelta07MeanValue = [| 0.2753125 |]
    let huberDelta07MeanGradInput = [| 0.016666666666666663; -0.05833333333333333; 0.041666666666666664; -0.05833333333333333; 0.00416666666666667; 0.05833333333333333; -0.05833333333333333; -0.0041666666666666605; 0.05833333333333333; 0.004166666666666666; -0.049999999999999996; -0.05833333333333333 |]
    let huberDelta07MeanGradTarget = [| -0.016666666666666663; 0.05833333333333333; -0.041666666666666664; 0.05833333333333333; -0.00416666666666667; -0.05833333333333333; 0.05833333333333333; 0.0041666666666666605; -0.05833333333333333; -0.004166666666666666; 0.049999999999999996; 0.05833333333333333 |]
    let huberDelta15SumValue = [| 3.7300000000000004 |]
    let huberDelta15SumGradInput = [| 0.19999999999999998; -1.0; 0.5; -0.95; 0.050000000000000044; 0.9000000000000001; -1.2000000000000002; -0.04999999999999993; 1.2000000000000002; 0.04999999999999999; -0.6; -1.1 |]
    let huberDelta15SumGradTarget = [| -0.19999999999999998; 1.0; -0.5; 0.95; -0.050000000000000044; -0.9000000000000001; 1.2000000000000002; 0.04999999999999993; -1.2000000000000002; -0.04999999999999999; 0.6; 1.1 |]
    let nllSumValue = [| 7.701271269251957 |]
    let nllSumGradInput = [| 0.09068695368880633; 0.0202349944999566; -0.18154901873596563; 0.0706270705472026; -0.9182058288166064; 0.49482590030337514; 0.01825074651535867; 0.4051291819978727; 0.7427615592774158; 0.10052184600207714; 0.14996097251839105; -0.9932443777978842 |]
    let nllMeanRawValue = [| 0.4333333333333333 |]
    let nllMeanRawGradInput = [| 0.0; 0.0; -0.3333333333333333; 0.0; -0.3333333333333333; 0.0; 0.0; 0.0; 0.0; 0.0; 0.0; -0.3333333333333333 |]
    let ceMeanValue = [| 2.5670904230839855 |]
    let ceMeanGradInput = [| 0.03022898456293544; 0.006744998166652199; -0.06051633957865521; 0.023542356849067532; -0.30606860960553545; 0.16494196676779171; 0.006083582171786223; 0.13504306066595756; 0.24758718642580527; 0.033507282000692376; 0.04998699083946368; -0.3310814592659614 |]
    let ceSmooth01MeanValue = [| 2.5333404230839855 |]
    let ceSmooth01MeanGradInput = [| 0.021895651229602114; -0.0015883351666811326; -0.035516339578655194; 0.015209023515734204; -0.2810686096055355; 0.15660863343445844; -0.002249751161547108; 0.12670972733262426; 0.23925385309247196; 0.02517394866735905; 0.04165365750613036; -0.3060814592659614 |]
    let ceSmooth03NoneValue = [| 0.826591772462766; 2.3610492948390602; 4.2098802019501305 |]
    let ceSmooth03NoneGradInput = [| 0.015686953688806324; -0.0547650055000434; 0.04345098126403437; -0.004372929452797402; -1.3864116576332128; 0.83965180060675; -0.11349850696928267; 0.6602583639957452; 2.003284677832247; 0.0765655380062314; 0.22488291755517312; -2.3047331333936523 |]
    let ceProbSmooth02SumValue = [| 5.934771269251958 |]
    let ceProbSmooth02SumGradInput = [| -0.03931304631119367; -0.1897650055000434; 0.5284509812640343; -0.2993729294527975; -0.36820582881660646; 0.44482590030337515; -0.23174925348464132; 0.15512918199787268; 0.13276155927741584; -0.029478153997922862; 0.019960972518391046; -0.12324437779788425 |]
    let ceProbSmooth02SumGradTarget = [| 1.920273417970213; 3.120273417970213; 0.16027341797021283; 2.120273417970213; 2.0028394358712482; 0.5628394358712484; 3.2028394358712493; 0.7228394358712484; 0.23790416156010494; 1.837904161560105; 1.5179041615601052; 3.997904161560105 |]
    let ceProbMeanValue = [| 1.9154237564173193 |]
    let ceProbMeanGradInput = [| -0.0031043487703978855; -0.059921668500014465; 0.17281699375467816; -0.10979097648426579; -0.13940194293886882; 0.16494196676779171; -0.0772497511615471; 0.051709727332624224; 0.014253853092471952; 0.00017394866735904595; 0.016653657506130348; -0.03108145926596141 |]
    let ceProbMeanGradTarget = [| 0.8001139241542554; 1.3001139241542554; 0.066780590820922; 0.8834472574875887; 0.83451643161302; 0.23451643161302016; 1.3345164316130202; 0.3011830982796868; 0.09912673398337704; 0.7657934006500438; 0.6324600673167105; 1.6657934006500437 |]
    let bceMeanValue = [| 0.6821560670334065 |]
    let bceMeanGradInput = [| -0.035463123599028416; 0.019289601375081865; -0.006321515001770288; 0.04270811637368419; 0.027651018985986157; -0.020811657867073525; -0.07502079257335957; 0.05924579188541699; 0.027668198761160372; 0.012609361657295667; -0.041666666666666664; 0.0035922712450905097 |]
    let bceMeanGradTarget = [| -0.024999999999999998; 0.09999999999999999; -0.20833333333333334; -0.004166666666666667; 0.05833333333333333; -0.09166666666666667; 0.18333333333333335; -0.075; -0.13333333333333333; 0.03333333333333333; -0.0; 0.25833333333333336 |]
    let bcePosWeightSumValue = [| 8.574383850205866 |]
    let bcePosWeightSumGradInput = [| -0.8511149663766819; 0.23147521650098238; -0.07585818002124345; 0.5124973964842103; 0.3318122278318339; -0.12486994720244116; -0.9002495108803149; 0.7109495026250039; 0.24802757770088668; 0.22614829740160447; -0.5; 0.043107254941086116 |]
    let bcePosWeightSumGradTarget = [| 0.2543552444685271; 0.46835876633098433; -2.5; 1.2869192960265727; 1.8031860488854579; -1.2436676625577154; 2.2; -0.21769225053582453; -1.4160992591116615; -0.05650762619997629; 0.0; 9.388127935877147 |]
    let bcePosWeightNoneValue = [| 1.108710488937054; 0.2632824673380314; 0.07888973429254957; 0.7184596480132863; 0.40318604888545795; 0.14366766255771538; 2.305083319768696; 1.2411538747320878; 1.0758511113325084; 0.49888834584995845; 0.6931471805599453; 0.0440639679385737 |]
    let bcePosWeightNoneGradInput = [| -0.8511149663766819; 0.46295043300196476; -0.22757454006373035; 2.0499895859368413; 1.6590611391591694; -0.7492196832146469; -6.301746576162205; 5.687596021000031; 2.23224819930798; 2.2614829740160447; -5.5; 0.5172870592930334 |]
    let bcePosWeightNoneGradTarget = [| 0.2543552444685271; 0.9367175326619687; -7.5; 5.147677184106291; 9.01593024442729; -7.462005975346292; 15.400000000000002; -1.7415380042865962; -12.744893332004953; -0.5650762619997629; 0.0; 112.65753523052577 |]

// the fixed inputs of make_losses.py
let X = [| 0.3; -1.2; 2.5; 0.05; -0.7; 1.1; -2.2; 0.9; 1.6; -0.4; 0.0; -3.1 |]
let Y = [| 0.1; -0.2; 2.0; 1.0; -0.75; 0.2; -1.0; 0.95; 0.4; -0.45; 0.6; -2.0 |]
let B = [| 1.0; 0.0; 1.0; 0.0; 0.0; 1.0; 1.0; 0.0; 0.5; 0.25; 1.0; 0.0 |]
let T = Create.ofInt64 [| 2L; 0L; 3L |] [| 3 |]
let P = [| 0.1; 0.2; 0.3; 0.4; 0.5; 0.0; 0.25; 0.25; 0.7; 0.1; 0.1; 0.1 |]
let PW = Create.vector [| 2.0; 0.5; 1.0; 3.0 |]
let mat (v: float[]) = Create.ofFloat64 v [| 3; 4 |]

/// Value and gradients of loss(X, target) seeded as the script does (1 for a scalar, 1..n for a vector),
/// compared with torch to 1e-10.
let agreesWithTorch (loss: Tensor -> Tensor -> Tensor) (target: Tensor) (value: float[]) (gradInput: float[]) (gradTarget: float[] option) =
    let x = mat X
    x.RequiresGrad <- true
    let withTarget = gradTarget.IsSome
    if withTarget then target.RequiresGrad <- true
    let out = loss x target
    let seed = Create.ofFloat64 (Array.init out.Numel (fun i -> float (i + 1))) out.Shape
    let grads = Tape.gradWith [| out |] [| seed |] (if withTarget then [| x; target |] else [| x |]) false false
    assertClose 1e-10 1e-10 value (out.ToFloat64Array())
    assertClose 1e-10 1e-10 gradInput (grads.[0].ToFloat64Array())
    gradTarget |> Option.iter (fun g -> assertClose 1e-10 1e-10 g (grads.[1].ToFloat64Array()))

open Golden

[<Fact>]
let ``mse and l1 equal torch`` () =
    agreesWithTorch (Loss.mse Loss.Sum) (mat Y) mseSumValue mseSumGradInput (Some mseSumGradTarget)
    agreesWithTorch (Loss.mse Loss.NoReduction) (mat Y) mseNoneValue mseNoneGradInput (Some mseNoneGradTarget)
    agreesWithTorch (Loss.l1 Loss.Mean) (mat Y) l1MeanValue l1MeanGradInput (Some l1MeanGradTarget)

[<Fact>]
let ``smoothL1 and huber equal torch`` () =
    agreesWithTorch (Loss.smoothL1 0.5 Loss.Sum) (mat Y) smoothL1Beta05SumValue smoothL1Beta05SumGradInput (Some smoothL1Beta05SumGradTarget)
    agreesWithTorch (Loss.smoothL1 2.0 Loss.NoReduction) (mat Y) smoothL1Beta2NoneValue smoothL1Beta2NoneGradInput (Some smoothL1Beta2NoneGradTarget)
    agreesWithTorch (Loss.huber 0.7 Loss.Mean) (mat Y) huberDelta07MeanValue huberDelta07MeanGradInput (Some huberDelta07MeanGradTarget)
    agreesWithTorch (Loss.huber 1.5 Loss.Sum) (mat Y) huberDelta15SumValue huberDelta15SumGradInput (Some huberDelta15SumGradTarget)

[<Fact>]
let ``nll equals torch`` () =
    agreesWithTorch (fun x t -> Loss.nll Loss.Sum (Softmax.logSoftmax 1 x) t) T nllSumValue nllSumGradInput None
    agreesWithTorch (Loss.nll Loss.Mean) T nllMeanRawValue nllMeanRawGradInput None

[<Fact>]
let ``crossEntropy with class targets equals torch`` () =
    agreesWithTorch Loss.crossEntropy T ceMeanValue ceMeanGradInput None
    agreesWithTorch (Loss.crossEntropyWith 0.1 Loss.Mean) T ceSmooth01MeanValue ceSmooth01MeanGradInput None
    agreesWithTorch (Loss.crossEntropyWith 0.3 Loss.NoReduction) T ceSmooth03NoneValue ceSmooth03NoneGradInput None

[<Fact>]
let ``crossEntropy with probability targets equals torch`` () =
    agreesWithTorch (Loss.crossEntropyWith 0.2 Loss.Sum) (mat P) ceProbSmooth02SumValue ceProbSmooth02SumGradInput (Some ceProbSmooth02SumGradTarget)
    agreesWithTorch Loss.crossEntropy (mat P) ceProbMeanValue ceProbMeanGradInput (Some ceProbMeanGradTarget)

[<Fact>]
let ``bceWithLogits equals torch`` () =
    agreesWithTorch (Loss.bceWithLogits None Loss.Mean) (mat B) bceMeanValue bceMeanGradInput (Some bceMeanGradTarget)
    agreesWithTorch (Loss.bceWithLogits (Some PW) Loss.Sum) (mat B) bcePosWeightSumValue bcePosWeightSumGradInput (Some bcePosWeightSumGradTarget)
    agreesWithTorch (Loss.bceWithLogits (Some PW) Loss.NoReduction) (mat B) bcePosWeightNoneValue bcePosWeightNoneGradInput (Some bcePosWeightNoneGradTarget)

/// A batch size, a class count, int64 class targets and a seed.
let batch = Arb.fromGen (gen {
    let! n = Gen.choose (1, 4)
    let! c = Gen.choose (2, 5)
    let! targets = Gen.arrayOfLength n (Gen.choose (0, c - 1))
    let! seed = Gen.choose (0, 1_000_000)
    return n, c, targets |> Array.map int64, seed })

let reductions = [ Loss.Mean; Loss.Sum; Loss.NoReduction ]

[<Property(MaxTest = 20)>]
let ``every loss's gradient agrees with finite differences`` () =
    Prop.forAll batch (fun (n, c, targets, seed) ->
        let x = tensorOf seed [| n; c |] * 2.0
        let y = tensorOf (seed + 1) [| n; c |]
        let b = mapValues (fun v -> (v + 2.0) / 4.0) y
        let probs = Softmax.softmax 1 (tensorOf (seed + 2) [| n; c |])
        let t = Create.ofInt64 targets [| n |]
        let pw = mapValues positive (tensorOf (seed + 3) [| c |])
        // keep |x − y| off the kinks of l1, smoothL1 and huber
        let xOff = mapValues (awayFrom [ 0.0 ] 0.05) (x - y) + y
        for r in reductions do
            let losses : (string * (Tensor -> Tensor) * Tensor) list =
                [ "mse", (fun x -> Loss.mse r x y), x
                  "l1", (fun x -> Loss.l1 r x y), xOff
                  "smoothL1", (fun x -> Loss.smoothL1 0.8 r x y), mapValues (fun v -> awayFrom [ -0.8; 0.8 ] 0.05 v) (x - y) + y
                  "huber", (fun x -> Loss.huber 0.6 r x y), mapValues (fun v -> awayFrom [ -0.6; 0.6 ] 0.05 v) (x - y) + y
                  "nll", (fun x -> Loss.nll r x t), x
                  "crossEntropy", (fun x -> Loss.crossEntropyWith 0.15 r x t), x
                  "crossEntropy probs", (fun x -> Loss.crossEntropyWith 0.1 r x probs), x
                  "crossEntropy probs (target grad)", (fun p -> Loss.crossEntropyWith 0.1 r x p), probs
                  "bceWithLogits", (fun x -> Loss.bceWithLogits None r x b), x
                  "bceWithLogits posWeight", (fun x -> Loss.bceWithLogits (Some pw) r x b), x
                  "bceWithLogits (target grad)", (fun b -> Loss.bceWithLogits (Some pw) r x b), b ]
            for name, f, at in losses do
                try gradCheck (fun x -> wsum seed (f x)) at |> ignore
                with e -> failwithf "%s (%A): %s" name r e.Message)

[<Property(MaxTest = 10)>]
let ``second derivatives of crossEntropy and bceWithLogits agree with finite differences of the gradient`` () =
    Prop.forAll batch (fun (n, c, targets, seed) ->
        let x = tensorOf seed [| n; c |]
        let v = tensorOf (seed + 1) [| n; c |]
        let t = Create.ofInt64 targets [| n |]
        let probs = Softmax.softmax 1 (tensorOf (seed + 2) [| n; c |])
        hvpAgreesWithFiniteDifferences (Loss.crossEntropyWith 0.2 Loss.Mean >> fun f -> f t) x v
        hvpAgreesWithFiniteDifferences (fun x -> Loss.crossEntropyWith 0.0 Loss.Sum x probs) x v
        hvpAgreesWithFiniteDifferences (fun x -> Loss.bceWithLogits None Loss.Mean x probs) x v)

[<Fact>]
let ``the hessian of crossEntropy in the logits is diag(p) - p p' over N`` () =
    let x = Create.ofFloat64 [| 0.2; -0.5; 1.0 |] [| 1; 3 |]
    let h = Tape.hessian (fun x -> Loss.crossEntropy x (Create.ofInt64 [| 1L |] [| 1 |])) x
    let p = (Softmax.softmax 1 x).ToFloat64Array()
    let expected = Array.init 9 (fun k -> let i, j = k / 3, k % 3 in (if i = j then p.[i] else 0.0) - p.[i] * p.[j])
    assertClose 1e-12 1e-12 expected (h.ToFloat64Array())

[<Property(MaxTest = 30)>]
let ``crossEntropy without smoothing equals nll of logSoftmax`` () =
    Prop.forAll batch (fun (n, c, targets, seed) ->
        let x = tensorOf seed [| n; c |] * 3.0
        let t = Create.ofInt64 targets [| n |]
        for r in reductions do
            let ce = Loss.crossEntropyWith 0.0 r x t
            let nll = Loss.nll r (Softmax.logSoftmax 1 x) t
            assertClose 1e-12 1e-12 (nll.ToFloat64Array()) (ce.ToFloat64Array())
            let gce = Tape.grad (fun x -> wsum seed (Loss.crossEntropyWith 0.0 r x t)) x
            let gnll = Tape.grad (fun x -> wsum seed (Loss.nll r (Softmax.logSoftmax 1 x) t)) x
            assertClose 1e-12 1e-12 (gnll.ToFloat64Array()) (gce.ToFloat64Array()))

[<Property(MaxTest = 20)>]
let ``crossEntropy with one-hot probability targets equals crossEntropy with class indices`` () =
    Prop.forAll batch (fun (n, c, targets, seed) ->
        let x = tensorOf seed [| n; c |]
        let onehot = Create.ofFloat64 (Array.init (n * c) (fun k -> if int64 (k % c) = targets.[k / c] then 1.0 else 0.0)) [| n; c |]
        let a = Loss.crossEntropyWith 0.25 Loss.Mean x onehot
        let b = Loss.crossEntropyWith 0.25 Loss.Mean x (Create.ofInt64 targets [| n |])
        assertClose 1e-12 1e-12 (b.ToFloat64Array()) (a.ToFloat64Array()))

[<Fact>]
let ``bceWithLogits is finite and exact at large logits`` () =
    let x = Create.vector [| 800.0; -800.0 |]
    let y = Create.vector [| 0.0; 1.0 |]
    assertClose 1e-15 0.0 [| 800.0; 800.0 |] ((Loss.bceWithLogits None Loss.NoReduction x y).ToFloat64Array())

[<Fact>]
let ``crossEntropy works in float32 on a 64 by 10 batch`` () =
    let x = Create.randn (Generator 3) Float32 [| 64; 10 |]
    x.RequiresGrad <- true
    let t = Create.ofInt64 (Array.init 64 (fun i -> int64 (i % 10))) [| 64 |]
    let loss = Loss.crossEntropy x t
    Assert.Equal(Float32, loss.DType)
    Tape.backward loss
    let expected = Loss.nll Loss.Mean (Softmax.logSoftmax 1 (Pointwise.cast Float64 x)) t
    Assert.Equal(expected.Item, loss.Item, 5)
    // rows of (softmax − onehot)/N sum to zero
    let rows = Reduction.sumDims [| 1 |] false x.Grad
    assertClose 0.0 1e-6 (Array.zeroCreate 64) (rows.ToFloat64Array())

[<Fact>]
let ``a class index out of range names the index its position and the class count`` () =
    let x = Create.zeros Float64 [| 3; 4 |]
    let t = Create.ofInt64 [| 0L; 7L; 1L |] [| 3 |]
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.crossEntropy x t |> ignore)
    Assert.Contains("target 7", e.Message)
    Assert.Contains("position 1", e.Message)
    Assert.Contains("4 classes", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.nll Loss.Mean x (Create.ofInt64 [| 0L; -1L; 1L |] [| 3 |]) |> ignore)
    Assert.Contains("target -1", e.Message)

[<Fact>]
let ``targets of the wrong length or dtype are refused naming both shapes`` () =
    let x = Create.zeros Float64 [| 3; 4 |]
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.crossEntropy x (Create.ofInt64 [| 0L; 1L |] [| 2 |]) |> ignore)
    Assert.Contains("[2]", e.Message)
    Assert.Contains("[3,4]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.crossEntropy x (Create.zeros Float64 [| 3; 5 |]) |> ignore)
    Assert.Contains("[3,5]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.crossEntropy x (Create.zeros Float32 [| 3; 4 |]) |> ignore)
    Assert.Contains("float32", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.mse Loss.Mean x (Create.zeros Float64 [| 4; 3 |]) |> ignore)
    Assert.Contains("[3,4]", e.Message)
    Assert.Contains("[4,3]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.nll Loss.Mean (Create.zeros Float64 [| 4 |]) (Create.ofInt64 [| 0L |] [| 1 |]) |> ignore)
    Assert.Contains("[4]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Loss.bceWithLogits (Some (Create.zeros Float64 [| 3 |])) Loss.Mean x x |> ignore)
    Assert.Contains("[3]", e.Message)

[<Fact>]
let ``bad loss options are refused naming the value`` () =
    let x = Create.zeros Float64 [| 2; 2 |]
    let t = Create.ofInt64 [| 0L; 1L |] [| 2 |]
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.crossEntropyWith 1.0 Loss.Mean x t |> ignore)
    Assert.Contains("labelSmoothing=1", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.huber 0.0 Loss.Mean x x |> ignore)
    Assert.Contains("delta=0", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Loss.smoothL1 -1.0 Loss.Mean x x |> ignore)
    Assert.Contains("beta=-1", e.Message)

[<Property(MaxTest = 30)>]
let ``crossEntropy's first-order gradient (raw kernels) equals its recorded rule's (createGraph), float64 and float32`` () =
    Prop.forAll batch (fun (n, c, targets, seed) ->
        let t = Create.ofInt64 targets [| n |]
        for eps in [ 0.0; 0.2 ] do
            for r in reductions do
                for dtype in [ Float64; Float32 ] do
                    let x = Tensor((tensorOf seed [| n; c |] * 3.0).Raw.Cast dtype)
                    x.RequiresGrad <- true
                    // a non-uniform seed gradient for NoReduction; a scalar otherwise
                    let loss () = Loss.crossEntropyWith eps r x t
                    let seedOf (l: Tensor) = if l.Rank = 0 then null else Tensor((tensorOf (seed + 1) l.Shape).Raw.Cast dtype)
                    let l1 = loss ()
                    let fast = (Tape.gradWith [| l1 |] [| seedOf l1 |] [| x |] false false).[0]
                    let l2 = loss ()
                    let recorded = (Tape.gradWith [| l2 |] [| seedOf l2 |] [| x |] false true).[0]
                    Assert.True(recorded.RequiresGrad)
                    Assert.Equal(dtype, fast.DType)
                    let tol = if dtype = Float64 then 1e-12 else 1e-5
                    assertClose tol tol (recorded.ToFloat64Array()) (fast.ToFloat64Array()))
