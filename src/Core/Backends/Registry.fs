namespace Hybrid.Core.Backends

open Hybrid.Core
open Hybrid.Core.Backends.Cpu
open Hybrid.Core.Backends.Ilgpu

/// The one file above the backends that names them: the `Backend` that creates tensors on a device. Code above the
/// seam (Tensor, Create, Devices, the ops) asks here and sees only `RawTensor` and `Backend`.
module Registry =

    /// The backend in host memory, where tensors built from .NET arrays start.
    let host : Backend = CpuBackend() :> Backend

    /// The backend that creates tensors on a device (an ILGPU accelerator is opened on first use).
    let backendOf (device: Device) : Backend =
        match device with
        | Cpu -> host
        | Ilgpu _ -> IlgpuBackend.For(Runtime.gpu device)

    /// The number of CUDA devices ILGPU sees.
    let cudaCount () = Runtime.cudaCount ()
