namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.Adam's arguments and defaults (weight decay coupled: added to the gradient).
type AdamHyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Amsgrad: bool; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Amsgrad = false; Maximize = false }

/// torch.optim.AdamW's arguments and defaults (weight decay decoupled: θ ← θ(1 − γλ)).
type AdamWHyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Amsgrad: bool; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 1e-2; Amsgrad = false; Maximize = false }

/// Adam (Kingma & Ba 2015, Alg. 1), AMSGrad (Reddi et al. 2018), AdamW (Loshchilov & Hutter 2019), as
/// torch.optim.Adam/AdamW: g ← ±g + λθ (coupled); θ ← θ(1 − γλ') (decoupled); m ← β₁m + (1−β₁)g;
/// v ← β₂v + (1−β₂)g²; v̂ ← max(v̂, v) (amsgrad); θ ← θ − (γ/(1−β₁ᵗ)) · m/(√v/√(1−β₂ᵗ) + ε).
/// Lanes: A = m, B = v, C = max v.
[<Struct>]
type AdamRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(beta1: 'T, beta1c: 'T, beta2: 'T, beta2c: 'T, stepSize: 'T, bc2Sqrt: 'T, eps: 'T, wd: 'T, decay: 'T, sign: 'T, amsgrad: Flag) =
    /// The rule at step t: lr, betas, eps, coupled wd, decoupled wd, amsgrad, maximize.
    static member Of(lr, b1, b2, eps: float, wd: float, wdDecoupled: float, amsgrad, maximize, t: int64) =
        AdamRule<'T>(V.ofFloat b1, V.ofFloat (1.0 - b1), V.ofFloat b2, V.ofFloat (1.0 - b2), V.ofFloat (lr / (1.0 - b1 ** float t)),
                     V.ofFloat (sqrt (1.0 - b2 ** float t)), V.ofFloat eps, V.ofFloat wd, V.ofFloat (1.0 - lr * wdDecoupled),
                     V.ofFloat (if maximize then -1.0 else 1.0), Flag amsgrad)
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            let p = x.P * Num decay
            x.A <- Num beta1 * x.A + Num beta1c * g
            x.B <- Num beta2 * x.B + Num beta2c * g * g
            let v = if amsgrad.On then (x.C <- Num.Max(x.C, x.B); x.C) else x.B
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- p - Num stepSize * x.A / (sqrt v / Num bc2Sqrt + Num eps)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            let p = x.P * V.all decay
            x.A <- V.all beta1 * x.A + V.all beta1c * g
            x.B <- V.all beta2 * x.B + V.all beta2c * g * g
            let v = if amsgrad.On then (x.C <- Vector256.Max(x.C, x.B); x.C) else x.B
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- p - V.all stepSize * x.A / (Vector256.Sqrt v / V.all bc2Sqrt + V.all eps)

/// Adam and AdamW.
module Adam =
    let internal checkCommon op lr b1 b2 eps wd =
        Hyper.lr op lr
        Hyper.unitOpen op "beta1" b1
        Hyper.unitOpen op "beta2" b2
        Hyper.positive op "eps" eps
        Hyper.nonNegative op "weightDecay" wd
    let private build name slots (rule32: int64 -> AdamRule<float32>) (rule64: int64 -> AdamRule<float>) =
        Step.optimizer name slots (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply name (rule32 s.Step) (rule64 s.Step) inPlace s g p)
    let private slots amsgrad = if amsgrad then [| "exp_avg"; "exp_avg_sq"; "max_exp_avg_sq" |] else [| "exp_avg"; "exp_avg_sq" |]

    /// Adam as a pure state transition; slots "exp_avg", "exp_avg_sq" (+ "max_exp_avg_sq" with amsgrad).
    let create (h: AdamHyper) : Optimizer<OptimState> =
        checkCommon "adam" h.Lr h.Beta1 h.Beta2 h.Eps h.WeightDecay
        build "adam" (slots h.Amsgrad)
            (fun t -> AdamRule<float32>.Of(h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, 0.0, h.Amsgrad, h.Maximize, t))
            (fun t -> AdamRule<float>.Of(h.Lr, h.Beta1, h.Beta2, h.Eps, h.WeightDecay, 0.0, h.Amsgrad, h.Maximize, t))

    /// AdamW as a pure state transition (same slots as Adam).
    let createW (h: AdamWHyper) : Optimizer<OptimState> =
        checkCommon "adamw" h.Lr h.Beta1 h.Beta2 h.Eps h.WeightDecay
        build "adamw" (slots h.Amsgrad)
            (fun t -> AdamRule<float32>.Of(h.Lr, h.Beta1, h.Beta2, h.Eps, 0.0, h.WeightDecay, h.Amsgrad, h.Maximize, t))
            (fun t -> AdamRule<float>.Of(h.Lr, h.Beta1, h.Beta2, h.Eps, 0.0, h.WeightDecay, h.Amsgrad, h.Maximize, t))
