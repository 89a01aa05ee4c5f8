namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// Lion's arguments and defaults (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms").
type LionHyper =
    { Lr: float; Beta1: float; Beta2: float; WeightDecay: float; Maximize: bool }
    /// The paper's defaults.
    static member defaults = { Lr = 1e-4; Beta1 = 0.9; Beta2 = 0.99; WeightDecay = 0.0; Maximize = false }

/// Lion (Chen et al. 2023, Alg. 2): c = β₁m + (1−β₁)g; θ ← θ(1 − γλ) − γ·sign(c); m ← β₂m + (1−β₂)g.
/// Lane A = m.
[<Struct>]
type LionRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(lr: 'T, beta1: 'T, beta1c: 'T, beta2: 'T, beta2c: 'T, decay: 'T, sign: 'T) =
    /// The rule for these hyperparameters.
    static member Of(h: LionHyper) =
        LionRule<'T>(V.ofFloat h.Lr, V.ofFloat h.Beta1, V.ofFloat (1.0 - h.Beta1), V.ofFloat h.Beta2, V.ofFloat (1.0 - h.Beta2),
                     V.ofFloat (1.0 - h.Lr * h.WeightDecay), V.ofFloat (if h.Maximize then -1.0 else 1.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g
            let c = Num beta1 * x.A + Num beta1c * g
            x.P <- x.P * Num decay - Num lr * Num.Sign c
            x.A <- Num beta2 * x.A + Num beta2c * g
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g
            let c = V.all beta1 * x.A + V.all beta1c * g
            x.P <- x.P * V.all decay - V.all lr * V.sign c
            x.A <- V.all beta2 * x.A + V.all beta2c * g

/// Lion.
module Lion =
    /// Lion as a pure state transition; slot "exp_avg".
    let create (h: LionHyper) : Optimizer<OptimState> =
        Hyper.lr "lion" h.Lr
        Hyper.unitOpen "lion" "beta1" h.Beta1
        Hyper.unitOpen "lion" "beta2" h.Beta2
        Hyper.nonNegative "lion" "weightDecay" h.WeightDecay
        Step.optimizer "lion" [| "exp_avg" |] (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            Step.apply "lion" (LionRule<float32>.Of h) (LionRule<float>.Of h) inPlace s g p)
