namespace Hybrid.Core.Optim

open System
open Hybrid.Core
open Hybrid.Core.Backends

/// The state of an optimizer or transform, as one immutable record for every rule (optax's named
/// state tuples, flattened): the step count, per-parameter buffers named by `Slots`, global scalars
/// (NAdam's μ product, ASGD's η and μ), and the states of wrapped or chained transforms.
type OptimState =
    { /// Which optimizer made this state ("adam", "sgd", ...); checked by Update.
      Name: string
      /// Steps taken so far (torch's `state['step']`).
      Step: int64
      /// Names of the per-parameter buffers (torch's state keys: "exp_avg", "exp_avg_sq", ...).
      Slots: string[]
      /// Buffers.[i].[j] is slot j of parameter i, with the parameter's shape and dtype.
      Buffers: RawTensor[][]
      /// Scalars shared by all parameters.
      Scalars: float[]
      /// States of inner transforms (Lookahead's optimizer, a chain's members).
      Inner: OptimState[] }

/// A plain, exact image of an `OptimState` (arrays only, no backend objects): for state dicts and files.
/// float32 buffers are widened to float64, which round-trips bit for bit.
type StateDict =
    { Name: string
      Step: int64
      Slots: string[]
      /// Per parameter: its shape.
      Shapes: int[][]
      /// Per parameter: "float32" or "float64".
      DTypes: string[]
      /// Values.[i].[j]: slot j of parameter i, row-major.
      Values: float[][][]
      Scalars: float[]
      Inner: StateDict[] }

/// An optimizer as a pure state transition (the optax shape): `Init params`, then
/// `Update state grads params = state', params'`. `UpdateInPlace` computes the same values bit for bit
/// but overwrites the state's buffers and the parameters' storage (for callers that give up the old state).
type Optimizer<'S> =
    { /// The optimizer's name ("adam").
      Name: string
      /// The initial state for these parameters.
      Init: Tensor[] -> 'S
      /// One step: never mutates its inputs.
      Update: 'S -> Tensor[] -> Tensor[] -> 'S * Tensor[]
      /// One step, reusing the old state's buffers and the parameters' storage; returns the new state.
      UpdateInPlace: 'S -> Tensor[] -> Tensor[] -> 'S }
    /// Update as a method (for C#): (state, grads, params) -> (state', params').
    member o.Step(state: 'S, grads: Tensor[], parameters: Tensor[]) : 'S * Tensor[] = o.Update state grads parameters
    /// UpdateInPlace as a method (for C#): overwrites the parameters and the state's buffers; returns the new state.
    member o.StepInPlace(state: 'S, grads: Tensor[], parameters: Tensor[]) : 'S = o.UpdateInPlace state grads parameters

/// Serialization of optimizer states to and from `StateDict` (exact).
module OptimState =
    let private toArrays (r: RawTensor) = r.ToFloat64Array()

    /// The plain image of a state.
    let rec toDict (s: OptimState) : StateDict =
        { Name = s.Name; Step = s.Step; Slots = Array.copy s.Slots
          Shapes = s.Buffers |> Array.map (fun b -> if b.Length = 0 then [||] else Array.copy b.[0].Shape)
          DTypes = s.Buffers |> Array.map (fun b -> if b.Length = 0 then "float64" else string b.[0].DType)
          Values = s.Buffers |> Array.map (Array.map toArrays)
          Scalars = Array.copy s.Scalars
          Inner = s.Inner |> Array.map toDict }

    /// The state a plain image describes (inverse of toDict, bit for bit).
    let rec ofDict (d: StateDict) : OptimState =
        let cpu = Devices.backendOf Cpu
        let buffer i (v: float[]) =
            let shape = d.Shapes.[i]
            if Shape.numel shape <> v.Length then
                invalidArg "d" (sprintf "%s state dict: slot of parameter %d has %d values for shape %s" d.Name i v.Length (Shape.show shape))
            match d.DTypes.[i] with
            | "float32" -> cpu.FromFloat32(Array.map float32 v, Array.copy shape)
            | "float64" -> cpu.FromFloat64(Array.copy v, Array.copy shape)
            | t -> invalidArg "d" (sprintf "%s state dict: dtype '%s' of parameter %d (expected float32 or float64)" d.Name t i)
        { Name = d.Name; Step = d.Step; Slots = Array.copy d.Slots
          Buffers = d.Values |> Array.mapi (fun i slots -> slots |> Array.map (buffer i))
          Scalars = Array.copy d.Scalars
          Inner = d.Inner |> Array.map ofDict }

/// The one check of every hyperparameter, core and facade alike: it throws at construction (or when a group's
/// options change) an ArgumentOutOfRangeException whose message has one format, "Adam: lr must be a finite number
/// >= 0, got -1" (the optimizer, the argument, the rule it breaks, the value given).
module Hyper =
    let private bad (op: string) (arg: string) (v: obj) (expected: string) =
        raise (ArgumentOutOfRangeException(arg, sprintf "%s: %s must be %s, got %O" op arg expected v))
    /// lr >= 0 and finite.
    let lr op (v: float) = if not (v >= 0.0 && not (Double.IsInfinity v)) then bad op "lr" v "a finite number >= 0"
    /// 0 <= v < 1 (betas, rho, alpha).
    let unitOpen op arg (v: float) = if not (v >= 0.0 && v < 1.0) then bad op arg v "in [0, 1)"
    /// 0 <= v <= 1 (dampening, interpolation factors).
    let unitClosed op arg (v: float) = if not (v >= 0.0 && v <= 1.0) then bad op arg v "in [0, 1]"
    /// v > 0 and finite (eps).
    let positive op arg (v: float) = if not (v > 0.0 && not (Double.IsInfinity v)) then bad op arg v "a finite number > 0"
    /// v >= 0 and finite (weight decay, momentum).
    let nonNegative op arg (v: float) = if not (v >= 0.0 && not (Double.IsInfinity v)) then bad op arg v "a finite number >= 0"
    /// A pair (β₁, β₂), each in [0, 1); the value is shown as the pair.
    let betas op arg (b1: float) (b2: float) =
        if not (b1 >= 0.0 && b1 < 1.0 && b2 >= 0.0 && b2 < 1.0) then bad op arg (sprintf "(%O, %O)" b1 b2) "a pair with each in [0, 1)"

/// The plumbing every fused optimizer shares: checks, the device's driver (FusedCpu or FusedIlgpu, chosen by the
/// parameter's Device), pure and in-place passes.
module Step =
    /// Zeros shaped like a parameter.
    let zerosLike (p: Tensor) = p.Raw.Backend.Zeros(p.Shape, p.DType)
    /// A constant shaped like a parameter.
    let fullLike (p: Tensor) (v: float) = p.Raw.Backend.Full(p.Shape, v, p.DType)
    /// A copy of a parameter's value, on its device.
    let copyOf (p: Tensor) =
        if p.DType = Int64 then invalidArg "params" "optimizer: int64 parameters cannot be optimized"
        match p.Device with
        | Cpu -> FusedCpu.copy p.Raw
        | Ilgpu _ -> FusedIlgpu.copy p.Raw

    /// A fresh state.
    let init (name: string) (slots: string[]) (initSlot: string -> Tensor -> RawTensor) (scalars: float[]) (ps: Tensor[]) =
        ps |> Array.iteri (fun i p ->
            if isNull p then invalidArg "params" (sprintf "%s: parameter %d is null" name i)
            if not p.DType.IsFloat then invalidArg "params" (sprintf "%s: parameter %d is %O (expected float32 or float64)" name i p.DType))
        { Name = name; Step = 0L; Slots = slots
          Buffers = ps |> Array.map (fun p -> slots |> Array.map (fun s -> initSlot s p))
          Scalars = scalars; Inner = [||] }

    /// Checks that a state, gradients and parameters belong together, before anything changes.
    let check (name: string) (s: OptimState) (grads: Tensor[]) (ps: Tensor[]) =
        if s.Name <> name then invalidOp (sprintf "%s: the state was made by '%s' (expected '%s')" name s.Name name)
        if grads.Length <> ps.Length then invalidArg "grads" (sprintf "%s: %d gradients for %d parameters" name grads.Length ps.Length)
        if s.Buffers.Length <> ps.Length then invalidOp (sprintf "%s: the state holds %d parameters but %d were given" name s.Buffers.Length ps.Length)
        for i in 0 .. ps.Length - 1 do
            let p, g = ps.[i], grads.[i]
            if isNull g then invalidArg "grads" (sprintf "%s: gradient %d is null" name i)
            if g.Shape <> p.Shape then
                invalidArg "grads" (sprintf "%s: gradient %d has shape %s but its parameter has shape %s" name i (Shape.show g.Shape) (Shape.show p.Shape))
            if g.DType <> p.DType then invalidArg "grads" (sprintf "%s: gradient %d is %O but its parameter is %O" name i g.DType p.DType)
            if s.Buffers.[i].Length <> s.Slots.Length then invalidOp (sprintf "%s: the state of parameter %d has %d buffers (expected %d)" name i s.Buffers.[i].Length s.Slots.Length)
            s.Buffers.[i] |> Array.iteri (fun j b ->
                if b.Shape <> p.Shape || b.DType <> p.DType then
                    invalidOp (sprintf "%s: state buffer '%s' of parameter %d is %O %s but the parameter is %O %s" name s.Slots.[j] i b.DType (Shape.show b.Shape) p.DType (Shape.show p.Shape)))

    /// Runs a rule (one instance per dtype) over every parameter, each by its device's driver: in place (the
    /// state's buffers and the parameters' storage are overwritten) or pure (fresh storage). State slot j is lane
    /// lanes.[j] (1 = A, 2 = B, 3 = C).
    let applyLanes<'R32, 'R64 when 'R32: struct and 'R32 :> IRule<float32> and 'R64: struct and 'R64 :> IRule<float>>
        (name: string) (lanes: int[]) (r32: 'R32) (r64: 'R64) (inPlace: bool) (s: OptimState) (grads: Tensor[]) (ps: Tensor[]) : RawTensor[][] * Tensor[] =
        let results =
            Array.init ps.Length (fun i ->
                let step =
                    match ps.[i].Device with
                    | Cpu -> FusedCpu.step name lanes r32 r64
                    | Ilgpu _ -> FusedIlgpu.step name lanes r32 r64
                step inPlace ps.[i].Raw grads.[i].Raw s.Buffers.[i])
        if inPlace then s.Buffers, ps
        else
            results |> Array.map (fun r -> r.[1..]),
            Array.init ps.Length (fun i -> let t = Tensor(results.[i].[0]) in (if ps.[i].RequiresGrad then t.RequiresGrad <- true); t)

    /// applyLanes with state slot j at lane j+1.
    let apply<'R32, 'R64 when 'R32: struct and 'R32 :> IRule<float32> and 'R64: struct and 'R64 :> IRule<float>>
        (name: string) (r32: 'R32) (r64: 'R64) (inPlace: bool) (s: OptimState) (grads: Tensor[]) (ps: Tensor[]) =
        applyLanes name [| 1; 2; 3 |] r32 r64 inPlace s grads ps

    /// Builds a fused optimizer from its name, slots, slot initializer, initial scalars, the scalars of the
    /// next step (from the state with its step already advanced) and the pass itself.
    let optimizer (name: string) (slots: string[]) (initSlot: string -> Tensor -> RawTensor) (scalars0: float[])
                  (nextScalars: OptimState -> float[])
                  (pass: OptimState -> float[] -> bool -> Tensor[] -> Tensor[] -> RawTensor[][] * Tensor[]) : Optimizer<OptimState> =
        let go inPlace (s: OptimState) (grads: Tensor[]) (ps: Tensor[]) =
            check name s grads ps
            let s1 = { s with Step = s.Step + 1L }
            let scal = nextScalars s1
            let bufs, ps' = pass s1 scal inPlace grads ps
            { s1 with Buffers = bufs; Scalars = scal }, ps'
        { Name = name
          Init = init name slots initSlot scalars0
          Update = go false
          UpdateInPlace = fun s g p -> fst (go true s g p) }
