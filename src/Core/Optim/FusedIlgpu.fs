namespace Hybrid.Core.Optim

open System
open System.Numerics
open ILGPU
open ILGPU.Runtime
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Ilgpu

/// The ILGPU driver of the fused optimizer rules: one generic kernel that calls a rule's scalar `Invoke`,
/// so each rule (`AdamRule`, `SgdRule`, ...) is written once and serves the SIMD CPU loop and the GPU.
/// Slots the rule does not use are flagged off in `has` (bit 0 = A, 1 = B, 2 = C) and never touched.
type FusedKernels =
    /// One element per thread: load p, g and the state lanes, run the rule, store what it wrote.
    static member Kernel<'T, 'R when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType
                                and 'T :> IFloatingPointIeee754<'T> and 'R :> IRule<'T> and 'R: struct>
        (index: Index1D, rule: 'R, p: ArrayView<'T>, g: ArrayView<'T>, a: ArrayView<'T>, b: ArrayView<'T>, c: ArrayView<'T>, has: int) =
        let i = index.X
        let z = Num<'T>('T.Zero)
        let mutable x =
            { P = Num<'T>(p.[i])
              A = (if has &&& 1 <> 0 then Num<'T>(a.[i]) else z)
              B = (if has &&& 2 <> 0 then Num<'T>(b.[i]) else z)
              C = (if has &&& 4 <> 0 then Num<'T>(c.[i]) else z) }
        let mutable r = rule
        r.Invoke(Num<'T>(g.[i]), &x)
        p.[i] <- x.P.V
        if has &&& 1 <> 0 then a.[i] <- x.A.V
        if has &&& 2 <> 0 then b.[i] <- x.B.V
        if has &&& 4 <> 0 then c.[i] <- x.C.V

/// Runs a rule over parameters that live on an ILGPU device.
module FusedIlgpu =
    type private Launch<'T, 'R when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> =
        Action<AcceleratorStream, Index1D, 'R, ArrayView<'T>, ArrayView<'T>, ArrayView<'T>, ArrayView<'T>, ArrayView<'T>, int>

    let private viewOf<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (t: IlgpuRawTensor) =
        (t.Storage.Buffer :?> MemoryBuffer1D<'T, Stride1D.Dense>).View.AsContiguous().SubView(0L, t.Storage.Length)

    /// One in-place pass of `rule` over p with gradient g and state lanes (null where unused), on p's device.
    let run<'T, 'R when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType
                   and 'T :> IFloatingPointIeee754<'T> and 'R :> IRule<'T> and 'R: struct>
        (rule: 'R) (p: IlgpuRawTensor) (g: IlgpuRawTensor) (lanes: IlgpuRawTensor[]) =
        let gpu = p.Gpu
        let launch =
            gpu.Launcher<Launch<'T, 'R>>("fused:" + typeof<'T>.Name + ":" + typeof<'R>.FullName, typeof<FusedKernels>, "Kernel", [| typeof<'T>; typeof<'R> |])
        let pv = viewOf<'T> p
        let lane j = if isNull (box lanes.[j]) then pv else viewOf<'T> lanes.[j]
        let has = (if isNull (box lanes.[0]) then 0 else 1) ||| (if isNull (box lanes.[1]) then 0 else 2) ||| (if isNull (box lanes.[2]) then 0 else 4)
        if p.Numel > 0 then
            launch.Invoke(gpu.Stream, Index1D p.Numel, rule, pv, viewOf<'T> g, lane 0, lane 1, lane 2, has)

    let private copyOf (t: IlgpuRawTensor) : IlgpuRawTensor = t.ReadStrided(t.Shape, Shape.strides t.Shape, 0) :?> IlgpuRawTensor

    /// A device copy of an ILGPU tensor (fresh pooled storage).
    let copy (r: RawTensor) : RawTensor =
        match r with
        | :? IlgpuRawTensor as t -> copyOf t :> RawTensor
        | _ -> invalidArg "r" (sprintf "copy: tensor on %O is not an ILGPU tensor" r.Device)

    /// One step of a parameter on an ILGPU device: [| p'; slot 0'; slot 1'; ... |]. In place overwrites p and
    /// the slots; pure works on device copies. State slot j is lane lanes.[j] (1 = A, 2 = B, 3 = C).
    let step<'R32, 'R64 when 'R32: struct and 'R32 :> IRule<float32> and 'R64: struct and 'R64 :> IRule<float>>
        (name: string) (laneOf: int[]) (r32: 'R32) (r64: 'R64) (inPlace: bool) (p: RawTensor) (g: RawTensor) (slots: RawTensor[]) : RawTensor[] =
        let dev (what: string) (t: RawTensor) =
            match t with
            | :? IlgpuRawTensor as d when d.Device = p.Device -> d
            | _ -> invalidArg what (sprintf "%s: %s is on %O but the parameter is on %O" name what t.Device p.Device)
        let p = dev "params" p
        let g = dev "grads" g
        let slots = slots |> Array.map (dev "state")
        let p, slots = if inPlace then p, slots else copyOf p, Array.map copyOf slots
        let lanes : IlgpuRawTensor[] = Array.zeroCreate 3
        slots |> Array.iteri (fun j s -> lanes.[laneOf.[j] - 1] <- s)
        match p.DType with
        | Float32 -> run<float32, 'R32> r32 p g lanes
        | Float64 -> run<float, 'R64> r64 p g lanes
        | Int64 -> invalidArg "params" (sprintf "%s: int64 parameters cannot be optimized" name)
        Array.append [| p :> RawTensor |] (slots |> Array.map (fun s -> s :> RawTensor))
