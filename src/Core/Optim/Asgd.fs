namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.ASGD's arguments and defaults.
type AsgdHyper =
    { Lr: float; Lambd: float; Alpha: float; T0: float; WeightDecay: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-2; Lambd = 1e-4; Alpha = 0.75; T0 = 1e6; WeightDecay = 0.0; Maximize = false }

/// Averaged SGD (Polyak & Juditsky 1992; torch.optim.ASGD): g ← ±g + λθ; θ ← θ(1 − λ'η) − ηg;
/// a ← θ if μ = 1 else a + μ(θ − a); then η ← γ/(1 + λ'γt)^α, μ ← 1/max(1, t − t₀). Lane A = a.
[<Struct>]
type AsgdRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(eta: 'T, decay: 'T, mu: 'T, wd: 'T, sign: 'T, muIsOne: Flag) =
    /// The rule with the current η and μ.
    static member Of(h: AsgdHyper, eta: float, mu: float) =
        AsgdRule<'T>(V.ofFloat eta, V.ofFloat (1.0 - h.Lambd * eta), V.ofFloat mu, V.ofFloat h.WeightDecay,
                     V.ofFloat (if h.Maximize then -1.0 else 1.0), Flag (1.0 = mu))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            x.P <- x.P * Num decay - Num eta * g
            x.A <- if muIsOne.On then x.P else x.A + (x.P - x.A) * Num mu
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            x.P <- x.P * V.all decay - V.all eta * g
            x.A <- if muIsOne.On then x.P else x.A + (x.P - x.A) * V.all mu

/// ASGD.
module Asgd =
    /// ASGD as a pure state transition; slot "ax"; scalars [| η; μ |].
    let create (h: AsgdHyper) : Optimizer<OptimState> =
        Hyper.lr "asgd" h.Lr
        Hyper.nonNegative "asgd" "lambd" h.Lambd
        Hyper.nonNegative "asgd" "alpha" h.Alpha
        Hyper.nonNegative "asgd" "t0" h.T0
        Hyper.nonNegative "asgd" "weightDecay" h.WeightDecay
        Step.optimizer "asgd" [| "ax" |] (fun _ p -> Step.zerosLike p) [| h.Lr; 1.0 |]
            (fun s ->
                let t = float s.Step
                [| h.Lr / ((1.0 + h.Lambd * h.Lr * t) ** h.Alpha); 1.0 / max 1.0 (t - h.T0) |])
            (fun s _ inPlace g p ->
                let eta, mu = s.Scalars.[0], s.Scalars.[1]
                Step.apply "asgd" (AsgdRule<float32>.Of(h, eta, mu)) (AsgdRule<float>.Of(h, eta, mu)) inPlace s g p)
