namespace Hybrid.Core.Optim

open System
open Hybrid.Core

/// A regulariser R for min L(θ) + λ R(θ), each with a closed-form proximal operator.
type Regularizer =
    /// R(θ) = ‖θ‖₁.
    | L1
    /// R(θ) = ½‖θ‖₂².
    | L2Squared
    /// R(θ) = α‖θ‖₁ + (1 − α)/2 ‖θ‖₂², α = l1Ratio ∈ [0, 1].
    | ElasticNet of l1Ratio: float
    /// R = indicator of θ ≥ 0 (λ is irrelevant).
    | NonNegative
    /// R = indicator of lo ≤ θ ≤ hi elementwise (λ is irrelevant).
    | Box of lo: float * hi: float

/// Proximal operators prox_{τR}(v) = argmin_u τR(u) + ½‖u − v‖².
module Prox =

    /// Throws when a regulariser's parameters are invalid (α ∉ [0, 1], lo > hi, NaN bounds).
    let check (reg: Regularizer) =
        match reg with
        | ElasticNet a when Double.IsNaN a || a < 0.0 || a > 1.0 ->
            raise (ArgumentOutOfRangeException("l1Ratio", a, sprintf "prox: elastic net l1Ratio must lie in [0, 1], got %g" a))
        | Box (lo, hi) when Double.IsNaN lo || Double.IsNaN hi || lo > hi ->
            invalidArg "lo" (sprintf "prox: box needs lo <= hi, got lo = %g, hi = %g" lo hi)
        | _ -> ()

    /// Soft-thresholding S_k(v)ᵢ = sign(vᵢ)·max(|vᵢ| − k, 0), the prox of k‖·‖₁.
    let softThreshold (k: float) (v: float[]) =
        Array.map (fun x -> float (sign x) * max (abs x - k) 0.0) v

    /// prox_{τR}(v) for τ = step·λ.
    let apply (reg: Regularizer) (tau: float) (v: float[]) =
        check reg
        Guard.nonNegative "prox" "tau" tau
        match reg with
        | L1 -> softThreshold tau v
        // argmin τ/2‖u‖² + ½‖u − v‖² = v/(1 + τ)
        | L2Squared -> Array.map (fun x -> x / (1.0 + tau)) v
        // soft-threshold by τα, then shrink by 1 + τ(1 − α)
        | ElasticNet a -> softThreshold (tau * a) v |> Array.map (fun x -> x / (1.0 + tau * (1.0 - a)))
        | NonNegative -> Array.map (fun x -> max x 0.0) v
        | Box (lo, hi) -> Array.map (fun x -> min hi (max lo x)) v

    /// R(θ) (0 or +∞ for the indicators).
    let value (reg: Regularizer) (x: float[]) =
        match reg with
        | L1 -> Vec.norm1 x
        | L2Squared -> 0.5 * Vec.dot x x
        | ElasticNet a -> a * Vec.norm1 x + 0.5 * (1.0 - a) * Vec.dot x x
        | NonNegative -> if Array.forall (fun v -> v >= 0.0) x then 0.0 else infinity
        | Box (lo, hi) -> if Array.forall (fun v -> v >= lo && v <= hi) x then 0.0 else infinity

    /// prox on a tensor (any shape), in its own dtype.
    let applyTensor (reg: Regularizer) (tau: float) (v: Tensor) =
        let r = apply reg tau (v.ToFloat64Array())
        match v.DType with
        | Float32 -> Create.ofFloat32 (Array.map float32 r) v.Shape
        | _ -> Create.ofFloat64 r v.Shape

/// How the step size of the proximal gradient method is chosen.
type ProxStepRule =
    /// A constant step t (≤ 1/L for guaranteed convergence, L the Lipschitz constant of ∇L).
    | FixedStep of step: float
    /// Beck & Teboulle backtracking: start at t0, shrink t ← β t until
    /// L(p) ≤ L(y) + ∇L(y)ᵀ(p − y) + ‖p − y‖²/(2t). The step only shrinks over iterations.
    | Backtracking of t0: float * beta: float

/// Proximal-gradient hyperparameters for min L(θ) + λ R(θ).
type ProxHyper =
    { Lambda: float
      Reg: Regularizer
      Step: ProxStepRule
      /// FISTA (Beck & Teboulle 2009) when true, ISTA otherwise.
      Accelerated: bool }

/// Proximal-gradient iterate. For ISTA Y = X and TMom = 1.
type ProxState =
    { X: float[]
      /// FISTA's extrapolated point y_k.
      Y: float[]
      /// FISTA's t_k (t₁ = 1).
      TMom: float
      /// Current step size (changes only under backtracking).
      StepSize: float
      Iter: int
      Evals: int }

/// ISTA and FISTA: θ⁺ = prox_{tλR}(y − t∇L(y)) (Beck & Teboulle, SIAM J. Imaging Sci. 2009).
module ProximalGradient =

    /// Throws (naming the argument and its value) on bad hyperparameters.
    let check (h: ProxHyper) =
        Guard.nonNegative "proximalGradient" "lambda" h.Lambda
        Prox.check h.Reg
        match h.Step with
        | FixedStep t -> Guard.positive "proximalGradient" "step" t
        | Backtracking (t0, beta) ->
            Guard.positive "proximalGradient" "t0" t0
            Guard.inOpen01 "proximalGradient" "beta" beta

    /// Start at x0 (y₀ = x0, t₁ = 1).
    let init (hyper: ProxHyper) (obj: Objective) (x0: Tensor) =
        check hyper
        if x0.Rank <> 1 || x0.Numel <> obj.Dim then
            invalidArg "x0" (sprintf "proximalGradient: parameters must be a flat vector of %d elements, got shape %s" obj.Dim (Shape.show x0.Shape))
        let x = x0.ToFloat64Array()
        let t = match hyper.Step with FixedStep t -> t | Backtracking (t0, _) -> t0
        { X = x; Y = x; TMom = 1.0; StepSize = t; Iter = 0; Evals = 0 }

    /// F(θ) = L(θ) + λR(θ).
    let objective (hyper: ProxHyper) (obj: Objective) (x: float[]) = fst (obj.Eval x) + hyper.Lambda * Prox.value hyper.Reg x

    /// p_t(y) = prox_{tλR}(y − t∇L(y)).
    let private proxStep (hyper: ProxHyper) (t: float) (y: float[]) (gy: float[]) =
        Prox.apply hyper.Reg (t * hyper.Lambda) (Vec.axpy (-t) gy y)

    /// One ISTA / FISTA iteration. FISTA: t_{k+1} = (1 + √(1 + 4t_k²))/2,
    /// y_{k+1} = x_k + ((t_k − 1)/t_{k+1}) (x_k − x_{k−1}).
    let step (hyper: ProxHyper) (obj: Objective) (state: ProxState) =
        check hyper
        let fy, gy = obj.Eval state.Y
        let mutable evals = state.Evals + 1
        let x', t =
            match hyper.Step with
            | FixedStep t -> proxStep hyper t state.Y gy, t
            | Backtracking (_, beta) ->
                // shrink t until the quadratic model at y majorises L at p (Beck & Teboulle, step 2)
                let rec search t k =
                    let p = proxStep hyper t state.Y gy
                    let diff = Vec.sub p state.Y
                    let fp = fst (obj.Eval p)
                    evals <- evals + 1
                    // slack of a few ulps of L(y): near the optimum both sides agree to rounding only
                    let slack = 8.0 * Double.Epsilon + 4.0 * 2.220446049250313e-16 * abs fy
                    if fp <= fy + Vec.dot gy diff + Vec.dot diff diff / (2.0 * t) + slack || k >= 100 then p, t
                    else search (beta * t) (k + 1)
                search state.StepSize 0
        if hyper.Accelerated then
            let tNext = (1.0 + sqrt (1.0 + 4.0 * state.TMom * state.TMom)) / 2.0
            let y' = Vec.axpy ((state.TMom - 1.0) / tNext) (Vec.sub x' state.X) x'
            { X = x'; Y = y'; TMom = tNext; StepSize = t; Iter = state.Iter + 1; Evals = evals }
        else { X = x'; Y = x'; TMom = 1.0; StepSize = t; Iter = state.Iter + 1; Evals = evals }

    /// Run `iters` iterations from x0; returns every state, x0's first.
    let minimize (hyper: ProxHyper) (obj: Objective) (x0: Tensor) (iters: int) =
        Guard.atLeast "proximalGradient" "iters" 0 iters
        let s0 = init hyper obj x0
        Array.scan (fun s _ -> step hyper obj s) s0 (Array.zeroCreate iters)

    /// The parameters of a state as a rank-1 tensor of the objective's dtype.
    let paramsOf (obj: Objective) (state: ProxState) = Objective.toTensor obj.DType state.X
