// The learning-rate range test (L. N. Smith, "Cyclical Learning Rates for Training Neural
// Networks", WACV 2017; the "LR finder" of fastai)
//
// Train a small network for a few hundred mini-batch steps while the learning rate grows
// exponentially from 1e-6 to 1,
//
//     η_t = η_min · (η_max/η_min)^{t/(T−1)}         (torch's ExponentialLR with γ = (η_max/η_min)^{1/(T−1)}),
//
// and record the loss. With a smoothed loss (exponential moving average, bias-corrected:
// a_t = β a_{t−1} + (1 − β) ℓ_t, ℓ̄_t = a_t / (1 − β^{t+1}), β = 0.9), the loss is flat while η is too
// small to move the weights, falls once η is large enough, and blows up when η is too large. The
// suggested η is where the smoothed loss falls fastest, argmin_t dℓ̄/d(log η) (the steepest-descent
// point); the point of lowest loss divided by 10 is the other usual rule. The test stops early once
// ℓ̄ exceeds 4× its minimum.
//
// The network: an MLP 784 → 128 → ReLU → 10 (torch's default init), cross-entropy loss, trained by the
// lecture's SGD with momentum (seed/000: v_{t+1} = β v_t + η ∇L(θ_t), θ_{t+1} = θ_t − v_{t+1}, β = 0.9) on
// mini-batches of 64 from the first 2,000 Fashion-MNIST training images (the sample embedded in
// Hybrid.Core, standardised). The optimizer is a pure state transition, so changing η every step is
// rebuilding it (`Sgd.create { h with Lr = η_t }`) and carrying its state over.
//
// Run (from the repository root):
//   dotnet build src/Core -c Release && dotnet fsi docs/examples/lr_range_test.fsx
// writes docs/img/examples/lr_range_test.png. HYBRID_EXAMPLES_QUICK=1: 40 steps, no figure.

#load "common.fsx"

open System
open Hybrid.Core
open Hybrid.Core.Data
open Hybrid.Core.Optim
open Common

let steps = if quick then 40 else 200
let lrMin, lrMax = 1e-6, 1.0
let batch, hidden = 64, 128
/// EMA factor of the smoothed loss, and the divergence threshold (× the best smoothed loss).
let beta, divergence = 0.9, 4.0

let data = (FashionMnist.loadFrom EmbeddedSample true).Train
let pixels = data.Rows * data.Cols
let gen = Generator 0

/// η_t for t = 0 … steps − 1, from the core's ExponentialLR schedule.
let lrs = LrSchedule.values (ExponentialLr((lrMax / lrMin) ** (1.0 / float (steps - 1)))) lrMin steps

/// The mini-batches: consecutive slices of a fresh permutation of the images each epoch.
let batches =
    let perEpoch = data.Count / batch
    [| for _ in 1 .. (steps + perEpoch - 1) / perEpoch do
         let perm = gen.Permutation data.Count
         for b in 0 .. perEpoch - 1 -> perm.[b * batch .. (b + 1) * batch - 1] |]
    |> Array.truncate steps

/// Images [batch, 784] (float32) and labels [batch] (int64) of one mini-batch.
let tensorsOf (idx: int[]) =
    let x = Array.zeroCreate<float32> (idx.Length * pixels)
    idx |> Array.iteri (fun r i -> Array.blit data.Images (i * pixels) x (r * pixels) pixels)
    Create.ofFloat32 x [| idx.Length; pixels |], Create.ofInt64 (idx |> Array.map (fun i -> data.Labels.[i])) [| idx.Length |]

/// W1 [128, 784], b1 [128], W2 [10, 128], b2 [10] with torch's Linear init.
let initParams () =
    [| Init.torchDefaultWeight gen Float32 [| hidden; pixels |]
       Init.torchDefaultBias gen Float32 pixels hidden
       Init.torchDefaultWeight gen Float32 [| 10; hidden |]
       Init.torchDefaultBias gen Float32 hidden 10 |]

/// Cross-entropy of the MLP's logits on one batch.
let loss (ps: Tensor[]) (x: Tensor) (labels: Tensor) =
    let h = Pointwise.relu (Linalg.linear x ps.[0] ps.[1])
    Loss.crossEntropy (Linalg.linear h ps.[2] ps.[3]) labels

let sgd = { SgdHyper.defaults with Momentum = 0.9 }

/// One step at learning rate lr: (loss, state', params').
let trainStep (state: OptimState) (ps: Tensor[]) (lr: float) (idx: int[]) =
    for p in ps do p.RequiresGrad <- true
    let x, labels = tensorsOf idx
    let l = loss ps x labels
    let grads = Tape.gradWith [| l |] null ps false false
    let state', ps' = (Sgd.create { sgd with Lr = lr }).Update state grads ps
    l.Item, state', ps'

/// The range test: (lr, raw loss, smoothed loss) per step, stopped early on divergence.
let rangeTest () =
    let ps0 = initParams ()
    let rec go t (state: OptimState) (ps: Tensor[]) (avg: float) (best: float) acc =
        if t >= steps then List.rev acc
        else
            let l, state', ps' = trainStep state ps lrs.[t] batches.[t]
            let avg' = beta * avg + (1.0 - beta) * l
            let smooth = avg' / (1.0 - beta ** float (t + 1))
            let acc' = (lrs.[t], l, smooth) :: acc
            if Double.IsNaN smooth || (t > 10 && smooth > divergence * best) then List.rev acc'
            else go (t + 1) state' ps' avg' (min best smooth) acc'
    go 0 ((Sgd.create sgd).Init ps0) ps0 0.0 Double.PositiveInfinity [] |> Array.ofList

let results = rangeTest ()
let lrsRun = results |> Array.map (fun (lr, _, _) -> lr)
let smoothed = results |> Array.map (fun (_, _, s) -> s)

/// The step of the lowest smoothed loss.
let tMin = Array.findIndex ((=) (Array.min smoothed)) smoothed

/// argmin over t of the central difference dℓ̄/d(log10 η), skipping the first 10 steps (EMA warm-up)
/// and the steps after the lowest smoothed loss (the blow-up).
let steepest =
    [| 10 .. tMin - 1 |]
    |> Array.filter (fun t -> t >= 1 && t + 1 < results.Length)
    |> Array.map (fun t -> t, (smoothed.[t + 1] - smoothed.[t - 1]) / (log10 lrsRun.[t + 1] - log10 lrsRun.[t - 1]))
    |> fun slopes -> if slopes.Length = 0 then None else Some (Array.minBy snd slopes)

printfn "LR range test: MLP %d-%d-10, SGD momentum 0.9, batch %d, %d steps planned, η from %g to %g" pixels hidden batch steps lrMin lrMax
printfn "data: %O, %d images" EmbeddedSample data.Count
printfn "%8s %12s %12s %12s" "step" "lr" "loss" "smoothed"
for t in 0 .. max 1 (results.Length / 15) .. results.Length - 1 do
    let lr, l, s = results.[t]
    printfn "%8d %12s %12.4f %12.4f" t (sci lr) l s
printfn "stopped after %d steps (%s)" results.Length (if results.Length < steps then "smoothed loss > 4× its minimum" else "end of range")
printfn "lowest smoothed loss %.4f at lr = %s  →  lr_min/10 = %s" smoothed.[tMin] (sci lrsRun.[tMin]) (sci (lrsRun.[tMin] / 10.0))
match steepest with
| Some (t, slope) -> printfn "suggested lr (steepest descent of the smoothed loss, slope %.3f per decade): %s" slope (sci lrsRun.[t])
| None -> printfn "suggested lr: none (the loss never fell after the warm-up; run more steps)"

// ---- figure: smoothed (and raw) loss against lr on a log axis ----
let figure () =
    let plt = new ScottPlot.Plot()
    let logLr = lrsRun |> Array.map log10
    let raw = plt.Add.ScatterLine(logLr, results |> Array.map (fun (_, l, _) -> l), ScottPlot.Colors.Gray.WithAlpha(0.5))
    raw.LegendText <- "loss of each mini-batch"
    let sm = plt.Add.ScatterLine(logLr, smoothed, palette.[0])
    sm.LineWidth <- 2.5f
    sm.LegendText <- sprintf "smoothed (EMA, β = %g)" beta
    match steepest with
    | Some (t, _) ->
        let m = plt.Add.Marker(logLr.[t], smoothed.[t], ScottPlot.MarkerShape.FilledCircle, 11.0f, palette.[1])
        m.LegendText <- sprintf "steepest descent: lr = %s" (sci lrsRun.[t])
        plt.Add.VerticalLine(logLr.[t], 1.5f, palette.[1], ScottPlot.LinePattern.Dashed) |> ignore
    | None -> ()
    let m = plt.Add.Marker(logLr.[tMin], smoothed.[tMin], ScottPlot.MarkerShape.FilledSquare, 10.0f, palette.[2])
    m.LegendText <- sprintf "lowest smoothed loss: lr = %s" (sci lrsRun.[tMin])
    plt.Title (sprintf "LR range test (Smith 2017): MLP, Fashion-MNIST sample, SGD + momentum, %d steps" results.Length)
    plt.XLabel "learning rate (log scale)"
    plt.YLabel "cross-entropy loss"
    logAxis plt.Axes.Bottom
    let top = min (Array.max smoothed) (3.0 * smoothed.[0])
    plt.Axes.SetLimitsY(0.0, top * 1.1)
    plt.ShowLegend(ScottPlot.Alignment.LowerLeft) |> ignore
    savePng plt "lr_range_test.png" 900 520

figure ()
