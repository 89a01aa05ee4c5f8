/// conv2d → relu → 2×2 max-pool as one op: the law is that it equals the three ops composed, in value and in every
/// derivative, whatever path (the CPU's fused kernel, or the composition it falls back to) computes it.
module Hybrid.Tests.FusedConvTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check

/// A small conv whose output is at least 2×2 (so one pooling window fits), with or without a bias.
type Block =
    { N: int; G: int; Cg: int; Og: int; K: int; S: int; P: int; D: int; H: int; W: int; Bias: bool; Seed: int }
    member b.XShape = [| b.N; b.G * b.Cg; b.H; b.W |]
    member b.WShape = [| b.G * b.Og; b.Cg; b.K; b.K |]
    member b.Fused x w bias = Convolution.conv2dReluMaxPool2dSquare x w bias b.S b.P b.D b.G
    member b.Composed x w bias =
        Convolution.conv2dSquare x w bias b.S b.P b.D b.G |> Pointwise.relu |> Convolution.maxPool2dSquare 2 2 0

let private genBlock =
    gen {
        let! n = Gen.choose (1, 3)
        let! groups = Gen.frequency [ 3, Gen.constant 1; 1, Gen.constant 2 ]
        // 8 channels and more (one group) take the backward over the gradient's nonzeros
        let! cg = Gen.frequency [ 3, Gen.choose (1, 3); 2, Gen.elements [ 8; 11 ] ]
        let groups = if cg >= 8 then 1 else groups
        let! og = Gen.choose (1, 3)
        let! k = Gen.elements [ 1; 2; 3 ]
        let! s = Gen.frequency [ 3, Gen.constant 1; 1, Gen.constant 2 ]
        let! p = Gen.choose (0, 1)
        let! d = Gen.frequency [ 3, Gen.constant 1; 1, Gen.constant 2 ]
        // output extent (H + 2p − d(k−1) − 1)/s + 1 ≥ 2, odd extents included (the pool drops the last row or column)
        let! eh = Gen.choose (0, 5)
        let! ew = Gen.choose (0, 5)
        let! bias = Gen.elements [ true; false ]
        let! seed = Gen.choose (0, 100000)
        let least = d * (k - 1) + 1 + s - 2 * p
        return { N = n; G = groups; Cg = cg; Og = og; K = k; S = s; P = p; D = d
                 H = max 1 (least + eh); W = max 1 (least + ew); Bias = bias; Seed = seed }
    }

let private leaves (b: Block) =
    let x = tensorOf b.Seed b.XShape
    let w = tensorOf (b.Seed + 1) b.WShape
    let bias = if b.Bias then tensorOf (b.Seed + 2) [| b.G * b.Og |] else null
    for t in [ x; w; bias ] do if not (isNull t) then t.RequiresGrad <- true
    x, w, bias

/// Runs f with the fused forward's Winograd path off (im2col's products, to compare bit for bit).
let private withoutWinograd (f: unit -> unit) =
    let was = Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd
    Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd <- false
    try f () finally Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd <- was

/// Equal arrays, NaN equal to NaN.
let private assertSame (expected: float[]) (actual: float[]) =
    Assert.Equal<float[]>(expected, actual)

/// The output and the gradients of Σ y·r (r fixed and random) with respect to every leaf.
let private run (f: Tensor -> Tensor -> Tensor -> Tensor) (b: Block) (x: Tensor) (w: Tensor) (bias: Tensor) =
    let y = f x w bias
    let leaves = if isNull bias then [| x; w |] else [| x; w; bias |]
    let r = Tensor((tensorOf (b.Seed + 3) y.Shape).Raw.Cast y.DType)
    y, Tape.gradWith [| Reduction.sum (y * r) |] null leaves false false

[<Property(MaxTest = 60)>]
let ``conv2d_relu_max_pool2d equals conv2d, relu and max_pool2d composed, in value and gradient`` () =
    Prop.forAll (Arb.fromGen genBlock) (fun b ->
        let x, w, bias = leaves b
        let y, gs = run b.Fused b x w bias
        let ye, ge = run b.Composed b x w bias
        Assert.Equal<int[]>(ye.Shape, y.Shape)
        // the same products and the same maximum: equal to the last bit
        assertClose 0.0 0.0 (ye.ToFloat64Array()) (y.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertClose 1e-12 1e-12 (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs
        true)

[<Property(MaxTest = 20)>]
let ``conv2d_relu_max_pool2d gradients agree with finite differences on inputs without ties`` () =
    Prop.forAll (Arb.fromGen genBlock) (fun b ->
        let x, w, bias = leaves b
        let r = b.Seed + 3
        let f x w bias = let y = b.Fused x w bias in Reduction.sum (y * tensorOf r y.Shape)
        gradCheck (fun x -> f x w bias) x && gradCheck (fun w -> f x w bias) w
        && (isNull bias || gradCheck (fun bias -> f x w bias) bias))

[<Property(MaxTest = 10)>]
let ``hvp through conv2d_relu_max_pool2d equals the hvp through the composed ops`` (seed: int) =
    // f(w) = Σ block(block(x, w))²: the second derivative goes through the recorded (create-graph) backward
    let b = { N = 2; G = 1; Cg = 2; Og = 2; K = 3; S = 1; P = 1; D = 1; H = 8; W = 8; Bias = true; Seed = seed }
    let x = tensorOf seed b.XShape
    let bias = tensorOf (seed + 2) [| 2 |] * 0.1
    let f (block: Tensor -> Tensor -> Tensor -> Tensor) (w: Tensor) =
        let y = block (block x w bias) w bias
        Reduction.sum (y * y)
    let w = tensorOf (seed + 1) b.WShape * 0.5
    let v = tensorOf (seed + 4) b.WShape
    assertClose 1e-10 1e-12 ((Tape.hvp (f b.Composed) w v).ToFloat64Array()) ((Tape.hvp (f b.Fused) w v).ToFloat64Array())
    true

[<Fact>]
let ``conv2d_relu_max_pool2d in float32 equals the composed ops to the last bit`` () =
    // float32 planes with whole pairs take the vector passes: an even and an odd height, 5 and 8 windows a row,
    // and one plane too narrow for them (3 windows a row); im2col's products, so Winograd's path is turned off
    withoutWinograd <| fun () ->
    for h, w in [ 12, 10; 11, 16; 8, 6 ] do
        let b = { N = 3; G = 1; Cg = 4; Og = 5; K = 3; S = 1; P = 1; D = 1; H = h; W = w; Bias = true; Seed = 7 + h }
        let cast (t: Tensor) = if isNull t then t else Tensor(t.Raw.Cast Float32)
        let x, w, bias = leaves b
        let x, w, bias = cast x, cast w, cast bias
        for t in [ x; w; bias ] do t.RequiresGrad <- true
        let y, gs = run b.Fused b x w bias
        let ye, ge = run b.Composed b x w bias
        Assert.Equal<float32[]>(ye.ToFloat32Array(), y.ToFloat32Array())
        // ∂x and ∂w to the last bit where the same inputs are chosen and the same products run
        Assert.Equal<float32[]>(ge.[1].ToFloat32Array(), gs.[1].ToFloat32Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertClose 1e-5 1e-6 (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs

[<Fact>]
let ``conv2d_relu_max_pool2d over a batch large enough to run in chunks equals the composed ops`` () =
    // 16 channels of 14×14 under a 3×3 kernel: 4 samples a chunk, so 9 samples make chunks of 4, 4 and 1
    for dt in [ Float64; Float32 ] do
        let b = { N = 9; G = 1; Cg = 16; Og = 6; K = 3; S = 1; P = 1; D = 1; H = 14; W = 14; Bias = true; Seed = 21 }
        let x, w, bias = leaves b
        let x, w, bias = Tensor(x.Raw.Cast dt), Tensor(w.Raw.Cast dt), Tensor(bias.Raw.Cast dt)
        for t in [ x; w; bias ] do t.RequiresGrad <- true
        let y, gs = run b.Fused b x w bias
        let ye, ge = run b.Composed b x w bias
        let tol = if dt = Float64 then 1e-12 else 1e-5
        assertClose tol tol (ye.ToFloat64Array()) (y.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertClose tol tol (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs
        // and the same again: results do not depend on which core took which chunk
        let y2, gs2 = run b.Fused b x w bias
        Assert.Equal<float[]>(y.ToFloat64Array(), y2.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> Assert.Equal<float[]>(e.ToFloat64Array(), a.ToFloat64Array())) gs gs2

[<Fact>]
let ``a one-channel block over a batch large enough to run in chunks equals the composed ops`` () =
    // 1 channel of 28×28, 16 filters of 3×3: 6 samples a chunk, run through the managed thin kernels on each core;
    // 13 samples make chunks of 6, 6 and 1
    for dt in [ Float64; Float32 ] do
        let b = { N = 13; G = 1; Cg = 1; Og = 16; K = 3; S = 1; P = 1; D = 1; H = 28; W = 28; Bias = true; Seed = 31 }
        let x, w, bias = leaves b
        let x, w, bias = Tensor(x.Raw.Cast dt), Tensor(w.Raw.Cast dt), Tensor(bias.Raw.Cast dt)
        for t in [ w; bias ] do t.RequiresGrad <- true
        let leavesOf = [| w; bias |]
        let grads (f: Tensor -> Tensor -> Tensor -> Tensor) =
            let y = f x w bias
            let r = Tensor((tensorOf 33 y.Shape).Raw.Cast dt)
            y, Tape.gradWith [| Reduction.sum (y * r) |] null leavesOf false false
        let y, gs = grads b.Fused
        let ye, ge = grads b.Composed
        let tol = if dt = Float64 then 1e-12 else 1e-4
        assertClose tol tol (ye.ToFloat64Array()) (y.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertClose tol tol (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs
        let y2, gs2 = grads b.Fused
        Assert.Equal<float[]>(y.ToFloat64Array(), y2.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> Assert.Equal<float[]>(e.ToFloat64Array(), a.ToFloat64Array())) gs gs2

[<Fact>]
let ``conv2d_relu_max_pool2d routes tied maxima and NaN as max_pool2d does`` () =
    // a constant image gives equal conv outputs inside (ties: the first of each window wins); a NaN spreads to its windows
    let x = Create.ones Float64 [| 1; 1; 6; 6 |]
    let xs = x.ToFloat64Array()
    xs.[3 * 6 + 4] <- nan
    let b = { N = 1; G = 1; Cg = 1; Og = 2; K = 3; S = 1; P = 1; D = 1; H = 6; W = 6; Bias = true; Seed = 11 }
    for x in [ x; Create.ofFloat64 xs [| 1; 1; 6; 6 |] ] do
        let w = Create.ofFloat64 [| for i in 0 .. 17 -> if i < 9 then 0.25 else -0.5 + 0.1 * float (i - 9) |] b.WShape
        let bias = Create.ofFloat64 [| 0.5; 0.3 |] [| 2 |]
        for t in [ x; w; bias ] do t.RequiresGrad <- true
        let y, gs = run b.Fused b x w bias
        let ye, ge = run b.Composed b x w bias
        assertSame (ye.ToFloat64Array()) (y.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertSame (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs

[<Fact>]
let ``float32 conv2d_relu_max_pool2d routes tied maxima and NaN as max_pool2d does in its vector path`` () =
    // planes 10 wide and 12 high take the vector path (whole pairs, ≥ 4 windows a row); ties from a constant image with
    // a step in it, NaN in one window, a window of two NaN, and a negative region where relu gives 0
    let h, w = 12, 10
    let xs = Array.init (h * w) (fun i -> if i % w < 6 then 1.0f else -2.0f)
    xs.[3 * w + 4] <- nanf
    xs.[8 * w + 1] <- nanf
    xs.[8 * w + 2] <- nanf
    let x = Create.ofFloat32 xs [| 1; 1; h; w |]
    let b = { N = 1; G = 1; Cg = 1; Og = 3; K = 3; S = 1; P = 1; D = 1; H = h; W = w; Bias = true; Seed = 13 }
    let wt = Create.ofFloat32 [| for i in 0 .. 26 -> if i < 9 then 0.25f elif i < 18 then -0.125f else 0.5f - 0.0625f * float32 (i - 18) |] b.WShape
    let bias = Create.ofFloat32 [| 0.5f; 0.25f; -0.75f |] [| 3 |]
    for t in [ x; wt; bias ] do t.RequiresGrad <- true
    let y, gs = run b.Fused b x wt bias
    let ye, ge = run b.Composed b x wt bias
    Assert.Equal<float32[]>(ye.ToFloat32Array(), y.ToFloat32Array())
    Assert.Contains(Single.NaN, y.ToFloat32Array())
    // the same inputs chosen: ∂x and ∂w to the last bit (∂b sums the same terms in another order)
    Assert.Equal<float32[]>(ge.[0].ToFloat32Array(), gs.[0].ToFloat32Array())
    Assert.Equal<float32[]>(ge.[1].ToFloat32Array(), gs.[1].ToFloat32Array())
    assertClose 1e-6 1e-6 (ge.[2].ToFloat64Array()) (gs.[2].ToFloat64Array())

[<Fact>]
let ``conv2d_relu_max_pool2d skips the gradients of leaves that do not ask for one`` () =
    let b = { N = 2; G = 1; Cg = 2; Og = 3; K = 3; S = 1; P = 1; D = 1; H = 6; W = 6; Bias = true; Seed = 5 }
    let x, w, bias = leaves b
    x.RequiresGrad <- false
    let y = b.Fused x w bias
    let r = tensorOf 9 y.Shape
    let gs = Tape.gradWith [| Reduction.sum (y * r) |] null [| w; bias |] false false
    let ye = b.Composed x w bias
    let ge = Tape.gradWith [| Reduction.sum (ye * r) |] null [| w; bias |] false false
    assertClose 1e-12 1e-12 (ge.[0].ToFloat64Array()) (gs.[0].ToFloat64Array())
    assertClose 1e-12 1e-12 (ge.[1].ToFloat64Array()) (gs.[1].ToFloat64Array())
    Assert.Equal<int[]>([| 2; 3; 3; 3 |], y.Shape)

[<Fact>]
let ``conv2d_relu_max_pool2d rejects a conv output smaller than the pooling window`` () =
    let x = Create.zeros Float64 [| 1; 1; 3; 3 |]
    let w = Create.zeros Float64 [| 2; 1; 3; 3 |]
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dReluMaxPool2dSquare x w null 1 0 1 1 |> ignore)
    Assert.Contains("conv2d_relu_max_pool2d", e.Message)
    Assert.Contains("[1,2,1,1]", e.Message)

// ---------------------------------------------------------------- Winograd F(2×2, 3×3) (float32, 3×3, stride 1, padding 1)

/// Float32 leaves of a block, requiring gradients.
let private leaves32 (b: Block) =
    let x, w, bias = leaves b
    let cast (t: Tensor) = if isNull t then t else Tensor(t.Raw.Cast Float32)
    let x, w, bias = cast x, cast w, cast bias
    for t in [ x; w; bias ] do if not (isNull t) then t.RequiresGrad <- true
    x, w, bias

[<Fact>]
let ``the float32 Winograd path equals the composed ops, in value and gradient`` () =
    // planes 2 to 16 wide, odd heights and widths (the pool drops the last row or column), with and without a bias;
    // batches large enough to run in chunks take Winograd for the input gradient too (even planes)
    for n, c, o, h, w, bias in [ 9, 16, 6, 14, 14, true; 20, 4, 9, 16, 16, false; 10, 32, 8, 8, 8, true
                                 5, 3, 5, 7, 9, true; 3, 2, 3, 2, 2, true; 8, 5, 4, 11, 12, false ] do
        let b = { N = n; G = 1; Cg = c; Og = o; K = 3; S = 1; P = 1; D = 1; H = h; W = w; Bias = bias; Seed = 40 + h + w }
        let x, wt, bs = leaves32 b
        let y, gs = run b.Fused b x wt bs
        let ye, ge = run b.Composed b x wt bs
        assertClose 1e-5 1e-5 (ye.ToFloat64Array()) (y.ToFloat64Array())
        Array.iter2 (fun (e: Tensor) (a: Tensor) -> assertClose 1e-4 1e-5 (e.ToFloat64Array()) (a.ToFloat64Array())) ge gs

[<Fact>]
let ``the Winograd path runs: its float32 rounding differs from im2col's, and turning it off gives im2col's values`` () =
    let b = { N = 9; G = 1; Cg = 16; Og = 6; K = 3; S = 1; P = 1; D = 1; H = 14; W = 14; Bias = true; Seed = 3 }
    let x, wt, bs = leaves32 b
    let was = Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd
    Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd <- true   // whatever HYBRID_NO_WINOGRAD says
    let y, gs = try run b.Fused b x wt bs finally Hybrid.Core.Backends.Cpu.ConvReluPool.useWinograd <- was
    let mutable off = Unchecked.defaultof<Tensor * Tensor[]>
    withoutWinograd (fun () -> off <- run b.Fused b x wt bs)
    let yOff, gsOff = off
    let ye, ge = run b.Composed b x wt bs
    Assert.NotEqual<float32[]>(yOff.ToFloat32Array(), y.ToFloat32Array())
    // the input gradient takes Winograd in the chunked backward, which needs BLAS (HYBRID_NO_BLAS=1 runs the whole batch)
    if Hybrid.Core.Backends.Cpu.Blas.available.Value then
        Assert.NotEqual<float32[]>(gsOff.[0].ToFloat32Array(), gs.[0].ToFloat32Array())
    // with Winograd off the block runs im2col's products again: the composed ops' values to float32 rounding (one big
    // OpenBLAS gemm over the batch against per-chunk gemms may round the last bit differently)
    assertClose 1e-5 1e-6 (ye.ToFloat64Array()) (yOff.ToFloat64Array())

[<Fact>]
let ``on small integers Winograd is exact: ties go to the first maximum as max_pool2d's`` () =
    // integer inputs, weights and bias: every transform and product is exact in float32, so the values tie exactly where
    // the direct convolution's tie, and the fused op must choose the same window element (∂x and ∂w bit for bit)
    let b = { N = 10; G = 1; Cg = 8; Og = 4; K = 3; S = 1; P = 1; D = 1; H = 10; W = 12; Bias = true; Seed = 0 }
    let r = Random(5)
    let ints (n: int) (lo: int) (hi: int) = Array.init n (fun _ -> float32 (r.Next(lo, hi + 1)))
    let x = Create.ofFloat32 (ints (Shape.numel b.XShape) -1 1) b.XShape
    let wt = Create.ofFloat32 (ints (Shape.numel b.WShape) -1 1) b.WShape
    let bs = Create.ofFloat32 (ints 4 -1 1) [| 4 |]
    for t in [ x; wt; bs ] do t.RequiresGrad <- true
    let y, gs = run b.Fused b x wt bs
    let ye, ge = run b.Composed b x wt bs
    Assert.Equal<float32[]>(ye.ToFloat32Array(), y.ToFloat32Array())
    Assert.Equal<float32[]>(ge.[0].ToFloat32Array(), gs.[0].ToFloat32Array())
    Assert.Equal<float32[]>(ge.[1].ToFloat32Array(), gs.[1].ToFloat32Array())

[<Fact>]
let ``samples with NaN or infinity, in the input or in the gradient, keep them where im2col's products put them`` () =
    // sample 1 has a NaN input, sample 4 an infinite one, and the gradient of sample 6 a NaN: Winograd would spread
    // each over whole tiles, so those samples fall back to im2col; the others stay on Winograd
    let b = { N = 9; G = 1; Cg = 16; Og = 6; K = 3; S = 1; P = 1; D = 1; H = 14; W = 14; Bias = true; Seed = 8 }
    let x, wt, bs = leaves32 b
    let xs = x.ToFloat32Array()
    let plane = 16 * 14 * 14
    xs.[1 * plane + 5 * 14 + 6] <- nanf
    xs.[4 * plane + 200] <- infinityf
    let x = Create.ofFloat32 xs b.XShape
    x.RequiresGrad <- true
    let grads () =
        let y = b.Fused x wt bs
        let rs = (tensorOf 11 y.Shape).ToFloat64Array() |> Array.map float32
        rs.[6 * 6 * 49 + 10] <- nanf
        y, Tape.gradWith [| Reduction.sum (y * Create.ofFloat32 rs y.Shape) |] null [| x; wt; bs |] false false
    let y, gs = grads ()
    let mutable off = Unchecked.defaultof<Tensor * Tensor[]>
    withoutWinograd (fun () -> off <- grads ())
    let yOff, gsOff = off
    // the same elements NaN, the same infinite (with their signs), the finite ones within float32 rounding
    let sameAs (expected: float32[]) (actual: float32[]) =
        Assert.Equal<bool[]>(Array.map Single.IsNaN expected, Array.map Single.IsNaN actual)
        Assert.Equal<float32[]>(expected |> Array.map (fun v -> if Single.IsInfinity v then v else 0.0f),
                                actual |> Array.map (fun v -> if Single.IsInfinity v then v else 0.0f))
        let finite (a: float32[]) = a |> Array.map (fun v -> if Single.IsFinite v then float v else 0.0)
        assertClose 1e-5 1e-5 (finite expected) (finite actual)
    let sampleOf (a: float32[]) (size: int) (k: int) = a.[k * size .. (k + 1) * size - 1]
    for k in 0 .. 8 do
        sameAs (sampleOf (yOff.ToFloat32Array()) (6 * 49) k) (sampleOf (y.ToFloat32Array()) (6 * 49) k)
        sameAs (sampleOf (gsOff.[0].ToFloat32Array()) plane k) (sampleOf (gs.[0].ToFloat32Array()) plane k)
    Assert.Contains(Single.NaN, sampleOf (y.ToFloat32Array()) (6 * 49) 1)
    Assert.Contains(Single.NaN, sampleOf (gs.[0].ToFloat32Array()) plane 6)
    // one NaN input reaches only the outputs whose windows read it, not a whole Winograd tile's worth
    Assert.True((sampleOf (y.ToFloat32Array()) (6 * 49) 1 |> Array.filter Single.IsNaN).Length < 6 * 49)
