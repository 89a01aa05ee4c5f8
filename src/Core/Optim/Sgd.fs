namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.SGD's arguments and defaults (torch requires lr; 1e-3 here).
type SgdHyper =
    { Lr: float; Momentum: float; Dampening: float; WeightDecay: float; Nesterov: bool; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-3; Momentum = 0.0; Dampening = 0.0; WeightDecay = 0.0; Nesterov = false; Maximize = false }

/// SGD with momentum (Sutskever et al. 2013; torch.optim.SGD):
/// g ← ±g + λθ; b ← g on the first step, else μb + (1−τ)g; d ← g + μb (Nesterov) or b; θ ← θ − γd.
/// Lane A is the momentum buffer.
[<Struct>]
type SgdRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(lr: 'T, momentum: 'T, damp1: 'T, wd: 'T, sign: 'T, first: Flag, nesterov: Flag, useMomentum: Flag) =
    /// The rule for one step of these hyperparameters (first: the step that starts the buffer).
    static member Of(h: SgdHyper, first) =
        SgdRule<'T>(V.ofFloat h.Lr, V.ofFloat h.Momentum, V.ofFloat (1.0 - h.Dampening), V.ofFloat h.WeightDecay,
                    V.ofFloat (if h.Maximize then -1.0 else 1.0), Flag first, Flag h.Nesterov, Flag (h.Momentum <> 0.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g + Num wd * x.P
            let d =
                if useMomentum.On then
                    x.A <- (if first.On then g else Num momentum * x.A + Num damp1 * g)
                    if nesterov.On then g + Num momentum * x.A else x.A
                else g
            x.P <- x.P - Num lr * d
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g + V.all wd * x.P
            let d =
                if useMomentum.On then
                    x.A <- (if first.On then g else V.all momentum * x.A + V.all damp1 * g)
                    if nesterov.On then g + V.all momentum * x.A else x.A
                else g
            x.P <- x.P - V.all lr * d

/// Stochastic gradient descent (plain gradient descent when the gradient is the full-batch one).
module Sgd =
    /// Checks the hyperparameters (torch's checks, plus dampening in [0, 1]).
    let check (h: SgdHyper) =
        Hyper.lr "sgd" h.Lr
        Hyper.nonNegative "sgd" "momentum" h.Momentum
        Hyper.unitClosed "sgd" "dampening" h.Dampening
        Hyper.nonNegative "sgd" "weightDecay" h.WeightDecay
        if h.Nesterov && (h.Momentum <= 0.0 || h.Dampening <> 0.0) then
            invalidArg "nesterov" (sprintf "sgd: nesterov = true requires momentum > 0 and dampening = 0 (got momentum = %g, dampening = %g)" h.Momentum h.Dampening)

    /// SGD as a pure state transition; state slot "momentum_buffer" when momentum > 0.
    let create (h: SgdHyper) : Optimizer<OptimState> =
        check h
        let slots = if h.Momentum <> 0.0 then [| "momentum_buffer" |] else [||]
        Step.optimizer "sgd" slots (fun _ p -> Step.zerosLike p) [||] (fun _ -> [||]) (fun s _ inPlace g p ->
            let first = s.Step = 1L
            Step.apply "sgd" (SgdRule<float32>.Of(h, first)) (SgdRule<float>.Of(h, first)) inPlace s g p)
