namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.Adamax's arguments and defaults.
type AdamaxHyper =
    { Lr: float; Beta1: float; Beta2: float; Eps: float; WeightDecay: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 2e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Maximize = false }

/// Adamax (Kingma & Ba 2015, §7.1; torch.optim.Adamax): g ← ±g + λθ; m ← β₁m + (1−β₁)g;
/// u ← max(β₂u, |g| + ε); θ ← θ − (γ/(1−β₁ᵗ)) m/u. Lanes: A = m, B = u.
[<Struct>]
type AdamaxRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(beta1: 'T, beta1c: 'T, beta2: 'T, clr: 'T, eps: 'T, wd: 'T, sign: 'T) =
    /// The rule at step t.
    static member Of(h: AdamaxHyper, t: int64) =
        AdamaxRule<'T>(V.ofFloat h.Beta1, V.ofFloat (1.0 - h.Beta1), V.ofFloat h.Beta2, V.ofFloat (h.Lr / (1.0 - h.Beta1 ** float t)),
                       V.ofFloat h.Eps, V.ofFloat h.WeightDecay, V.ofFloat (if h.Maximize then -1.0 else 1.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.A <- Num beta1 * x.A + Num beta1c * g
            x.B <- Num.Max(Num beta2 * x.B, abs g + Num eps)
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- x.P - Num clr * x.A / x.B
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.A <- V.all beta1 * x.A + V.all beta1c * g
            x.B <- Vector256.Max(V.all beta2 * x.B, Vector256.Abs g + V.all eps)
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- x.P - V.all clr * x.A / x.B

/// Adamax.
module Adamax =
    /// Adamax as a pure state transition; slots "exp_avg", "exp_inf".
    let create (h: AdamaxHyper) : Optimizer<OptimState> =
        Adam.checkCommon "adamax" h.Lr h.Beta1 h.Beta2 h.Eps h.WeightDecay
        Step.optimizer "adamax" [| "exp_avg"; "exp_inf" |] (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply "adamax" (AdamaxRule<float32>.Of(h, s.Step)) (AdamaxRule<float>.Of(h, s.Step)) inPlace s g p)
