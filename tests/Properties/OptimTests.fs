/// Laws of the first-order optimizers, each run over one table of every optimizer (optax's alias_test shape),
/// plus golden trajectories against torch.optim 1.13.
/// In the "ilgpu-cpu" collection: its laws on every device use the device IlgpuTests count allocations on.
[<Xunit.Collection("ilgpu-cpu")>]
module Hybrid.Tests.OptimTests

open System
open System.IO
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Optim

// ---------------------------------------------------------------- the table

/// One optimizer of the table: built for a maximize flag and a weight decay (0 = none).
type Case = { Name: string; Make: bool -> float -> Optimizer<OptimState> }

let private case name make = { Name = name; Make = make }

/// Every optimizer, with non-default options somewhere in the list.
let table =
    [ case "sgd" (fun mx wd -> Sgd.create { SgdHyper.defaults with Lr = 0.01; WeightDecay = wd; Maximize = mx })
      case "sgd momentum nesterov" (fun mx wd -> Sgd.create { SgdHyper.defaults with Lr = 0.01; Momentum = 0.9; Nesterov = true; WeightDecay = wd; Maximize = mx })
      case "sgd momentum dampening" (fun mx wd -> Sgd.create { SgdHyper.defaults with Lr = 0.01; Momentum = 0.8; Dampening = 0.2; WeightDecay = wd; Maximize = mx })
      case "adagrad" (fun mx wd -> Adagrad.create { AdagradHyper.defaults with LrDecay = 0.01; InitialAccumulatorValue = 0.1; WeightDecay = wd; Maximize = mx })
      case "rmsprop" (fun mx wd -> Rmsprop.create { RmspropHyper.defaults with WeightDecay = wd; Maximize = mx })
      case "rmsprop centered momentum" (fun mx wd -> Rmsprop.create { RmspropHyper.defaults with Centered = true; Momentum = 0.9; WeightDecay = wd; Maximize = mx })
      case "adadelta" (fun mx wd -> Adadelta.create { AdadeltaHyper.defaults with WeightDecay = wd; Maximize = mx })
      case "adam" (fun mx wd -> Adam.create { AdamHyper.defaults with Lr = 0.01; WeightDecay = wd; Maximize = mx })
      case "adam amsgrad" (fun mx wd -> Adam.create { AdamHyper.defaults with Lr = 0.01; Amsgrad = true; WeightDecay = wd; Maximize = mx })
      case "adamw" (fun mx wd -> Adam.createW { AdamWHyper.defaults with Lr = 0.01; WeightDecay = wd; Maximize = mx })
      case "nadam" (fun mx wd -> NAdam.create { NAdamHyper.defaults with WeightDecay = wd; Maximize = mx })
      case "nadam decoupled" (fun mx wd -> NAdam.create { NAdamHyper.defaults with WeightDecay = wd; DecoupledWeightDecay = true; Maximize = mx })
      case "adamax" (fun mx wd -> Adamax.create { AdamaxHyper.defaults with WeightDecay = wd; Maximize = mx })
      case "radam" (fun mx wd -> RAdam.create { RAdamHyper.defaults with WeightDecay = wd; Maximize = mx })
      case "asgd" (fun mx wd -> Asgd.create { AsgdHyper.defaults with Lambd = wd; T0 = 2.0; WeightDecay = wd; Maximize = mx })
      case "rprop" (fun mx _ -> Rprop.create { RpropHyper.defaults with Maximize = mx })
      case "lion" (fun mx wd -> Lion.create { LionHyper.defaults with Lr = 1e-3; WeightDecay = wd; Maximize = mx })
      case "lookahead(adam)" (fun mx wd -> Lookahead.create { K = 2; Alpha = 0.5 } (Adam.create { AdamHyper.defaults with Lr = 0.01; WeightDecay = wd; Maximize = mx })) ]

// ---------------------------------------------------------------- helpers

let private shapes = [| [| 37 |]; [| 2; 3 |]; [||] |]

/// The devices the laws marked "on every device" run on: the CPU and ILGPU's CPU accelerator (the kernels a GPU
/// runs), with the same small shapes.
let devices = [ Devices.parse "cpu"; Devices.parse "ilgpu-cpu" ]

/// Random tensors of the test shapes (float32 or float64), values in [-2, 2], on a device.
let private tensorsOn (dev: Device) (seed: int) (f32: bool) =
    let r = Random(seed)
    shapes |> Array.map (fun s ->
        let v = Array.init (Shape.numel s) (fun _ -> 4.0 * r.NextDouble() - 2.0)
        Devices.toDevice dev (if f32 then Create.ofFloat32 (Array.map float32 v) s else Create.ofFloat64 v s))

/// Random tensors of the test shapes on the CPU.
let private tensors (seed: int) (f32: bool) = tensorsOn Cpu seed f32

let private bits (ts: Tensor[]) = ts |> Array.collect (fun t -> t.ToFloat64Array() |> Array.map BitConverter.DoubleToInt64Bits)
let rec private stateBits (d: StateDict) =
    Array.concat [ [| d.Step |]; d.Values |> Array.collect (Array.collect (Array.map BitConverter.DoubleToInt64Bits))
                   d.Scalars |> Array.map BitConverter.DoubleToInt64Bits; d.Inner |> Array.collect stateBits ]
let private sbits s = stateBits (OptimState.toDict s)
let private neg (ts: Tensor[]) =
    ts |> Array.map (fun t ->
        let n = if t.DType = Float32 then Create.ofFloat32 (t.ToFloat32Array() |> Array.map (fun x -> -x)) t.Shape else Create.ofFloat64 (t.ToFloat64Array() |> Array.map (fun x -> -x)) t.Shape
        Devices.toDevice t.Device n)

/// Runs `steps` pure updates with gradients drawn from seed + k, on the parameters' device.
let private runPure (opt: Optimizer<OptimState>) (s: OptimState) (p: Tensor[]) (seed: int) (f32: bool) (steps: int) =
    let mutable s, p = s, p
    for k in 1 .. steps do
        let s', p' = opt.Update s (tensorsOn p.[0].Device (seed + k) f32) p
        s <- s'; p <- p'
    s, p

let private forAll (law: Case -> unit) = for c in table do (try law c with e -> failwithf "%s: %s" c.Name e.Message)

/// A law over the whole table on every device of `devices`.
let private forAllOn (law: Device -> Case -> unit) =
    for d in devices do
        for c in table do (try law d c with e -> failwithf "%s on %O: %s" c.Name d e.Message)

// ---------------------------------------------------------------- laws over the table

[<Property(MaxTest = 10)>]
let ``zero gradient from a fresh state and no weight decay leaves parameters unchanged, on every device`` (seed: int) (f32: bool) =
    // With zero buffers (fresh state) no optimizer has momentum to spend, so the parameters stay bit for bit.
    forAllOn (fun d c ->
        let opt = c.Make false 0.0
        let p = tensorsOn d seed f32
        let zeros = p |> Array.map Create.zerosLike
        let mutable s, q = opt.Init p, p
        for _ in 1 .. 3 do
            let s', q' = opt.Update s zeros q
            s <- s'; q <- q'
        Assert.Equal<int64[]>(bits p, bits q))

[<Property(MaxTest = 10)>]
let ``maximize on g equals minimizing -g bit for bit, on every device`` (seed: int) (f32: bool) =
    forAllOn (fun d c ->
        let p = tensorsOn d seed f32
        let mx, mn = c.Make true 0.01, c.Make false 0.01
        let mutable s1, p1, s2, p2 = mx.Init p, p, mn.Init p, p
        for k in 1 .. 4 do
            let g = tensorsOn d (seed + k) f32
            let a, b = mx.Update s1 g p1
            let c', d = mn.Update s2 (neg g) p2
            s1 <- a; p1 <- b; s2 <- c'; p2 <- d
        Assert.Equal<int64[]>(bits p2, bits p1))

[<Property(MaxTest = 10)>]
let ``update is pure: parameters, gradients and state are unchanged bit for bit, on every device`` (seed: int) (f32: bool) =
    forAllOn (fun d c ->
        let opt = c.Make false 0.01
        let p = tensorsOn d seed f32
        let s, p = runPure opt (opt.Init p) p seed f32 2
        let g = tensorsOn d (seed + 99) f32
        let pb, gb, sb = bits p, bits g, sbits s
        opt.Update s g p |> ignore
        Assert.Equal<int64[]>(pb, bits p)
        Assert.Equal<int64[]>(gb, bits g)
        Assert.Equal<int64[]>(sb, sbits s))

[<Property(MaxTest = 10)>]
let ``serialize, restore and continue is bit-identical to an uninterrupted run`` (seed: int) (f32: bool) =
    forAll (fun c ->
        let opt = c.Make false 0.01
        let p0 = tensors seed f32
        let s3, p3 = runPure opt (opt.Init p0) p0 seed f32 3
        let restored = OptimState.ofDict (OptimState.toDict s3)
        let sA, pA = runPure opt s3 p3 (seed + 3) f32 3
        let sB, pB = runPure opt restored p3 (seed + 3) f32 3
        Assert.Equal<int64[]>(bits pA, bits pB)
        Assert.Equal<int64[]>(sbits sA, sbits sB))

[<Property(MaxTest = 10)>]
let ``the fused in-place path equals the pure path bit for bit, on every device`` (seed: int) (f32: bool) =
    forAllOn (fun d c ->
        let opt = c.Make false 0.01
        let p0 = tensorsOn d seed f32
        let sP, pP = runPure opt (opt.Init p0) p0 seed f32 4
        let pI = tensorsOn d seed f32
        let mutable sI = opt.Init pI
        for k in 1 .. 4 do sI <- opt.UpdateInPlace sI (tensorsOn d (seed + k) f32) pI
        Assert.Equal<int64[]>(bits pP, bits pI)
        Assert.Equal<int64[]>(sbits sP, sbits sI))

[<Property(MaxTest = 10)>]
let ``the scalar and Vector256 Invoke of every rule agree bit for bit`` (seed: int) (f32: bool) =
    // 9 elements: element 0 goes through the vector Invoke, element 8 (the tail) through the scalar one;
    // both see the same values, so the rule must give the same bits (what the ILGPU kernels rely on).
    forAll (fun c ->
        let opt = c.Make false 0.01
        let r = Random(seed)
        let nine () =
            let v = Array.init 9 (fun _ -> 4.0 * r.NextDouble() - 2.0)
            v.[8] <- v.[0]
            [| (if f32 then Create.ofFloat32 (Array.map float32 v) [| 9 |] else Create.ofFloat64 v [| 9 |]) |]
        let mutable p = nine ()
        let mutable s = opt.Init p
        for _ in 1 .. 4 do
            let s', p' = opt.Update s (nine ()) p
            s <- s'; p <- p'
        let b = bits p
        Assert.Equal(b.[0], b.[8]))

[<Fact>]
let ``the multi-threaded pass equals the pure path on large tensors, float32 and float64`` () =
    // 300001 elements: several vector-aligned chunks on several threads plus a scalar tail.
    for f32 in [ false; true ] do
        for c in table do
            let opt = c.Make false 0.01
            let mk seed =
                let r = Random(seed)
                let v = Array.init 300001 (fun _ -> r.NextDouble() - 0.5)
                [| (if f32 then Create.ofFloat32 (Array.map float32 v) [| 300001 |] else Create.ofFloat64 v [| 300001 |]) |]
            let p, g = mk 1, mk 2
            let sP, pP = opt.Update (opt.Init p) g p
            let pI = mk 1
            let sI = opt.UpdateInPlace (opt.Init pI) g pI
            Assert.True((bits pP = bits pI), c.Name)
            Assert.True((sbits sP = sbits sI), c.Name)

// ---------------------------------------------------------------- laws of one optimizer

let private adamRun (b1: float) (b2: float) (grads: float[][]) =
    // eps = 1e-300: zero gradients give 0/(0 + eps) = 0 instead of 0/0, and the slack it adds is below 1e-280.
    let opt = Adam.create { AdamHyper.defaults with Lr = 0.1; Beta1 = b1; Beta2 = b2; Eps = 1e-300 }
    let n = grads.[0].Length
    let mutable p = [| Create.ofFloat64 (Array.zeroCreate n) [| n |] |]
    let mutable s = opt.Init p
    [ for g in grads do
        let before = p.[0].ToFloat64Array()
        let s', p' = opt.Update s [| Create.ofFloat64 g [| n |] |] p
        s <- s'; p <- p'
        yield Array.map2 (fun a b -> abs (a - b)) (p.[0].ToFloat64Array()) before ]

let private betas (r: Random) = 0.99 * r.NextDouble(), 0.5 + 0.4999 * r.NextDouble()

[<Property(MaxTest = 50)>]
let ``adam step is bounded by lr (1-beta1)/sqrt(1-beta2) in the sparse case when (1-beta1) > sqrt(1-beta2)`` (seed: int) =
    // Kingma & Ba §2.1, case 1, exactly: eps -> 0, no weight decay, no amsgrad, bias-corrected, and the
    // coordinate's gradient is zero at every step before the current one. Then
    // |Δθ_t| = lr (1-β₁)/√(1-β₂) · √(1-β₂ᵗ)/(1-β₁ᵗ) and √(1-β₂ᵗ) <= 1-β₁ᵗ follows from (1-β₁)² > 1-β₂.
    let r = Random(seed)
    let b1 = 0.9 * r.NextDouble()
    let b2 = 1.0 - (1.0 - b1) ** 2.0 * (0.01 + 0.98 * r.NextDouble())
    let t = r.Next(1, 30)
    let grads = Array.init t (fun k -> Array.init 8 (fun _ -> if k = t - 1 then 10.0 * (r.NextDouble() - 0.5) else 0.0))
    let bound = 0.1 * (1.0 - b1) / sqrt (1.0 - b2)
    let last = List.last (adamRun b1 b2 grads)
    last |> Array.forall (fun d -> d <= bound * (1.0 + 1e-12))

[<Property(MaxTest = 50)>]
let ``adam step is at most lr when each coordinate's gradients have one magnitude`` (seed: int) =
    // Kingma & Ba §2.1, the case (1-β₁) <= √(1-β₂) ("|Δ| <= α"), exactly when |gᵢ| = c at every step
    // (random signs): then |m̂| <= c = √v̂. eps -> 0, no weight decay, no amsgrad, bias-corrected; any betas.
    let r = Random(seed)
    let b1, b2 = betas r
    let c = Array.init 8 (fun _ -> 0.1 + 5.0 * r.NextDouble())
    let grads = Array.init (r.Next(1, 40)) (fun _ -> c |> Array.map (fun c -> if r.Next(2) = 0 then c else -c))
    adamRun b1 b2 grads |> List.forall (Array.forall (fun d -> d <= 0.1 * (1.0 + 1e-12)))

[<Property(MaxTest = 50)>]
let ``adam step obeys the Cauchy-Schwarz bound for any gradient sequence`` (seed: int) =
    // For β₁² < β₂, eps -> 0, no weight decay, no amsgrad, bias-corrected:
    // |Δθ_t| <= lr (1-β₁)/(1-β₁ᵗ) · √((1-β₂ᵗ)/(1-β₂)) · √((1-γᵗ)/(1-γ)), γ = β₁²/β₂ (Cauchy-Schwarz on m_t).
    let r = Random(seed)
    let b1, b2 = betas r
    if b1 * b1 >= b2 then true
    else
        let grads = Array.init (r.Next(1, 40)) (fun _ -> Array.init 8 (fun _ -> 10.0 * (r.NextDouble() - 0.5)))
        let gamma = b1 * b1 / b2
        adamRun b1 b2 grads |> List.mapi (fun i d ->
            let t = float (i + 1)
            let bound = 0.1 * (1.0 - b1) / (1.0 - b1 ** t) * sqrt ((1.0 - b2 ** t) / (1.0 - b2)) * sqrt ((1.0 - gamma ** t) / (1.0 - gamma))
            d |> Array.forall (fun d -> d <= bound * (1.0 + 1e-12)))
        |> List.forall id

let private slotNever (opt: Optimizer<OptimState>) (slot: string) (seed: int) =
    let p0 = tensors seed false
    let mutable s, p = opt.Init p0, p0
    let j = Array.IndexOf(s.Slots, slot)
    let mutable ok = true
    for k in 1 .. 10 do
        let before = s.Buffers |> Array.map (fun b -> b.[j].ToFloat64Array())
        let s', p' = opt.Update s (tensors (seed + k) false) p
        let after = s'.Buffers |> Array.map (fun b -> b.[j].ToFloat64Array())
        ok <- ok && Array.forall2 (Array.forall2 (fun a b -> b >= a)) before after
        s <- s'; p <- p'
    ok

[<Property(MaxTest = 20)>]
let ``adagrad accumulator never decreases`` (seed: int) =
    slotNever (Adagrad.create { AdagradHyper.defaults with WeightDecay = 0.1 }) "sum" seed

[<Property(MaxTest = 20)>]
let ``amsgrad max second moment never decreases`` (seed: int) =
    slotNever (Adam.create { AdamHyper.defaults with Amsgrad = true; Beta2 = 0.5 }) "max_exp_avg_sq" seed

[<Property(MaxTest = 20)>]
let ``decoupled weight decay with zero gradient shrinks parameters by exactly (1 - lr wd)`` (seed: int) (f32: bool) =
    let lr, wd = 0.01, 0.3
    let decoupled =
        [ Adam.createW { AdamWHyper.defaults with Lr = lr; WeightDecay = wd }
          NAdam.create { NAdamHyper.defaults with Lr = lr; WeightDecay = wd; DecoupledWeightDecay = true }
          Lion.create { LionHyper.defaults with Lr = lr; WeightDecay = wd } ]
    decoupled |> List.forall (fun opt ->
        let p = tensors seed f32
        let _, q = opt.Update (opt.Init p) (p |> Array.map Create.zerosLike) p
        let expected =
            if f32 then p |> Array.collect (fun t -> t.ToFloat32Array() |> Array.map (fun x -> float (x * float32 (1.0 - lr * wd))))
            else p |> Array.collect (fun t -> t.ToFloat64Array() |> Array.map (fun x -> x * (1.0 - lr * wd)))
        (q |> Array.collect (fun t -> t.ToFloat64Array())) = expected)

// ---------------------------------------------------------------- bad input

[<Fact>]
let ``bad hyperparameters are rejected at construction, naming the argument and its value`` () =
    let throws (arg: string) (value: string) (make: unit -> Optimizer<OptimState>) =
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> make () |> ignore)
        Assert.Contains(arg, e.Message)
        Assert.Contains(value, e.Message)
    throws "lr" "-0.1" (fun () -> Adam.create { AdamHyper.defaults with Lr = -0.1 })
    throws "lr" "NaN" (fun () -> Sgd.create { SgdHyper.defaults with Lr = nan })
    throws "beta1" "1" (fun () -> Adam.create { AdamHyper.defaults with Beta1 = 1.0 })
    throws "beta2" "-0.5" (fun () -> Adam.createW { AdamWHyper.defaults with Beta2 = -0.5 })
    throws "eps" "0" (fun () -> Adam.create { AdamHyper.defaults with Eps = 0.0 })
    throws "eps" "-1" (fun () -> Rmsprop.create { RmspropHyper.defaults with Eps = -1.0 })
    throws "nesterov" "momentum = 0" (fun () -> Sgd.create { SgdHyper.defaults with Nesterov = true })
    throws "nesterov" "dampening = 0.5" (fun () -> Sgd.create { SgdHyper.defaults with Nesterov = true; Momentum = 0.9; Dampening = 0.5 })
    throws "weightDecay" "-1" (fun () -> Adagrad.create { AdagradHyper.defaults with WeightDecay = -1.0 })
    throws "etas" "(1.5, 1.2)" (fun () -> Rprop.create { RpropHyper.defaults with EtaMinus = 1.5 })
    throws "k" "0" (fun () -> Lookahead.create { K = 0; Alpha = 0.5 } (Sgd.create SgdHyper.defaults))

[<Fact>]
let ``a state from another optimizer or with other shapes is rejected before any parameter changes`` () =
    let p = tensors 1 false
    let g = tensors 2 false
    let adam = Adam.create AdamHyper.defaults
    let sgdState = (Sgd.create { SgdHyper.defaults with Momentum = 0.9 }).Init p
    let before = bits p
    let e = Assert.Throws<InvalidOperationException>(fun () -> adam.UpdateInPlace sgdState g p |> ignore)
    Assert.Contains("'sgd'", e.Message)
    let otherShapes = adam.Init [| Create.zeros Float64 [| 5 |]; Create.zeros Float64 [| 2; 3 |]; Create.zeros Float64 [||] |]
    let e = Assert.Throws<InvalidOperationException>(fun () -> adam.UpdateInPlace otherShapes g p |> ignore)
    Assert.Contains("[37]", e.Message)
    Assert.Contains("[5]", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> adam.UpdateInPlace (adam.Init p) (Array.take 2 g) p |> ignore)
    Assert.Contains("2 gradients for 3 parameters", e.Message)
    let e = Assert.Throws<ArgumentException>(fun () -> adam.Update (adam.Init p) (tensors 2 true) p |> ignore)
    Assert.Contains("float32", e.Message)
    Assert.Equal<int64[]>(before, bits p)

// ---------------------------------------------------------------- convergence on strongly convex quadratics

let private n = 5

/// f(x) = ½(x − x*)ᵀA(x − x*) with A = QᵀΛQ, Λ log-spaced in [1, κ] (so μ = 1, L = κ); returns A, x*, x₀.
let private quadratic (seed: int) (kappa: float) =
    let r = Random(seed)
    let q = Array.init n (fun _ -> Array.init n (fun _ -> r.NextDouble() - 0.5))
    for i in 0 .. n - 1 do
        for j in 0 .. i - 1 do
            let d = Array.fold2 (fun s a b -> s + a * b) 0.0 q.[i] q.[j]
            q.[i] <- Array.map2 (fun a b -> a - d * b) q.[i] q.[j]
        let norm = sqrt (Array.sumBy (fun a -> a * a) q.[i])
        q.[i] <- Array.map (fun a -> a / norm) q.[i]
    let lam = Array.init n (fun i -> kappa ** (float i / float (n - 1)))
    let a = Array2D.init n n (fun i j -> Seq.sum (seq { for k in 0 .. n - 1 -> q.[k].[i] * lam.[k] * q.[k].[j] }))
    a, Array.init n (fun _ -> 2.0 * r.NextDouble() - 1.0), Array.init n (fun _ -> 2.0 * r.NextDouble() - 1.0)

let private gap (a: float[,]) (xs: float[]) (x: float[]) =
    let d = Array.map2 (-) x xs
    0.5 * Seq.sum (seq { for i in 0 .. n - 1 do for j in 0 .. n - 1 -> d.[i] * a.[i, j] * d.[j] })
let private gradQ (a: float[,]) (xs: float[]) (x: float[]) =
    let d = Array.map2 (-) x xs
    Array.init n (fun i -> Seq.sum (seq { for j in 0 .. n - 1 -> a.[i, j] * d.[j] }))

/// Steps until f − f* <= 1e-6 (f₀ − f*), at most `budget`; the optimizer is rebuilt each step from (κ, step),
/// which is how a schedule is applied to a pure optimizer (the state carries over).
let private stepsTo (make: float -> int64 -> Optimizer<OptimState>) (budget: int) (seed: int) (kappa: float) =
    let a, xs, x0 = quadratic seed kappa
    let f0 = gap a xs x0
    let mutable p = [| Create.ofFloat64 x0 [| n |] |]
    let mutable s = (make kappa 0L).Init p
    let mutable k = 0
    while k < budget && gap a xs (p.[0].ToFloat64Array()) > 1e-6 * f0 do
        let s', p' = (make kappa s.Step).Update s [| Create.ofFloat64 (gradQ a xs (p.[0].ToFloat64Array())) [| n |] |] p
        s <- s'; p <- p'; k <- k + 1
    k

/// lr₀ halved every `half` steps.
let private halving (lr0: float) (half: int64) (t: int64) = lr0 * 0.5 ** float (t / half)

/// Standard settings per optimizer, with L = κ known: GD 1/L, heavy ball and Nesterov with their optimal
/// momentum, adaptive methods with a step-halving schedule, RAdam with 1/L for its 5 un-rectified warm-up steps.
let convergenceTable : (string * (float -> int64 -> Optimizer<OptimState>)) list =
    [ "gd 1/L", fun k _ -> Sgd.create { SgdHyper.defaults with Lr = 1.0 / k }
      "heavy ball", fun k _ -> let s = sqrt k in Sgd.create { SgdHyper.defaults with Lr = 4.0 / (s + 1.0) ** 2.0; Momentum = ((s - 1.0) / (s + 1.0)) ** 2.0 }
      "nesterov", fun k _ -> let s = sqrt k in Sgd.create { SgdHyper.defaults with Lr = 1.0 / k; Momentum = max 0.1 ((s - 1.0) / (s + 1.0)); Nesterov = true }
      "adagrad", fun _ _ -> Adagrad.create { AdagradHyper.defaults with Lr = 0.5 }
      "rmsprop", fun _ t -> Rmsprop.create { RmspropHyper.defaults with Lr = halving 0.01 500L t }
      "adadelta", fun _ t -> Adadelta.create { AdadeltaHyper.defaults with Lr = halving 5.0 2000L t }
      "adam", fun _ t -> Adam.create { AdamHyper.defaults with Lr = halving 0.05 2000L t }
      "adam amsgrad", fun _ t -> Adam.create { AdamHyper.defaults with Lr = halving 0.05 2000L t; Amsgrad = true }
      "adamw", fun _ t -> Adam.createW { AdamWHyper.defaults with Lr = halving 0.05 2000L t; WeightDecay = 0.0 }
      "nadam", fun _ t -> NAdam.create { NAdamHyper.defaults with Lr = halving 0.05 2000L t }
      "adamax", fun _ t -> Adamax.create { AdamaxHyper.defaults with Lr = halving 0.05 2000L t }
      "radam", fun k t -> RAdam.create { RAdamHyper.defaults with Lr = (if t < 5L then min 0.05 (1.0 / k) else 0.05) * 0.5 ** float (t / 2000L) }
      "asgd", fun k _ -> Asgd.create { AsgdHyper.defaults with Lr = 1.0 / k; Lambd = 0.0 }
      "rprop", fun _ _ -> Rprop.create RpropHyper.defaults
      "lion", fun _ t -> Lion.create { LionHyper.defaults with Lr = halving 0.01 300L t }
      "lookahead(gd)", fun k _ -> Lookahead.create LookaheadHyper.defaults (Sgd.create { SgdHyper.defaults with Lr = 1.0 / k }) ]

[<Property(MaxTest = 6)>]
let ``every optimizer reduces f - f* below 1e-6 (f0 - f*) on strongly convex quadratics within 20000 steps`` (seed: int) (logKappa: byte) =
    let kappa = 10.0 ** (3.0 * float (logKappa % 101uy) / 100.0)   // κ in [1, 1e3]
    for name, make in convergenceTable do
        let k = stepsTo make 20000 seed kappa
        if k >= 20000 then failwithf "%s did not converge within 20000 steps (κ = %g, seed %d)" name kappa seed

[<Property(MaxTest = 10)>]
let ``gradient descent with step 1/L obeys f(x_k) - f* <= L |x0 - x*|^2 / (2k)`` (seed: int) (logKappa: byte) =
    let kappa = 10.0 ** (3.0 * float (logKappa % 101uy) / 100.0)
    let a, xs, x0 = quadratic seed kappa
    let opt = Sgd.create { SgdHyper.defaults with Lr = 1.0 / kappa }
    let r0 = Array.fold2 (fun s x y -> s + (x - y) * (x - y)) 0.0 x0 xs
    let mutable p = [| Create.ofFloat64 x0 [| n |] |]
    let mutable s = opt.Init p
    [ for k in 1 .. 200 do
        let s', p' = opt.Update s [| Create.ofFloat64 (gradQ a xs (p.[0].ToFloat64Array())) [| n |] |] p
        s <- s'; p <- p'
        yield gap a xs (p.[0].ToFloat64Array()) <= kappa * r0 / (2.0 * float k) * (1.0 + 1e-12) ]
    |> List.forall id

// ---------------------------------------------------------------- golden trajectories (torch.optim 1.13)

/// The golden problem's gradient (tests/Properties/golden/make_optim.py).
let private goldenGrad (x: float[]) =
    let r = x.[1] - x.[0] * x.[0]
    let s = x.[2] - 0.5 * x.[1]
    [| -2.0 * (1.0 - x.[0]) - 20.0 * x.[0] * r; 10.0 * r - 0.5 * s; s |]

/// The cases of make_optim.py; true = maximize (given -grad).
let goldenCases : (string * bool * Optimizer<OptimState>) list =
    [ "sgd", false, Sgd.create { SgdHyper.defaults with Lr = 0.01 }
      "sgd_momentum_nesterov_wd", false, Sgd.create { SgdHyper.defaults with Lr = 0.01; Momentum = 0.9; Nesterov = true; WeightDecay = 0.1 }
      "sgd_momentum_dampening", false, Sgd.create { SgdHyper.defaults with Lr = 0.01; Momentum = 0.9; Dampening = 0.3 }
      "sgd_maximize", true, Sgd.create { SgdHyper.defaults with Lr = 0.01; Momentum = 0.5; Maximize = true }
      "adagrad", false, Adagrad.create { AdagradHyper.defaults with Lr = 0.1 }
      "adagrad_decay_wd_init", false, Adagrad.create { AdagradHyper.defaults with Lr = 0.1; LrDecay = 0.01; WeightDecay = 0.05; InitialAccumulatorValue = 0.1 }
      "adagrad_maximize", true, Adagrad.create { AdagradHyper.defaults with Lr = 0.1; Maximize = true }
      "rmsprop", false, Rmsprop.create { RmspropHyper.defaults with Lr = 0.01 }
      "rmsprop_centered_momentum_wd", false, Rmsprop.create { RmspropHyper.defaults with Lr = 0.01; Alpha = 0.9; Centered = true; Momentum = 0.9; WeightDecay = 0.1 }
      "rmsprop_maximize_momentum", true, Rmsprop.create { RmspropHyper.defaults with Lr = 0.01; Momentum = 0.5; Maximize = true }
      "adadelta", false, Adadelta.create AdadeltaHyper.defaults
      "adadelta_wd_maximize", true, Adadelta.create { AdadeltaHyper.defaults with Lr = 0.5; Rho = 0.8; WeightDecay = 0.1; Maximize = true }
      "adam", false, Adam.create { AdamHyper.defaults with Lr = 0.05 }
      "adam_amsgrad_wd", false, Adam.create { AdamHyper.defaults with Lr = 0.05; Beta1 = 0.8; Beta2 = 0.99; Amsgrad = true; WeightDecay = 0.1 }
      "adam_maximize", true, Adam.create { AdamHyper.defaults with Lr = 0.05; Maximize = true }
      "adamw", false, Adam.createW { AdamWHyper.defaults with Lr = 0.05; WeightDecay = 0.1 }
      "adamw_amsgrad", false, Adam.createW { AdamWHyper.defaults with Lr = 0.05; Amsgrad = true }
      "nadam", false, NAdam.create { NAdamHyper.defaults with Lr = 0.05 }
      "nadam_wd", false, NAdam.create { NAdamHyper.defaults with Lr = 0.05; Beta1 = 0.8; Beta2 = 0.99; WeightDecay = 0.1; MomentumDecay = 4e-2 }
      "adamax", false, Adamax.create { AdamaxHyper.defaults with Lr = 0.05 }
      "adamax_wd_maximize", true, Adamax.create { AdamaxHyper.defaults with Lr = 0.05; WeightDecay = 0.1; Maximize = true }
      "radam", false, RAdam.create { RAdamHyper.defaults with Lr = 0.05 }
      "radam_wd", false, RAdam.create { RAdamHyper.defaults with Lr = 0.05; Beta1 = 0.8; Beta2 = 0.9; WeightDecay = 0.1 }
      "asgd", false, Asgd.create { AsgdHyper.defaults with Lr = 0.01 }
      "asgd_t0_wd_maximize", true, Asgd.create { AsgdHyper.defaults with Lr = 0.01; Lambd = 0.01; Alpha = 0.6; T0 = 5.0; WeightDecay = 0.1; Maximize = true }
      "rprop", false, Rprop.create { RpropHyper.defaults with Lr = 0.01 }
      "rprop_etas_maximize", true, Rprop.create { RpropHyper.defaults with Lr = 0.01; EtaMinus = 0.4; EtaPlus = 1.5; StepSizeMin = 1e-4; StepSizeMax = 0.05; Maximize = true } ]

let private golden =
    lazy (
        let path = Path.Combine(__SOURCE_DIRECTORY__, "golden", "optim.txt")
        File.ReadAllLines path
        |> Array.filter (fun l -> not (l.StartsWith "#") && l.Trim() <> "")
        |> Array.map (fun l -> let w = l.Split(' ') in w.[0], int w.[1], w.[2..] |> Array.map (fun s -> Double.Parse(s, Globalization.CultureInfo.InvariantCulture)))
        |> Array.groupBy (fun (n, _, _) -> n)
        |> Map.ofArray)

[<Fact>]
let ``20 iterates of every optimizer match torch.optim to 1e-6 relative in float64`` () =
    Assert.Equal(goldenCases.Length, golden.Value.Count)
    for name, maximize, opt in goldenCases do
        let expected = golden.Value.[name]
        let mutable p = [| Create.ofFloat64 [| -0.5; 1.2 |] [| 2 |]; Create.ofFloat64 [| 0.8 |] [| 1 |] |]
        let mutable s = opt.Init p
        for (_, k, x) in expected do
            let cur = Array.append (p.[0].ToFloat64Array()) (p.[1].ToFloat64Array())
            let g = goldenGrad cur |> Array.map (fun v -> if maximize then -v else v)
            let s', p' = opt.Update s [| Create.ofFloat64 g.[0..1] [| 2 |]; Create.ofFloat64 g.[2..2] [| 1 |] |] p
            s <- s'; p <- p'
            let got = Array.append (p.[0].ToFloat64Array()) (p.[1].ToFloat64Array())
            match Check.close 1e-6 1e-12 x got with
            | None -> ()
            | Some msg -> failwithf "%s, iterate %d: %s" name k msg

// ---------------------------------------------------------------- transforms and clipping

[<Property(MaxTest = 10)>]
let ``chain of add weight decay, scale by adam and scale by lr equals adam`` (seed: int) =
    let lr, wd = 0.01, 0.1
    let chained = Transform.toOptimizer "adam chain" (Transform.chain [ Transform.addWeightDecay wd; Transform.scaleByAdam 0.9 0.999 1e-8; Transform.scaleByLr lr ])
    let fused = Adam.create { AdamHyper.defaults with Lr = lr; WeightDecay = wd }
    let p = tensors seed false
    let _, pc = runPure chained (chained.Init p) p seed false 5
    let _, pf = runPure fused (fused.Init p) p seed false 5
    Check.close 1e-12 1e-14 (pf |> Array.collect (fun t -> t.ToArray())) (pc |> Array.collect (fun t -> t.ToArray())) = None

[<Property(MaxTest = 10)>]
let ``chain of scale by rms and scale by lr equals rmsprop`` (seed: int) =
    let chained = Transform.toOptimizer "rms chain" (Transform.chain [ Transform.scaleByRms 0.99 1e-8; Transform.scaleByLr 0.01 ])
    let fused = Rmsprop.create RmspropHyper.defaults
    let p = tensors seed false
    let _, pc = runPure chained (chained.Init p) p seed false 5
    let _, pf = runPure fused (fused.Init p) p seed false 5
    Check.close 1e-12 1e-14 (pf |> Array.collect (fun t -> t.ToArray())) (pc |> Array.collect (fun t -> t.ToArray())) = None

[<Property(MaxTest = 20)>]
let ``clipping by global norm leaves a norm of at most maxNorm and keeps directions`` (seed: int) =
    let g = tensors seed false |> Array.map (fun t -> t * 3.0)
    let clipped, norm = Clip.byGlobalNorm 1.0 g
    let after = Clip.globalNorm clipped
    let ratio = (clipped.[0].ToArray().[0]) / (g.[0].ToArray().[0])
    abs (norm - Clip.globalNorm g) < 1e-12 && after <= 1.0 + 1e-12
    && Array.forall2 (fun (c: Tensor) (g: Tensor) -> Check.close 1e-12 0.0 (g.ToArray() |> Array.map ((*) ratio)) (c.ToArray()) = None) clipped g

[<Fact>]
let ``clipping by value clamps every element to [-v, v]`` () =
    let g = [| Create.ofFloat64 [| -3.0; -0.5; 0.0; 0.7; 2.0 |] [| 5 |] |]
    Assert.Equal<float[]>([| -1.0; -0.5; 0.0; 0.7; 1.0 |], (Clip.byValue 1.0 g).[0].ToArray())
    Assert.Throws<ArgumentOutOfRangeException>(fun () -> Clip.byGlobalNorm -1.0 g |> ignore) |> ignore
