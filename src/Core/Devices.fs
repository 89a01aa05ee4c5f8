namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// Choosing where tensors live: "cpu" (the managed SIMD backend), "cuda:N", "opencl:N" or "ilgpu-cpu"
/// (ILGPU's CPU accelerator: the GPU kernels run by an emulator, ~200-300x slower than the CPU backend;
/// for proving kernels correct on small tensors, never for speed).
module Devices =

    /// The device a name denotes: "cpu", "cuda", "cuda:N", "opencl:N", "ilgpu-cpu" (case-insensitive).
    let parse (name: string) : Device =
        if isNull name then nullArg "name"
        let s = name.Trim().ToLowerInvariant()
        let kind, index =
            match s.Split(':') with
            | [| k |] -> k, 0
            | [| k; i |] ->
                match Int32.TryParse i with
                | true, v when v >= 0 -> k, v
                | _ -> invalidArg "name" (sprintf "device '%s': index '%s' is not a non-negative integer" name i)
            | _ -> invalidArg "name" (sprintf "device '%s' is not of the form kind or kind:index" name)
        match kind, index with
        | "cpu", 0 -> Cpu
        | ("cuda" | "opencl"), i -> Ilgpu (kind, i)
        | "ilgpu-cpu", 0 -> Ilgpu ("ilgpu-cpu", 0)
        | _ -> invalidArg "name" (sprintf "device '%s' is unknown (expected cpu, cuda:N, opencl:N or ilgpu-cpu)" name)

    /// The number of CUDA devices ILGPU sees.
    let cudaCount () = Registry.cudaCount ()

    /// True when ILGPU sees at least one CUDA device.
    let isCudaAvailable () = cudaCount () > 0

    /// CUDA device 0 when present, else the CPU backend.
    let defaultDevice () = if isCudaAvailable () then Ilgpu ("cuda", 0) else Cpu

    /// The backend that creates tensors on a device (an ILGPU accelerator is opened on first use).
    let backendOf (device: Device) : Backend = Registry.backendOf device

    /// A copy of t on `device` (t itself when it is already there). Differentiable: the gradient is
    /// copied back to t's device.
    let rec toDevice (device: Device) (t: Tensor) : Tensor =
        if isNull t then nullArg "t"
        if t.Device = device then t
        else
            let from = t.Device
            Tensor.Record("to", (backendOf device).Import t.Raw, [| t |], fun g -> [| toDevice from g |])

/// `Device.Default` and friends.
[<AutoOpen>]
module DeviceExtensions =
    type Device with
        /// CUDA device 0 when present, else the CPU backend.
        static member Default = Devices.defaultDevice ()
        /// The device a name denotes ("cpu", "cuda:0", "opencl:0", "ilgpu-cpu").
        static member Parse(name: string) = Devices.parse name

    type Tensor with
        /// A copy on `device` (differentiable; `this` when already there).
        member t.To(device: Device) = Devices.toDevice device t
