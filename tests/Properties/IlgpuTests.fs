/// The ILGPU backend against the CPU backend: every op, a gradient through a small MLP and every
/// first-order optimizer, run on "ilgpu-cpu" (ILGPU's CPU accelerator, the same kernels a GPU runs) with
/// small shapes. CUDA tests skip visibly when no CUDA device is present.
/// In the "ilgpu-cpu" collection: tests of other modules that use the device run one at a time with these, so the
/// pool's allocation counts that the buffer tests read are this module's alone.
[<Xunit.Collection("ilgpu-cpu")>]
module Hybrid.Tests.IlgpuTests

open System
open Xunit
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu
open Hybrid.Core.Backends.Ilgpu
open Hybrid.Core.Optim

/// A [<Fact>] that skips, with the reason shown, when ILGPU sees no CUDA device.
type CudaFactAttribute() as this =
    inherit FactAttribute()
    do if not (Devices.isCudaAvailable ()) then
        this.Skip <- "no CUDA device: ILGPU found none on this machine, so the GPU path is untested here"

/// The device these tests run on: ilgpu-cpu (ILGPU's CPU accelerator) unless HYBRID_TEST_DEVICE names another
/// (bench/GpuBench's `check` runs this module with cuda:0 on a GPU machine).
let dev =
    match Environment.GetEnvironmentVariable "HYBRID_TEST_DEVICE" with
    | null | "" -> Devices.parse "ilgpu-cpu"
    | name -> Devices.parse name
let private cpu = CpuBackend() :> Backend
let private gpuBackend () = Devices.backendOf dev

/// Random values in [lo, hi) as a CPU raw tensor of a dtype.
let private rawOf (seed: int) (dt: DType) (shape: int[]) (lo: float) (hi: float) : RawTensor =
    let r = Random(seed)
    let v = Array.init (Shape.numel shape) (fun _ -> lo + (hi - lo) * r.NextDouble())
    match dt with
    | Float32 -> cpu.FromFloat32(Array.map float32 v, shape)
    | _ -> cpu.FromFloat64(v, shape)

let private up (r: RawTensor) = (gpuBackend ()).Import r
let private tol (dt: DType) = if dt = Float32 then 1e-5, 1e-6 else 1e-12, 1e-13

/// Same shape and values within the dtype's tolerance.
let private agree (what: string) (expected: RawTensor) (actual: RawTensor) =
    Assert.Equal<int[]>(expected.Shape, actual.Shape)
    Assert.Equal(dev, actual.Device)
    let rtol, atol = tol expected.DType
    // NaN where both are NaN counts as agreement (log1p below -1, ...)
    let e, a = expected.ToFloat64Array(), actual.ToFloat64Array()
    let both = Array.map2 (fun (u: float) (v: float) -> Double.IsNaN u && Double.IsNaN v) e a
    let e = Array.mapi (fun i u -> if both.[i] then 0.0 else u) e
    let a = Array.mapi (fun i v -> if both.[i] then 0.0 else v) a
    match Check.close rtol atol e a with
    | None -> ()
    | Some m -> failwithf "%s (%O): %s" what expected.DType m

let private dtypes = [ Float32; Float64 ]

let private unaryOps =
    [ Neg; UnaryOp.Abs; Exp; Log; Sqrt; Sin; Cos; Tanh; Sigmoid; Relu; Sign; Erf; Softplus; Gelu; Square; Reciprocal
      Log1p; Expm1; LeakyRelu 0.1; Elu 1.5; PowScalar 2.0; PowScalar 0.5; PowScalar -1.5; Clamp (-0.5, 0.7)
      AddScalar 0.25; MulScalar -3.0; Positive ]

[<Fact>]
let ``every unary op on ilgpu-cpu equals the cpu's`` () =
    for dt in dtypes do
        let mixed = rawOf 1 dt [| 3; 5 |] -2.0 2.0
        let positive = rawOf 2 dt [| 3; 5 |] 0.1 3.0
        for op in unaryOps do
            let x = match op with Log | Sqrt | PowScalar 0.5 | PowScalar -1.5 -> positive | _ -> mixed
            agree (sprintf "%A" op) (x.Unary op) ((up x).Unary op)

[<Fact>]
let ``every binary op with broadcasting on ilgpu-cpu equals the cpu's`` () =
    for dt in dtypes do
        for sa, sb in [ [| 2; 1; 3 |], [| 4; 1 |]; [| 3; 4 |], [| 3; 4 |]; [| 5 |], [||]; [||], [| 2; 2 |] ] do
            let a = rawOf 3 dt sa 0.2 2.0
            let b = rawOf 4 dt sb -1.5 1.5
            // one equal pair so Eq/Le/Ge see ties
            for op in [ Add; Sub; Mul; Div; Pow; Maximum; Minimum; Eq; Ne; Lt; Le; Gt; Ge ] do
                agree (sprintf "%A %A %A" op sa sb) (a.Binary(op, b)) ((up a).Binary(op, up b))
            agree "eq with itself" (a.Binary(Eq, a)) ((up a).Binary(Eq, up a))

[<Fact>]
let ``where, sums, extremes and softmax on ilgpu-cpu equal the cpu's`` () =
    for dt in dtypes do
        let x = rawOf 5 dt [| 2; 3; 4 |] -2.0 2.0
        let c = x.Binary(Gt, cpu.Full([||], 0.0, dt))
        let b = rawOf 6 dt [| 3; 1 |] -1.0 1.0
        agree "where" (c.Where(x, b)) ((up c).Where(up x, up b))
        for dims in [ [| 0 |]; [| 1 |]; [| 2 |]; [| 0; 2 |]; [| 0; 1; 2 |] ] do
            for keep in [ true; false ] do
                agree (sprintf "sum %A %b" dims keep) (x.SumDims(dims, keep)) ((up x).SumDims(dims, keep))
        for d in 0 .. 2 do
            for isMax in [ true; false ] do
                let v, i = x.ExtremeDim(isMax, d, false)
                let v', i' = (up x).ExtremeDim(isMax, d, false)
                agree "extreme values" v v'
                Assert.Equal<int64[]>(i.ToInt64Array(), i'.ToInt64Array())
            agree (sprintf "softmax %d" d) (x.Softmax d) ((up x).Softmax d)
            agree (sprintf "log_softmax %d" d) (x.LogSoftmax d) ((up x).LogSoftmax d)

[<Fact>]
let ``tree reductions over large extents on ilgpu-cpu equal the cpu's`` () =
    for dt in dtypes do
        // 70 000 > one 16-thread group's segment of 512: two levels of partials; rows of 300 and 700 take one group each
        let big = rawOf 17 dt [| 70000 |] 0.1 1.0
        agree "sum of 70000" (big.SumDims([| 0 |], false)) ((up big).SumDims([| 0 |], false))
        let x = rawOf 18 dt [| 3; 300; 2 |] -3.0 3.0
        agree "sum over dims 1 (strided)" (x.SumDims([| 1 |], true)) ((up x).SumDims([| 1 |], true))
        let rows = (rawOf 19 Float64 [| 4; 700 |] -3.0 3.0).Cast dt
        // integer-valued rows: ties, so the first index must win across threads
        let ties = cpu.FromFloat64(Array.init 2800 (fun i -> float ((i * 37) % 11)), [| 4; 700 |]).Cast dt
        for r in [ rows; ties; x ] do
            let d = 1
            for isMax in [ true; false ] do
                let v, i = r.ExtremeDim(isMax, d, false)
                let v', i' = (up r).ExtremeDim(isMax, d, false)
                agree "tree extreme values" v v'
                Assert.Equal<int64[]>(i.ToInt64Array(), i'.ToInt64Array())
            agree "tree softmax" (r.Softmax d) ((up r).Softmax d)
            agree "tree log_softmax" (r.LogSoftmax d) ((up r).LogSoftmax d)

[<Fact>]
let ``matmul, batched and broadcast, on ilgpu-cpu equals the cpu's`` () =
    for dt in dtypes do
        for sa, sb in [ [| 17; 19 |], [| 19; 13 |]; [| 2; 1; 5; 7 |], [| 3; 7; 4 |]; [| 1; 3 |], [| 3; 1 |] ] do
            let a = rawOf 7 dt sa -1.0 1.0
            let b = rawOf 8 dt sb -1.0 1.0
            agree (sprintf "matmul %A %A" sa sb) (a.Matmul b) ((up a).Matmul(up b))
        // transposes read in place by the tiled kernel, for every flag pair (and a broadcast batch)
        for ta in [ false; true ] do
            for tb in [ false; true ] do
                let a = rawOf 9 dt (if ta then [| 2; 6; 5 |] else [| 2; 5; 6 |]) -1.0 1.0
                let b = rawOf 10 dt (if tb then [| 1; 7; 6 |] else [| 1; 6; 7 |]) -1.0 1.0
                agree (sprintf "matmulT %b %b" ta tb) (a.MatmulT(b, ta, tb)) ((up a).MatmulT(up b, ta, tb))

[<Fact>]
let ``layout and indexing ops on ilgpu-cpu equal the cpu's`` () =
    for dt in [ Float32; Float64; Int64 ] do
        let x = (rawOf 11 Float64 [| 3; 4; 5 |] -3.0 3.0).Cast dt
        let g = up x
        agree "reshape" (x.Reshape [| 12; 5 |]) (g.Reshape [| 12; 5 |])
        agree "permute" (x.Permute [| 2; 0; 1 |]) (g.Permute [| 2; 0; 1 |])
        agree "expand" ((x.Reshape [| 3; 1; 4; 5 |]).Expand [| 3; 2; 4; 5 |]) ((g.Reshape [| 3; 1; 4; 5 |]).Expand [| 3; 2; 4; 5 |])
        let st, sp, sz = [| 1; 0; 1 |], [| 3; 4; 5 |], [| 1; 2; 3 |]
        agree "slice" (x.Slice(st, sp, sz)) (g.Slice(st, sp, sz))
        let s = x.Slice(st, sp, sz)
        agree "slice scatter" (s.SliceScatter(x.Shape, st, sp, sz)) ((up s).SliceScatter(x.Shape, st, sp, sz))
        let y = (rawOf 12 Float64 [| 3; 2; 5 |] -1.0 1.0).Cast dt
        agree "concat" (x.Concat([| y; x |], 1)) (g.Concat([| up y; g |], 1))
        let ix = cpu.FromInt64([| 2L; 0L; 2L; 1L |], [| 4 |])
        agree "index_select" (x.IndexSelect(1, ix)) (g.IndexSelect(1, up ix))
        let gi = cpu.FromInt64([| for i in 0 .. 11 -> int64 ((i * 7) % 4) |], [| 3; 4; 1 |])
        agree "gather" (x.Gather(1, gi)) (g.Gather(1, up gi))
        agree "cast" (x.Cast Float64) (g.Cast Float64)
    for dt in dtypes do
        let x = rawOf 13 dt [| 3; 4; 5 |] -3.0 3.0
        let ix = cpu.FromInt64([| 2L; 0L; 2L; 1L |], [| 4 |])
        let sel = x.IndexSelect(1, ix)
        agree "index_add (repeated indices)" (sel.IndexAdd(x.Shape, 1, ix)) ((up sel).IndexAdd(x.Shape, 1, up ix))
        let gi = cpu.FromInt64([| for i in 0 .. 11 -> int64 ((i * 7) % 4) |], [| 3; 4; 1 |])
        let src = rawOf 14 dt [| 3; 4; 1 |] -1.0 1.0
        agree "scatter_add" (x.ScatterAdd(1, gi, src)) ((up x).ScatterAdd(1, up gi, up src))

/// Conv geometries: input shape, weight shape, stride, padding, dilation, groups.
let private convCases =
    [ [| 2; 3; 6; 5 |], [| 4; 3; 3; 3 |], (1, 1), (1, 1), (1, 1), 1          // same padding
      [| 1; 4; 7; 6 |], [| 6; 2; 3; 2 |], (2, 1), (1, 0), (1, 2), 2          // groups, strides, dilation
      [| 2; 4; 3; 3 |], [| 2; 4; 1; 1 |], (1, 1), (0, 0), (1, 1), 1          // pointwise
      [| 1; 2; 7; 7 |], [| 3; 2; 3; 3 |], (2, 2), (2, 2), (2, 2), 1          // stride, padding and dilation 2
      [| 1; 3; 5; 5 |], [| 3; 1; 3; 3 |], (2, 2), (1, 1), (1, 1), 3 ]        // depthwise

[<Fact>]
let ``native conv2d and its two backward ops on ilgpu-cpu equal the cpu's`` () =
    for dt in dtypes do
        for ci, (xs, ws, stride, padding, dilation, groups) in List.indexed convCases do
            let spec = { Stride = stride; Padding = padding; Dilation = dilation; Groups = groups }
            let x = rawOf (60 + ci) dt xs -1.0 1.0
            let w = rawOf (70 + ci) dt ws -1.0 1.0
            let y = x.Conv2d(w, spec)
            let what op = sprintf "%s case %d" op ci
            agree (what "conv2d") y ((up x).Conv2d(up w, spec))
            let g = rawOf (80 + ci) dt y.Shape -1.0 1.0
            agree (what "conv2d backward input") (g.Conv2dBackwardInput(w, xs, spec)) ((up g).Conv2dBackwardInput(up w, xs, spec))
            agree (what "conv2d backward weight") (g.Conv2dBackwardWeight(x, ws, spec)) ((up g).Conv2dBackwardWeight(up x, ws, spec))

/// Pool geometries: kernel, stride, padding, dilation, ceil mode, count_include_pad.
let private poolCases =
    [ (2, 2), (2, 2), (0, 0), (1, 1), false, true
      (3, 3), (2, 2), (1, 1), (1, 1), true, false
      (3, 2), (1, 2), (1, 1), (1, 1), true, true
      (2, 3), (2, 1), (1, 1), (2, 1), false, false ]

[<Fact>]
let ``native max and average pooling and their backward ops on ilgpu-cpu equal the cpu's`` () =
    for dt in dtypes do
        // integers in [-3, 0] make ties (the first maximum wins) and all-negative windows (padding is −∞);
        // one NaN must win its windows
        let r = Random 90
        let withNan = Array.init 120 (fun i -> if i = 17 then nan else float (r.Next(-3, 1)))
        let x0 = cpu.FromFloat64(withNan, [| 2; 2; 5; 6 |])
        for xi, x in List.indexed [ x0.Cast dt; rawOf 91 dt [| 1; 3; 6; 5 |] -1.0 1.0 ] do
            for pi, (kernel, stride, padding, dilation, ceil, includePad) in List.indexed poolCases do
                let spec = { Kernel = kernel; Stride = stride; Padding = padding; Dilation = dilation; CeilMode = ceil; CountIncludePad = includePad }
                let what op = sprintf "%s input %d case %d" op xi pi
                let v, ix = x.MaxPool2d spec
                let v', ix' = (up x).MaxPool2d spec
                agree (what "max_pool2d") v v'
                Assert.Equal<int64[]>(ix.ToInt64Array(), ix'.ToInt64Array())
                let g = rawOf (92 + pi) dt v.Shape -1.0 1.0
                agree (what "max_pool2d backward") (g.MaxPool2dBackward(ix, x.Shape)) ((up g).MaxPool2dBackward(up ix, x.Shape))
                if dilation = (1, 1) && xi = 1 then
                    let a = x.AvgPool2d spec
                    agree (what "avg_pool2d") a ((up x).AvgPool2d spec)
                    agree (what "avg_pool2d backward") (g.AvgPool2dBackward(x.Shape, spec)) ((up g).AvgPool2dBackward(x.Shape, spec))

[<Fact>]
let ``gradients through conv, pooling and a linear head on ilgpu-cpu equal the cpu's`` () =
    let dt = Float64
    let leaf seed shape = let t = Tensor(rawOf seed dt shape -0.8 0.8) in t.RequiresGrad <- true; t
    let net (x: Tensor) (ps: Tensor[]) =
        let h = Convolution.conv2d x ps.[0] ps.[1] (1, 1) (1, 1) (1, 1) 1 |> Pointwise.relu
        let h = Convolution.maxPool2d (2, 2) (2, 2) (0, 0) (1, 1) false h
        let h = Convolution.avgPool2d (2, 2) (1, 1) (0, 0) false true h
        Reduction.sum (h * h)
    let ps = [| leaf 95 [| 3; 2; 3; 3 |]; leaf 96 [| 3 |] |]
    let x = Tensor(rawOf 97 dt [| 2; 2; 6; 6 |] -1.0 1.0)
    let loss = net x ps
    Tape.backward loss
    let psDev = ps |> Array.map (fun p -> let t = Devices.toDevice dev (Tensor(p.Raw)) in t.RequiresGrad <- true; t)
    let lossDev = net (Devices.toDevice dev x) psDev
    Tape.backward lossDev
    agree "loss" loss.Raw lossDev.Raw
    for i in 0 .. 1 do agree (sprintf "grad %d" i) ps.[i].Grad.Raw psDev.[i].Grad.Raw

[<Fact>]
let ``the fused conv, relu and max-pool block on ilgpu-cpu (its composed default) equals the cpu's fused kernel`` () =
    for dt in dtypes do
        let leaf seed shape = let t = Tensor(rawOf seed dt shape -0.8 0.8) in t.RequiresGrad <- true; t
        let net (x: Tensor) (ps: Tensor[]) =
            let h = Convolution.conv2dReluMaxPool2dSquare x ps.[0] ps.[1] 1 1 1 1
            Reduction.sum (h * h)
        let ps = [| leaf 30 [| 3; 2; 3; 3 |]; leaf 31 [| 3 |] |]
        let x = leaf 32 [| 2; 2; 9; 10 |]
        let loss = net x ps
        Tape.backward loss
        let x' = Devices.toDevice dev (Tensor(x.Raw))
        x'.RequiresGrad <- true
        let ps' = ps |> Array.map (fun p -> let t = Devices.toDevice dev (Tensor(p.Raw)) in t.RequiresGrad <- true; t)
        let loss' = net x' ps'
        Tape.backward loss'
        agree "fused block loss" loss.Raw loss'.Raw
        agree "fused block input grad" x.Grad.Raw x'.Grad.Raw
        for i in 0 .. 1 do agree (sprintf "fused block grad %d" i) ps.[i].Grad.Raw ps'.[i].Grad.Raw

/// A two-layer MLP's loss: linear, relu, linear, cross-entropy.
let private mlpLoss (x: Tensor) (y: Tensor) (ps: Tensor[]) =
    let h = Pointwise.relu (Linalg.linear x ps.[0] ps.[1])
    Loss.crossEntropy (Linalg.linear h ps.[2] ps.[3]) y

[<Fact>]
let ``gradients through a small MLP on ilgpu-cpu equal the cpu's`` () =
    for dt in dtypes do
        let leaf seed shape = let t = Tensor(rawOf seed dt shape -0.8 0.8) in t.RequiresGrad <- true; t
        let ps = [| leaf 20 [| 6; 4 |]; leaf 21 [| 6 |]; leaf 22 [| 3; 6 |]; leaf 23 [| 3 |] |]
        let x = Tensor(rawOf 24 dt [| 5; 4 |] -1.0 1.0)
        let y = Create.ofInt64 [| 0L; 2L; 1L; 2L; 0L |] [| 5 |]
        let loss = mlpLoss x y ps
        Tape.backward loss
        let psDev = ps |> Array.map (fun p -> let t = Devices.toDevice dev (Tensor(p.Raw)) in t.RequiresGrad <- true; t)
        let lossDev = mlpLoss (Devices.toDevice dev x) (Devices.toDevice dev y) psDev
        Assert.Equal(dev, lossDev.Device)
        Tape.backward lossDev
        agree "loss" loss.Raw lossDev.Raw
        for i in 0 .. 3 do agree (sprintf "grad %d" i) ps.[i].Grad.Raw psDev.[i].Grad.Raw

[<Fact>]
let ``toDevice is differentiable: the gradient comes back to the cpu`` () =
    let x = Create.ofFloat64 [| 1.0; -2.0; 3.0 |] [| 3 |]
    x.RequiresGrad <- true
    let y = Devices.toDevice dev x
    Assert.Equal(dev, y.Device)
    let loss = Reduction.sum (y * y)
    Tape.backward loss
    Assert.Equal(Device.Cpu, x.Grad.Device)
    Assert.Equal<float[]>([| 2.0; -4.0; 6.0 |], x.Grad.ToFloat64Array())

[<Fact>]
let ``ops on tensors of different devices throw naming both devices`` () =
    let a = Create.ofFloat32 [| 1.0f; 2.0f |] [| 2 |]
    let b = Devices.toDevice dev a
    let e = Assert.Throws<ArgumentException>(fun () -> a + b |> ignore)
    Assert.Contains("cpu", e.Message)
    Assert.Contains(string dev, e.Message)
    let e2 = Assert.Throws<ArgumentException>(fun () -> b.Raw.Binary(Add, a.Raw) |> ignore)
    Assert.Contains("cpu", e2.Message)
    Assert.Contains(string dev, e2.Message)

[<Fact>]
let ``device names parse and print back`` () =
    Assert.Equal(Device.Cpu, Devices.parse "cpu")
    Assert.Equal(Ilgpu ("cuda", 0), Devices.parse "cuda")
    Assert.Equal(Ilgpu ("cuda", 1), Devices.parse "CUDA:1")
    Assert.Equal(Ilgpu ("opencl", 0), Devices.parse "opencl:0")
    Assert.Equal("ilgpu-cpu:0", string (Devices.parse "ilgpu-cpu"))
    Assert.Throws<ArgumentException>(fun () -> Devices.parse "tpu:0" |> ignore) |> ignore
    Assert.Equal((if Devices.isCudaAvailable () then Ilgpu ("cuda", 0) else Device.Cpu), Device.Default)

// ---------------------------------------------------------------- optimizers

let private paramsOf (seed: int) (dt: DType) =
    [| [| 7 |]; [| 2; 3 |]; [||] |] |> Array.mapi (fun i s -> Tensor(rawOf (seed + i) dt s -2.0 2.0))
let private onDev (ts: Tensor[]) = ts |> Array.map (fun t -> Tensor(up t.Raw))

[<Fact>]
let ``every first-order optimizer takes 50 steps on ilgpu-cpu as on the cpu`` () =
    for c in OptimTests.table do
        for dt in dtypes do
            let opt = c.Make false 0.01
            let p0 = paramsOf 30 dt
            let mutable s, p = opt.Init p0, p0
            let mutable sD, pD = opt.Init (onDev p0), onDev p0
            if sD.Buffers.[0].Length > 0 then Assert.Equal(dev, sD.Buffers.[0].[0].Device)
            for k in 1 .. 50 do
                let g = paramsOf (100 + k) dt
                let s', p' = opt.Update s g p
                s <- s'; p <- p'
                // alternate pure and in-place steps on the device
                if k % 2 = 0 then
                    let s'', p'' = opt.Update sD (onDev g) pD
                    sD <- s''; pD <- p''
                else sD <- opt.UpdateInPlace sD (onDev g) pD
            try
                for i in 0 .. p.Length - 1 do
                    agree "params" p.[i].Raw pD.[i].Raw
                    Assert.Equal(dev, pD.[i].Device)
                    for j in 0 .. s.Buffers.[i].Length - 1 do agree ("state " + s.Slots.[j]) s.Buffers.[i].[j] sD.Buffers.[i].[j]
            with e -> failwithf "%s %O: %s" c.Name dt e.Message

[<Fact>]
let ``100 in-place Adam steps after warm-up allocate no device buffer`` () =
    let opt = Adam.create { AdamHyper.defaults with Lr = 0.01; Amsgrad = true }
    let p = onDev (paramsOf 40 Float32)
    let g = onDev (paramsOf 41 Float32)
    let mutable s = opt.Init p
    s <- opt.UpdateInPlace s g p
    let pool = (Runtime.gpu dev).Pool
    let before = pool.Allocations
    for _ in 1 .. 100 do s <- opt.UpdateInPlace s g p
    Assert.Equal(101L, s.Step)
    Assert.Equal(before, pool.Allocations)

[<Fact>]
let ``disposed tensors give their buffers back to the pool for reuse`` () =
    let b = gpuBackend ()
    let pool = (Runtime.gpu dev).Pool
    let warm = b.Zeros([| 1234 |], Float32) :?> IlgpuRawTensor
    warm.Dispose()
    let before = pool.Allocations
    for _ in 1 .. 20 do
        let t = b.Full([| 1234 |], 3.0, Float32) :?> IlgpuRawTensor
        Assert.Equal(3.0f, t.ToFloat32Array().[1233])
        t.Dispose()
    Assert.Equal(before, pool.Allocations)

[<Fact>]
let ``the CUDA library resolver tries the asked cuBLAS, then CUDA 13's and the unversioned one, then the toolkit folders`` () =
    let c = CudaLibraries.candidates "libcublas.so.12"
    Assert.Equal<string list>([ "libcublas.so.12"; "libcublas.so.13"; "libcublas.so" ], List.take 3 c)
    Assert.Contains("/usr/local/cuda/lib64/libcublas.so.13", c)
    Assert.Equal<string list>([ "cuda"; "libcuda.so"; "libcuda.so.1" ], List.take 3 (CudaLibraries.candidates "cuda"))
    Assert.Empty(CudaLibraries.candidates "libnvvm.so")

[<Fact>]
let ``off CUDA, matmul runs the tiled kernel and says why`` () =
    let gpu = Runtime.gpu (Devices.parse "ilgpu-cpu")
    Assert.True(gpu.CuBlas.IsNone)
    Assert.Equal(Some "not a CUDA device", gpu.CuBlasProblem)

// ---------------------------------------------------------------- CUDA (skipped visibly without a device)

[<CudaFact>]
let ``cuda: matmul through cuBLAS equals the cpu's`` () =
    let cuda = Devices.backendOf (Devices.parse "cuda:0")
    for dt in dtypes do
        let a = rawOf 50 dt [| 2; 33; 65 |] -1.0 1.0
        let b = rawOf 51 dt [| 2; 65; 17 |] -1.0 1.0
        let rtol, atol = if dt = Float32 then 1e-4, 1e-5 else 1e-12, 1e-13
        match Check.close rtol atol ((a.Matmul b).ToFloat64Array()) ((cuda.Import a).Matmul(cuda.Import b).ToFloat64Array()) with
        | None -> () | Some m -> failwith m

[<CudaFact>]
let ``cuda: every first-order optimizer takes 20 steps as on the cpu`` () =
    let cuda = Devices.parse "cuda:0"
    for c in OptimTests.table do
        let opt = c.Make false 0.01
        let p0 = paramsOf 60 Float64
        let mutable s, p = opt.Init p0, p0
        let toC (ts: Tensor[]) = ts |> Array.map (Devices.toDevice cuda)
        let mutable sD, pD = opt.Init (toC p0), toC p0
        for k in 1 .. 20 do
            let g = paramsOf (200 + k) Float64
            let s', p' = opt.Update s g p
            s <- s'; p <- p'
            sD <- opt.UpdateInPlace sD (toC g) pD
        for i in 0 .. p.Length - 1 do
            match Check.close 1e-10 1e-12 (p.[i].ToFloat64Array()) (pD.[i].ToFloat64Array()) with
            | None -> () | Some m -> failwithf "%s: %s" c.Name m
