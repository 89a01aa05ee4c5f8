namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.RAdam's arguments and defaults, plus maximize.
type RAdamHyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Maximize = false }

/// RAdam (Liu et al. 2020; torch.optim.RAdam): m, v as Adam; m̂ = m/(1−β₁ᵗ);
/// ρ∞ = 2/(1−β₂) − 1, ρₜ = ρ∞ − 2tβ₂ᵗ/(1−β₂ᵗ); when ρₜ > 5 (rectified)
/// θ ← θ − m̂γ·√(1−β₂ᵗ)/(√v + ε)·r, r = √((ρₜ−4)(ρₜ−2)ρ∞/((ρ∞−4)(ρ∞−2)ρₜ)); else θ ← θ − m̂γ. Lanes: A = m, B = v.
[<Struct>]
type RAdamRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(beta1: 'T, beta1c: 'T, beta2: 'T, beta2c: 'T, bc1: 'T, bc2Sqrt: 'T, lr: 'T, eps: 'T, wd: 'T, sign: 'T, rect: 'T, rectified: Flag) =
    /// The rule at step t (the rectification switch ρₜ > 5 is decided here, once per step).
    static member Of(h: RAdamHyper, t: int64) =
        let t' = float t
        let bc2 = 1.0 - h.Beta2 ** t'
        let rhoInf = 2.0 / (1.0 - h.Beta2) - 1.0
        let rhoT = rhoInf - 2.0 * t' * (h.Beta2 ** t') / bc2
        let rect = if rhoT > 5.0 then sqrt ((rhoT - 4.0) * (rhoT - 2.0) * rhoInf / ((rhoInf - 4.0) * (rhoInf - 2.0) * rhoT)) else 1.0
        RAdamRule<'T>(V.ofFloat h.Beta1, V.ofFloat (1.0 - h.Beta1), V.ofFloat h.Beta2, V.ofFloat (1.0 - h.Beta2),
                      V.ofFloat (1.0 - h.Beta1 ** t'), V.ofFloat (sqrt bc2), V.ofFloat h.Lr, V.ofFloat h.Eps, V.ofFloat h.WeightDecay,
                      V.ofFloat (if h.Maximize then -1.0 else 1.0), V.ofFloat rect, Flag (rhoT > 5.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.A <- Num beta1 * x.A + Num beta1c * g
            x.B <- Num beta2 * x.B + Num beta2c * g * g
            let step = x.A / Num bc1 * Num lr
            x.P <- if rectified.On then x.P - step * (Num bc2Sqrt / (sqrt x.B + Num eps)) * Num rect else x.P - step
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.A <- V.all beta1 * x.A + V.all beta1c * g
            x.B <- V.all beta2 * x.B + V.all beta2c * g * g
            let step = x.A / V.all bc1 * V.all lr
            x.P <- if rectified.On then x.P - step * (V.all bc2Sqrt / (Vector256.Sqrt x.B + V.all eps)) * V.all rect else x.P - step

/// RAdam.
module RAdam =
    /// RAdam as a pure state transition; slots "exp_avg", "exp_avg_sq".
    let create (h: RAdamHyper) : Optimizer<OptimState> =
        Adam.checkCommon "radam" h.Lr h.Beta1 h.Beta2 h.Eps h.WeightDecay
        Step.optimizer "radam" [| "exp_avg"; "exp_avg_sq" |] (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply "radam" (RAdamRule<float32>.Of(h, s.Step)) (RAdamRule<float>.Of(h, s.Step)) inPlace s g p)
