namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.NAdam's arguments and defaults, plus decoupled weight decay (torch >= 2.1) and maximize.
type NAdamHyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; MomentumDecay: float
      DecoupledWeightDecay: bool; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 2e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; MomentumDecay = 4e-3
                               DecoupledWeightDecay = false; Maximize = false }

/// NAdam (Dozat 2016; torch.optim.NAdam's documented algorithm): μₜ = β₁(1 − ½·0.96^(tψ));
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; d = √(v/(1−β₂ᵗ)) + ε;
/// θ ← θ − γ(1−μₜ)/(1−∏ᵢ≤ₜμᵢ) · g/d − γμₜ₊₁/(1−∏ᵢ≤ₜ₊₁μᵢ) · m/d. Lanes: A = m, B = v.
/// (torch 1.13's code multiplies μₜ into the second product twice; fixed in torch 2.0; we follow the docs.)
[<Struct>]
type NAdamRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(beta1: 'T, beta1c: 'T, beta2: 'T, beta2c: 'T, bc2: 'T, eps: 'T, wd: 'T, decay: 'T, sign: 'T, cg: 'T, cm: 'T) =
    /// The rule at step t, given μₜ, μₜ₊₁ and ∏ᵢ≤ₜμᵢ.
    static member Of(h: NAdamHyper, t: int64, mu: float, muNext: float, muProduct: float) =
        let wd, wdDecoupled = if h.DecoupledWeightDecay then 0.0, h.WeightDecay else h.WeightDecay, 0.0
        NAdamRule<'T>(V.ofFloat h.Beta1, V.ofFloat (1.0 - h.Beta1), V.ofFloat h.Beta2, V.ofFloat (1.0 - h.Beta2),
                      V.ofFloat (1.0 - h.Beta2 ** float t), V.ofFloat h.Eps, V.ofFloat wd, V.ofFloat (1.0 - h.Lr * wdDecoupled),
                      V.ofFloat (if h.Maximize then -1.0 else 1.0),
                      V.ofFloat (h.Lr * (1.0 - mu) / (1.0 - muProduct)), V.ofFloat (h.Lr * muNext / (1.0 - muProduct * muNext)))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            let p = x.P * Num decay
            x.A <- Num beta1 * x.A + Num beta1c * g
            x.B <- Num beta2 * x.B + Num beta2c * g * g
            let d = sqrt (x.B / Num bc2) + Num eps
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- p - Num cg * g / d - Num cm * x.A / d
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            let p = x.P * V.all decay
            x.A <- V.all beta1 * x.A + V.all beta1c * g
            x.B <- V.all beta2 * x.B + V.all beta2c * g * g
            let d = Vector256.Sqrt (x.B / V.all bc2) + V.all eps
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- p - V.all cg * g / d - V.all cm * x.A / d

/// NAdam.
module NAdam =
    /// μₜ = β₁(1 − ½·0.96^(tψ)).
    let mu (h: NAdamHyper) (t: int64) = h.Beta1 * (1.0 - 0.5 * (0.96 ** (float t * h.MomentumDecay)))
    /// NAdam as a pure state transition; slots "exp_avg", "exp_avg_sq"; scalar [| ∏μ |].
    let create (h: NAdamHyper) : Optimizer<OptimState> =
        Adam.checkCommon "nadam" h.Lr h.Beta1 h.Beta2 h.Eps h.WeightDecay
        Hyper.nonNegative "nadam" "momentumDecay" h.MomentumDecay
        Step.optimizer "nadam" [| "exp_avg"; "exp_avg_sq" |] (fun _ p -> Step.zerosLike p) [| 1.0 |]
            (fun s -> [| s.Scalars.[0] * mu h s.Step |])
            (fun s scal inPlace g p ->
                let t = s.Step
                let m, mNext, prod = mu h t, mu h (t + 1L), scal.[0]
                Step.apply "nadam" (NAdamRule<float32>.Of(h, t, m, mNext, prod)) (NAdamRule<float>.Of(h, t, m, mNext, prod)) inPlace s g p)
