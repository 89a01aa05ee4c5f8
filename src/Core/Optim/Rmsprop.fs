namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.RMSprop's arguments and defaults.
type RmspropHyper =
    { Lr: float; Alpha: float; Eps: float; WeightDecay: float; Momentum: float; Centered: bool; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-2; Alpha = 0.99; Eps = 1e-8; WeightDecay = 0.0; Momentum = 0.0; Centered = false; Maximize = false }

/// RMSprop (Hinton, lecture 6e; centered: Graves 2013; torch.optim.RMSprop): g ← ±g + λθ;
/// v ← αv + (1−α)g²; ḡ ← αḡ + (1−α)g (centered); d ← √(v − ḡ²) + ε or √v + ε;
/// b ← μb + g/d, θ ← θ − γb (momentum) or θ ← θ − (γg)/d. Lanes: A = v, B = b, C = ḡ. Operations in torch 1.13's
/// order (square_avg.addcmul_, sqrt, add_(eps), param.addcdiv_(grad, avg, value=−lr) = θ + ((−γ)g)/d) so that
/// float64 trajectories agree with torch's to rounding.
[<Struct>]
type RmspropRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(lr: 'T, alpha: 'T, alpha1: 'T, eps: 'T, wd: 'T, momentum: 'T, sign: 'T, centered: Flag, useMomentum: Flag) =
    /// The rule for these hyperparameters.
    static member Of(h: RmspropHyper) =
        RmspropRule<'T>(V.ofFloat h.Lr, V.ofFloat h.Alpha, V.ofFloat (1.0 - h.Alpha), V.ofFloat h.Eps, V.ofFloat h.WeightDecay,
                        V.ofFloat h.Momentum, V.ofFloat (if h.Maximize then -1.0 else 1.0), Flag h.Centered, Flag (h.Momentum > 0.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.A <- Num alpha * x.A + Num alpha1 * g * g
            let avg =
                if centered.On then
                    x.C <- Num alpha * x.C + Num alpha1 * g
                    sqrt (x.A - x.C * x.C) + Num eps
                else sqrt x.A + Num eps
            if useMomentum.On then
                x.B <- Num momentum * x.B + g / avg
                x.P <- x.P - Num lr * x.B
            else x.P <- x.P - Num lr * g / avg
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.A <- V.all alpha * x.A + V.all alpha1 * g * g
            let avg =
                if centered.On then
                    x.C <- V.all alpha * x.C + V.all alpha1 * g
                    Vector256.Sqrt (x.A - x.C * x.C) + V.all eps
                else Vector256.Sqrt x.A + V.all eps
            if useMomentum.On then
                x.B <- V.all momentum * x.B + g / avg
                x.P <- x.P - V.all lr * x.B
            else x.P <- x.P - V.all lr * g / avg

/// RMSprop.
module Rmsprop =
    /// Checks the hyperparameters.
    let check (h: RmspropHyper) =
        Hyper.lr "rmsprop" h.Lr
        Hyper.unitOpen "rmsprop" "alpha" h.Alpha
        Hyper.positive "rmsprop" "eps" h.Eps
        Hyper.nonNegative "rmsprop" "weightDecay" h.WeightDecay
        Hyper.nonNegative "rmsprop" "momentum" h.Momentum
    /// RMSprop as a pure state transition; slots "square_avg", then "momentum_buffer" (momentum > 0),
    /// then "grad_avg" (centered).
    let create (h: RmspropHyper) : Optimizer<OptimState> =
        check h
        let slots = Array.concat [ [| "square_avg" |]; (if h.Momentum > 0.0 then [| "momentum_buffer" |] else [||]); (if h.Centered then [| "grad_avg" |] else [||]) ]
        let lanes = Array.concat [ [| 1 |]; (if h.Momentum > 0.0 then [| 2 |] else [||]); (if h.Centered then [| 3 |] else [||]) ]
        Step.optimizer "rmsprop" slots (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.applyLanes "rmsprop" lanes (RmspropRule<float32>.Of h) (RmspropRule<float>.Of h) inPlace s g p)
