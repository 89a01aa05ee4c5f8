// Optimizer trajectories on the Rosenbrock function
//
//     f(x, y) = (1 − x)² + 100 (y − x²)²,   minimum f = 0 at (1, 1),
//
// from the classic start (−1.2, 1), for six methods of the lecture (seed/000, "Elements
// d'Optimisation"). Each path is drawn over the level sets of f (log-spaced levels, i.e. contours
// of log10 f), and the number of iterations each needs to reach ‖θ − (1, 1)‖₂ ≤ 1e-3 is printed.
//
//   GD          θ_{t+1} = θ_t − η ∇L(θ_t)
//   momentum    v_{t+1} = β v_t + η ∇L(θ_t);  θ_{t+1} = θ_t − v_{t+1}
//   Nesterov    v_{t+1} = β v_t + η ∇L(θ_t − β v_t);  θ_{t+1} = θ_t − v_{t+1}
//               (Sgd.create runs torch's equivalent form: b ← μb + g, θ ← θ − η (g + μb))
//   Adam        θ_{t+1} = θ_t − η m̂_t / (√v̂_t + ε)   (m̂, v̂: bias-corrected moments of g)
//   BFGS        θ_{t+1} = θ_t − α_t H_t ∇L(θ_t), H_t the BFGS inverse-Hessian approximation built
//               from s_t = θ_{t+1} − θ_t and y_t = ∇L(θ_{t+1}) − ∇L(θ_t); α_t by a strong-Wolfe search
//   Newton      θ_{t+1} = θ_t − α_t H⁻¹ ∇L(θ_t), H the exact Hessian (double backward through the
//               tape), α_t by Armijo backtracking from 1
//
// Every gradient and Hessian comes from Hybrid's tape; the first-order methods are the core's pure
// state transitions (`Optimizer.Update state grads params`).
//
// Run (from the repository root):
//   dotnet build src/Core -c Release && dotnet fsi docs/examples/rosenbrock.fsx
// writes docs/img/examples/rosenbrock.png. HYBRID_EXAMPLES_QUICK=1 runs 300 iterations and no figure.

#load "common.fsx"

open System
open Hybrid.Core
open Hybrid.Core.Optim
open Common

/// f(θ) = (1 − θ₀)² + 100 (θ₁ − θ₀²)² on a rank-1 tensor θ of 2 elements.
let rosenbrock (theta: Tensor) =
    let x = Reshaping.narrow 0 0 1 theta
    let y = Reshaping.narrow 0 1 1 theta
    Reduction.sum (Pointwise.square (1.0 - x) + 100.0 * Pointwise.square (y - Pointwise.square x))

/// f on plain numbers (for the contour grid).
let rosenbrockAt (x: float) (y: float) = (1.0 - x) ** 2.0 + 100.0 * (y - x * x) ** 2.0

let start = [| -1.2; 1.0 |]
let minimum = [| 1.0; 1.0 |]
/// Stop when ‖θ − (1, 1)‖₂ ≤ tol.
let tol = 1e-3
let maxIter = if quick then 300 else 20000

let distance (p: float[]) = sqrt ((p.[0] - minimum.[0]) ** 2.0 + (p.[1] - minimum.[1]) ** 2.0)

/// Iterate a first-order optimizer from `start` until within `tol` of the minimum or `maxIter`
/// steps; returns the iterates, `start` first.
let runFirstOrder (opt: Optimizer<OptimState>) =
    let rec go (k: int) (theta: Tensor) (state: OptimState) (path: float[] list) =
        let p = theta.ToFloat64Array()
        if k >= maxIter || distance p <= tol || Double.IsNaN p.[0] then List.rev (p :: path)
        else
            let g = Tape.grad rosenbrock theta
            let state', ps = opt.Update state [| g |] [| theta |]
            go (k + 1) ps.[0] state' (p :: path)
    let theta0 = Create.vector start
    go 0 theta0 (opt.Init [| theta0 |]) [] |> Array.ofList

/// Cut a path after its first point within `tol` of the minimum.
let untilConverged (path: float[][]) =
    match Array.tryFindIndex (fun p -> distance p <= tol) path with
    | Some i -> path.[.. i]
    | None -> path

let bfgsPath, bfgsEvals =
    let obj = Objective.ofTensorFn Float64 2 rosenbrock
    let states = Bfgs.minimize Bfgs.defaults obj (Create.vector start) 200 1e-12
    let path = states |> Array.map (fun s -> s.X) |> untilConverged
    path, states.[path.Length - 1].Evals

let newtonPath =
    Newton.minimize Newton.defaults rosenbrock (Create.vector start) 200 1e-12
    |> Array.map (fun s -> s.X)
    |> untilConverged

/// (name, hyperparameters as text, path, extra note).
let runs =
    [| "GD", "η = 1e-3", runFirstOrder (Sgd.create { SgdHyper.defaults with Lr = 1e-3 }), ""
       "momentum", "η = 1e-3, β = 0.9",
       runFirstOrder (Sgd.create { SgdHyper.defaults with Lr = 1e-3; Momentum = 0.9 }), ""
       "Nesterov", "η = 1e-3, β = 0.9",
       runFirstOrder (Sgd.create { SgdHyper.defaults with Lr = 1e-3; Momentum = 0.9; Nesterov = true }), ""
       "Adam", "η = 0.02, β = (0.9, 0.999)", runFirstOrder (Adam.create { AdamHyper.defaults with Lr = 0.02 }), ""
       "BFGS", "strong Wolfe, c1 = 1e-4, c2 = 0.9", bfgsPath, sprintf "%d f/∇f evaluations" bfgsEvals
       "Newton", "Armijo backtracking from 1", newtonPath, "exact Hessian from the tape" |]

printfn ""
printfn "Rosenbrock from (%g, %g): iterations until ‖θ − (1,1)‖₂ ≤ %g (at most %d)" start.[0] start.[1] tol maxIter
printfn "%-9s %-34s %10s %14s  %s" "method" "hyperparameters" "iterations" "f(θ_last)" "note"
for name, hyper, path, note in runs do
    let last = path.[path.Length - 1]
    let iters = if distance last <= tol then string (path.Length - 1) else sprintf "> %d" (path.Length - 1)
    printfn "%-9s %-34s %10s %14s  %s" name hyper iters (sci (rosenbrockAt last.[0] last.[1])) note

// ---- figure: level sets of log10 f, then one coloured path per method ----

/// Indices of the iterates that get a marker: every one of the first 10, then geometrically
/// spaced (a path of 17,000 GD steps would otherwise be a solid bar of markers).
let markerIndices (n: int) =
    Seq.unfold (fun (k: float) -> if int k >= n then None else Some(int k, max (k + 1.0) (k * 1.25))) 0.0
    |> Seq.distinct
    |> Array.ofSeq
    |> fun ix -> Array.append ix [| n - 1 |] |> Array.distinct

let figure () =
    let plt = new ScottPlot.Plot()
    let xs = Array.init 241 (fun i -> -1.6 + 3.0 * float i / 240.0)
    let ys = Array.init 241 (fun j -> -0.6 + 2.6 * float j / 240.0)
    // contours of log10(f + 0.05): geometrically spaced levels of f, floored near the valley bottom
    let grid = Array2D.init ys.Length xs.Length (fun j i -> ScottPlot.Coordinates3d(xs.[i], ys.[j], log10 (rosenbrockAt xs.[i] ys.[j] + 0.05)))
    let contours = plt.Add.ContourLines(grid, 18)
    contours.LabelStyle.IsVisible <- false
    contours.LineColor <- ScottPlot.Colors.Gray.WithAlpha(0.55)
    contours.LineWidth <- 1.0f
    for idx, (name, hyper, path, _) in Array.indexed runs do
        let color = palette.[idx]
        let px, py = path |> Array.map (fun p -> p.[0]), path |> Array.map (fun p -> p.[1])
        let line = plt.Add.ScatterLine(px, py, color)
        // GD is drawn first and wide: the faster paths run along the same valley on top of it
        line.LineWidth <- if idx = 0 then 5.0f else 2.0f
        line.LegendText <- sprintf "%s (%s): %d it." name hyper (path.Length - 1)
        let ix = markerIndices path.Length
        plt.Add.Markers(ix |> Array.map (fun i -> px.[i]), ix |> Array.map (fun i -> py.[i]), ScottPlot.MarkerShape.FilledCircle, 5.0f, color) |> ignore
    plt.Add.Marker(1.0, 1.0, ScottPlot.MarkerShape.FilledDiamond, 12.0f, ScottPlot.Colors.Black) |> ignore
    plt.Add.Marker(start.[0], start.[1], ScottPlot.MarkerShape.OpenSquare, 12.0f, ScottPlot.Colors.Black) |> ignore
    plt.Title "Rosenbrock (1 − x)² + 100 (y − x²)² from (−1.2, 1) to ‖θ − (1, 1)‖ ≤ 1e-3"
    plt.XLabel "x"
    plt.YLabel "y"
    plt.Axes.SetLimits(-1.6, 1.4, -0.6, 2.0)
    plt.ShowLegend(ScottPlot.Alignment.UpperLeft) |> ignore
    savePng plt "rosenbrock.png" 900 800

/// f(θ_k) − 0 against k on log–log axes (k + 1 on the x axis so that k = 0 shows).
let convergenceFigure () =
    let plt = new ScottPlot.Plot()
    for idx, (name, _, path, _) in Array.indexed runs do
        let ks = Array.init path.Length (fun k -> log10 (float (k + 1)))
        let fs = path |> Array.map (fun p -> log10 (max 1e-300 (rosenbrockAt p.[0] p.[1])))
        let line = plt.Add.ScatterLine(ks, fs, palette.[idx])
        line.LineWidth <- 2.0f
        line.LegendText <- name
    plt.Title "Rosenbrock: f(θ_k) against iteration k (log–log)"
    plt.XLabel "iteration k + 1"
    plt.YLabel "f(θ_k)"
    logAxis plt.Axes.Bottom
    logAxis plt.Axes.Left
    plt.ShowLegend(ScottPlot.Alignment.LowerLeft) |> ignore
    savePng plt "rosenbrock_convergence.png" 800 500

figure ()
convergenceFigure ()
