// The Lasso with proximal gradient methods: ISTA and FISTA
//
//     min_θ  F(θ) = L(θ) + λ ‖θ‖₁,   L(θ) = 1/(2n) ‖Xθ − y‖²
//
// on a synthetic sparse regression (n = 60 samples, p = 150 equicorrelated features (ρ = 0.5),
// 8 true non-zeros, noise σ = 0.1). The correlation makes the problem ill-conditioned, so the slow
// sublinear phase of ISTA lasts long enough to see.
// The lecture's proximal gradient step (seed/000, "Méthodes proximales"):
//
//     θ_{t+1} = prox_{ηλR}(θ_t − η ∇L(θ_t)),   prox_{τ‖·‖₁}(v)ᵢ = sign(vᵢ) max(|vᵢ| − τ, 0)   (ISTA)
//
// and its accelerated form (Beck & Teboulle 2009), the prox step taken at an extrapolated point:
//
//     θ_k = prox_{ηλR}(y_k − η ∇L(y_k)),  t_{k+1} = (1 + √(1 + 4t_k²))/2,
//     y_{k+1} = θ_k + ((t_k − 1)/t_{k+1}) (θ_k − θ_{k−1})                                  (FISTA)
//
// with the fixed step η = 1/Lip, Lip = λ_max(XᵀX)/n the Lipschitz constant of ∇L. Two figures:
//   lasso_path.png   the regularisation path: each coefficient θ̂ᵢ(λ) against λ (log axis), from
//                    λ_max = ‖Xᵀy‖∞/n (where θ̂ = 0) down to λ_max/1000, FISTA warm-started along the path;
//   lasso_gap.png    F(θ_k) − F* against k (log–log) for ISTA and FISTA at λ = λ_max/10, with the
//                    bounds Lip‖θ₀ − θ*‖²/(2k) (ISTA) and 2 Lip‖θ₀ − θ*‖²/(k + 1)² (FISTA).
// ∇L comes from Hybrid's tape (`Objective.ofTensorFn`); the iterations are `ProximalGradient.step`.
//
// Run (from the repository root):
//   dotnet build src/Core -c Release && dotnet fsi docs/examples/lasso.fsx
// HYBRID_EXAMPLES_QUICK=1: a short path and 100 iterations, no figure.

#load "common.fsx"

open System
open Hybrid.Core
open Hybrid.Core.Optim
open Common

let n, p, nonZeros, noise, rho = 60, 150, 8, 0.1, 0.5
let gen = Generator 7

/// Design X (n×p): X_rc = √(1−ρ) z_rc + √ρ w_r, z, w standard normal (unit variance, correlation ρ
/// between features); the sparse truth θ♮ (±(1..2) on `nonZeros` random features); y = Xθ♮ + σε.
let X =
    let w = Array.init n (fun _ -> gen.NextNormal())
    Array.init (n * p) (fun k -> sqrt (1.0 - rho) * gen.NextNormal() + sqrt rho * w.[k / p])
let support = (gen.Permutation p).[.. nonZeros - 1] |> Array.sort
let thetaTrue =
    let t = Array.zeroCreate p
    for i in support do t.[i] <- (if gen.NextDouble() < 0.5 then -1.0 else 1.0) * (1.0 + gen.NextDouble())
    t
let y = Array.init n (fun r -> (Array.init p (fun c -> X.[r * p + c] * thetaTrue.[c]) |> Array.sum) + noise * gen.NextNormal())

let Xt = Create.ofFloat64 X [| n; p |]
let yt = Create.ofFloat64 y [| n |]

/// L(θ) = 1/(2n) ‖Xθ − y‖² on a tensor θ of p elements.
let leastSquares (theta: Tensor) =
    let r = Linalg.matmul Xt theta - yt
    Reduction.sum (Pointwise.square r) * (0.5 / float n)

let obj = Objective.ofTensorFn Float64 p leastSquares

/// Lip = λ_max(XᵀX)/n by power iteration.
let lipschitz =
    let xtx (v: float[]) =
        let xv = Array.init n (fun r -> Array.init p (fun c -> X.[r * p + c] * v.[c]) |> Array.sum)
        Array.init p (fun c -> Array.init n (fun r -> X.[r * p + c] * xv.[r]) |> Array.sum)
    let rec power (v: float[]) k =
        let w = xtx v
        let nw = Vec.norm w
        if k = 0 then nw / float n else power (Vec.scale (1.0 / nw) w) (k - 1)
    power (Array.create p 1.0) 200

/// λ_max = ‖Xᵀy‖∞ / n: the smallest λ with θ̂ = 0.
let lambdaMax = Array.init p (fun c -> Array.init n (fun r -> X.[r * p + c] * y.[r]) |> Array.sum) |> Vec.normInf |> fun m -> m / float n

let hyper (lambda: float) (accelerated: bool) =
    { Lambda = lambda; Reg = L1; Step = FixedStep(1.0 / lipschitz); Accelerated = accelerated }

/// `iters` iterations from θ₀; every state, θ₀'s first.
let run (lambda: float) (accelerated: bool) (theta0: float[]) (iters: int) =
    ProximalGradient.minimize (hyper lambda accelerated) obj (Create.vector theta0) iters

printfn "Lasso: n = %d, p = %d, %d true non-zeros at %A" n p nonZeros support
printfn "Lip = λ_max(XᵀX)/n = %.4f, step 1/Lip = %.4f, λ_max = ‖Xᵀy‖∞/n = %.4f" lipschitz (1.0 / lipschitz) lambdaMax

// ---- the regularisation path (FISTA, warm starts) ----
let pathPoints, pathIters = if quick then 8, 50 else 40, 1000
let lambdas = Array.init pathPoints (fun i -> lambdaMax * 10.0 ** (-3.0 * float i / float (pathPoints - 1)))
let coefficients =
    lambdas
    |> Array.scan (fun (theta: float[]) lambda -> (Array.last (run lambda true theta pathIters)).X) (Array.zeroCreate p)
    |> Array.tail

printfn ""
printfn "%12s %12s %16s %s" "λ" "non-zeros" "‖θ̂ − θ♮‖₂" "(true support recovered?)"
for i in 0 .. max 1 (pathPoints / 8) .. pathPoints - 1 do
    let c = coefficients.[i]
    let nz = c |> Array.filter (fun v -> abs v > 1e-10) |> Array.length
    let recovered = support |> Array.forall (fun j -> abs c.[j] > 1e-10)
    printfn "%12.5f %12d %16.4f %b" lambdas.[i] nz (Vec.norm (Vec.sub c thetaTrue)) recovered

// ---- ISTA vs FISTA at one λ ----
let lambda = lambdaMax / 10.0
let iters = if quick then 100 else 2000
let theta0 = Array.zeroCreate<float> p
let fOf (theta: float[]) = ProximalGradient.objective (hyper lambda false) obj theta
/// F* from a long FISTA run (10× the iterations shown), and θ* for the bounds.
let thetaStar = (Array.last (run lambda true theta0 (10 * iters))).X
let ista = run lambda false theta0 iters |> Array.map (fun s -> fOf s.X)
let fista = run lambda true theta0 iters |> Array.map (fun s -> fOf s.X)
let fStar = List.min [ fOf thetaStar; Array.min ista; Array.min fista ]
let r0 = Vec.norm (Vec.sub theta0 thetaStar) ** 2.0

printfn ""
printfn "λ = λ_max/10 = %.5f, F* = %.10f (FISTA, %d iterations)" lambda fStar (10 * iters)
printfn "%8s %14s %14s %16s %16s" "k" "ISTA gap" "FISTA gap" "Lip r0²/(2k)" "2 Lip r0²/(k+1)²"
for k in [ 1; 10; 100; 1000 ] |> List.filter (fun k -> k <= iters) do
    printfn "%8d %14s %14s %16s %16s" k (sci (ista.[k] - fStar)) (sci (fista.[k] - fStar))
        (sci (lipschitz * r0 / (2.0 * float k))) (sci (2.0 * lipschitz * r0 / float ((k + 1) * (k + 1))))

// ---- figures ----
let pathFigure () =
    let plt = new ScottPlot.Plot()
    let logLambda = lambdas |> Array.map log10
    for j in 0 .. p - 1 do
        let trace = coefficients |> Array.map (fun c -> c.[j])
        let isTrue = Array.contains j support
        if isTrue || trace |> Array.exists (fun v -> v <> 0.0) then
            let color = if isTrue then palette.[Array.findIndex ((=) j) support % palette.Length] else ScottPlot.Colors.Gray.WithAlpha(0.6)
            let line = plt.Add.ScatterLine(logLambda, trace, color)
            line.LineWidth <- if isTrue then 2.5f else 1.0f
            if isTrue then
                line.LegendText <- sprintf "θ%d (true %.2f)" j thetaTrue.[j]
                plt.Add.Marker(log10 lambdas.[lambdas.Length - 1] - 0.04, thetaTrue.[j], ScottPlot.MarkerShape.OpenCircle, 8.0f, color) |> ignore
    plt.Add.HorizontalLine(0.0, 1.0f, ScottPlot.Colors.Black) |> ignore
    plt.Title (sprintf "Lasso path (FISTA, warm starts): n = %d, p = %d, %d true non-zeros (grey: the others)" n p nonZeros)
    plt.XLabel "λ (log scale, decreasing; circles on the right: true values)"
    plt.YLabel "coefficient θ̂ᵢ(λ)"
    logAxis plt.Axes.Bottom
    plt.Axes.SetLimitsX(log10 lambdaMax + 0.1, log10 lambdas.[lambdas.Length - 1] - 0.1)
    plt.ShowLegend(ScottPlot.Alignment.UpperLeft) |> ignore
    savePng plt "lasso_path.png" 900 560

let gapFigure () =
    let plt = new ScottPlot.Plot()
    let ks = Array.init iters (fun i -> float (i + 1))
    let logk = ks |> Array.map log10
    let gapLine (values: float[]) (name: string) (color: ScottPlot.Color) (width: float32) (pattern: ScottPlot.LinePattern) =
        let line = plt.Add.ScatterLine(logk, values |> Array.map (fun v -> log10 (max v 1e-16)), color)
        line.LegendText <- name
        line.LineWidth <- width
        line.LinePattern <- pattern
    gapLine (ista.[1..] |> Array.map (fun f -> f - fStar)) "ISTA" palette.[0] 2.5f ScottPlot.LinePattern.Solid
    gapLine (fista.[1..] |> Array.map (fun f -> f - fStar)) "FISTA" palette.[1] 2.5f ScottPlot.LinePattern.Solid
    gapLine (ks |> Array.map (fun k -> lipschitz * r0 / (2.0 * k))) "bound Lip‖θ₀ − θ*‖² / (2k)" palette.[0] 1.5f ScottPlot.LinePattern.Dashed
    gapLine (ks |> Array.map (fun k -> 2.0 * lipschitz * r0 / ((k + 1.0) * (k + 1.0)))) "bound 2Lip‖θ₀ − θ*‖² / (k+1)²" palette.[1] 1.5f ScottPlot.LinePattern.Dashed
    plt.Title (sprintf "Lasso, λ = λ_max/10: objective gap F(θ_k) − F* (ISTA O(1/k), FISTA O(1/k²))")
    plt.XLabel "iteration k"
    plt.YLabel "F(θ_k) − F*"
    logAxis plt.Axes.Bottom
    logAxis plt.Axes.Left
    plt.Axes.SetLimitsY(-12.5, log10 (2.0 * lipschitz * r0) + 0.5)
    plt.ShowLegend(ScottPlot.Alignment.LowerLeft) |> ignore
    savePng plt "lasso_gap.png" 800 520

pathFigure ()
gapFigure ()
