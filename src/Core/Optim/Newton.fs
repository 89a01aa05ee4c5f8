namespace Hybrid.Core.Optim

open System
open Hybrid.Core

/// Newton's method hyperparameters.
type NewtonHyper =
    { /// Initial trial step of the backtracking search (1 = the full Newton step).
      Lr: float
      /// Backtracking shrink factor ρ ∈ (0, 1).
      Rho: float
      /// Armijo sufficient-decrease constant c1 ∈ (0, 1).
      C1: float
      /// Most objective evaluations in one backtracking search.
      MaxBacktracks: int
      /// First Levenberg damping μ tried when H is not positive definite (then μ ← 10 μ).
      MuInit: float }

/// Newton iterate: the point, f and ∇f there, the damping used by the last step, and the count of steps.
type NewtonState =
    { X: float[]
      Value: float
      Grad: float[]
      /// μ added to the Hessian's diagonal at the last step (0 when H was positive definite).
      Mu: float
      Iter: int }

/// Damped Newton's method with the exact Hessian from the tape (create-graph double backward), or, for objectives
/// known only through their gradients, a central-difference Hessian.
module Newton =

    /// Defaults: full step first, ρ = 0.5, c1 = 1e-4, 50 backtracks, μ₀ = 1e-8.
    let defaults = { Lr = 1.0; Rho = 0.5; C1 = 1e-4; MaxBacktracks = 50; MuInit = 1e-8 }

    let private check (h: NewtonHyper) =
        Guard.positive "newton" "lr" h.Lr
        Guard.inOpen01 "newton" "rho" h.Rho
        Guard.inOpen01 "newton" "c1" h.C1
        Guard.atLeast "newton" "maxBacktracks" 1 h.MaxBacktracks
        Guard.positive "newton" "muInit" h.MuInit

    /// Start at x0 (a rank-1 tensor).
    let init (obj: Objective) (x0: Tensor) =
        let x, (f, g) = Objective.evalAt "newton" obj x0
        { X = x; Value = f; Grad = g; Mu = 0.0; Iter = 0 }

    /// Solve (H + μI) d = −g with the smallest μ ∈ {0, μ₀, 10μ₀, …} for which Cholesky (LinalgDecomp, on MathNet) succeeds
    /// (Levenberg damping, N&W §3.4).
    let dampedDirection (n: int) (hess: float[]) (g: float[]) (muInit: float) =
        let scaleH = max 1.0 (Array.fold (fun m v -> max m (abs v)) 0.0 hess)
        let rec attempt mu =
            let a = if mu = 0.0 then hess else Array.init (n * n) (fun k -> if k / n = k % n then hess.[k] + mu else hess.[k])
            match LinalgDecomp.trySolveSpd n a (Vec.neg g) with
            | Some d -> d, mu
            | None when mu > 1e30 * scaleH -> invalidOp (sprintf "newton: no damping μ up to %g made the Hessian positive definite (non-finite Hessian?)" mu)
            | None -> attempt (if mu = 0.0 then muInit * scaleH else 10.0 * mu)
        attempt 0.0

    /// One Newton step with the Hessian H(x) given by `hessian`: d = −(H + μI)⁻¹∇f, then backtracking
    /// Armijo from t = lr. On a strictly convex quadratic the full step lands on the minimiser.
    let stepWith (hyper: NewtonHyper) (obj: Objective) (hessian: float[] -> float[]) (state: NewtonState) =
        check hyper
        let n = obj.Dim
        let hess = hessian state.X
        if hess.Length <> n * n then invalidArg "hessian" (sprintf "newton: the Hessian has %d entries, expected %d×%d" hess.Length n n)
        let d, mu = dampedDirection n hess state.Grad hyper.MuInit
        let ls = LineSearch.armijo obj state.X state.Value state.Grad d hyper.Lr hyper.Rho hyper.C1 hyper.MaxBacktracks
        { X = Vec.axpy ls.Step d state.X; Value = ls.Value; Grad = ls.Grad; Mu = mu; Iter = state.Iter + 1 }

    /// The Hessian by central differences of the objective's gradient, for objectives that can only be evaluated
    /// (a closure that calls backward itself): H[:, j] ≈ (∇f(x + hⱼeⱼ) − ∇f(x − hⱼeⱼ)) / 2hⱼ with
    /// hⱼ = eps·max(1, |xⱼ|), then symmetrised, H ← (H + Hᵀ)/2. 2n gradient evaluations; exact (up to rounding)
    /// when ∇f is linear, O(h²) accurate otherwise. Row-major float[] of n×n.
    let differenceHessian (eps: float) (obj: Objective) (x: float[]) =
        Guard.positive "newton" "hessianEps" eps
        let n = x.Length
        let h = Array.zeroCreate (n * n)
        for j in 0 .. n - 1 do
            let step = eps * max 1.0 (abs x.[j])
            let shifted (s: float) = Array.init n (fun i -> if i = j then x.[i] + s else x.[i])
            let _, gp = obj.Eval (shifted step)
            let _, gm = obj.Eval (shifted -step)
            for i in 0 .. n - 1 do h.[i * n + j] <- (gp.[i] - gm.[i]) / (2.0 * step)
        for i in 0 .. n - 1 do
            for j in i + 1 .. n - 1 do
                let m = 0.5 * (h.[i * n + j] + h.[j * n + i])
                h.[i * n + j] <- m
                h.[j * n + i] <- m
        h

    /// One Newton step with the Hessian from `differenceHessian eps` (the objective's gradients only).
    let stepDifference (hyper: NewtonHyper) (eps: float) (obj: Objective) (state: NewtonState) =
        stepWith hyper obj (differenceHessian eps obj) state

    /// The exact Hessian of a tensor function, from `Tape.hessian`, as a row-major float[].
    let tapeHessian (dtype: DType) (f: Tensor -> Tensor) (x: float[]) =
        (Tape.hessian f (Objective.toTensor dtype x)).ToFloat64Array()

    /// One Newton step on a tensor function f (gradient and Hessian from the tape).
    let step (hyper: NewtonHyper) (f: Tensor -> Tensor) (obj: Objective) (state: NewtonState) =
        stepWith hyper obj (tapeHessian obj.DType f) state

    /// Iterate from x0 until ‖∇f‖₂ ≤ tolGrad or maxIter steps; returns every iterate's state, x0's first.
    let minimize (hyper: NewtonHyper) (f: Tensor -> Tensor) (x0: Tensor) (maxIter: int) (tolGrad: float) =
        check hyper
        Guard.atLeast "newton" "maxIter" 0 maxIter
        let obj = Objective.ofTensorFn (if x0.DType.IsFloat then x0.DType else Float64) x0.Numel f
        let s0 = init obj x0
        let rec go (s: NewtonState) acc =
            if s.Iter >= maxIter || Vec.norm s.Grad <= tolGrad then List.rev (s :: acc)
            else go (step hyper f obj s) (s :: acc)
        go s0 [] |> Array.ofList

    /// The parameters of a state as a rank-1 tensor of the given dtype.
    let paramsOf (dtype: DType) (state: NewtonState) = Objective.toTensor dtype state.X
