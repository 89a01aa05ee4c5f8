namespace Hybrid.Core.Backends.Ilgpu

open System
open System.Collections.Generic
open System.Reflection
open System.Runtime.InteropServices
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.Cuda
open ILGPU.Runtime.OpenCL
open ILGPU.Runtime.CPU
open ILGPU.Algorithms
open Hybrid.Core

/// Device buffers of one accelerator, reused by (element type, length): a freed buffer goes back to its
/// stack and the next request of the same size takes it instead of allocating (ILGPU #840: allocation
/// dominating the time). Thread-safe: buffers come back from finalizers too.
type BufferPool(accelerator: Accelerator) =
    let free = Dictionary<struct (Type * int64), Stack<MemoryBuffer>>()
    // Rented buffers stay rooted here: otherwise a tensor's storage and its MemoryBuffer become unreachable
    // together, ILGPU's finalizer frees the memory, and ours would park a dead buffer for reuse.
    let rented = HashSet<MemoryBuffer>(HashIdentity.Reference)
    let gate = obj ()
    let mutable allocations = 0L
    /// Device allocations made so far (a pool hit does not count).
    member _.Allocations = allocations
    /// Buffers currently held by tensors.
    member _.Rented = lock gate (fun () -> rented.Count)
    /// Buffers currently parked in the pool.
    member _.Parked = lock gate (fun () -> free.Values |> Seq.sumBy (fun s -> s.Count))
    /// A buffer of n elements of 'T (contents undefined): from the pool if one is parked, else allocated.
    member _.Rent<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>(n: int64) : MemoryBuffer1D<'T, Stride1D.Dense> =
        let key = struct (typeof<'T>, n)
        let parked =
            lock gate (fun () ->
                match free.TryGetValue key with
                | true, s when s.Count > 0 -> s.Pop()
                | _ -> null)
        let b =
            match parked with
            | null ->
                allocations <- allocations + 1L
                accelerator.Allocate1D<'T>(max 1L n)
            | b -> b :?> MemoryBuffer1D<'T, Stride1D.Dense>
        lock gate (fun () -> rented.Add b |> ignore)
        b
    /// Give a buffer back for reuse (its length is the key; n is the logical length it was rented with).
    member _.Return(b: MemoryBuffer, elementType: Type, n: int64) =
        let key = struct (elementType, n)
        lock gate (fun () ->
            rented.Remove b |> ignore
            match free.TryGetValue key with
            | true, s -> s.Push b
            | _ -> let s = Stack<MemoryBuffer>() in s.Push b; free.[key] <- s)

/// Where CUDA's native libraries are found when the names ILGPU asks for are missing. ILGPU 1.5.3 asks for the
/// driver as "cuda" (libcuda.so, which a machine with only the driver's libcuda.so.1 lacks) and for cuBLAS as
/// libcublas.so.10, .11 or .12; a CUDA 13 machine has libcublas.so.13, whose v2 entry points (cublasCreate_v2,
/// cublasSgemm_v2, ...) are the same. Each resolver tries the asked name, then the alternatives, in the
/// loader's path and then in $CUDA_PATH, $CUDA_HOME and /usr/local/cuda (lib64).
module CudaLibraries =
    let private alternatives (asked: string) =
        if asked = "cuda" || asked.StartsWith("libcuda.so", StringComparison.Ordinal) then [ "libcuda.so"; "libcuda.so.1" ]
        elif asked.StartsWith("libcublas.so", StringComparison.Ordinal) then [ "libcublas.so.13"; "libcublas.so.12"; "libcublas.so" ]
        else []

    /// The paths tried, in order, when ILGPU asks for `asked` ([] for a library this resolver leaves alone): the
    /// asked name and its alternatives as the loader finds them, then each in the toolkit folders.
    let candidates (asked: string) : string list =
        match alternatives asked with
        | [] -> []
        | alts ->
            let names = List.distinct (asked :: alts)
            let dirs =
                [ Environment.GetEnvironmentVariable "CUDA_PATH"; Environment.GetEnvironmentVariable "CUDA_HOME"; "/usr/local/cuda" ]
                |> List.filter (String.IsNullOrEmpty >> not)
                |> List.map (fun d -> IO.Path.Combine(d, "lib64"))
            names @ [ for d in dirs do for n in names -> IO.Path.Combine(d, n) ]

    let private load (asked: string) =
        candidates asked
        |> List.tryPick (fun n -> match NativeLibrary.TryLoad n with | true, h -> Some h | _ -> None)
        |> Option.defaultValue IntPtr.Zero

    let private install (asm: Assembly) =
        try NativeLibrary.SetDllImportResolver(asm, DllImportResolver(fun name _ _ -> load name))
        with :? InvalidOperationException -> ()   // that assembly already has a resolver: leave it

    /// Installs the resolvers on ILGPU and ILGPU.Algorithms, once, before either loads a CUDA library.
    let internal resolve = lazy (install typeof<Context>.Assembly; install typeof<CuBlas>.Assembly)

/// One ILGPU accelerator as the backend sees it: the accelerator, its buffer pool, and its kernels, each
/// compiled once and cached as a typed launcher (ILGPU #192: never load inside a loop).
type Gpu(device: Device, accelerator: Accelerator) =
    let launchers = Dictionary<string, Delegate>()
    let pool = BufferPool(accelerator)
    // cuBLAS, or why matmul runs without it; made on first use (thread-safe, once)
    let blas =
        lazy (
            if accelerator.AcceleratorType <> AcceleratorType.Cuda then Error "not a CUDA device"
            elif Environment.GetEnvironmentVariable "HYBRID_NO_CUBLAS" = "1" then Error "HYBRID_NO_CUBLAS=1"
            else
                CudaLibraries.resolve.Force()
                try Ok (new CuBlas(accelerator :?> CudaAccelerator))
                with e -> Error (sprintf "cuBLAS did not load (%s: %s)" (e.GetType().Name) e.Message))
    /// The Hybrid device this accelerator serves.
    member _.Device = device
    /// The ILGPU accelerator.
    member _.Accelerator = accelerator
    /// Its buffer pool.
    member _.Pool = pool
    /// The accelerator's default stream (every launch and copy goes through it, so they stay ordered).
    member _.Stream = accelerator.DefaultStream
    /// The typed launcher of a static kernel method (generic ones instantiated at `typeArgs`), compiled on
    /// first use and cached under `key`. Launchers take (stream, extent, args...).
    member _.Launcher<'D when 'D :> Delegate>(key: string, owner: Type, name: string, typeArgs: Type[]) : 'D =
        lock launchers (fun () ->
            match launchers.TryGetValue key with
            | true, d -> d :?> 'D
            | _ ->
                let mi = owner.GetMethod(name, BindingFlags.Public ||| BindingFlags.Static)
                if isNull mi then invalidOp (sprintf "ilgpu: kernel %s.%s not found" owner.Name name)
                let mi = if typeArgs.Length = 0 then mi else mi.MakeGenericMethod typeArgs
                let d = accelerator.LoadAutoGroupedKernel(mi).CreateLauncherDelegate<'D>()
                launchers.[key] <- d
                d)
    /// The typed launcher of an explicitly grouped kernel (shared memory, barriers), generic ones instantiated at
    /// `typeArgs`: (stream, KernelConfig, args...).
    member _.GroupedLauncher<'D when 'D :> Delegate>(key: string, owner: Type, name: string, typeArgs: Type[]) : 'D =
        lock launchers (fun () ->
            match launchers.TryGetValue key with
            | true, d -> d :?> 'D
            | _ ->
                let mi = owner.GetMethod(name, BindingFlags.Public ||| BindingFlags.Static)
                if isNull mi then invalidOp (sprintf "ilgpu: kernel %s.%s not found" owner.Name name)
                let mi = if typeArgs.Length = 0 then mi else mi.MakeGenericMethod typeArgs
                let d = accelerator.LoadKernel(mi).CreateLauncherDelegate<'D>()
                launchers.[key] <- d
                d)
    /// The typed launcher of an explicitly grouped, non-generic kernel.
    member g.GroupedLauncher<'D when 'D :> Delegate>(key: string, owner: Type, name: string) : 'D =
        g.GroupedLauncher<'D>(key, owner, name, [||])
    /// cuBLAS on this accelerator, created on first use: None off CUDA, with HYBRID_NO_CUBLAS=1, or when no
    /// cuBLAS library loads (matmul then runs the tiled kernel; `CuBlasProblem` says why).
    member _.CuBlas : CuBlas option =
        match blas.Value with
        | Ok b -> Some b
        | Error _ -> None
    /// Why matmul does not use cuBLAS here (None when it does).
    member _.CuBlasProblem : string option =
        match blas.Value with
        | Ok _ -> None
        | Error why -> Some why
    /// Wait for every queued kernel and copy.
    member _.Synchronize() = accelerator.Synchronize()

/// The one long-lived ILGPU context (ILGPU #190: recreating it made an autodiff library ~1000x slower)
/// and the accelerators opened on it, one per device, on first use.
module Runtime =
    let private context =
        lazy (
            CudaLibraries.resolve.Force()
            Context.Create(fun b -> b.Default().EnableAlgorithms() |> ignore))
    let private opened = Dictionary<string, Gpu>()

    /// The shared context.
    let Context () = context.Value

    /// CUDA devices ILGPU sees.
    let cudaCount () = try context.Value.GetCudaDevices().Count with _ -> 0
    /// OpenCL devices ILGPU accepts (PoCL's CPU device is not one of them).
    let openClCount () = try context.Value.GetCLDevices().Count with _ -> 0

    let private create (device: Device) : Accelerator =
        let ctx = context.Value
        match device with
        | Ilgpu ("cuda", i) ->
            let n = cudaCount ()
            if i < 0 || i >= n then invalidArg "device" (sprintf "device %O: %d CUDA device(s) present (expected an index below %d)" device n n)
            ctx.GetCudaDevice(i).CreateAccelerator(ctx)
        | Ilgpu ("opencl", i) ->
            let n = openClCount ()
            if i < 0 || i >= n then invalidArg "device" (sprintf "device %O: %d OpenCL device(s) ILGPU accepts (expected an index below %d)" device n n)
            ctx.GetCLDevice(i).CreateAccelerator(ctx)
        | Ilgpu ("ilgpu-cpu", 0) -> ctx.CreateCPUAccelerator(0) :> Accelerator
        | d -> invalidArg "device" (sprintf "device %O is not an ILGPU device (expected cuda:N, opencl:N or ilgpu-cpu)" d)

    /// The accelerator of an ILGPU device, opened once and kept for the process's life.
    let gpu (device: Device) : Gpu =
        let key = string device
        lock opened (fun () ->
            match opened.TryGetValue key with
            | true, g -> g
            | _ ->
                let g = Gpu(device, create device)
                opened.[key] <- g
                g)
