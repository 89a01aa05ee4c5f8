module Hybrid.Tests.ScheduleTests

open System
open System.IO
open System.Globalization
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Optim
open Hybrid.Tests.Check

let golden =
    File.ReadAllLines(Path.Combine(__SOURCE_DIRECTORY__, "golden", "schedules.txt"))
    |> Array.map (fun l -> let p = l.Split(' ') in p.[0], p.[1..] |> Array.map (fun s -> Double.Parse(s, CultureInfo.InvariantCulture)))
    |> dict

/// The same schedules as make_schedules.py, with the same arguments.
let cases : (string * LrSchedule) list =
    [ "step", StepLr (7, 0.5)
      "multistep", MultiStepLr ([| 10; 25; 60 |], 0.3)
      "exponential", ExponentialLr 0.95
      "exp_decay", ExponentialDecay 0.03
      "cosine", CosineAnnealingLr (30, 0.001)
      "warm_restarts", CosineAnnealingWarmRestarts (5, 2, 0.001)
      "warm_restarts_mult1", CosineAnnealingWarmRestarts (13, 1, 0.0)
      "linear_warmup", LinearLr (0.25, 1.0, 20)
      "linear_decay", LinearLr (1.0, 0.1, 30)
      "constant_factor", ConstantLr (0.5, 10)
      "polynomial", PolynomialLr (50, 2.0)
      "onecycle_cos", OneCycleLr (OneCycleArgs.Default(1.0, 100))
      "onecycle_linear_3phase", OneCycleLr { MaxLr = 0.5; TotalSteps = 120; PctStart = 0.25; AnnealStrategy = AnnealLinear; DivFactor = 10.0; FinalDivFactor = 100.0; ThreePhase = true; CycleMomentum = true; BaseMomentum = 0.85; MaxMomentum = 0.95 }
      "cyclic_triangular", CyclicLr { CyclicArgs.Default(0.01, 0.1) with StepSizeUp = 10 }
      "cyclic_triangular2", CyclicLr { CyclicArgs.Default(0.01, 0.1) with StepSizeUp = 8; StepSizeDown = Some 12; Mode = Triangular2 }
      "cyclic_exp_range", CyclicLr { CyclicArgs.Default(0.01, 0.1) with StepSizeUp = 5; Mode = ExpRange; Gamma = 0.98 }
      "lambda", LambdaLr (fun e -> 1.0 / (1.0 + 0.1 * float e))
      "multiplicative", MultiplicativeLr (fun _ -> 0.97)
      "sequential_warmup_cosine", SequentialLr ([| LinearLr (0.1, 1.0, 10); CosineAnnealingLr (40, 0.0) |], [| 10 |])
      "sequential_three", SequentialLr ([| ConstantLr (0.1, 5); ExponentialLr 0.9; StepLr (10, 0.5) |], [| 5; 30 |])
      "chained_constant_exp", ChainedLr [| ConstantLr (0.1, 4); ExponentialLr 0.9 |]
      "chained_cosine_multistep", ChainedLr [| CosineAnnealingLr (20, 0.0); MultiStepLr ([| 30; 60 |], 0.5) |] ]

[<Fact>]
let ``every schedule equals torch lr_scheduler over 100 steps`` () =
    for name, s in cases do
        let expected = golden.[name]
        Assert.Equal(101, expected.Length)
        let actual = LrSchedule.values s 0.1 expected.Length
        match close 1e-10 1e-12 expected actual with
        | None -> ()
        | Some m -> failwithf "%s differs from torch: %s" name m
    Assert.Equal(22, cases.Length)

[<Fact>]
let ``reduce on plateau equals torch on a scripted metric`` () =
    let metrics = golden.["plateau_metrics"]
    let run (h: PlateauHyper) =
        metrics |> Array.scan (fun s m -> Plateau.step h m s) (Plateau.init h 0.1) |> Array.skip 1 |> Array.map (fun s -> s.Lr)
    let check name h =
        match close 1e-12 0.0 golden.[name] (run h) with
        | None -> ()
        | Some m -> failwithf "%s differs from torch: %s" name m
    check "plateau_min_rel" { Plateau.defaults with Factor = 0.5; Patience = 3; Threshold = 1e-2 }
    check "plateau_min_abs_cooldown" { Plateau.defaults with Factor = 0.3; Patience = 2; Threshold = 1e-3; ThresholdMode = Abs; Cooldown = 4; MinLr = 0.002 }
    check "plateau_max_rel" { Plateau.defaults with Mode = Max; Factor = 0.5; Patience = 4; Threshold = 1e-4; Eps = 1e-3 }

// ---- laws

[<Property(MaxTest = 50)>]
let ``cosine annealing stays in eta_min to lr0 and hits both ends`` (tMax: int) (seed: int) =
    let tMax = 1 + abs tMax % 40
    let etaMin = float (abs seed % 100) / 1000.0
    let lr0 = 0.1 + etaMin
    let v = LrSchedule.values (CosineAnnealingLr (tMax, etaMin)) lr0 (4 * tMax + 1)
    Array.forall (fun x -> x >= etaMin - 1e-12 && x <= lr0 + 1e-12) v
    && abs (v.[0] - lr0) < 1e-12 && abs (v.[tMax] - etaMin) < 1e-12 && abs (v.[2 * tMax] - lr0) < 1e-10

[<Property(MaxTest = 50)>]
let ``warm restarts restart at lr0 at the end of each cycle and stay in bounds`` (t0: int) (mult: int) =
    let t0, mult = 1 + abs t0 % 10, 1 + abs mult % 3
    let v = LrSchedule.values (CosineAnnealingWarmRestarts (t0, mult, 0.01)) 0.2 120
    let restarts = Seq.unfold (fun (s, len) -> if s < 120 then Some (s, (s + len * mult, len * mult)) else None) (t0, t0)
    Array.forall (fun x -> x >= 0.01 - 1e-12 && x <= 0.2 + 1e-12) v
    && restarts |> Seq.forall (fun s -> abs (v.[s] - 0.2) < 1e-12)

[<Property(MaxTest = 50)>]
let ``step decay hits lr0 gamma^k at each multiple of step size`` (stepSize: int) (seed: int) =
    let stepSize = 1 + abs stepSize % 10
    let gamma = 0.1 + float (abs seed % 80) / 100.0
    let v = LrSchedule.values (StepLr (stepSize, gamma)) 1.0 60
    Seq.forall (fun t -> abs (v.[t] - gamma ** float (t / stepSize)) < 1e-12) (seq { 0 .. 59 })

[<Fact>]
let ``exponential decay is lr0 e^-kt`` () =
    let v = LrSchedule.values (ExponentialDecay 0.05) 0.3 50
    v |> Array.iteri (fun t x -> Assert.True(abs (x - 0.3 * exp (-0.05 * float t)) < 1e-13))

[<Property(MaxTest = 30)>]
let ``one cycle starts at max over div, peaks at max lr, ends at min lr`` (total: int) (seed: int) =
    // pct·total > 1: the warm-up has a step after the start (pct·total = 1 is rejected, see below)
    let total = 11 + abs total % 200
    let pct = 0.1 + float (abs seed % 7) / 10.0
    let a = { OneCycleArgs.Default(0.8, total) with PctStart = pct }
    let v = LrSchedule.values (OneCycleLr a) 0.1 total
    let peak = int (pct * float total) - 1
    let minLr = 0.8 / 25.0 / 1e4
    abs (v.[0] - 0.8 / 25.0) < 1e-12 && abs (v.[total - 1] - minLr) < 1e-12
    && Array.forall (fun x -> x >= minLr - 1e-12 && x <= 0.8 + 1e-12) v
    && (float (peak + 1) <> pct * float total || abs (v.[peak] - 0.8) < 1e-12)

[<Fact>]
let ``one cycle whose warm-up has zero length is rejected naming pctStart`` () =
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> LrSchedule.values (OneCycleLr { OneCycleArgs.Default(0.8, 10) with PctStart = 0.1 }) 0.1 10 |> ignore)
    Assert.Contains("pctStart", e.Message)

[<Property(MaxTest = 30)>]
let ``cyclic lr stays between base and max and reaches max after step size up`` (up: int) =
    let up = 1 + abs up % 15
    let v = LrSchedule.values (CyclicLr { CyclicArgs.Default(0.01, 0.1) with StepSizeUp = up }) 0.5 (4 * up + 1)
    Array.forall (fun x -> x >= 0.01 - 1e-12 && x <= 0.1 + 1e-12) v && abs (v.[up] - 0.1) < 1e-12 && abs (v.[2 * up] - 0.01) < 1e-12

[<Fact>]
let ``linear warm-up rises from start factor to end factor then holds`` () =
    let v = LrSchedule.values (LinearLr (0.2, 1.0, 8)) 0.5 20
    Assert.Equal(0.1, v.[0], 12)
    for t in 1 .. 8 do Assert.True(v.[t] > v.[t - 1])
    for t in 8 .. 19 do Assert.Equal(0.5, v.[t], 12)

[<Fact>]
let ``constant schedule keeps lr0 and polynomial ends at zero`` () =
    Assert.All(LrSchedule.values ConstantSchedule 0.3 10, fun v -> Assert.Equal(0.3, v))
    let v = LrSchedule.values (PolynomialLr (10, 1.5)) 0.3 15
    Assert.Equal(0.0, v.[10], 14)
    Assert.Equal(0.0, v.[14], 14)

[<Fact>]
let ``one cycle refuses to step past total steps`` () =
    let s = LrSchedule.create (OneCycleLr (OneCycleArgs.Default(1.0, 3))) 0.1
    let s = s |> LrSchedule.step |> LrSchedule.step |> LrSchedule.step
    let e = Assert.Throws<InvalidOperationException>(fun () -> LrSchedule.step s |> ignore)
    Assert.Contains("totalSteps is 3", e.Message)

[<Fact>]
let ``bad schedule arguments are rejected naming the argument and value`` () =
    let bad (s: LrSchedule) (parts: string list) =
        let e = Assert.ThrowsAny<ArgumentException>(fun () -> LrSchedule.create s 0.1 |> ignore)
        for p in parts do Assert.Contains(p, e.Message)
    bad (StepLr (0, 0.5)) [ "stepSize"; "0" ]
    bad (StepLr (3, -0.5)) [ "gamma"; "-0.5" ]
    bad (ExponentialLr 0.0) [ "gamma"; "0" ]
    bad (MultiStepLr ([| 5; 3 |], 0.5)) [ "milestones"; "5, 3" ]
    bad (OneCycleLr (OneCycleArgs.Default(1.0, 0))) [ "totalSteps"; "0" ]
    bad (SequentialLr ([| ExponentialLr 0.9; ExponentialLr 0.8 |], [||])) [ "milestones" ]
    bad (CosineAnnealingWarmRestarts (0, 1, 0.0)) [ "t0"; "0" ]
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> LrSchedule.create (ExponentialLr 0.9) -1.0 |> ignore)
    Assert.Contains("-1", e.Message)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> Plateau.init { Plateau.defaults with Factor = 1.5 } 0.1 |> ignore)
    Assert.Contains("factor", e.Message); Assert.Contains("1.5", e.Message)

[<Fact>]
let ``one cycle and cyclic momentum equal torch's cycled momentum`` () =
    let mutable checkedCount = 0
    for name, s in cases do
        match golden.TryGetValue(name + "_momentum") with
        | true, expected ->
            let first = LrSchedule.create s 0.1
            let scheds = Array.scan (fun sc _ -> LrSchedule.step sc) first (Array.zeroCreate (expected.Length - 1))
            let actual = scheds |> Array.map (fun sc -> (LrSchedule.momentum sc).Value)
            match close 1e-10 1e-12 expected actual with
            | None -> checkedCount <- checkedCount + 1
            | Some m -> failwithf "%s momentum differs from torch: %s" name m
        | _ -> Assert.True((LrSchedule.momentum (LrSchedule.create s 0.1)).IsNone)
    Assert.Equal(5, checkedCount)
