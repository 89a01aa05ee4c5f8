namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.Adadelta's arguments and defaults.
type AdadeltaHyper =
    { Lr: float; Rho: float; Eps: float; WeightDecay: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1.0; Rho = 0.9; Eps = 1e-6; WeightDecay = 0.0; Maximize = false }

/// Adadelta (Zeiler 2012; torch.optim.Adadelta): g ← ±g + λθ; v ← ρv + (1−ρ)g²;
/// Δ ← √(u + ε)/√(v + ε) · g; u ← ρu + (1−ρ)Δ²; θ ← θ − γΔ. Lanes: A = v, B = u.
[<Struct>]
type AdadeltaRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(lr: 'T, rho: 'T, rho1: 'T, eps: 'T, wd: 'T, sign: 'T) =
    /// The rule for these hyperparameters.
    static member Of(h: AdadeltaHyper) =
        AdadeltaRule<'T>(V.ofFloat h.Lr, V.ofFloat h.Rho, V.ofFloat (1.0 - h.Rho), V.ofFloat h.Eps, V.ofFloat h.WeightDecay,
                         V.ofFloat (if h.Maximize then -1.0 else 1.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.A <- Num rho * x.A + Num rho1 * g * g
            let delta = sqrt (x.B + Num eps) / sqrt (x.A + Num eps) * g
            x.B <- Num rho * x.B + Num rho1 * delta * delta
            x.P <- x.P - Num lr * delta
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.A <- V.all rho * x.A + V.all rho1 * g * g
            let delta = Vector256.Sqrt (x.B + V.all eps) / Vector256.Sqrt (x.A + V.all eps) * g
            x.B <- V.all rho * x.B + V.all rho1 * delta * delta
            x.P <- x.P - V.all lr * delta

/// Adadelta.
module Adadelta =
    /// Checks the hyperparameters (rho in [0, 1], as torch).
    let check (h: AdadeltaHyper) =
        Hyper.lr "adadelta" h.Lr
        Hyper.unitClosed "adadelta" "rho" h.Rho
        Hyper.positive "adadelta" "eps" h.Eps
        Hyper.nonNegative "adadelta" "weightDecay" h.WeightDecay
    /// Adadelta as a pure state transition; slots "square_avg", "acc_delta".
    let create (h: AdadeltaHyper) : Optimizer<OptimState> =
        check h
        Step.optimizer "adadelta" [| "square_avg"; "acc_delta" |] (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply "adadelta" (AdadeltaRule<float32>.Of h) (AdadeltaRule<float>.Of h) inPlace s g p)
