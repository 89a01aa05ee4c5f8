namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open Hybrid.Core
open Hybrid.Core.Backends

/// Managed storage of a CPU tensor.
type CpuStorage =
    | F32 of float32[]
    | F64 of float[]
    | I64 of int64[]

/// A kernel written once over the element type, for the ops defined on every dtype (layout and indexing): the
/// backend applies it to whichever array a tensor stores.
type internal IAnyKernel =
    abstract Apply<'T> : 'T[] -> 'T[]

/// A kernel written once over the float element types (float32 and float64).
type internal IFloatKernel =
    abstract Apply<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> : 'T[] -> 'T[]

/// A kernel of two float arrays of one element type, giving an array and its shape.
type internal IFloatKernel2 =
    abstract Apply<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> : 'T[] * 'T[] -> struct ('T[] * int[])

/// Keeps tensors reachable until the end of a `use` scope: an op's kernel reads arrays, not tensors, and
/// a tensor the JIT sees as dead could otherwise have its pooled array finalized back mid-kernel.
[<Struct>]
type internal Hold(a: obj, b: obj, c: obj) =
    interface IDisposable with
        member _.Dispose() =
            GC.KeepAlive a
            GC.KeepAlive b
            GC.KeepAlive c

/// The CPU backend's tensor: a contiguous managed array, SIMD kernels, both cores. An array rented from
/// `Pool` is owned by a `Lease` that every tensor sharing the array (its views) holds.
type CpuRawTensor(storage: CpuStorage, shape: int[], lease: Lease) =
    inherit RawTensor(shape, (match storage with F32 _ -> Float32 | F64 _ -> Float64 | I64 _ -> Int64), Cpu)

    static let backend = lazy (CpuBackend() :> Backend)
    static let binaryNames = System.Collections.Concurrent.ConcurrentDictionary<BinaryOp, string>()
    static let of32 (a: float32[]) s = CpuRawTensor(F32 a, s) :> RawTensor
    static let of64 (a: float[]) s = CpuRawTensor(F64 a, s) :> RawTensor
    static let ofI64 (a: int64[]) s = CpuRawTensor(I64 a, s) :> RawTensor
    static let storageOf (op: string) (t: RawTensor) =
        match t with
        | :? CpuRawTensor as c -> c.Storage
        | _ -> invalidArg "other" (sprintf "%s: expected a tensor on cpu, got one on %O" op t.Device)
    static let floatsOnly (op: string) (dt: DType) : 'a =
        raise (NotSupportedException(sprintf "%s: not defined for %O tensors (expected float32 or float64)" op dt))
    static let indices (op: string) (t: RawTensor) =
        match storageOf op t with
        | I64 a -> a
        | F32 a -> a |> Array.map int64
        | F64 a -> a |> Array.map int64

    /// y = op(x) over both cores into a fresh array (every element is written, so it is not zeroed first).
    static member private UnaryArray (op: UnaryOp) (a: 'T[]) : 'T[] =
        let y = OutputArrays.rent<'T> a.Length
        let split = if Elementwise.isCheapUnary op then Par.elementwiseCheap else Par.elementwise
        split a.Length (fun s e -> Elementwise.unary op (ReadOnlySpan(a, s, e - s)) (Span(y, s, e - s)))
        y

    /// g·[x > 0] over both cores into a fresh array (every element is written).
    static member private ReluBackwardArray (g: 'T[]) (x: 'T[]) : 'T[] =
        let y = OutputArrays.rent<'T> g.Length
        Par.elementwiseCheap g.Length (fun s e -> Elementwise.reluBackward (ReadOnlySpan(g, s, e - s)) (ReadOnlySpan(x, s, e - s)) (Span(y, s, e - s)))
        y

    /// A binary op's name for messages, formatted once per op.
    static member private BinaryName (op: BinaryOp) = binaryNames.GetOrAdd(op, fun o -> sprintf "%A" o)

    /// Wraps an array: the kernel output this thread just rented from the pool gets its lease here.
    new(storage: CpuStorage, shape: int[]) =
        CpuRawTensor(storage, shape, OutputArrays.adopt (match storage with F32 a -> a :> Array | F64 a -> a :> Array | I64 a -> a :> Array))

    /// The managed array behind this tensor.
    member _.Storage = storage

    /// A tensor over `y`: shares this tensor's lease when a kernel returned this tensor's own array.
    member private t.Wrap (y: Array) (st: CpuStorage) (s: int[]) : RawTensor =
        let same = match storage with F32 a -> Object.ReferenceEquals(a, y) | F64 a -> Object.ReferenceEquals(a, y) | I64 a -> Object.ReferenceEquals(a, y)
        if same then CpuRawTensor(st, s, lease) :> RawTensor else CpuRawTensor(st, s) :> RawTensor

    /// Apply a kernel of any element type to whichever array is stored; the result has shape s.
    member private t.MapAny (f: IAnyKernel) (s: int[]) : RawTensor =
        use _ = new Hold(t, null, null)
        match storage with
        | F32 a -> let y = f.Apply a in t.Wrap y (F32 y) s
        | F64 a -> let y = f.Apply a in t.Wrap y (F64 y) s
        | I64 a -> let y = f.Apply a in t.Wrap y (I64 y) s

    /// Apply a float-only kernel; the result has shape s.
    member private t.MapFloat (op: string) (f: IFloatKernel) (s: int[]) : RawTensor =
        use _ = new Hold(t, null, null)
        match storage with
        | F32 a -> let y = f.Apply a in t.Wrap y (F32 y) s
        | F64 a -> let y = f.Apply a in t.Wrap y (F64 y) s
        | I64 _ -> floatsOnly op Int64

    /// Apply a float kernel of this tensor and `other` (argument `arg` of op `op`), which must share its dtype.
    member private t.MapFloat2 (op: string) (arg: string) (other: RawTensor) (f: IFloatKernel2) : RawTensor =
        use _ = new Hold(t, other, null)
        match storage, storageOf op other with
        | F32 a, F32 b -> let struct (y, s) = f.Apply(a, b) in of32 y s
        | F64 a, F64 b -> let struct (y, s) = f.Apply(a, b) in of64 y s
        | _ -> invalidArg arg (sprintf "%s: dtypes %O and %O differ (expected the same float dtype)" op t.DType other.DType)

    override _.Backend = backend.Value

    override _.ToFloat32Array() = match storage with F32 a -> Array.copy a | F64 a -> Array.map float32 a | I64 a -> Array.map float32 a
    override _.ToFloat64Array() = match storage with F32 a -> Array.map float a | F64 a -> Array.copy a | I64 a -> Array.map float a
    override _.ToInt64Array() = match storage with F32 a -> Array.map int64 a | F64 a -> Array.map int64 a | I64 a -> Array.copy a
    override t.Cast dt =
        match dt with
        | Float32 -> (match storage with F32 a -> CpuRawTensor(F32 a, shape, lease) :> RawTensor | _ -> of32 (t.ToFloat32Array()) shape)
        | Float64 -> (match storage with F64 a -> CpuRawTensor(F64 a, shape, lease) :> RawTensor | _ -> of64 (t.ToFloat64Array()) shape)
        | Int64 -> (match storage with I64 a -> CpuRawTensor(I64 a, shape, lease) :> RawTensor | _ -> ofI64 (t.ToInt64Array()) shape)

    override t.Reshape s = t.MapAny { new IAnyKernel with member _.Apply a = a } s
    override t.Permute dims =
        let s = dims |> Array.map (fun d -> shape.[d])
        t.MapAny { new IAnyKernel with member _.Apply a = Layout.permute a shape dims } s
    override t.Expand s =
        if s = shape then t :> RawTensor
        else t.MapAny { new IAnyKernel with member _.Apply a = Elementwise.expand a shape s } s
    override t.Slice(starts, stops, steps) =
        let s = Geometry.sliceShape starts stops steps
        t.MapAny { new IAnyKernel with member _.Apply a = Layout.slice a shape starts stops steps } s
    override t.SliceScatter(full, starts, stops, steps) =
        t.MapAny { new IAnyKernel with member _.Apply a = Layout.sliceScatter a full starts stops steps } full
    override t.Concat(others, dim) =
        use _ = new Hold(t, others, null)
        let all = Array.append [| t :> RawTensor |] others
        let parts (f: CpuStorage -> 'a[]) = all |> Array.map (fun r -> f (storageOf "concat" r), r.Shape)
        match storage with
        | F32 _ -> let y, s = Layout.concat (parts (function F32 a -> a | _ -> invalidArg "others" "concat: dtypes differ")) dim in of32 y s
        | F64 _ -> let y, s = Layout.concat (parts (function F64 a -> a | _ -> invalidArg "others" "concat: dtypes differ")) dim in of64 y s
        | I64 _ -> let y, s = Layout.concat (parts (function I64 a -> a | _ -> invalidArg "others" "concat: dtypes differ")) dim in ofI64 y s
    override t.IndexSelect(dim, index) =
        use _ = new Hold(t, index, null)
        let ix = indices "index_select" index
        let s = Array.copy shape
        s.[dim] <- ix.Length
        t.MapAny { new IAnyKernel with member _.Apply a = Index.indexSelect a shape dim ix } s
    override t.IndexAdd(full, dim, index) =
        use _ = new Hold(t, index, null)
        let ix = indices "index_add" index
        t.MapFloat "index_add" { new IFloatKernel with member _.Apply a = Index.indexAdd a full dim ix } full
    override t.Gather(dim, index) =
        use _ = new Hold(t, index, null)
        let ix = indices "gather" index
        t.MapAny { new IAnyKernel with member _.Apply a = Index.gather a shape dim ix index.Shape } index.Shape
    override t.ScatterAdd(dim, index, src) =
        use _ = new Hold(t, index, src)
        let ix = indices "scatter_add" index
        match storage, storageOf "scatter_add" src with
        | F32 a, F32 b -> of32 (Index.scatterAdd a shape dim ix index.Shape b src.Shape) shape
        | F64 a, F64 b -> of64 (Index.scatterAdd a shape dim ix index.Shape b src.Shape) shape
        | _ -> invalidArg "src" (sprintf "scatter_add: dtypes %O and %O differ (expected the same float dtype)" t.DType src.DType)

    // the op's name is formatted only for an error message (sprintf "%A" costs ~0.1 ms, a 1M-element kernel ~0.3 ms)
    override t.Unary op =
        use _ = new Hold(t, null, null)
        match storage with
        | F32 a -> of32 (CpuRawTensor.UnaryArray op a) shape
        | F64 a -> of64 (CpuRawTensor.UnaryArray op a) shape
        | I64 _ -> floatsOnly (sprintf "%A" op) Int64
    override t.Binary(op, other) =
        use _ = new Hold(t, other, null)
        let name = CpuRawTensor.BinaryName op
        let outShape = Shape.broadcast name shape other.Shape
        match storage, storageOf name other with
        | F32 a, F32 b -> of32 (Elementwise.binary op a shape b other.Shape outShape) outShape
        | F64 a, F64 b -> of64 (Elementwise.binary op a shape b other.Shape outShape) outShape
        | I64 a, I64 b when (match op with Eq | Ne | Lt | Le | Gt | Ge -> true | _ -> false) ->
            let a' = Elementwise.expand a shape outShape
            let b' = Elementwise.expand b other.Shape outShape
            let f = match op with Eq -> (=) | Ne -> (<>) | Lt -> (<) | Le -> (<=) | Gt -> (>) | _ -> (>=)
            ofI64 (Array.map2 (fun u v -> if f u v then 1L else 0L) a' b') outShape
        | _ -> invalidArg "other" (sprintf "%A: dtypes %O and %O differ (expected the same float dtype)" op t.DType other.DType)
    override t.Where(a, b) =
        use _ = new Hold(t, a, b)
        let outShape = Shape.broadcast "where" (Shape.broadcast "where" shape a.Shape) b.Shape
        let cond = t.Cast(a.DType)
        match storageOf "where" cond, storageOf "where" a, storageOf "where" b with
        | F32 c, F32 x, F32 y -> of32 (Elementwise.where c shape x a.Shape y b.Shape outShape) outShape
        | F64 c, F64 x, F64 y -> of64 (Elementwise.where c shape x a.Shape y b.Shape outShape) outShape
        | _ -> invalidArg "b" (sprintf "where: dtypes %O and %O differ (expected the same float dtype)" a.DType b.DType)

    override t.SumDims(dims, keepDim) =
        let s = Shape.reduced shape dims keepDim
        t.MapFloat "sum" { new IFloatKernel with member _.Apply a = Reduce.sumDims a shape dims } s
    override t.ExtremeDim(isMax, dim, keepDim) =
        use _ = new Hold(t, null, null)
        let o, k, i = Geometry.around shape dim
        let s = Shape.reduced shape [| dim |] keepDim
        match storage with
        | F32 a -> let v, ix = Elementwise.extremeDim isMax a o k i in of32 v s, ofI64 ix s
        | F64 a -> let v, ix = Elementwise.extremeDim isMax a o k i in of64 v s, ofI64 ix s
        | I64 _ -> floatsOnly (if isMax then "max" else "min") Int64
    override t.Scan(op, dim, reverse) =
        let o, k, i = Geometry.around shape dim
        t.MapFloat "scan" { new IFloatKernel with member _.Apply a = Scan.run op reverse a o k i } shape
    override t.Softmax dim = t.MapFloat "softmax" { new IFloatKernel with member _.Apply a = Reduce.softmax a shape dim false } shape
    override t.LogSoftmax dim = t.MapFloat "log_softmax" { new IFloatKernel with member _.Apply a = Reduce.softmax a shape dim true } shape

    override t.Matmul other =
        t.MapFloat2 "matmul" "other" other
            { new IFloatKernel2 with member _.Apply(a, b) = let c, s = Matmul.batched a shape b other.Shape in struct (c, s) }
    override t.MatmulT(other, transA, transB) =
        t.MapFloat2 "matmul" "other" other
            { new IFloatKernel2 with member _.Apply(a, b) = let c, s = Matmul.batchedT transA transB a shape b other.Shape in struct (c, s) }
    override x.LinearT(weight, bias) =
        use _ = new Hold(x, weight, bias)
        let m, k, n = x.Shape.[0], x.Shape.[1], weight.Shape.[0]
        match storage, storageOf "linear" weight, storageOf "linear" bias with
        | F32 a, F32 w, F32 b -> of32 (Matmul.linearT a w b m n k) [| m; n |]
        | F64 a, F64 w, F64 b -> of64 (Matmul.linearT a w b m n k) [| m; n |]
        | _ -> invalidArg "weight" (sprintf "linear: dtypes %O, %O and %O differ (expected the same float dtype)" x.DType weight.DType bias.DType)
    override t.Conv2d(weight, spec) =
        t.MapFloat2 "conv2d" "weight" weight
            { new IFloatKernel2 with member _.Apply(a, w) = let y, s = Conv2d.conv2d a shape w weight.Shape spec in struct (y, s) }
    override t.Conv2dBias(weight, bias, spec) =
        use _ = new Hold(t, weight, bias)
        match storage, storageOf "conv2d" weight, storageOf "conv2d" bias with
        | F32 a, F32 w, F32 b -> let y, s = Conv2d.conv2dBias a shape w weight.Shape b spec in of32 y s
        | F64 a, F64 w, F64 b -> let y, s = Conv2d.conv2dBias a shape w weight.Shape b spec in of64 y s
        | _ -> invalidArg "weight" (sprintf "conv2d: dtypes %O, %O and %O differ (expected the same float dtype)" t.DType weight.DType bias.DType)
    override t.ReluBackward x =
        t.MapFloat2 "relu_backward" "x" x { new IFloatKernel2 with member _.Apply(g, xs) = struct (CpuRawTensor.ReluBackwardArray g xs, shape) }
    override t.Conv2dBackwardInput(weight, inputShape, spec) =
        t.MapFloat2 "conv2d backward" "weight" weight
            { new IFloatKernel2 with member _.Apply(g, w) = struct (Conv2d.conv2dBackwardInput g shape w weight.Shape inputShape spec, inputShape) }
    override t.Conv2dBackwardWeight(input, weightShape, spec) =
        t.MapFloat2 "conv2d backward" "input" input
            { new IFloatKernel2 with member _.Apply(g, x) = struct (Conv2d.conv2dBackwardWeight g shape x input.Shape weightShape spec, weightShape) }
    override t.MaxPool2d spec =
        use _ = new Hold(t, null, null)
        match storage with
        | F32 a -> let y, ix, s = Pooling.maxPool2d a shape spec in of32 y s, ofI64 ix s
        | F64 a -> let y, ix, s = Pooling.maxPool2d a shape spec in of64 y s, ofI64 ix s
        | I64 _ -> floatsOnly "max_pool2d" Int64
    override t.MaxPool2dBackward(idx, inputShape) =
        use _ = new Hold(t, idx, null)
        let ix = indices "max_pool2d" idx
        t.MapFloat "max_pool2d" { new IFloatKernel with member _.Apply g = Pooling.maxPool2dBackward g shape ix inputShape } inputShape
    override x.Conv2dReluMaxPool(weight, bias, spec, convShape) =
        if not (ConvReluPool.fusesReluMaxPool spec) then base.Conv2dReluMaxPool(weight, bias, spec, convShape)
        else
            use _ = new Hold(x, weight, bias)
            let b32 () = if isNull (box bias) then null else match storageOf "conv2d_relu_max_pool2d" bias with F32 b -> b | _ -> null
            let b64 () = if isNull (box bias) then null else match storageOf "conv2d_relu_max_pool2d" bias with F64 b -> b | _ -> null
            let sameBias = isNull (box bias) || bias.DType = x.DType
            match storage, storageOf "conv2d_relu_max_pool2d" weight with
            | F32 a, F32 w when sameBias -> let y, ix, s = ConvReluPool.conv2dReluMaxPool a shape w weight.Shape (b32 ()) spec in of32 y s, ofI64 ix s
            | F64 a, F64 w when sameBias -> let y, ix, s = ConvReluPool.conv2dReluMaxPool a shape w weight.Shape (b64 ()) spec in of64 y s, ofI64 ix s
            | _ -> invalidArg "weight" (sprintf "conv2d_relu_max_pool2d: dtypes %O and %O differ (expected the same float dtype)" x.DType weight.DType)
    override g.Conv2dReluMaxPoolBackward(y, idx, input, weight, spec, convShape, hasBias, needInput, needWeight) =
        if not (ConvReluPool.fusesReluMaxPool spec) then
            base.Conv2dReluMaxPoolBackward(y, idx, input, weight, spec, convShape, hasBias, needInput, needWeight)
        else
            use _ = new Hold(g, y, idx)
            use _ = new Hold(input, weight, null)
            let op = "conv2d_relu_max_pool2d_backward"
            let ix = indices op idx
            let wrap (f: 'T[] -> RawTensor) (a: 'T[]) = if isNull a then Unchecked.defaultof<RawTensor> else f a
            match storage, storageOf op y, storageOf op input, storageOf op weight with
            | F32 gy, F32 ys, F32 xs, F32 w ->
                let gx, gw, gb = ConvReluPool.conv2dReluMaxPoolBackward gy ys ix xs input.Shape w weight.Shape hasBias needInput needWeight spec
                wrap (fun a -> of32 a input.Shape) gx, wrap (fun a -> of32 a weight.Shape) gw, wrap (fun a -> of32 a [| weight.Shape.[0] |]) gb
            | F64 gy, F64 ys, F64 xs, F64 w ->
                let gx, gw, gb = ConvReluPool.conv2dReluMaxPoolBackward gy ys ix xs input.Shape w weight.Shape hasBias needInput needWeight spec
                wrap (fun a -> of64 a input.Shape) gx, wrap (fun a -> of64 a weight.Shape) gw, wrap (fun a -> of64 a [| weight.Shape.[0] |]) gb
            | _ -> invalidArg "input" (sprintf "%s: dtypes %O, %O, %O and %O differ (expected one float dtype)" op g.DType y.DType input.DType weight.DType)
    override t.AvgPool2d spec =
        use _ = new Hold(t, null, null)
        match storage with
        | F32 a -> let y, s = Pooling.avgPool2d a shape spec in of32 y s
        | F64 a -> let y, s = Pooling.avgPool2d a shape spec in of64 y s
        | I64 _ -> floatsOnly "avg_pool2d" Int64
    override t.AvgPool2dBackward(inputShape, spec) =
        t.MapFloat "avg_pool2d" { new IFloatKernel with member _.Apply g = Pooling.avgPool2dBackward g shape inputShape spec } inputShape

/// Creates CPU tensors.
and CpuBackend() =
    inherit Backend(Cpu)
    override _.Zeros(shape, dtype) =
        match dtype with
        | Float32 -> CpuRawTensor(F32 (Array.zeroCreate (Shape.numel shape)), shape)
        | Float64 -> CpuRawTensor(F64 (Array.zeroCreate (Shape.numel shape)), shape)
        | Int64 -> CpuRawTensor(I64 (Array.zeroCreate (Shape.numel shape)), shape)
    override _.Full(shape, v, dtype) =
        match dtype with
        | Float32 -> CpuRawTensor(F32 (Array.create (Shape.numel shape) (float32 v)), shape)
        | Float64 -> CpuRawTensor(F64 (Array.create (Shape.numel shape) v), shape)
        | Int64 -> CpuRawTensor(I64 (Array.create (Shape.numel shape) (int64 v)), shape)
    override _.FromFloat32(data, shape) = CpuRawTensor(F32 data, shape)
    override _.FromFloat64(data, shape) = CpuRawTensor(F64 data, shape)
    override _.FromInt64(data, shape) = CpuRawTensor(I64 data, shape)
    override _.Import t =
        match t with
        | :? CpuRawTensor -> t
        | _ ->
            match t.DType with
            | Float32 -> CpuRawTensor(F32 (t.ToFloat32Array()), t.Shape)
            | Float64 -> CpuRawTensor(F64 (t.ToFloat64Array()), t.Shape)
            | Int64 -> CpuRawTensor(I64 (t.ToInt64Array()), t.Shape)
