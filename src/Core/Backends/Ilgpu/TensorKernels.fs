namespace Hybrid.Core.Backends.Ilgpu

open ILGPU
open ILGPU.Runtime

/// Reading an element type as float64 and writing it back, for kernels written once over the element type
/// that compute in float64 (the reductions): a struct per type, so ILGPU specializes each kernel on it.
type IWiden<'T> =
    /// The element as float64 (exact for float32 and float64).
    abstract Widen: 'T -> float
    /// A float64 result rounded to the element type.
    abstract Narrow: float -> 'T

/// float32 elements: widened exactly, narrowed by rounding to nearest.
[<Struct>]
type Widen32 =
    interface IWiden<float32> with
        member _.Widen x = float x
        member _.Narrow v = float32 v

/// float64 elements: the identity both ways.
[<Struct>]
type Widen64 =
    interface IWiden<float> with
        member _.Widen x = x
        member _.Narrow v = v

/// The ILGPU kernels, as static members (an F# lambda compiles to a closure class, which ILGPU rejects).
/// Shapes and strides travel in a small int buffer `meta` laid out as [rank; shape...; strides...; ...].
/// float32 and float64 pointwise kernels are one-line twins around the shared float64 math of `Scalar`; the tree
/// reductions are written once over the element type (read and written through `IWiden`).
type TensorKernels =
    /// Offset of flat position i of `shape` (meta[1..rank]) in a tensor of strides meta[at..at+rank-1].
    static member Offset(i: int, meta: ArrayView<int>, at: int) : int =
        let rank = meta.[0]
        let mutable r = i
        let mutable o = 0
        let mutable d = rank - 1
        while d >= 0 do
            let n = meta.[1 + d]
            o <- o + (r % n) * meta.[at + d]
            r <- r / n
            d <- d - 1
        o

    // ---- pointwise
    /// y = op(x).
    static member Map32(i: Index1D, x: ArrayView<float32>, y: ArrayView<float32>, code: int, p: float, q: float) =
        y.[i.X] <- float32 (Scalar.unary code p q (float x.[i.X]))
    /// y = op(x).
    static member Map64(i: Index1D, x: ArrayView<float>, y: ArrayView<float>, code: int, p: float, q: float) =
        y.[i.X] <- Scalar.unary code p q x.[i.X]
    /// y = a op b, both read through broadcast strides: meta = [rank; shape; stridesA; stridesB].
    static member Bin32(i: Index1D, a: ArrayView<float32>, b: ArrayView<float32>, y: ArrayView<float32>, code: int, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[i.X] <- float32 (Scalar.binary code (float a.[TensorKernels.Offset(i.X, meta, 1 + r)]) (float b.[TensorKernels.Offset(i.X, meta, 1 + 2 * r)]))
    /// y = a op b, both read through broadcast strides.
    static member Bin64(i: Index1D, a: ArrayView<float>, b: ArrayView<float>, y: ArrayView<float>, code: int, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[i.X] <- Scalar.binary code a.[TensorKernels.Offset(i.X, meta, 1 + r)] b.[TensorKernels.Offset(i.X, meta, 1 + 2 * r)]
    /// y = c ? a : b, all three broadcast: meta = [rank; shape; stridesC; stridesA; stridesB].
    static member Where32(i: Index1D, c: ArrayView<float32>, a: ArrayView<float32>, b: ArrayView<float32>, y: ArrayView<float32>, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[i.X] <- if c.[TensorKernels.Offset(i.X, meta, 1 + r)] <> 0.0f then a.[TensorKernels.Offset(i.X, meta, 1 + 2 * r)] else b.[TensorKernels.Offset(i.X, meta, 1 + 3 * r)]
    /// y = c ? a : b, all three broadcast.
    static member Where64(i: Index1D, c: ArrayView<float>, a: ArrayView<float>, b: ArrayView<float>, y: ArrayView<float>, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[i.X] <- if c.[TensorKernels.Offset(i.X, meta, 1 + r)] <> 0.0 then a.[TensorKernels.Offset(i.X, meta, 1 + 2 * r)] else b.[TensorKernels.Offset(i.X, meta, 1 + 3 * r)]

    // ---- layout (generic over the element type: pure data movement)
    /// y[i] = x[base + offset(i)]: permute, expand and slice. meta = [rank; shape; strides; base].
    static member Read<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType>(i: Index1D, x: ArrayView<'T>, y: ArrayView<'T>, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[i.X] <- x.[meta.[1 + 2 * r] + TensorKernels.Offset(i.X, meta, 1 + r)]
    /// y[base + offset(i)] = x[i]: slice-scatter and concat. meta = [rank; shape; strides; base].
    static member Write<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType>(i: Index1D, x: ArrayView<'T>, y: ArrayView<'T>, meta: ArrayView<int>) =
        let r = meta.[0]
        y.[meta.[1 + 2 * r] + TensorKernels.Offset(i.X, meta, 1 + r)] <- x.[i.X]
    /// y[i] = v.
    static member Fill<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType>(i: Index1D, y: ArrayView<'T>, v: 'T) =
        y.[i.X] <- v
    /// out[o, j, k] = x[o, index[j], k] over [outer, size, inner] (torch.index_select).
    static member IndexSelect<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType>(i: Index1D, x: ArrayView<'T>, index: ArrayView<int64>, y: ArrayView<'T>, size: int, m: int, inner: int) =
        let k = i.X % inner
        let j = (i.X / inner) % m
        let o = i.X / (inner * m)
        y.[i.X] <- x.[(o * size + int index.[j]) * inner + k]
    /// torch.gather: y[c] = x[c with c[dim] := index[c]]. meta = [rank; indexShape; xStrides; dim].
    static member GatherDim<'T when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType>(i: Index1D, x: ArrayView<'T>, index: ArrayView<int64>, y: ArrayView<'T>, meta: ArrayView<int>) =
        let r = meta.[0]
        let dim = meta.[1 + 2 * r]
        let mutable rem = i.X
        let mutable o = 0
        let mutable d = r - 1
        while d >= 0 do
            let n = meta.[1 + d]
            let c = if d = dim then int index.[i.X] else rem % n
            o <- o + c * meta.[1 + r + d]
            rem <- rem / n
            d <- d - 1
        y.[i.X] <- x.[o]

    // ---- atomics (repeated indices add up)
    /// y[o, index[j], k] += g[o, j, k] (index_add).
    static member IndexAdd32(i: Index1D, g: ArrayView<float32>, index: ArrayView<int64>, y: ArrayView<float32>, size: int, m: int, inner: int) =
        let k = i.X % inner
        let j = (i.X / inner) % m
        let o = i.X / (inner * m)
        Atomic.Add(&y.[(o * size + int index.[j]) * inner + k], g.[i.X]) |> ignore
    /// y[o, index[j], k] += g[o, j, k] (index_add).
    static member IndexAdd64(i: Index1D, g: ArrayView<float>, index: ArrayView<int64>, y: ArrayView<float>, size: int, m: int, inner: int) =
        let k = i.X % inner
        let j = (i.X / inner) % m
        let o = i.X / (inner * m)
        Atomic.Add(&y.[(o * size + int index.[j]) * inner + k], g.[i.X]) |> ignore
    /// Offsets of index position i in y (c[dim] := index) and in src: meta = [rank; indexShape; yStrides; srcStrides; dim].
    static member ScatterOffsets(i: int, index: ArrayView<int64>, meta: ArrayView<int>) : struct (int * int) =
        let r = meta.[0]
        let dim = meta.[1 + 3 * r]
        let mutable rem = i
        let mutable oy = 0
        let mutable os = 0
        let mutable d = r - 1
        while d >= 0 do
            let n = meta.[1 + d]
            let c = rem % n
            oy <- oy + (if d = dim then int index.[i] else c) * meta.[1 + r + d]
            os <- os + c * meta.[1 + 2 * r + d]
            rem <- rem / n
            d <- d - 1
        struct (oy, os)
    /// torch.scatter_add into y (already a copy of x).
    static member ScatterAdd32(i: Index1D, index: ArrayView<int64>, src: ArrayView<float32>, y: ArrayView<float32>, meta: ArrayView<int>) =
        let struct (oy, os) = TensorKernels.ScatterOffsets(i.X, index, meta)
        Atomic.Add(&y.[oy], src.[os]) |> ignore
    /// torch.scatter_add into y (already a copy of x).
    static member ScatterAdd64(i: Index1D, index: ArrayView<int64>, src: ArrayView<float>, y: ArrayView<float>, meta: ArrayView<int>) =
        let struct (oy, os) = TensorKernels.ScatterOffsets(i.X, index, meta)
        Atomic.Add(&y.[oy], src.[os]) |> ignore

    // ---- casts (float -> int64 truncates, as the CPU's `int64`)
    static member F32ToF64(i: Index1D, x: ArrayView<float32>, y: ArrayView<float>) = y.[i.X] <- float x.[i.X]
    static member F64ToF32(i: Index1D, x: ArrayView<float>, y: ArrayView<float32>) = y.[i.X] <- float32 x.[i.X]
    static member F32ToI64(i: Index1D, x: ArrayView<float32>, y: ArrayView<int64>) = y.[i.X] <- int64 x.[i.X]
    static member F64ToI64(i: Index1D, x: ArrayView<float>, y: ArrayView<int64>) = y.[i.X] <- int64 x.[i.X]
    static member I64ToF32(i: Index1D, x: ArrayView<int64>, y: ArrayView<float32>) = y.[i.X] <- float32 x.[i.X]
    static member I64ToF64(i: Index1D, x: ArrayView<int64>, y: ArrayView<float>) = y.[i.X] <- float x.[i.X]

    // ---- reductions over rows / [outer, dim, inner] views (one thread per output)
    /// y[i] = Σ_j x[i·k + j].
    static member SumRows32(i: Index1D, x: ArrayView<float32>, y: ArrayView<float32>, k: int) =
        let mutable s = 0.0f
        for j in 0 .. k - 1 do s <- s + x.[i.X * k + j]
        y.[i.X] <- s
    /// y[i] = Σ_j x[i·k + j].
    static member SumRows64(i: Index1D, x: ArrayView<float>, y: ArrayView<float>, k: int) =
        let mutable s = 0.0
        for j in 0 .. k - 1 do s <- s + x.[i.X * k + j]
        y.[i.X] <- s
    /// Max (isMax = 1) or min over dim of [outer, dim, inner]: the value and the first index (NaN wins).
    static member Extreme32(i: Index1D, x: ArrayView<float32>, v: ArrayView<float32>, ix: ArrayView<int64>, dim: int, inner: int, isMax: int) =
        let o = i.X / inner
        let c = i.X % inner
        let mutable best = x.[o * dim * inner + c]
        let mutable bi = 0
        for k in 1 .. dim - 1 do
            let u = x.[(o * dim + k) * inner + c]
            let nanWins = u <> u && best = best
            if (if isMax = 1 then u > best else u < best) || nanWins then
                best <- u
                bi <- k
        v.[i.X] <- best
        ix.[i.X] <- int64 bi
    /// Max (isMax = 1) or min over dim of [outer, dim, inner]: the value and the first index (NaN wins).
    static member Extreme64(i: Index1D, x: ArrayView<float>, v: ArrayView<float>, ix: ArrayView<int64>, dim: int, inner: int, isMax: int) =
        let o = i.X / inner
        let c = i.X % inner
        let mutable best = x.[o * dim * inner + c]
        let mutable bi = 0
        for k in 1 .. dim - 1 do
            let u = x.[(o * dim + k) * inner + c]
            let nanWins = u <> u && best = best
            if (if isMax = 1 then u > best else u < best) || nanWins then
                best <- u
                bi <- k
        v.[i.X] <- best
        ix.[i.X] <- int64 bi
    /// softmax (or log-softmax, log = 1) along dim of [outer, dim, inner]: exp(x - max) / Σ exp(x - max).
    static member Softmax32(i: Index1D, x: ArrayView<float32>, y: ArrayView<float32>, dim: int, inner: int, log: int) =
        let b = (i.X / inner) * dim * inner + i.X % inner
        let mutable m = x.[b]
        for j in 1 .. dim - 1 do m <- System.Math.Max(m, x.[b + j * inner])
        let mutable z = 0.0f
        for j in 0 .. dim - 1 do z <- z + float32 (System.Math.Exp(float (x.[b + j * inner] - m)))
        let lz = float32 (System.Math.Log(float z))
        for j in 0 .. dim - 1 do
            let v = x.[b + j * inner] - m
            y.[b + j * inner] <- if log = 1 then v - lz else float32 (System.Math.Exp(float v)) / z
    /// softmax (or log-softmax, log = 1) along dim of [outer, dim, inner].
    static member Softmax64(i: Index1D, x: ArrayView<float>, y: ArrayView<float>, dim: int, inner: int, log: int) =
        let b = (i.X / inner) * dim * inner + i.X % inner
        let mutable m = x.[b]
        for j in 1 .. dim - 1 do m <- System.Math.Max(m, x.[b + j * inner])
        let mutable z = 0.0
        for j in 0 .. dim - 1 do z <- z + System.Math.Exp(x.[b + j * inner] - m)
        let lz = System.Math.Log z
        for j in 0 .. dim - 1 do
            let v = x.[b + j * inner] - m
            y.[b + j * inner] <- if log = 1 then v - lz else System.Math.Exp v / z

    // ---- tree reductions (explicitly grouped, group size a power of two, dynamic shared memory of float64)
    /// u beats best for a max (isMax = 1) or a min: strictly greater (less), or u is NaN and best is not.
    static member Better(u: float, best: float, isMax: int) : bool =
        (if isMax = 1 then u > best else u < best) || (u <> u && best = best)
    /// Tree reduction, one group per segment: group z sums x[row, seg·(z % p) ..< seg·(z % p + 1)] of row z / p
    /// (rows of k elements) into y[z] (float64): each thread a strided partial sum, then halving in shared memory.
    static member SumSeg<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType and 'W: struct and 'W :> IWiden<'T>>(x: ArrayView<'T>, y: ArrayView<float>, k: int, seg: int, p: int) =
        let mutable w = Unchecked.defaultof<'W>
        let tid = Group.IdxX
        let nt = Group.DimX
        let z = Grid.IdxX
        let row = z / p
        let start = (z % p) * seg
        let stop = System.Math.Min(k, start + seg)
        let sh = SharedMemory.GetDynamic<float>()
        let mutable acc = 0.0
        let mutable j = start + tid
        while j < stop do
            acc <- acc + w.Widen x.[row * k + j]
            j <- j + nt
        sh.[tid] <- acc
        Group.Barrier()
        let mutable s = nt / 2
        while s > 0 do
            if tid < s then sh.[tid] <- sh.[tid] + sh.[tid + s]
            Group.Barrier()
            s <- s / 2
        if tid = 0 then y.[z] <- sh.[0]
    /// Tree max/min over dim of [outer, dim, inner], one group per output: each thread scans a strided subset,
    /// then pairs combine in shared memory (values and indices, as float64), keeping the first index on ties
    /// and NaN over numbers, as the sequential kernel.
    static member ExtremeTree<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType and 'W: struct and 'W :> IWiden<'T>>(x: ArrayView<'T>, v: ArrayView<'T>, ix: ArrayView<int64>, dim: int, inner: int, isMax: int) =
        let mutable w = Unchecked.defaultof<'W>
        let tid = Group.IdxX
        let nt = Group.DimX
        let z = Grid.IdxX
        let b = (z / inner) * dim * inner + z % inner
        let sh = SharedMemory.GetDynamic<float>()
        let mutable best = 0.0
        let mutable bi = -1
        let mutable j = tid
        while j < dim do
            let u = w.Widen x.[b + j * inner]
            if bi < 0 || TensorKernels.Better(u, best, isMax) then
                best <- u
                bi <- j
            j <- j + nt
        sh.[tid] <- best
        sh.[nt + tid] <- float bi
        Group.Barrier()
        let mutable s = nt / 2
        while s > 0 do
            if tid < s then
                let ia = int sh.[nt + tid]
                let ib = int sh.[nt + tid + s]
                let a = sh.[tid]
                let c = sh.[tid + s]
                if ib >= 0 && (ia < 0 || TensorKernels.Better(c, a, isMax) || (not (TensorKernels.Better(a, c, isMax)) && ib < ia)) then
                    sh.[tid] <- c
                    sh.[nt + tid] <- float ib
            Group.Barrier()
            s <- s / 2
        if tid = 0 then
            v.[z] <- w.Narrow sh.[0]
            ix.[z] <- int64 sh.[nt]
    /// Tree softmax (log = 1: log-softmax) along dim of [outer, dim, inner], one group per row: the max and
    /// then Σ exp(x − max) each reduced in shared memory, then every thread writes its strided elements.
    static member SoftmaxTree<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType and 'W: struct and 'W :> IWiden<'T>>(x: ArrayView<'T>, y: ArrayView<'T>, dim: int, inner: int, log: int) =
        let mutable w = Unchecked.defaultof<'W>
        let tid = Group.IdxX
        let nt = Group.DimX
        let z = Grid.IdxX
        let b = (z / inner) * dim * inner + z % inner
        let sh = SharedMemory.GetDynamic<float>()
        let mutable m = System.Double.NegativeInfinity
        let mutable j = tid
        while j < dim do
            m <- System.Math.Max(m, w.Widen x.[b + j * inner])
            j <- j + nt
        sh.[tid] <- m
        Group.Barrier()
        let mutable s = nt / 2
        while s > 0 do
            if tid < s then sh.[tid] <- System.Math.Max(sh.[tid], sh.[tid + s])
            Group.Barrier()
            s <- s / 2
        m <- sh.[0]
        Group.Barrier()
        let mutable acc = 0.0
        j <- tid
        while j < dim do
            acc <- acc + System.Math.Exp(w.Widen x.[b + j * inner] - m)
            j <- j + nt
        sh.[tid] <- acc
        Group.Barrier()
        s <- nt / 2
        while s > 0 do
            if tid < s then sh.[tid] <- sh.[tid] + sh.[tid + s]
            Group.Barrier()
            s <- s / 2
        let z = sh.[0]
        let lz = System.Math.Log z
        j <- tid
        while j < dim do
            let u = w.Widen x.[b + j * inner] - m
            y.[b + j * inner] <- w.Narrow (if log = 1 then u - lz else System.Math.Exp u / z)
            j <- j + nt

    // ---- matmul: t×t tiles staged in dynamic shared memory (2·t² elements); grid (⌈n/t⌉, ⌈m/t⌉, batch),
    // groups of t×t (t = 16 on a GPU; 4 on ILGPU's CPU accelerator, whose groups hold at most 16 threads)
    /// c[z] = op(a[z]) · op(b[z]) for op(a) [batch, m, k], op(b) [batch, k, n]; op transposes the stored
    /// matrix in place (a stored [k, m] when ta = 1, b stored [n, k] when tb = 1). Explicitly grouped.
    static member Matmul32(a: ArrayView<float32>, b: ArrayView<float32>, c: ArrayView<float32>, m: int, n: int, k: int, t: int, ta: int, tb: int) =
        let tx = Group.IdxX
        let ty = Group.IdxY
        let col = Grid.IdxX * t + tx
        let row = Grid.IdxY * t + ty
        let z = Grid.IdxZ
        let shared = SharedMemory.GetDynamic<float32>()
        let sa = shared.SubView(0, t * t)
        let sb = shared.SubView(t * t, t * t)
        let mutable acc = 0.0f
        for tile in 0 .. (k + t - 1) / t - 1 do
            let ac = tile * t + tx
            sa.[ty * t + tx] <- if row < m && ac < k then a.[z * m * k + (if ta = 1 then ac * m + row else row * k + ac)] else 0.0f
            let br = tile * t + ty
            sb.[ty * t + tx] <- if br < k && col < n then b.[z * k * n + (if tb = 1 then col * k + br else br * n + col)] else 0.0f
            Group.Barrier()
            for q in 0 .. t - 1 do acc <- acc + sa.[ty * t + q] * sb.[q * t + tx]
            Group.Barrier()
        if row < m && col < n then c.[(z * m + row) * n + col] <- acc
    /// c[z] = op(a[z]) · op(b[z]) for op(a) [batch, m, k], op(b) [batch, k, n]; op transposes the stored
    /// matrix in place (a stored [k, m] when ta = 1, b stored [n, k] when tb = 1). Explicitly grouped.
    static member Matmul64(a: ArrayView<float>, b: ArrayView<float>, c: ArrayView<float>, m: int, n: int, k: int, t: int, ta: int, tb: int) =
        let tx = Group.IdxX
        let ty = Group.IdxY
        let col = Grid.IdxX * t + tx
        let row = Grid.IdxY * t + ty
        let z = Grid.IdxZ
        let shared = SharedMemory.GetDynamic<float>()
        let sa = shared.SubView(0, t * t)
        let sb = shared.SubView(t * t, t * t)
        let mutable acc = 0.0
        for tile in 0 .. (k + t - 1) / t - 1 do
            let ac = tile * t + tx
            sa.[ty * t + tx] <- if row < m && ac < k then a.[z * m * k + (if ta = 1 then ac * m + row else row * k + ac)] else 0.0
            let br = tile * t + ty
            sb.[ty * t + tx] <- if br < k && col < n then b.[z * k * n + (if tb = 1 then col * k + br else br * n + col)] else 0.0
            Group.Barrier()
            for q in 0 .. t - 1 do acc <- acc + sa.[ty * t + q] * sb.[q * t + tx]
            Group.Barrier()
        if row < m && col < n then c.[(z * m + row) * n + col] <- acc
