namespace Hybrid.Core.Optim

open Hybrid.Core

/// BFGS hyperparameters (strong-Wolfe line search constants and the curvature guard).
type BfgsHyper =
    { /// Initial trial step of each line search.
      Lr: float
      /// Sufficient-decrease constant c1.
      C1: float
      /// Curvature constant c2 (c1 < c2 < 1).
      C2: float
      /// Most evaluations per line search.
      MaxLs: int
      /// Line search stops when the bracket is this small (in ‖d‖∞ units).
      ToleranceChange: float
      /// Skip the update when yᵀs ≤ CurvatureEps (the curvature condition fails).
      CurvatureEps: float }

/// BFGS iterate: the point, f and ∇f there, the inverse-Hessian approximation H (row-major n×n),
/// and counters.
type BfgsState =
    { X: float[]
      Value: float
      Grad: float[]
      /// Inverse-Hessian approximation, row-major.
      H: float[]
      Iter: int
      Evals: int
      /// Updates skipped because yᵀs ≤ ε.
      Skipped: int
      /// Step length accepted by the last line search (NaN before the first step).
      LastStep: float }

/// BFGS with the inverse-Hessian update and a strong-Wolfe line search (Nocedal & Wright Alg. 6.1).
module Bfgs =

    /// Defaults (N&W): lr 1, c1 = 1e-4, c2 = 0.9, 25 evaluations per search, ε = 1e-10.
    let defaults = { Lr = 1.0; C1 = 1e-4; C2 = 0.9; MaxLs = 25; ToleranceChange = 1e-12; CurvatureEps = 1e-10 }

    let private check (h: BfgsHyper) =
        Guard.positive "bfgs" "lr" h.Lr
        Guard.inOpen01 "bfgs" "c1" h.C1
        Guard.inOpen01 "bfgs" "c2" h.C2
        if not (h.C1 < h.C2) then invalidArg "c2" (sprintf "bfgs: need c1 < c2, got c1 = %g, c2 = %g" h.C1 h.C2)
        Guard.atLeast "bfgs" "maxLs" 1 h.MaxLs
        Guard.nonNegative "bfgs" "toleranceChange" h.ToleranceChange
        Guard.nonNegative "bfgs" "curvatureEps" h.CurvatureEps

    /// Start at x0 with H₀ = I.
    let init (obj: Objective) (x0: Tensor) =
        let x, (f, g) = Objective.evalAt "bfgs" obj x0
        { X = x; Value = f; Grad = g; H = Dense.identity obj.Dim 1.0; Iter = 0; Evals = 1; Skipped = 0; LastStep = nan }

    /// H⁺ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1/(yᵀs)  (N&W eq. 6.17), expanded as
    /// H − ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ (H symmetric).
    let inverseUpdate (n: int) (h: float[]) (s: float[]) (y: float[]) =
        let rho = 1.0 / Vec.dot y s
        let hy = Dense.mulVec n h y
        let yhy = Vec.dot y hy
        let c = rho * rho * yhy + rho
        Array.init (n * n) (fun k ->
            let i, j = k / n, k % n
            h.[k] - rho * (s.[i] * hy.[j] + hy.[i] * s.[j]) + c * s.[i] * s.[j])

    /// One BFGS iteration: d = −H∇f, strong-Wolfe step t, s = t d, y = ∇f⁺ − ∇f; before the first update
    /// H is rescaled to (yᵀs / yᵀy) I (N&W eq. 6.20); the update is skipped when yᵀs ≤ ε.
    let step (hyper: BfgsHyper) (obj: Objective) (state: BfgsState) =
        check hyper
        let n = obj.Dim
        let d = Vec.neg (Dense.mulVec n state.H state.Grad)
        let gtd = Vec.dot state.Grad d
        // a non-descent direction (H lost definiteness numerically): restart from steepest descent
        let d, gtd, h = if gtd < 0.0 then d, gtd, state.H else Vec.neg state.Grad, -(Vec.dot state.Grad state.Grad), Dense.identity n 1.0
        let ls = LineSearch.strongWolfe obj state.X hyper.Lr d state.Value state.Grad gtd hyper.C1 hyper.C2 hyper.ToleranceChange hyper.MaxLs
        let s = Vec.scale ls.Step d
        let y = Vec.sub ls.Grad state.Grad
        let ys = Vec.dot y s
        let h', skipped =
            if ys <= hyper.CurvatureEps then h, state.Skipped + 1
            else
                let h0 = if state.Iter = 0 then Dense.identity n (ys / Vec.dot y y) else h
                inverseUpdate n h0 s y, state.Skipped
        { X = Vec.axpy ls.Step d state.X; Value = ls.Value; Grad = ls.Grad; H = h'
          Iter = state.Iter + 1; Evals = state.Evals + ls.Evals; Skipped = skipped; LastStep = ls.Step }

    /// Iterate from x0 until ‖∇f‖₂ ≤ tolGrad or maxIter iterations; returns every state, x0's first.
    let minimize (hyper: BfgsHyper) (obj: Objective) (x0: Tensor) (maxIter: int) (tolGrad: float) =
        check hyper
        Guard.atLeast "bfgs" "maxIter" 0 maxIter
        let rec go (s: BfgsState) acc =
            if s.Iter >= maxIter || Vec.norm s.Grad <= tolGrad then List.rev (s :: acc)
            else go (step hyper obj s) (s :: acc)
        go (init obj x0) [] |> Array.ofList

    /// The parameters of a state as a rank-1 tensor of the objective's dtype.
    let paramsOf (obj: Objective) (state: BfgsState) = Objective.toTensor obj.DType state.X
