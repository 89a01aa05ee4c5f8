/// In the "ilgpu-cpu" collection: its gradient checks on ilgpu-cpu use the device IlgpuTests count allocations on.
[<Xunit.Collection("ilgpu-cpu")>]
module Hybrid.Tests.ConvolutionTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.ConvolutionGolden

// ---- fixed inputs, rebuilt exactly as golden/make_conv.py builds them

let private fill (shape: int[]) (f: int -> float) = Create.ofFloat64 (Array.init (Shape.numel shape) f) shape
let private xs shape = fill shape (fun i -> 1.5 * sin (0.731 * float i + 0.3))
let private ws shape = fill shape (fun i -> 0.5 * cos (0.517 * float i + 0.2))
let private bs shape = fill shape (fun i -> 0.1 * float (i + 1) - 0.2)
let private gs shape = fill shape (fun i -> sin (0.29 * float i - 0.4))

let private leaf (t: Tensor) =
    t.RequiresGrad <- true
    t

/// Gradients of Σ y·g with respect to `inputs`, where y = f(inputs) and g is the fixed upstream gradient.
let private gradsOf (f: Tensor[] -> Tensor) (inputs: Tensor[]) =
    let inputs = inputs |> Array.map leaf
    let y = f inputs
    let loss = Reduction.sum (y * gs y.Shape)
    y, Tape.gradWith [| loss |] null inputs false false

let private goldenConv xShape wShape stride padding dilation groups (ey: float[]) (egx: float[]) (egw: float[]) (egb: float[]) =
    let y, gr =
        gradsOf (fun t -> Convolution.conv2d t.[0] t.[1] t.[2] stride padding dilation groups)
            [| xs xShape; ws wShape; bs [| Array.get wShape 0 |] |]
    assertClose 1e-10 1e-10 ey (y.ToFloat64Array())
    assertClose 1e-10 1e-10 egx (gr.[0].ToFloat64Array())
    assertClose 1e-10 1e-10 egw (gr.[1].ToFloat64Array())
    assertClose 1e-10 1e-10 egb (gr.[2].ToFloat64Array())

[<Fact>]
let ``conv2d equals torch without stride or padding`` () =
    goldenConv [| 2; 3; 5; 5 |] [| 4; 3; 3; 3 |] (1, 1) (0, 0) (1, 1) 1 convPlain_y convPlain_gx convPlain_gw convPlain_gb

[<Fact>]
let ``conv2d equals torch with stride 2 and padding 1`` () =
    goldenConv [| 2; 3; 6; 5 |] [| 4; 3; 3; 3 |] (2, 2) (1, 1) (1, 1) 1 convStridePad_y convStridePad_gx convStridePad_gw convStridePad_gb

[<Fact>]
let ``conv2d equals torch with dilation 2 and uneven padding`` () =
    goldenConv [| 1; 2; 7; 6 |] [| 3; 2; 3; 2 |] (1, 1) (2, 1) (2, 2) 1 convDilation_y convDilation_gx convDilation_gw convDilation_gb

[<Fact>]
let ``conv2d equals torch with 2 groups and uneven stride`` () =
    goldenConv [| 2; 4; 5; 5 |] [| 6; 2; 3; 3 |] (2, 1) (1, 0) (1, 1) 2 convGroups_y convGroups_gx convGroups_gw convGroups_gb

[<Fact>]
let ``conv2d equals torch for a 1x1 kernel`` () =
    goldenConv [| 2; 3; 4; 3 |] [| 5; 3; 1; 1 |] (1, 1) (0, 0) (1, 1) 1 convPointwise_y convPointwise_gx convPointwise_gw convPointwise_gb

let private goldenPool (pool: Tensor -> Tensor) xShape (ey: float[]) (egx: float[]) =
    let y, gr = gradsOf (fun t -> pool t.[0]) [| xs xShape |]
    assertClose 1e-10 1e-10 ey (y.ToFloat64Array())
    assertClose 1e-10 1e-10 egx (gr.[0].ToFloat64Array())

[<Fact>]
let ``max_pool2d equals torch with padding`` () =
    goldenPool (Convolution.maxPool2dSquare 3 2 1) [| 2; 2; 7; 6 |] maxPad_y maxPad_gx

[<Fact>]
let ``max_pool2d equals torch with dilation and ceil mode`` () =
    goldenPool (Convolution.maxPool2d (2, 3) (2, 2) (1, 1) (2, 2) true) [| 1; 2; 7; 8 |] maxDilCeil_y maxDilCeil_gx

[<Fact>]
let ``avg_pool2d equals torch with ceil mode and padding not counted`` () =
    goldenPool (Convolution.avgPool2d (3, 3) (2, 2) (1, 1) true false) [| 2; 2; 7; 6 |] avgCeilNoPad_y avgCeilNoPad_gx

[<Fact>]
let ``avg_pool2d equals torch with padding counted`` () =
    goldenPool (Convolution.avgPool2d (2, 3) (2, 2) (1, 1) false true) [| 1; 2; 5; 6 |] avgPad_y avgPad_gx

[<Fact>]
let ``avg_pool2d equals torch with ceil mode and padding counted`` () =
    goldenPool (Convolution.avgPool2d (3, 3) (2, 2) (1, 1) true true) [| 1; 1; 6; 6 |] avgCeilPad_y avgCeilPad_gx

// ---- generated geometries

/// A small conv2d problem whose output is non-empty.
type ConvGeo =
    { N: int; G: int; Cg: int; Og: int; KH: int; KW: int; SH: int; SW: int; PH: int; PW: int; DH: int; DW: int
      H: int; W: int; Seed: int }
    member g.XShape = [| g.N; g.G * g.Cg; g.H; g.W |]
    member g.WShape = [| g.G * g.Og; g.Cg; g.KH; g.KW |]
    member g.Conv x w b = Convolution.conv2d x w b (g.SH, g.SW) (g.PH, g.PW) (g.DH, g.DW) g.G

let private genConv =
    gen {
        let! n = Gen.choose (1, 2)
        let! groups = Gen.choose (1, 2)
        let! cg = Gen.choose (1, 2)
        let! og = Gen.choose (1, 2)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! sh = Gen.choose (1, 2)
        let! sw = Gen.choose (1, 2)
        let! ph = Gen.choose (0, 2)
        let! pw = Gen.choose (0, 2)
        let! dh = Gen.choose (1, 2)
        let! dw = Gen.choose (1, 2)
        // the input covers at least the dilated kernel once padded
        let! eh = Gen.choose (0, 3)
        let! ew = Gen.choose (0, 3)
        let! seed = Gen.choose (0, 100000)
        let h = max 1 ((kh - 1) * dh + 1 - 2 * ph + eh)
        let w = max 1 ((kw - 1) * dw + 1 - 2 * pw + ew)
        return { N = n; G = groups; Cg = cg; Og = og; KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw; DH = dh; DW = dw
                 H = h; W = w; Seed = seed }
    }

/// Σ y·r for a fixed random r: a scalar whose gradient is the full vector-Jacobian product.
let private weighted (seed: int) (y: Tensor) = Reduction.sum (y * tensorOf seed y.Shape)

/// f run on a device: its inputs copied there and its output copied back (both differentiable), so a gradient check
/// of `onDevice d f` checks the device's forward and backward ops against finite differences on the CPU.
let private onDevice (d: Device) (f: Tensor -> Tensor) = fun (x: Tensor) -> Devices.toDevice Cpu (f (Devices.toDevice d x))

let private cpuDev = Devices.parse "cpu"
let private ilgpuCpu = Devices.parse "ilgpu-cpu"

/// conv2d's gradients for input, weight and bias against finite differences, the op run on device d.
let private conv2dGradLaw (d: Device) =
    Prop.forAll (Arb.fromGen genConv) (fun g ->
        let x = tensorOf g.Seed g.XShape
        let w = tensorOf (g.Seed + 1) g.WShape
        let b = tensorOf (g.Seed + 2) [| g.G * g.Og |]
        let r = g.Seed + 3
        let on = Devices.toDevice d
        gradCheck (fun x -> weighted r (onDevice d (fun x -> g.Conv x (on w) (on b)) x)) x
        && gradCheck (fun w -> weighted r (onDevice d (fun w -> g.Conv (on x) w (on b)) w)) w
        && gradCheck (fun b -> weighted r (onDevice d (fun b -> g.Conv (on x) (on w) b) b)) b)

[<Property(MaxTest = 30)>]
let ``conv2d gradients agree with finite differences for input, weight and bias`` () = conv2dGradLaw cpuDev

[<Property(MaxTest = 6)>]
let ``conv2d gradients agree with finite differences for input, weight and bias on ilgpu-cpu`` () = conv2dGradLaw ilgpuCpu

[<Property(MaxTest = 30)>]
let ``conv2d backward ops are the adjoints of conv2d`` () =
    // ⟨conv(x, w), g⟩ = ⟨x, convᵀₓ(g, w)⟩ = ⟨w, convᵀ_w(g, x)⟩
    Prop.forAll (Arb.fromGen genConv) (fun geo ->
        let x = tensorOf geo.Seed geo.XShape
        let w = tensorOf (geo.Seed + 1) geo.WShape
        let y = geo.Conv x w null
        let g = tensorOf (geo.Seed + 2) y.Shape
        let s, p, d = (geo.SH, geo.SW), (geo.PH, geo.PW), (geo.DH, geo.DW)
        let lhs = (Reduction.sum (y * g)).Item
        let viaX = (Reduction.sum (x * Convolution.conv2dBackwardInput geo.XShape g w s p d geo.G)).Item
        let viaW = (Reduction.sum (w * Convolution.conv2dBackwardWeight geo.WShape g x s p d geo.G)).Item
        abs (lhs - viaX) <= 1e-10 * (1.0 + abs lhs) && abs (lhs - viaW) <= 1e-10 * (1.0 + abs lhs))

/// A small pooling problem: kernel, stride, padding ≤ kernel/2, dilation, ceil mode, count_include_pad.
type PoolGeo =
    { N: int; C: int; H: int; W: int; KH: int; KW: int; SH: int; SW: int; PH: int; PW: int; DH: int; DW: int
      Ceil: bool; CountPad: bool; Seed: int }
    member g.XShape = [| g.N; g.C; g.H; g.W |]

let private genPool (dilated: bool) =
    gen {
        let! n = Gen.choose (1, 2)
        let! c = Gen.choose (1, 2)
        let! kh = Gen.choose (1, 3)
        let! kw = Gen.choose (1, 3)
        let! sh = Gen.choose (1, 3)
        let! sw = Gen.choose (1, 3)
        let! ph = Gen.choose (0, kh / 2)
        let! pw = Gen.choose (0, kw / 2)
        let! dh = if dilated then Gen.choose (1, 2) else Gen.constant 1
        let! dw = if dilated then Gen.choose (1, 2) else Gen.constant 1
        let! eh = Gen.choose (0, 4)
        let! ew = Gen.choose (0, 4)
        let! ceil = Gen.elements [ false; true ]
        let! countPad = Gen.elements [ false; true ]
        let! seed = Gen.choose (0, 100000)
        return { N = n; C = c; H = (kh - 1) * dh + 1 + eh; W = (kw - 1) * dw + 1 + ew; KH = kh; KW = kw; SH = sh; SW = sw
                 PH = ph; PW = pw; DH = dh; DW = dw; Ceil = ceil; CountPad = countPad; Seed = seed }
    }

/// Distinct values (a shuffled ramp, spaced 0.1 apart), so no window holds a tie within finite-difference steps.
let private distinct (seed: int) (shape: int[]) =
    let n = Shape.numel shape
    let rng = Random(seed)
    let perm = Array.init n id
    for i in n - 1 .. -1 .. 1 do
        let j = rng.Next(i + 1)
        let t = perm.[i]
        perm.[i] <- perm.[j]
        perm.[j] <- t
    Create.ofFloat64 (perm |> Array.map (fun k -> 0.1 * float k - 0.05 * float n)) shape

/// max_pool2d's gradient against finite differences on inputs without ties, the op run on device d.
let private maxPoolGradLaw (d: Device) =
    Prop.forAll (Arb.fromGen (genPool true)) (fun g ->
        let pool = Convolution.maxPool2d (g.KH, g.KW) (g.SH, g.SW) (g.PH, g.PW) (g.DH, g.DW) g.Ceil
        let x = distinct g.Seed g.XShape
        let r = g.Seed + 1
        gradCheck (fun x -> weighted r (onDevice d pool x)) x)

/// avg_pool2d's gradient against finite differences, the op run on device d.
let private avgPoolGradLaw (d: Device) =
    Prop.forAll (Arb.fromGen (genPool false)) (fun g ->
        let pool = Convolution.avgPool2d (g.KH, g.KW) (g.SH, g.SW) (g.PH, g.PW) g.Ceil g.CountPad
        let x = tensorOf g.Seed g.XShape
        let r = g.Seed + 1
        gradCheck (fun x -> weighted r (onDevice d pool x)) x)

[<Property(MaxTest = 40)>]
let ``max_pool2d gradient agrees with finite differences on inputs without ties`` () = maxPoolGradLaw cpuDev

[<Property(MaxTest = 10)>]
let ``max_pool2d gradient agrees with finite differences on inputs without ties on ilgpu-cpu`` () = maxPoolGradLaw ilgpuCpu

[<Property(MaxTest = 40)>]
let ``avg_pool2d gradient agrees with finite differences`` () = avgPoolGradLaw cpuDev

[<Property(MaxTest = 10)>]
let ``avg_pool2d gradient agrees with finite differences on ilgpu-cpu`` () = avgPoolGradLaw ilgpuCpu

[<Property(MaxTest = 40)>]
let ``max_pool2d output is the largest input of each window`` () =
    // the value at each output equals the input at its recorded index, and nothing in the window beats it:
    // checked by the pooled maximum of x never being below the pooled mean of x
    Prop.forAll (Arb.fromGen (genPool true)) (fun g ->
        let x = tensorOf g.Seed g.XShape
        let mx = Convolution.maxPool2d (g.KH, g.KW) (g.SH, g.SW) (g.PH, g.PW) (1, 1) g.Ceil x
        let av = Convolution.avgPool2d (g.KH, g.KW) (g.SH, g.SW) (g.PH, g.PW) g.Ceil false x
        Array.forall2 (fun (m: float) a -> m >= a - 1e-12) (mx.ToFloat64Array()) (av.ToFloat64Array()))

// ---- double backward

/// Finite differences of the gradient along v: (∇f(x + hv) − ∇f(x − hv)) / 2h ≈ H v.
let private hvpNumeric (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
    let h = 1e-5
    let at (s: float) = (Tape.grad f (x + v * s)).ToFloat64Array()
    Array.map2 (fun a b -> (a - b) / (2.0 * h)) (at h) (at (-h))

[<Property(MaxTest = 15)>]
let ``hvp through two convolutions sharing a weight agrees with finite differences of the gradient`` (seed: int) =
    // f(w) = Σ (conv(conv(x, w), w))²: its Hessian goes through the backward of both backward ops
    let x = tensorOf seed [| 2; 2; 5; 4 |]
    let f (w: Tensor) =
        let y = Convolution.conv2dSquare (Convolution.conv2dSquare x w null 1 1 1 1) w null 1 1 1 1
        Reduction.sum (y * y)
    let w = tensorOf (seed + 1) [| 2; 2; 3; 3 |] * 0.3
    let v = tensorOf (seed + 2) [| 2; 2; 3; 3 |]
    assertClose 1e-5 1e-6 (hvpNumeric f w v) ((Tape.hvp f w v).ToFloat64Array())
    true

[<Property(MaxTest = 15)>]
let ``hvp through conv and avg-pool with respect to the input agrees with finite differences`` (seed: int) =
    // f(x) = Σ avgpool(conv(x, w) ⊙ conv(x, w)) ⊙ r, strided and grouped
    let w = tensorOf seed [| 4; 1; 2; 3 |]
    let r = tensorOf (seed + 1) [| 1; 4; 2; 2 |]
    let f (x: Tensor) =
        let y = Convolution.conv2d x w null (2, 1) (1, 1) (1, 2) 2
        Reduction.sum (Convolution.avgPool2d (2, 2) (2, 2) (1, 0) true false (y * y) * r)
    let x = tensorOf (seed + 2) [| 1; 2; 5; 6 |]
    let v = tensorOf (seed + 3) [| 1; 2; 5; 6 |]
    assertClose 1e-5 1e-6 (hvpNumeric f x v) ((Tape.hvp f x v).ToFloat64Array())
    true

// ---- float32

let private f32 (t: Tensor) = Tensor(t.Raw.Cast Float32)

[<Fact>]
let ``float32 conv2d and pooling agree with float64`` () =
    let x, w, b = xs [| 2; 4; 9; 8 |], ws [| 6; 2; 3; 3 |], bs [| 6 |]
    let net (x: Tensor) (w: Tensor) (b: Tensor) =
        let y = Convolution.conv2d x w b (2, 1) (1, 1) (1, 1) 2
        Convolution.maxPool2dSquare 2 2 0 y + Convolution.avgPool2dSquare 2 2 0 y
    let run (x: Tensor) (w: Tensor) (b: Tensor) =
        let x, w, b = leaf x, leaf w, leaf b
        let y = net x w b
        let loss = Reduction.sum (y * Tensor(gs(y.Shape).Raw.Cast y.DType))
        y.ToFloat64Array() :: [ for g in Tape.gradWith [| loss |] null [| x; w; b |] false false -> g.ToFloat64Array() ]
    let d = run x w b
    let s = run (f32 x) (f32 w) (f32 b)
    List.iter2 (assertClose 1e-5 1e-5) d s

// ---- bad input

[<Fact>]
let ``conv2d rejects a channel mismatch naming both shapes`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dSquare (xs [| 1; 3; 5; 5 |]) (ws [| 4; 2; 3; 3 |]) null 1 0 1 1 |> ignore)
    Assert.Contains("conv2d", e.Message)
    Assert.Contains("[1,3,5,5]", e.Message)
    Assert.Contains("[4,2,3,3]", e.Message)

[<Fact>]
let ``conv2d rejects groups that do not divide the channels`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dSquare (xs [| 1; 3; 5; 5 |]) (ws [| 4; 1; 3; 3 |]) null 1 0 1 2 |> ignore)
    Assert.Contains("groups 2", e.Message)
    Assert.Contains("[1,3,5,5]", e.Message)

[<Fact>]
let ``conv2d rejects an output of size zero`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dSquare (xs [| 1; 1; 4; 4 |]) (ws [| 1; 1; 3; 3 |]) null 1 0 2 1 |> ignore)
    Assert.Contains("output size", e.Message)
    Assert.Contains("[1,1,4,4]", e.Message)
    Assert.Contains("[1,1,3,3]", e.Message)

[<Fact>]
let ``conv2d rejects a bias of the wrong length and a non-positive stride`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dSquare (xs [| 1; 1; 4; 4 |]) (ws [| 2; 1; 3; 3 |]) (bs [| 3 |]) 1 0 1 1 |> ignore)
    Assert.Contains("bias of shape [3]", e.Message)
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Convolution.conv2dSquare (xs [| 1; 1; 4; 4 |]) (ws [| 2; 1; 3; 3 |]) null 0 0 1 1 |> ignore)
    Assert.Contains("stride (0, 0)", e.Message)

[<Fact>]
let ``conv2d rejects a rank-3 input`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.conv2dSquare (xs [| 3; 5; 5 |]) (ws [| 4; 3; 3; 3 |]) null 1 0 1 1 |> ignore)
    Assert.Contains("[3,5,5]", e.Message)

[<Fact>]
let ``conv2d backward input rejects a gradient of the wrong shape`` () =
    let e = Assert.Throws<ArgumentException>(fun () ->
        Convolution.conv2dBackwardInput [| 1; 3; 5; 5 |] (gs [| 1; 4; 2; 2 |]) (ws [| 4; 3; 3; 3 |]) (1, 1) (0, 0) (1, 1) 1 |> ignore)
    Assert.Contains("[1,4,3,3]", e.Message)
    Assert.Contains("[1,4,2,2]", e.Message)

[<Fact>]
let ``pooling rejects padding over half the kernel and an empty output`` () =
    let e = Assert.Throws<ArgumentOutOfRangeException>(fun () -> Convolution.maxPool2dSquare 2 2 2 (xs [| 1; 1; 4; 4 |]) |> ignore)
    Assert.Contains("max_pool2d", e.Message)
    Assert.Contains("padding (2, 2)", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> Convolution.avgPool2dSquare 5 1 0 (xs [| 1; 1; 4; 4 |]) |> ignore)
    Assert.Contains("avg_pool2d", e.Message)
    Assert.Contains("[1,1,4,4]", e.Message)

// ---- max-pool ties and NaN, as torch

[<Fact>]
let ``max_pool2d routes the gradient of a tie to the first maximum of the window`` () =
    let _, gr = gradsOf (fun t -> Convolution.maxPool2dSquare 2 2 0 t.[0]) [| Create.ones Float64 [| 1; 1; 4; 4 |] |]
    // torch: ones(1,1,4,4) -> grad 1 at (0,0), (0,2), (2,0), (2,2), scaled by the upstream g
    let g = (gs [| 1; 1; 2; 2 |]).ToFloat64Array()
    let expected = Array.zeroCreate 16
    expected.[0] <- g.[0]; expected.[2] <- g.[1]; expected.[8] <- g.[2]; expected.[10] <- g.[3]
    assertClose 0.0 0.0 expected (gr.[0].ToFloat64Array())

[<Fact>]
let ``max_pool2d propagates NaN and picks the last NaN of the window`` () =
    let x = Create.ofFloat64 [| nan; 5.0; nan; 2.0 |] [| 1; 1; 2; 2 |]
    let y, gr = gradsOf (fun t -> Convolution.maxPool2dSquare 2 2 0 t.[0]) [| x |]
    Assert.True(Double.IsNaN (y.ToFloat64Array()).[0])
    // torch.max_pool2d(..., return_indices=True) gives index 2 here
    let g0 = (gs [| 1; 1; 1; 1 |]).ToFloat64Array().[0]
    assertClose 0.0 0.0 [| 0.0; 0.0; g0; 0.0 |] (gr.[0].ToFloat64Array())

/// Direct loops: y[n,o,oh,ow] = Σ w[o,c,kh,kw]·x[n,g·Cg+c, oh·s−p+kh·d, ow·s−p+kw·d], and the gradients of Σ y·gy
/// with respect to x and w, in float64 (the oracle for the column-matrix paths).
let private directConv (x: float[]) (xs: int[]) (w: float[]) (wsh: int[]) (sh, sw) (ph, pw) (dh, dw) (groups: int) (gy: int[] -> float) =
    let n, c, h, wd = xs.[0], xs.[1], xs.[2], xs.[3]
    let o, cg, kh, kw = wsh.[0], wsh.[1], wsh.[2], wsh.[3]
    let og = o / groups
    let ho = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1
    let wo = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1
    let y = Array.zeroCreate (n * o * ho * wo)
    let gx = Array.zeroCreate x.Length
    let gw = Array.zeroCreate w.Length
    for ni in 0 .. n - 1 do
        for oi in 0 .. o - 1 do
            let gi = oi / og
            for a in 0 .. ho - 1 do
                for b in 0 .. wo - 1 do
                    let yi = ((ni * o + oi) * ho + a) * wo + b
                    let g = gy [| ni; oi; a; b |]
                    for ci in 0 .. cg - 1 do
                        for p in 0 .. kh - 1 do
                            for q in 0 .. kw - 1 do
                                let ih = a * sh - ph + p * dh
                                let iw = b * sw - pw + q * dw
                                if ih >= 0 && ih < h && iw >= 0 && iw < wd then
                                    let xi = ((ni * c + gi * cg + ci) * h + ih) * wd + iw
                                    let wi = ((oi * cg + ci) * kh + p) * kw + q
                                    y.[yi] <- y.[yi] + w.[wi] * x.[xi]
                                    gx.[xi] <- gx.[xi] + g * w.[wi]
                                    gw.[wi] <- gw.[wi] + g * x.[xi]
    y, gx, gw, [| n; o; ho; wo |]

[<Theory>]
[<InlineData(3, 4, 5, 6, 5, 3, 3, 1, 1, 1, 1)>]   // 3×3, "same" padding: the one-copy column path
[<InlineData(2, 2, 7, 7, 3, 5, 5, 2, 2, 1, 1)>]   // 5×5, padding 2
[<InlineData(2, 3, 6, 5, 2, 5, 3, 0, 1, 1, 1)>]   // output shorter than the input, as wide
[<InlineData(2, 2, 8, 6, 2, 3, 3, 2, 1, 2, 1)>]   // vertical dilation 2
[<InlineData(2, 4, 5, 4, 6, 3, 3, 1, 1, 1, 2)>]   // 2 groups
[<InlineData(3, 2, 4, 1, 2, 3, 1, 1, 0, 1, 1)>]   // one column
[<InlineData(2, 2, 3, 2, 2, 3, 3, 1, 1, 1, 1)>]   // planes narrower than the kernel
let ``conv2d and both gradients equal direct loops for unit-stride same-width geometries``
        (n: int, c: int, h: int, w: int, o: int, kh: int, kw: int, ph: int, pw: int, dh: int, groups: int) =
    let xShape = [| n; c; h; w |]
    let wShape = [| o; c / groups; kh; kw |]
    let x, wt = xs xShape, ws wShape
    let upstream (ix: int[]) = sin (0.37 * float (ix.[0] * 1000 + ix.[1] * 100 + ix.[2] * 10 + ix.[3]) + 0.1)
    let ey, egx, egw, yShape = directConv (x.ToFloat64Array()) xShape (wt.ToFloat64Array()) wShape (1, 1) (ph, pw) (dh, 1) groups upstream
    let gyVals = Array.init (Shape.numel yShape) (fun i ->
        let b = i % yShape.[3]
        let a = (i / yShape.[3]) % yShape.[2]
        let oi = (i / (yShape.[3] * yShape.[2])) % yShape.[1]
        upstream [| i / (yShape.[3] * yShape.[2] * yShape.[1]); oi; a; b |])
    let gy = Create.ofFloat64 gyVals yShape
    let xl, wl = leaf x, leaf wt
    let y = Convolution.conv2d xl wl null (1, 1) (ph, pw) (dh, 1) groups
    Assert.Equal<int[]>(yShape, y.Shape)
    let gr = Tape.gradWith [| Reduction.sum (y * gy) |] null [| xl; wl |] false false
    assertClose 1e-12 1e-12 ey (y.ToFloat64Array())
    assertClose 1e-12 1e-12 egx (gr.[0].ToFloat64Array())
    assertClose 1e-12 1e-12 egw (gr.[1].ToFloat64Array())
    // float32 runs the same paths
    let y32 = Convolution.conv2d (Pointwise.cast Float32 x) (Pointwise.cast Float32 wt) null (1, 1) (ph, pw) (dh, 1) groups
    assertClose 1e-5 1e-5 ey (y32.ToFloat64Array())

[<Fact>]
let ``conv2d's backward ops refuse mixed dtypes, naming the op and both dtypes`` () =
    let cpu = Backends.Registry.host
    let spec : Backends.Conv2dSpec = { Stride = (1, 1); Padding = (0, 0); Dilation = (1, 1); Groups = 1 }
    let g = cpu.FromFloat32(Array.zeroCreate 4, [| 1; 1; 2; 2 |])
    let w = cpu.FromFloat64(Array.zeroCreate 1, [| 1; 1; 1; 1 |])
    let x = cpu.FromFloat64(Array.zeroCreate 4, [| 1; 1; 2; 2 |])
    let e = Assert.Throws<ArgumentException>(fun () -> g.Conv2dBackwardInput(w, [| 1; 1; 2; 2 |], spec) |> ignore)
    Assert.StartsWith("conv2d backward: dtypes float32 and float64 differ (expected the same float dtype)", e.Message)
    Assert.Equal("weight", e.ParamName)
    let e = Assert.Throws<ArgumentException>(fun () -> g.Conv2dBackwardWeight(x, [| 1; 1; 1; 1 |], spec) |> ignore)
    Assert.StartsWith("conv2d backward: dtypes float32 and float64 differ (expected the same float dtype)", e.Message)
    Assert.Equal("input", e.ParamName)
