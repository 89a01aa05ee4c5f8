namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.Adagrad's arguments and defaults.
type AdagradHyper =
    { Lr: float; LrDecay: float; WeightDecay: float; InitialAccumulatorValue: float; Eps: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-2; LrDecay = 0.0; WeightDecay = 0.0; InitialAccumulatorValue = 0.0; Eps = 1e-10; Maximize = false }

/// Adagrad (Duchi et al. 2011; torch.optim.Adagrad): g ← ±g + λθ; s ← s + g²; θ ← θ − γ̃ g/(√s + ε),
/// γ̃ = γ/(1 + (t−1)η). Lane A is the sum of squares.
[<Struct>]
type AdagradRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(clr: 'T, wd: 'T, eps: 'T, sign: 'T) =
    /// The rule at step t.
    static member Of(h: AdagradHyper, t: int64) =
        AdagradRule<'T>(V.ofFloat (h.Lr / (1.0 + float (t - 1L) * h.LrDecay)), V.ofFloat h.WeightDecay, V.ofFloat h.Eps,
                        V.ofFloat (if h.Maximize then -1.0 else 1.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.A <- x.A + g * g
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- x.P - Num clr * g / (sqrt x.A + Num eps)
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.A <- x.A + g * g
            // (c·a)/b, in the order of torch's param.addcdiv_(a, b, value=−c), so float64 agrees to rounding
            x.P <- x.P - V.all clr * g / (Vector256.Sqrt x.A + V.all eps)

/// Adagrad.
module Adagrad =
    /// Checks the hyperparameters.
    let check (h: AdagradHyper) =
        Hyper.lr "adagrad" h.Lr
        Hyper.nonNegative "adagrad" "lrDecay" h.LrDecay
        Hyper.nonNegative "adagrad" "weightDecay" h.WeightDecay
        Hyper.nonNegative "adagrad" "initialAccumulatorValue" h.InitialAccumulatorValue
        Hyper.positive "adagrad" "eps" h.Eps
    /// Adagrad as a pure state transition; state slot "sum".
    let create (h: AdagradHyper) : Optimizer<OptimState> =
        check h
        Step.optimizer "adagrad" [| "sum" |] (fun _ p -> Step.fullLike p h.InitialAccumulatorValue) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply "adagrad" (AdagradRule<float32>.Of(h, s.Step)) (AdagradRule<float>.Of(h, s.Step)) inPlace s g p)
