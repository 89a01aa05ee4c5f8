namespace Hybrid.Core.Backends.Ilgpu

open System
open ILGPU
open ILGPU.Runtime
open ILGPU.Runtime.Cuda
open Hybrid.Core
open Hybrid.Core.Backends

/// A pooled device buffer shared by the tensors that view it (Reshape shares, never copies). It goes back
/// to its accelerator's pool when the last holder disposes it, or when the GC finalizes it.
[<AllowNullLiteral>]
type DeviceStorage(gpu: Gpu, buffer: MemoryBuffer, elementType: Type, length: int64) =
    let gate = obj ()
    let mutable refs = 1
    let release () =
        lock gate (fun () ->
            if refs > 0 then
                refs <- refs - 1
                if refs = 0 then gpu.Pool.Return(buffer, elementType, length))
    /// The accelerator that holds it.
    member _.Gpu = gpu
    /// The buffer (a MemoryBuffer1D of the element type, dense).
    member _.Buffer = buffer
    /// Elements in use.
    member _.Length = length
    /// The element type.
    member _.ElementType = elementType
    /// One more holder.
    member s.Retain() = lock gate (fun () -> (if refs = 0 then invalidOp "ilgpu: storage used after it was disposed"); refs <- refs + 1); s
    /// One holder less; the buffer returns to the pool at zero.
    member _.Release() = release ()
    override _.Finalize() = lock gate (fun () -> if refs > 0 then refs <- 0; gpu.Pool.Return(buffer, elementType, length))

/// Launch helpers shared by the tensor and the backend.
module internal Dev =
    type L1<'a> = Action<AcceleratorStream, Index1D, 'a>
    let view<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (s: DeviceStorage) : ArrayView<'T> =
        (s.Buffer :?> MemoryBuffer1D<'T, Stride1D.Dense>).View.AsContiguous().SubView(0L, s.Length)
    /// A fresh (pooled) storage of n elements of 'T, contents undefined.
    let alloc<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType> (gpu: Gpu) (n: int) =
        let b = gpu.Pool.Rent<'T>(int64 n)
        new DeviceStorage(gpu, b, typeof<'T>, int64 n)
    let elementType (dt: DType) = match dt with Float32 -> typeof<float32> | Float64 -> typeof<float> | Int64 -> typeof<int64>
    let allocOf (gpu: Gpu) (dt: DType) (n: int) =
        match dt with Float32 -> alloc<float32> gpu n | Float64 -> alloc<float> gpu n | Int64 -> alloc<int64> gpu n
    /// Upload a small int array (shapes, strides) into a pooled buffer; release it after the launch.
    let meta (gpu: Gpu) (data: int[]) =
        let s = alloc<int> gpu data.Length
        (view<int> s).SubView(0L, int64 data.Length).CopyFromCPU(gpu.Stream, data)
        s
    /// Zero a storage.
    let zero (gpu: Gpu) (s: DeviceStorage) =
        if s.Length > 0L then
            if s.Buffer.ElementSize = 4 then (view<float32> s).MemSetToZero(gpu.Stream)
            elif s.ElementType = typeof<float> then (view<float> s).MemSetToZero(gpu.Stream)
            else (view<int64> s).MemSetToZero(gpu.Stream)

/// When reductions switch from one thread per output to a tree per output, and the tree's group size.
module internal Reduction =
    /// Extents below this are reduced by one thread per output (a group would sit mostly idle).
    let treeMin = 64
    /// Threads per reduction group: the largest power of two up to 256 the accelerator allows.
    let groupSize (gpu: Gpu) =
        let cap = min 256 gpu.Accelerator.MaxNumThreadsPerGroup
        let mutable t = 1
        while t * 2 <= cap do t <- t * 2
        t
    /// A tree kernel of TensorKernels written once over the element type, instantiated at 'T (read through 'W).
    let private tree<'D, 'T, 'W when 'D :> Delegate> (gpu: Gpu) (name: string) : 'D =
        gpu.GroupedLauncher<'D>(name + ":" + typeof<'T>.Name, typeof<TensorKernels>, name, [| typeof<'T>; typeof<'W> |])
    /// TensorKernels.SumSeg: the float64 partial sums of segments of rows of x into y.
    let sumSeg<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>> (gpu: Gpu) (cfg: KernelConfig) (x: ArrayView<'T>) (y: ArrayView<float>) (k: int) (seg: int) (p: int) =
        (tree<Action<AcceleratorStream, KernelConfig, ArrayView<'T>, ArrayView<float>, int, int, int>, 'T, 'W> gpu "SumSeg").Invoke(gpu.Stream, cfg, x, y, k, seg, p)
    /// TensorKernels.ExtremeTree: the max or min of each output's strided elements, and its index.
    let extreme<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>> (gpu: Gpu) (cfg: KernelConfig) (x: ArrayView<'T>) (v: ArrayView<'T>) (ix: ArrayView<int64>) (dim: int) (inner: int) (isMax: int) =
        (tree<Action<AcceleratorStream, KernelConfig, ArrayView<'T>, ArrayView<'T>, ArrayView<int64>, int, int, int>, 'T, 'W> gpu "ExtremeTree").Invoke(gpu.Stream, cfg, x, v, ix, dim, inner, isMax)
    /// TensorKernels.SoftmaxTree: softmax (log = 1: log-softmax) of each row.
    let softmax<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>> (gpu: Gpu) (cfg: KernelConfig) (x: ArrayView<'T>) (y: ArrayView<'T>) (dim: int) (inner: int) (log: int) =
        (tree<Action<AcceleratorStream, KernelConfig, ArrayView<'T>, ArrayView<'T>, int, int, int>, 'T, 'W> gpu "SoftmaxTree").Invoke(gpu.Stream, cfg, x, y, dim, inner, log)
    /// ScanKernels.Scan: the running sum or product (prod = 1) of each line, forwards or from the end (rev = 1).
    let scan<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>> (gpu: Gpu) (ext: Index1D) (x: ArrayView<'T>) (y: ArrayView<'T>) (dim: int) (inner: int) (prod: int) (rev: int) =
        gpu.Launcher<Action<AcceleratorStream, Index1D, ArrayView<'T>, ArrayView<'T>, int, int, int, int>>("Scan:" + typeof<'T>.Name, typeof<ScanKernels>, "Scan", [| typeof<'T>; typeof<'W> |])
            .Invoke(gpu.Stream, ext, x, y, dim, inner, prod, rev)

/// Matrix products on dense device buffers: cuBLAS on CUDA (when it loads), else the tiled shared-memory kernel.
module internal Gemm =
    /// c [nb, m, n] = op(a_z) · op(b_z) for each z < nb, where a holds nb dense [m, k] matrices ([k, m] when ta)
    /// and b nb dense [k, n] matrices ([n, k] when tb): the transposes are read in place, never copied.
    let run (gpu: Gpu) (dt: DType) (a: DeviceStorage) (b: DeviceStorage) (nb: int) (m: int) (n: int) (k: int) (ta: bool) (tb: bool) : DeviceStorage =
        let c = Dev.allocOf gpu dt (nb * m * n)
        if nb * m * n > 0 then
            if k = 0 then Dev.zero gpu c
            elif gpu.CuBlas.IsSome then
                // row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ. A row-major buffer read column-major
                // is its transpose, so B (stored [k, n], ld n) is op(B)ᵀ as is; stored [n, k] (tb, ld k) it needs
                // the Transpose flag; likewise A with ld k (as is) or m (ta, Transpose).
                let blas = gpu.CuBlas.Value
                blas.Stream <- (gpu.Stream :?> CudaStream)
                let opA = if ta then CuBlasOperation.Transpose else CuBlasOperation.NonTranspose
                let opB = if tb then CuBlasOperation.Transpose else CuBlasOperation.NonTranspose
                let lda = if ta then m else k
                let ldb = if tb then k else n
                for z in 0 .. nb - 1 do
                    let sub (v: ArrayView<'T>) (size: int) = v.SubView(int64 (z * size), int64 size)
                    match dt with
                    | Float32 -> blas.Gemm(opB, opA, n, m, k, 1.0f, sub (Dev.view<float32> b) (k * n), ldb, sub (Dev.view<float32> a) (m * k), lda, 0.0f, sub (Dev.view<float32> c) (m * n), n)
                    | _ -> blas.Gemm(opB, opA, n, m, k, 1.0, sub (Dev.view<float> b) (k * n), ldb, sub (Dev.view<float> a) (m * k), lda, 0.0, sub (Dev.view<float> c) (m * n), n)
            else
                let t = if gpu.Accelerator.MaxNumThreadsPerGroup >= 256 then 16 else 4
                let grid = Index3D((n + t - 1) / t, (m + t - 1) / t, nb)
                let group = Index3D(t, t, 1)
                let fa, fb = (if ta then 1 else 0), (if tb then 1 else 0)
                match dt with
                | Float32 ->
                    let cfg = KernelConfig(grid, group, SharedMemoryConfig.RequestDynamic<float32>(2 * t * t))
                    gpu.GroupedLauncher<Action<AcceleratorStream, KernelConfig, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, int, int, int, int, int, int>>("Matmul32", typeof<TensorKernels>, "Matmul32").Invoke(gpu.Stream, cfg, Dev.view a, Dev.view b, Dev.view c, m, n, k, t, fa, fb)
                | _ ->
                    let cfg = KernelConfig(grid, group, SharedMemoryConfig.RequestDynamic<float>(2 * t * t))
                    gpu.GroupedLauncher<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int, int>>("Matmul64", typeof<TensorKernels>, "Matmul64").Invoke(gpu.Stream, cfg, Dev.view a, Dev.view b, Dev.view c, m, n, k, t, fa, fb)
        c

/// The ILGPU backend's tensor: a dense row-major pooled device buffer on one accelerator. Every op runs
/// kernels on that accelerator (nothing round-trips through the host but explicit transfers). Disposing it gives its buffer back to the pool at once; otherwise
/// the GC does, when the tensor is collected.
type IlgpuRawTensor(storage: DeviceStorage, dtype: DType, shape: int[]) =
    inherit RawTensor(shape, dtype, storage.Gpu.Device)
    let gpu = storage.Gpu
    let n = Shape.numel shape

    static let ty = typeof<TensorKernels>

    /// The device storage.
    member _.Storage = storage
    /// The accelerator.
    member _.Gpu = gpu
    member internal _.V32 = Dev.view<float32> storage
    member internal _.V64 = Dev.view<float> storage
    member internal _.VI64 = Dev.view<int64> storage

    /// Another ILGPU tensor on this device (or an error naming both devices).
    member private t.Same (op: string) (o: RawTensor) : IlgpuRawTensor =
        match o with
        | :? IlgpuRawTensor as g when g.Device = t.Device -> g
        | _ -> invalidArg "other" (sprintf "%s: tensors are on different devices (%O and %O)" op t.Device o.Device)
    /// An int64 index tensor on this device (indices made on the host are uploaded).
    member private t.Indices (o: RawTensor) : IlgpuRawTensor =
        let g = match o with :? IlgpuRawTensor as g when g.Device = t.Device -> o | _ -> t.Backend.Import o
        (if g.DType = Int64 then g else g.Cast Int64) :?> IlgpuRawTensor

    member private _.Launch1<'D when 'D :> Delegate>(name: string) : 'D = gpu.Launcher<'D>(name, ty, name, [||])
    member private _.LaunchT<'D when 'D :> Delegate>(name: string, dt: DType) : 'D =
        gpu.Launcher<'D>(name + string dt, ty, name, [| Dev.elementType dt |])

    /// Wrap a fresh storage.
    static member internal Of(s: DeviceStorage, dt: DType, shape: int[]) = new IlgpuRawTensor(s, dt, shape) :> RawTensor

    /// y = the elements of this read through strides `st` from offset `at`, laid out as `outShape`.
    member internal t.ReadStrided(outShape: int[], st: int[], at: int) : RawTensor =
        let m = Shape.numel outShape
        let y = Dev.allocOf gpu dtype m
        if m > 0 then
            let meta = Dev.meta gpu (Array.concat [ [| outShape.Length |]; outShape; st; [| at |] ])
            let ext = Index1D m
            match dtype with
            | Float32 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("Read", dtype).Invoke(gpu.Stream, ext, t.V32, Dev.view y, Dev.view meta)
            | Float64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("Read", dtype).Invoke(gpu.Stream, ext, t.V64, Dev.view y, Dev.view meta)
            | Int64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<int64>, ArrayView<int>>>("Read", dtype).Invoke(gpu.Stream, ext, t.VI64, Dev.view y, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(y, dtype, outShape)

    /// Write this tensor's elements into `dst` at strides `st` from offset `at`.
    member internal t.WriteStrided(dst: DeviceStorage, st: int[], at: int) =
        if n > 0 then
            let meta = Dev.meta gpu (Array.concat [ [| shape.Length |]; shape; st; [| at |] ])
            let ext = Index1D n
            match dtype with
            | Float32 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("Write", dtype).Invoke(gpu.Stream, ext, t.V32, Dev.view dst, Dev.view meta)
            | Float64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("Write", dtype).Invoke(gpu.Stream, ext, t.V64, Dev.view dst, Dev.view meta)
            | Int64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<int64>, ArrayView<int>>>("Write", dtype).Invoke(gpu.Stream, ext, t.VI64, Dev.view dst, Dev.view meta)
            meta.Release()

    member private _.FloatsOnly(op: string) =
        if dtype = Int64 then raise (NotSupportedException(sprintf "%s: not defined for int64 tensors (expected float32 or float64)" op))

    override _.Backend = IlgpuBackend.For(gpu)

    override t.ToFloat32Array() =
        match dtype with
        | Float32 -> if n = 0 then [||] else t.V32.GetAsArray(gpu.Stream)
        | Float64 -> (if n = 0 then [||] else t.V64.GetAsArray(gpu.Stream)) |> Array.map float32
        | Int64 -> (if n = 0 then [||] else t.VI64.GetAsArray(gpu.Stream)) |> Array.map float32
    override t.ToFloat64Array() =
        match dtype with
        | Float32 -> (if n = 0 then [||] else t.V32.GetAsArray(gpu.Stream)) |> Array.map float
        | Float64 -> if n = 0 then [||] else t.V64.GetAsArray(gpu.Stream)
        | Int64 -> (if n = 0 then [||] else t.VI64.GetAsArray(gpu.Stream)) |> Array.map float
    override t.ToInt64Array() =
        match dtype with
        | Float32 -> (if n = 0 then [||] else t.V32.GetAsArray(gpu.Stream)) |> Array.map int64
        | Float64 -> (if n = 0 then [||] else t.V64.GetAsArray(gpu.Stream)) |> Array.map int64
        | Int64 -> if n = 0 then [||] else t.VI64.GetAsArray(gpu.Stream)
    override t.Cast dt =
        if dt = dtype then t :> RawTensor
        else
            let y = Dev.allocOf gpu dt n
            if n > 0 then
                let ext = Index1D n
                let s = gpu.Stream
                match dtype, dt with
                | Float32, Float64 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float>>>("F32ToF64").Invoke(s, ext, t.V32, Dev.view y)
                | Float64, Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float32>>>("F64ToF32").Invoke(s, ext, t.V64, Dev.view y)
                | Float32, Int64 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<int64>>>("F32ToI64").Invoke(s, ext, t.V32, Dev.view y)
                | Float64, Int64 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int64>>>("F64ToI64").Invoke(s, ext, t.V64, Dev.view y)
                | Int64, Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<float32>>>("I64ToF32").Invoke(s, ext, t.VI64, Dev.view y)
                | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<float>>>("I64ToF64").Invoke(s, ext, t.VI64, Dev.view y)
            IlgpuRawTensor.Of(y, dt, shape)

    // ---- layout
    override t.Reshape s = IlgpuRawTensor.Of(storage.Retain(), dtype, s)
    override t.Permute dims =
        let st = Shape.strides shape
        t.ReadStrided(dims |> Array.map (fun d -> shape.[d]), dims |> Array.map (fun d -> st.[d]), 0)
    override t.Expand s =
        if s = shape then t :> RawTensor else t.ReadStrided(s, Geometry.broadcastStrides shape s, 0)
    override t.Slice(starts, stops, steps) =
        let st = Shape.strides shape
        t.ReadStrided(Geometry.sliceShape starts stops steps, Array.map2 (*) st steps, Array.fold2 (fun acc a b -> acc + a * b) 0 starts st)
    override t.SliceScatter(full, starts, stops, steps) =
        let y = Dev.allocOf gpu dtype (Shape.numel full)
        Dev.zero gpu y
        let st = Shape.strides full
        t.WriteStrided(y, Array.map2 (*) st steps, Array.fold2 (fun acc a b -> acc + a * b) 0 starts st)
        IlgpuRawTensor.Of(y, dtype, full)
    override t.Concat(others, dim) =
        let parts = Array.append [| t |] (others |> Array.map (t.Same "concat"))
        parts |> Array.iter (fun p -> if p.DType <> dtype then invalidArg "others" (sprintf "concat: dtypes %O and %O differ" dtype p.DType))
        let outShape = Array.copy shape
        outShape.[dim] <- parts |> Array.sumBy (fun p -> p.Shape.[dim])
        let y = Dev.allocOf gpu dtype (Shape.numel outShape)
        let st = Shape.strides outShape
        let mutable at = 0
        for p in parts do
            p.WriteStrided(y, st, at * st.[dim])
            at <- at + p.Shape.[dim]
        IlgpuRawTensor.Of(y, dtype, outShape)
    override t.IndexSelect(dim, index) =
        let ix = t.Indices index
        let outer, size, inner = Geometry.around shape dim
        let m = ix.Numel
        let s = Array.copy shape
        s.[dim] <- m
        let total = outer * m * inner
        let y = Dev.allocOf gpu dtype total
        if total > 0 then
            let ext = Index1D total
            match dtype with
            | Float32 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<int64>, ArrayView<float32>, int, int, int>>("IndexSelect", dtype).Invoke(gpu.Stream, ext, t.V32, ix.VI64, Dev.view y, size, m, inner)
            | Float64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int64>, ArrayView<float>, int, int, int>>("IndexSelect", dtype).Invoke(gpu.Stream, ext, t.V64, ix.VI64, Dev.view y, size, m, inner)
            | Int64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<int64>, ArrayView<int64>, int, int, int>>("IndexSelect", dtype).Invoke(gpu.Stream, ext, t.VI64, ix.VI64, Dev.view y, size, m, inner)
        IlgpuRawTensor.Of(y, dtype, s)
    override t.IndexAdd(full, dim, index) =
        t.FloatsOnly "index_add"
        let ix = t.Indices index
        let _, size, inner = Geometry.around full dim
        let m = ix.Numel
        let y = Dev.allocOf gpu dtype (Shape.numel full)
        Dev.zero gpu y
        if n > 0 then
            let ext = Index1D n
            match dtype with
            | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<int64>, ArrayView<float32>, int, int, int>>("IndexAdd32").Invoke(gpu.Stream, ext, t.V32, ix.VI64, Dev.view y, size, m, inner)
            | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int64>, ArrayView<float>, int, int, int>>("IndexAdd64").Invoke(gpu.Stream, ext, t.V64, ix.VI64, Dev.view y, size, m, inner)
        IlgpuRawTensor.Of(y, dtype, full)
    override t.Gather(dim, index) =
        let ix = t.Indices index
        let m = ix.Numel
        let y = Dev.allocOf gpu dtype m
        if m > 0 then
            let meta = Dev.meta gpu (Array.concat [ [| ix.Rank |]; ix.Shape; Shape.strides shape; [| dim |] ])
            let ext = Index1D m
            match dtype with
            | Float32 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<int64>, ArrayView<float32>, ArrayView<int>>>("GatherDim", dtype).Invoke(gpu.Stream, ext, t.V32, ix.VI64, Dev.view y, Dev.view meta)
            | Float64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int64>, ArrayView<float>, ArrayView<int>>>("GatherDim", dtype).Invoke(gpu.Stream, ext, t.V64, ix.VI64, Dev.view y, Dev.view meta)
            | Int64 -> t.LaunchT<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<int64>, ArrayView<int64>, ArrayView<int>>>("GatherDim", dtype).Invoke(gpu.Stream, ext, t.VI64, ix.VI64, Dev.view y, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(y, dtype, Array.copy ix.Shape)
    override t.ScatterAdd(dim, index, src) =
        t.FloatsOnly "scatter_add"
        let ix = t.Indices index
        let src = t.Same "scatter_add" src
        if src.DType <> dtype then invalidArg "src" (sprintf "scatter_add: dtypes %O and %O differ (expected the same float dtype)" dtype src.DType)
        let y = t.ReadStrided(shape, Shape.strides shape, 0) :?> IlgpuRawTensor
        let m = ix.Numel
        if m > 0 then
            let meta = Dev.meta gpu (Array.concat [ [| ix.Rank |]; ix.Shape; Shape.strides shape; Shape.strides src.Shape; [| dim |] ])
            let ext = Index1D m
            match dtype with
            | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("ScatterAdd32").Invoke(gpu.Stream, ext, ix.VI64, src.V32, y.V32, Dev.view meta)
            | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<int64>, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("ScatterAdd64").Invoke(gpu.Stream, ext, ix.VI64, src.V64, y.V64, Dev.view meta)
            meta.Release()
        y :> RawTensor

    // ---- pointwise
    override t.Unary op =
        if dtype = Int64 then t.FloatsOnly (sprintf "%A" op)
        let struct (code, p, q) = Scalar.unaryCode op
        let y = Dev.allocOf gpu dtype n
        if n > 0 then
            let ext = Index1D n
            match dtype with
            | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, int, float, float>>("Map32").Invoke(gpu.Stream, ext, t.V32, Dev.view y, code, p, q)
            | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, float, float>>("Map64").Invoke(gpu.Stream, ext, t.V64, Dev.view y, code, p, q)
        IlgpuRawTensor.Of(y, dtype, shape)
    override t.Binary(op, other) =
        // a plain match for the op's name: sprintf "%A" costs ~90 µs a call
        let name = match op with Add -> "Add" | Sub -> "Sub" | Mul -> "Mul" | Div -> "Div" | Pow -> "Pow" | Maximum -> "Maximum" | Minimum -> "Minimum" | Eq -> "Eq" | Ne -> "Ne" | Lt -> "Lt" | Le -> "Le" | Gt -> "Gt" | Ge -> "Ge" | Atan2 -> "Atan2" | Hypot -> "Hypot"
        let o = t.Same name other
        let outShape = Shape.broadcast name shape o.Shape
        let isCompare = match op with Eq | Ne | Lt | Le | Gt | Ge -> true | _ -> false
        match dtype, o.DType with
        | Int64, Int64 when isCompare ->
            // exact for |v| < 2^53: compare as float64 on the device, back to int64
            (t.Cast(Float64).Binary(op, o.Cast Float64)).Cast Int64
        | a, b when a <> b || a = Int64 ->
            invalidArg "other" (sprintf "%s: dtypes %O and %O differ (expected the same float dtype)" name a b)
        | _ ->
            let m = Shape.numel outShape
            let y = Dev.allocOf gpu dtype m
            if m > 0 then
                let meta = Dev.meta gpu (Array.concat [ [| outShape.Length |]; outShape; Geometry.broadcastStrides shape outShape; Geometry.broadcastStrides o.Shape outShape ])
                let ext = Index1D m
                let code = Scalar.binaryCode op
                match dtype with
                | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, int, ArrayView<int>>>("Bin32").Invoke(gpu.Stream, ext, t.V32, o.V32, Dev.view y, code, Dev.view meta)
                | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, ArrayView<int>>>("Bin64").Invoke(gpu.Stream, ext, t.V64, o.V64, Dev.view y, code, Dev.view meta)
                meta.Release()
            IlgpuRawTensor.Of(y, dtype, outShape)
    override t.Where(a, b) =
        let a = t.Same "where" a
        let b = t.Same "where" b
        if a.DType <> b.DType || not a.DType.IsFloat then
            invalidArg "b" (sprintf "where: dtypes %O and %O differ (expected the same float dtype)" a.DType b.DType)
        let outShape = Shape.broadcast "where" (Shape.broadcast "where" shape a.Shape) b.Shape
        let c = t.Cast a.DType :?> IlgpuRawTensor
        let m = Shape.numel outShape
        let y = Dev.allocOf gpu a.DType m
        if m > 0 then
            let bs s = Geometry.broadcastStrides s outShape
            let meta = Dev.meta gpu (Array.concat [ [| outShape.Length |]; outShape; bs shape; bs a.Shape; bs b.Shape ])
            let ext = Index1D m
            match a.DType with
            | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("Where32").Invoke(gpu.Stream, ext, c.V32, a.V32, b.V32, Dev.view y, Dev.view meta)
            | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("Where64").Invoke(gpu.Stream, ext, c.V64, a.V64, b.V64, Dev.view y, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(y, a.DType, outShape)

    // ---- reductions
    override t.SumDims(dims, keepDim) =
        t.FloatsOnly "sum"
        let outShape = Shape.reduced shape dims keepDim
        let kept = [| 0 .. shape.Length - 1 |] |> Array.filter (fun d -> not (Array.contains d dims))
        // move the reduced dims last, then sum rows of k elements
        let k = dims |> Array.fold (fun acc d -> acc * shape.[d]) 1
        let rows = Shape.numel outShape
        let x = if Array.append kept (Array.sort dims) = [| 0 .. shape.Length - 1 |] then t :> RawTensor else t.Permute(Array.append kept (Array.sort dims))
        let x = x :?> IlgpuRawTensor
        let y = Dev.allocOf gpu dtype rows
        if rows > 0 then
            if k = 0 then Dev.zero gpu y
            elif k < Reduction.treeMin then
                let ext = Index1D rows
                match dtype with
                | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, int>>("SumRows32").Invoke(gpu.Stream, ext, x.V32, Dev.view y, k)
                | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int>>("SumRows64").Invoke(gpu.Stream, ext, x.V64, Dev.view y, k)
            else
                // tree: each row cut into p segments of `seg`, one group each, into float64 partials [rows, p];
                // then the partials are summed the same way until one value per row is left
                let nt = Reduction.groupSize gpu
                let seg = nt * 32
                let cfg groups = KernelConfig(Index1D groups, Index1D nt, SharedMemoryConfig.RequestDynamic<float>(nt))
                let mutable len = k
                let mutable p = (len + seg - 1) / seg
                let mutable part = Dev.alloc<float> gpu (rows * p)
                match dtype with
                | Float32 -> Reduction.sumSeg<float32, Widen32> gpu (cfg (rows * p)) x.V32 (Dev.view part) len seg p
                | _ -> Reduction.sumSeg<float, Widen64> gpu (cfg (rows * p)) x.V64 (Dev.view part) len seg p
                while p > 1 do
                    len <- p
                    p <- (len + seg - 1) / seg
                    let next = Dev.alloc<float> gpu (rows * p)
                    Reduction.sumSeg<float, Widen64> gpu (cfg (rows * p)) (Dev.view part) (Dev.view next) len seg p
                    part.Release()
                    part <- next
                match dtype with
                | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float32>>>("F64ToF32").Invoke(gpu.Stream, Index1D rows, Dev.view part, Dev.view y)
                | _ ->
                    let dst = Dev.view<float> y
                    (Dev.view<float> part).CopyTo(gpu.Stream, &dst)
                part.Release()
        if not (obj.ReferenceEquals(x, t)) then x.Dispose()
        IlgpuRawTensor.Of(y, dtype, outShape)
    override t.ExtremeDim(isMax, dim, keepDim) =
        t.FloatsOnly (if isMax then "max" else "min")
        let outer, k, inner = Geometry.around shape dim
        let s = Shape.reduced shape [| dim |] keepDim
        let m = outer * inner
        let v = Dev.allocOf gpu dtype m
        let ix = Dev.alloc<int64> gpu m
        if m > 0 then
            let ext = Index1D m
            let flag = if isMax then 1 else 0
            if k < Reduction.treeMin then
                match dtype with
                | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int64>, int, int, int>>("Extreme32").Invoke(gpu.Stream, ext, t.V32, Dev.view v, Dev.view ix, k, inner, flag)
                | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int64>, int, int, int>>("Extreme64").Invoke(gpu.Stream, ext, t.V64, Dev.view v, Dev.view ix, k, inner, flag)
            else
                let nt = Reduction.groupSize gpu
                let cfg = KernelConfig(Index1D m, Index1D nt, SharedMemoryConfig.RequestDynamic<float>(2 * nt))
                match dtype with
                | Float32 -> Reduction.extreme<float32, Widen32> gpu cfg t.V32 (Dev.view v) (Dev.view ix) k inner flag
                | _ -> Reduction.extreme<float, Widen64> gpu cfg t.V64 (Dev.view v) (Dev.view ix) k inner flag
        IlgpuRawTensor.Of(v, dtype, s), IlgpuRawTensor.Of(ix, Int64, Array.copy s)
    override t.Scan(op, dim, reverse) =
        t.FloatsOnly (match op with CumSum -> "cumsum" | CumProd -> "cumprod")
        let outer, k, inner = Geometry.around shape dim
        let y = Dev.allocOf gpu dtype n
        if n > 0 then
            let ext = Index1D (outer * inner)
            let prod = match op with CumProd -> 1 | CumSum -> 0
            let rev = if reverse then 1 else 0
            match dtype with
            | Float32 -> Reduction.scan<float32, Widen32> gpu ext t.V32 (Dev.view y) k inner prod rev
            | _ -> Reduction.scan<float, Widen64> gpu ext t.V64 (Dev.view y) k inner prod rev
        IlgpuRawTensor.Of(y, dtype, shape)
    member private t.SoftmaxOf(dim: int, log: int) : RawTensor =
        t.FloatsOnly (if log = 1 then "log_softmax" else "softmax")
        let outer, k, inner = Geometry.around shape dim
        let y = Dev.allocOf gpu dtype n
        if n > 0 then
            if k < Reduction.treeMin then
                let ext = Index1D (outer * inner)
                match dtype with
                | Float32 -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, int, int, int>>("Softmax32").Invoke(gpu.Stream, ext, t.V32, Dev.view y, k, inner, log)
                | _ -> t.Launch1<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int, int>>("Softmax64").Invoke(gpu.Stream, ext, t.V64, Dev.view y, k, inner, log)
            else
                let nt = Reduction.groupSize gpu
                let cfg = KernelConfig(Index1D (outer * inner), Index1D nt, SharedMemoryConfig.RequestDynamic<float>(nt))
                match dtype with
                | Float32 -> Reduction.softmax<float32, Widen32> gpu cfg t.V32 (Dev.view y) k inner log
                | _ -> Reduction.softmax<float, Widen64> gpu cfg t.V64 (Dev.view y) k inner log
        IlgpuRawTensor.Of(y, dtype, shape)
    override t.Softmax dim = t.SoftmaxOf(dim, 0)
    override t.LogSoftmax dim = t.SoftmaxOf(dim, 1)

    // ---- matmul: cuBLAS on CUDA, else the tiled shared-memory kernel; transposes are read in place
    override t.Matmul other = t.MatmulT(other, false, false)
    override t.MatmulT(other, transA, transB) =
        let o = t.Same "matmul" other
        if o.DType <> dtype || not dtype.IsFloat then
            invalidArg "other" (sprintf "matmul: dtypes %O and %O differ (expected the same float dtype)" dtype o.DType)
        let ra, rb = shape.Length, o.Shape.Length
        let m, k = (if transA then shape.[ra - 1], shape.[ra - 2] else shape.[ra - 2], shape.[ra - 1])
        let n2 = if transB then o.Shape.[rb - 2] else o.Shape.[rb - 1]
        let batch = Shape.broadcast "matmul" shape.[.. ra - 3] o.Shape.[.. rb - 3]
        // broadcast batch dims are materialised (Expand returns the tensor itself when nothing broadcasts)
        let a = t.Expand(Array.append batch shape.[ra - 2 ..]) :?> IlgpuRawTensor
        let b = o.Expand(Array.append batch o.Shape.[rb - 2 ..]) :?> IlgpuRawTensor
        let c = Gemm.run gpu dtype a.Storage b.Storage (Shape.numel batch) m n2 k transA transB
        IlgpuRawTensor.Of(c, dtype, Array.append batch [| m; n2 |])

    // ---- convolution: im2col / col2im kernels around one gemm per group over the whole batch (layout in ConvKernels.fs)
    /// The launcher of a ConvKernels kernel written once over the element type, instantiated at dt.
    member private _.LaunchC<'D when 'D :> Delegate>(name: string, dt: DType) : 'D =
        let args = if dt = Float32 then [| typeof<float32>; typeof<Widen32> |] else [| typeof<float>; typeof<Widen64> |]
        gpu.Launcher<'D>("ConvKernels." + name + ":" + args.[0].Name, typeof<ConvKernels>, name, args)
    /// [N; C; H; W; G; Cg; kH; kW; sH; sW; pH; pW; dH; dW; Ho; Wo] of a conv2d.
    static member private ConvGeo(xShape: int[], wShape: int[], spec: Conv2dSpec) =
        let (sh, sw), (ph, pw), (dh, dw) = spec.Stride, spec.Padding, spec.Dilation
        let ho = Geometry.convOutSize xShape.[2] wShape.[2] sh ph dh
        let wo = Geometry.convOutSize xShape.[3] wShape.[3] sw pw dw
        let g = [| xShape.[0]; xShape.[1]; xShape.[2]; xShape.[3]; spec.Groups; xShape.[1] / spec.Groups; wShape.[2]; wShape.[3]; sh; sw; ph; pw; dh; dw; ho; wo |]
        let colLen = int64 xShape.[1] * int64 wShape.[2] * int64 wShape.[3] * int64 xShape.[0] * int64 ho * int64 wo
        if colLen > int64 Int32.MaxValue then
            raise (NotSupportedException(sprintf "conv2d: the column matrix of input %s and weight %s has %d elements (the ILGPU kernels index below 2^31; use a smaller batch)" (Shape.show xShape) (Shape.show wShape) colLen))
        g
    /// The column matrix [G, Cg·kH·kW, N·Ho·Wo] of input x.
    member private _.Im2col(x: IlgpuRawTensor, g: int[]) : DeviceStorage =
        let len = g.[1] * g.[6] * g.[7] * g.[0] * g.[14] * g.[15]
        let col = Dev.allocOf gpu dtype len
        if len > 0 then
            let meta = Dev.meta gpu g
            match dtype with
            | Float32 -> x.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("Im2col", dtype).Invoke(gpu.Stream, Index1D len, x.V32, Dev.view col, Dev.view meta)
            | _ -> x.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("Im2col", dtype).Invoke(gpu.Stream, Index1D len, x.V64, Dev.view col, Dev.view meta)
            meta.Release()
        col
    /// The input-shaped [N, C, H, W] adjoint of Im2col.
    member private t.Col2im(col: DeviceStorage, g: int[]) : DeviceStorage =
        let len = g.[0] * g.[1] * g.[2] * g.[3]
        let x = Dev.allocOf gpu dtype len
        if len > 0 then
            let meta = Dev.meta gpu g
            match dtype with
            | Float32 -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("Col2im", dtype).Invoke(gpu.Stream, Index1D len, Dev.view col, Dev.view x, Dev.view meta)
            | _ -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("Col2im", dtype).Invoke(gpu.Stream, Index1D len, Dev.view col, Dev.view x, Dev.view meta)
            meta.Release()
        x
    /// This gradient [N, O, Ho, Wo] read as [G, Og, N·Ho·Wo] (the layout of the per-group gemms).
    member private t.GroupMajor(g: int[]) : IlgpuRawTensor =
        let n, gr, l = g.[0], g.[4], g.[14] * g.[15]
        let og = shape.[1] / gr
        t.ReadStrided([| gr; og; n; l |], [| og * l; l; gr * og * l; 1 |], 0) :?> IlgpuRawTensor
    member private t.CheckFloat(op: string, other: IlgpuRawTensor) =
        if other.DType <> dtype || not dtype.IsFloat then
            invalidArg "other" (sprintf "%s: dtypes %O and %O differ (expected the same float dtype)" op dtype other.DType)
    override t.Conv2d(weight, spec) =
        let w = t.Same "conv2d" weight
        t.CheckFloat("conv2d", w)
        let g = IlgpuRawTensor.ConvGeo(shape, w.Shape, spec)
        let n, gr, og, k, l = g.[0], g.[4], w.Shape.[0] / g.[4], g.[5] * g.[6] * g.[7], g.[14] * g.[15]
        let col = t.Im2col(t, g)
        // y_g [Og, N·L] = W_g [Og, K] · col_g [K, N·L], then [G, Og, N, L] -> [N, G·Og, Ho, Wo] (channel o = g·Og + o' sits at o·N·L)
        let y = new IlgpuRawTensor(Gemm.run gpu dtype w.Storage col gr og (n * l) k false false, dtype, [| gr; og; n; l |])
        col.Release()
        let r = y.ReadStrided([| n; gr * og; g.[14]; g.[15] |], [| l; n * l; g.[15]; 1 |], 0)
        y.Dispose()
        r
    override t.Conv2dBackwardInput(weight, inputShape, spec) =
        let w = t.Same "conv2d" weight
        t.CheckFloat("conv2d", w)
        let g = IlgpuRawTensor.ConvGeo(inputShape, w.Shape, spec)
        let n, gr, og, k, l = g.[0], g.[4], w.Shape.[0] / g.[4], g.[5] * g.[6] * g.[7], g.[14] * g.[15]
        // col_g [K, N·L] = W_gᵀ [K, Og] · gy_g [Og, N·L], then col2im
        let gy = t.GroupMajor g
        let col = Gemm.run gpu dtype w.Storage gy.Storage gr k (n * l) og true false
        gy.Dispose()
        let gx = t.Col2im(col, g)
        col.Release()
        IlgpuRawTensor.Of(gx, dtype, Array.copy inputShape)
    override t.Conv2dBackwardWeight(input, weightShape, spec) =
        let x = t.Same "conv2d" input
        t.CheckFloat("conv2d", x)
        let g = IlgpuRawTensor.ConvGeo(x.Shape, weightShape, spec)
        let n, gr, og, k, l = g.[0], g.[4], weightShape.[0] / g.[4], g.[5] * g.[6] * g.[7], g.[14] * g.[15]
        // gw_g [Og, K] = gy_g [Og, N·L] · col_gᵀ [N·L, K]: the sum over the batch is the gemm's inner dimension
        let col = t.Im2col(x, g)
        let gy = t.GroupMajor g
        let gw = Gemm.run gpu dtype gy.Storage col gr og k (n * l) false true
        gy.Dispose()
        col.Release()
        IlgpuRawTensor.Of(gw, dtype, Array.copy weightShape)

    // ---- pooling: one thread per output (forward, max backward with atomics) or per input (average backward)
    /// [H; W; Ho; Wo; kH; kW; sH; sW; pH; pW; dH; dW; countIncludePad] of a pooling over an input of xShape.
    static member private PoolGeo(xShape: int[], spec: Pool2dSpec, dilated: bool) =
        let (kh, kw), (sh, sw), (ph, pw) = spec.Kernel, spec.Stride, spec.Padding
        let dh, dw = if dilated then spec.Dilation else (1, 1)
        [| xShape.[2]; xShape.[3]
           Geometry.poolOutSize xShape.[2] kh sh ph dh spec.CeilMode; Geometry.poolOutSize xShape.[3] kw sw pw dw spec.CeilMode
           kh; kw; sh; sw; ph; pw; dh; dw; (if spec.CountIncludePad then 1 else 0) |]
    override t.MaxPool2d spec =
        t.FloatsOnly "max_pool2d"
        let p = IlgpuRawTensor.PoolGeo(shape, spec, true)
        let outShape = [| shape.[0]; shape.[1]; p.[2]; p.[3] |]
        let m = Shape.numel outShape
        let y = Dev.allocOf gpu dtype m
        let ix = Dev.alloc<int64> gpu m
        if m > 0 then
            let meta = Dev.meta gpu p
            match dtype with
            | Float32 -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int64>, ArrayView<int>>>("MaxPool", dtype).Invoke(gpu.Stream, Index1D m, t.V32, Dev.view y, Dev.view ix, Dev.view meta)
            | _ -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int64>, ArrayView<int>>>("MaxPool", dtype).Invoke(gpu.Stream, Index1D m, t.V64, Dev.view y, Dev.view ix, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(y, dtype, outShape), IlgpuRawTensor.Of(ix, Int64, Array.copy outShape)
    override t.MaxPool2dBackward(indices, inputShape) =
        t.FloatsOnly "max_pool2d_backward"
        let ix = t.Indices indices
        let gx = Dev.allocOf gpu dtype (Shape.numel inputShape)
        Dev.zero gpu gx
        if n > 0 then
            let ohw, hw = shape.[2] * shape.[3], inputShape.[2] * inputShape.[3]
            match dtype with
            | Float32 -> gpu.Launcher<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<int64>, ArrayView<float32>, int, int>>("ConvKernels.MaxPoolBack32", typeof<ConvKernels>, "MaxPoolBack32", [||]).Invoke(gpu.Stream, Index1D n, t.V32, ix.VI64, Dev.view gx, ohw, hw)
            | _ -> gpu.Launcher<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<int64>, ArrayView<float>, int, int>>("ConvKernels.MaxPoolBack64", typeof<ConvKernels>, "MaxPoolBack64", [||]).Invoke(gpu.Stream, Index1D n, t.V64, ix.VI64, Dev.view gx, ohw, hw)
        IlgpuRawTensor.Of(gx, dtype, Array.copy inputShape)
    override t.AvgPool2d spec =
        t.FloatsOnly "avg_pool2d"
        let p = IlgpuRawTensor.PoolGeo(shape, spec, false)
        let outShape = [| shape.[0]; shape.[1]; p.[2]; p.[3] |]
        let m = Shape.numel outShape
        let y = Dev.allocOf gpu dtype m
        if m > 0 then
            let meta = Dev.meta gpu p
            match dtype with
            | Float32 -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("AvgPool", dtype).Invoke(gpu.Stream, Index1D m, t.V32, Dev.view y, Dev.view meta)
            | _ -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("AvgPool", dtype).Invoke(gpu.Stream, Index1D m, t.V64, Dev.view y, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(y, dtype, outShape)
    override t.AvgPool2dBackward(inputShape, spec) =
        t.FloatsOnly "avg_pool2d_backward"
        let p = IlgpuRawTensor.PoolGeo(inputShape, spec, false)
        let len = Shape.numel inputShape
        let gx = Dev.allocOf gpu dtype len
        if len > 0 then
            let meta = Dev.meta gpu p
            match dtype with
            | Float32 -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float32>, ArrayView<float32>, ArrayView<int>>>("AvgPoolBack", dtype).Invoke(gpu.Stream, Index1D len, t.V32, Dev.view gx, Dev.view meta)
            | _ -> t.LaunchC<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>>("AvgPoolBack", dtype).Invoke(gpu.Stream, Index1D len, t.V64, Dev.view gx, Dev.view meta)
            meta.Release()
        IlgpuRawTensor.Of(gx, dtype, Array.copy inputShape)

    /// Give the buffer back to the pool now (views made by Reshape keep it alive until they are disposed too).
    member _.Dispose() = storage.Release()
    interface IDisposable with
        member t.Dispose() = t.Dispose()

/// Creates tensors on one ILGPU accelerator.
and IlgpuBackend private (gpu: Gpu) =
    inherit Backend(gpu.Device)
    static let backends = System.Collections.Concurrent.ConcurrentDictionary<string, IlgpuBackend>()
    /// The backend of an accelerator (one per device).
    static member For(gpu: Gpu) = backends.GetOrAdd(string gpu.Device, fun _ -> IlgpuBackend gpu) :> Backend
    /// The accelerator.
    member _.Gpu = gpu
    override _.Zeros(shape, dtype) =
        let s = Dev.allocOf gpu dtype (Shape.numel shape)
        Dev.zero gpu s
        IlgpuRawTensor.Of(s, dtype, shape)
    override b.Full(shape, v, dtype) =
        let m = Shape.numel shape
        let s = Dev.allocOf gpu dtype m
        if m > 0 then
            let ext = Index1D m
            let fill (t: Type) = gpu.Launcher(("Fill" + t.Name), typeof<TensorKernels>, "Fill", [| t |])
            match dtype with
            | Float32 -> (fill typeof<float32> : Action<AcceleratorStream, Index1D, ArrayView<float32>, float32>).Invoke(gpu.Stream, ext, Dev.view s, float32 v)
            | Float64 -> (fill typeof<float> : Action<AcceleratorStream, Index1D, ArrayView<float>, float>).Invoke(gpu.Stream, ext, Dev.view s, v)
            | Int64 -> (fill typeof<int64> : Action<AcceleratorStream, Index1D, ArrayView<int64>, int64>).Invoke(gpu.Stream, ext, Dev.view s, int64 v)
        IlgpuRawTensor.Of(s, dtype, shape)
    member private _.Upload<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType>(data: 'T[], dtype: DType, shape: int[]) =
        if data.Length <> Shape.numel shape then
            invalidArg "data" (sprintf "fromArray: %d values for shape %s (expected %d)" data.Length (Shape.show shape) (Shape.numel shape))
        let s = Dev.alloc<'T> gpu data.Length
        if data.Length > 0 then (Dev.view<'T> s).CopyFromCPU(gpu.Stream, data)
        IlgpuRawTensor.Of(s, dtype, shape)
    override b.FromFloat32(data, shape) = b.Upload(data, Float32, shape)
    override b.FromFloat64(data, shape) = b.Upload(data, Float64, shape)
    override b.FromInt64(data, shape) = b.Upload(data, Int64, shape)
    override b.Import t =
        match t with
        | :? IlgpuRawTensor as g when g.Device = gpu.Device -> t
        | _ ->
            match t.DType with
            | Float32 -> b.FromFloat32(t.ToFloat32Array(), Array.copy t.Shape)
            | Float64 -> b.FromFloat64(t.ToFloat64Array(), Array.copy t.Shape)
            | Int64 -> b.FromInt64(t.ToInt64Array(), Array.copy t.Shape)
