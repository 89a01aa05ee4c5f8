namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// torch.optim.Rprop's arguments and defaults.
type RpropHyper =
    { Lr: float; EtaMinus: float; EtaPlus: float; StepSizeMin: float; StepSizeMax: float; Maximize: bool }
    /// torch's defaults.
    static member defaults = { Lr = 1e-2; EtaMinus = 0.5; EtaPlus = 1.2; StepSizeMin = 1e-6; StepSizeMax = 50.0; Maximize = false }

/// Rprop (Riedmiller & Braun 1993; torch.optim.Rprop): s ← clamp(s·η₊ if g·g₋ > 0, s·η₋ if < 0, else s);
/// g ← 0 where g·g₋ < 0; θ ← θ − sign(g)·s; g₋ ← g. Lanes: A = g₋ ("prev"), B = s ("step_size").
[<Struct>]
type RpropRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(etaMinus: 'T, etaPlus: 'T, sMin: 'T, sMax: 'T, sign: 'T) =
    /// The rule for these hyperparameters.
    static member Of(h: RpropHyper) =
        RpropRule<'T>(V.ofFloat h.EtaMinus, V.ofFloat h.EtaPlus, V.ofFloat h.StepSizeMin, V.ofFloat h.StepSizeMax,
                      V.ofFloat (if h.Maximize then -1.0 else 1.0))
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Num<'T>, x: byref<Lane<Num<'T>>>) =
            let g = Num sign * g
            let z = Num 'T.Zero
            let prod = g * x.A
            let f = if Num.Gt(prod, z) then Num etaPlus elif Num.Lt(prod, z) then Num etaMinus else Num 'T.One
            x.B <- Num.Min(Num.Max(x.B * f, Num sMin), Num sMax)
            let g = if Num.Lt(prod, z) then z else g
            x.P <- x.P - Num.Sign g * x.B
            x.A <- g
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(g: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            let g = V.all sign * g
            let z = Vector256<'T>.Zero
            let prod = g * x.A
            let neg = Vector256.LessThan(prod, z)
            let f = Vector256.ConditionalSelect(Vector256.GreaterThan(prod, z), V.all etaPlus, Vector256.ConditionalSelect(neg, V.all etaMinus, Vector256<'T>.One))
            x.B <- Vector256.Min(Vector256.Max(x.B * f, V.all sMin), V.all sMax)
            let g = Vector256.ConditionalSelect(neg, z, g)
            x.P <- x.P - V.sign g * x.B
            x.A <- g

/// Rprop.
module Rprop =
    /// Rprop as a pure state transition; slots "prev", "step_size" (starts at lr).
    let create (h: RpropHyper) : Optimizer<OptimState> =
        Hyper.lr "rprop" h.Lr
        if not (0.0 < h.EtaMinus && h.EtaMinus < 1.0 && 1.0 < h.EtaPlus) then
            invalidArg "etas" (sprintf "rprop: etas = (%g, %g) are invalid (expected 0 < etaMinus < 1 < etaPlus)" h.EtaMinus h.EtaPlus)
        if not (0.0 <= h.StepSizeMin && h.StepSizeMin <= h.StepSizeMax) then
            invalidArg "stepSizes" (sprintf "rprop: stepSizes = (%g, %g) are invalid (expected 0 <= min <= max)" h.StepSizeMin h.StepSizeMax)
        Step.optimizer "rprop" [| "prev"; "step_size" |] (fun slot p -> if slot = "prev" then Step.zerosLike p else Step.fullLike p h.Lr)
            [||] (fun _ -> [||]) (fun s _ inPlace g p -> Step.apply "rprop" (RpropRule<float32>.Of h) (RpropRule<float>.Of h) inPlace s g p)
