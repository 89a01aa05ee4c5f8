namespace Hybrid.Core.Optim

open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

/// Runs a rule over parameters that live on the CPU backend: the arrays behind the tensors go to the SIMD driver
/// `Fused.run` (FusedIlgpu is the same for ILGPU devices), so the optimizers above see only the RawTensor seam.
module FusedCpu =
    let private arrays32 (op: string) (r: RawTensor) =
        match r with
        | :? CpuRawTensor as c -> (match c.Storage with F32 a -> a | _ -> invalidArg "params" (sprintf "%s: expected float32, got %O" op r.DType))
        | _ -> invalidArg "params" (sprintf "%s: tensor on %O (the parameter is on cpu)" op r.Device)
    let private arrays64 (op: string) (r: RawTensor) =
        match r with
        | :? CpuRawTensor as c -> (match c.Storage with F64 a -> a | _ -> invalidArg "params" (sprintf "%s: expected float64, got %O" op r.DType))
        | _ -> invalidArg "params" (sprintf "%s: tensor on %O (the parameter is on cpu)" op r.Device)

    /// [| p; a; b; c |] with state slot j placed at lane laneOf.[j] (null where no slot is placed).
    let private place (laneOf: int[]) (p: 'a[]) (slots: 'a[][]) =
        let src = Array.zeroCreate 4
        src.[0] <- p
        slots |> Array.iteri (fun j b -> src.[laneOf.[j]] <- b)
        src

    let private pass (ofRaw: RawTensor -> 'T[]) (wrap: 'T[] -> CpuStorage) (run: 'T[] -> 'T[][] -> 'T[][] -> unit)
                     (inPlace: bool) (laneOf: int[]) (p: RawTensor) (g: RawTensor) (slots: RawTensor[]) : RawTensor[] =
        let src = place laneOf (ofRaw p) (slots |> Array.map ofRaw)
        let dst = if inPlace then src else src |> Array.map (fun a -> if isNull a then null else Array.zeroCreate a.Length)
        run (ofRaw g) src dst
        let raw (a: 'T[]) = CpuRawTensor(wrap a, Array.copy p.Shape) :> RawTensor
        Array.append [| raw dst.[0] |] (Array.init slots.Length (fun j -> raw dst.[laneOf.[j]]))

    /// One step of a parameter on the CPU: [| p'; slot 0'; slot 1'; ... |]. In place overwrites p and the slots;
    /// pure writes fresh arrays. State slot j is lane laneOf.[j] (1 = A, 2 = B, 3 = C).
    let step<'R32, 'R64 when 'R32: struct and 'R32 :> IRule<float32> and 'R64: struct and 'R64 :> IRule<float>>
        (name: string) (laneOf: int[]) (r32: 'R32) (r64: 'R64) (inPlace: bool) (p: RawTensor) (g: RawTensor) (slots: RawTensor[]) : RawTensor[] =
        match p.DType with
        | Float32 -> pass (arrays32 name) F32 (Fused.run r32) inPlace laneOf p g slots
        | Float64 -> pass (arrays64 name) F64 (Fused.run r64) inPlace laneOf p g slots
        | Int64 -> invalidArg "params" (sprintf "%s: int64 parameters cannot be optimized" name)

    /// A copy of a CPU tensor (fresh storage).
    let copy (r: RawTensor) : RawTensor =
        match r with
        | :? CpuRawTensor as c ->
            (match c.Storage with
             | F32 a -> CpuRawTensor(F32 (Array.copy a), Array.copy r.Shape) :> RawTensor
             | F64 a -> CpuRawTensor(F64 (Array.copy a), Array.copy r.Shape) :> RawTensor
             | I64 a -> CpuRawTensor(I64 (Array.copy a), Array.copy r.Shape) :> RawTensor)
        | _ -> invalidArg "r" (sprintf "copy: tensor on %O is not a cpu tensor" r.Device)
