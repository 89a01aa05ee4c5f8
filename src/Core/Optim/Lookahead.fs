namespace Hybrid.Core.Optim

open System.Numerics
open System.Runtime.CompilerServices
open System.Runtime.Intrinsics
open Hybrid.Core

/// Lookahead's arguments (Zhang et al. 2019): sync every K steps with interpolation Alpha.
type LookaheadHyper =
    { K: int; Alpha: float }
    /// The paper's defaults.
    static member defaults = { K = 5; Alpha = 0.5 }

/// Lookahead's synchronization (Zhang et al. 2019, Alg. 1): φ ← φ + α(θ − φ); θ ← φ. Lanes: P = θ (fast), A = φ (slow).
[<Struct>]
type LookaheadRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>>(alpha: 'T) =
    interface IRule<'T> with
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(_: Num<'T>, x: byref<Lane<Num<'T>>>) =
            x.A <- x.A + Num alpha * (x.P - x.A)
            x.P <- x.A
        [<MethodImpl(MethodImplOptions.AggressiveInlining)>]
        member _.Invoke(_: Vector256<'T>, x: byref<Lane<Vector256<'T>>>) =
            x.A <- x.A + V.all alpha * (x.P - x.A)
            x.P <- x.A

/// Lookahead around any optimizer whose state is an OptimState.
module Lookahead =
    /// Wraps inner: its state is Inner.[0]; slot "slow" holds the slow weights (a copy of the initial params).
    let create (h: LookaheadHyper) (inner: Optimizer<OptimState>) : Optimizer<OptimState> =
        if h.K < 1 then invalidArg "k" (sprintf "lookahead: k = %d is invalid (expected >= 1)" h.K)
        Hyper.unitClosed "lookahead" "alpha" h.Alpha
        let name = "lookahead"
        let sync inPlace (s: OptimState) (ps: Tensor[]) =
            Step.apply name (LookaheadRule<float32>(float32 h.Alpha)) (LookaheadRule<float>(h.Alpha)) inPlace s ps ps
        let check (s: OptimState) g p =
            Step.check name s g p
            if s.Inner.Length <> 1 then invalidOp (sprintf "lookahead: the state holds %d inner states (expected 1)" s.Inner.Length)
        { Name = name
          Init = fun ps ->
            let s = Step.init name [| "slow" |] (fun _ p -> Step.copyOf p) [||] ps
            { s with Inner = [| inner.Init ps |] }
          Update = fun s g p ->
            check s g p
            let innerState, fast = inner.Update s.Inner.[0] g p
            let t = s.Step + 1L
            let s1 = { s with Step = t; Inner = [| innerState |] }
            if t % int64 h.K = 0L then
                let bufs, ps' = sync false s1 fast
                { s1 with Buffers = bufs }, ps'
            else s1, fast
          UpdateInPlace = fun s g p ->
            check s g p
            let innerState = inner.UpdateInPlace s.Inner.[0] g p
            let t = s.Step + 1L
            let s1 = { s with Step = t; Inner = [| innerState |] }
            if t % int64 h.K = 0L then sync true s1 p |> ignore
            s1 }
