namespace Hybrid.Core.Optim

open System

/// How OneCycleLR anneals between its phase end points.
type AnnealStrategy =
    | AnnealCos
    | AnnealLinear

/// CyclicLR's amplitude policy.
type CyclicMode =
    /// Constant amplitude.
    | Triangular
    /// Amplitude halves every cycle.
    | Triangular2
    /// Amplitude scaled by gamma^(iterations).
    | ExpRange
    /// torch's custom scale_fn: amplitude scaleFn(cycle) (scaleByCycle, torch's scale_mode = 'cycle') or
    /// scaleFn(iteration) (scale_mode = 'iterations').
    | CustomScale of scaleFn: (float -> float) * scaleByCycle: bool

/// torch.optim.lr_scheduler.OneCycleLR arguments (same names and defaults).
type OneCycleArgs =
    { MaxLr: float
      TotalSteps: int
      PctStart: float
      AnnealStrategy: AnnealStrategy
      DivFactor: float
      FinalDivFactor: float
      ThreePhase: bool
      /// Momentum (or Adam's beta1) cycled inversely to lr between BaseMomentum and MaxMomentum.
      CycleMomentum: bool
      BaseMomentum: float
      MaxMomentum: float }
    /// torch's defaults for a given max_lr and total_steps.
    static member Default(maxLr: float, totalSteps: int) =
        { MaxLr = maxLr; TotalSteps = totalSteps; PctStart = 0.3; AnnealStrategy = AnnealCos; DivFactor = 25.0; FinalDivFactor = 1e4; ThreePhase = false
          CycleMomentum = true; BaseMomentum = 0.85; MaxMomentum = 0.95 }

/// torch.optim.lr_scheduler.CyclicLR arguments (same names and defaults; no custom scale_fn).
type CyclicArgs =
    { BaseLr: float
      MaxLr: float
      StepSizeUp: int
      /// None: equal to StepSizeUp.
      StepSizeDown: int option
      Mode: CyclicMode
      Gamma: float
      /// Momentum cycled inversely to lr between BaseMomentum and MaxMomentum.
      CycleMomentum: bool
      BaseMomentum: float
      MaxMomentum: float }
    /// torch's defaults for given bounds.
    static member Default(baseLr: float, maxLr: float) =
        { BaseLr = baseLr; MaxLr = maxLr; StepSizeUp = 2000; StepSizeDown = None; Mode = Triangular; Gamma = 1.0
          CycleMomentum = true; BaseMomentum = 0.8; MaxMomentum = 0.9 }

/// A learning-rate schedule: one case per torch.optim.lr_scheduler class (plus the lecture's
/// lr₀·e^{−kt}), and the two compositions.
type LrSchedule =
    /// lr stays lr₀.
    | ConstantSchedule
    /// StepLR: lr₀·γ^⌊t/stepSize⌋.
    | StepLr of stepSize: int * gamma: float
    /// MultiStepLR: lr₀·γ^(number of milestones ≤ t).
    | MultiStepLr of milestones: int[] * gamma: float
    /// ExponentialLR: lr₀·γ^t.
    | ExponentialLr of gamma: float
    /// The lecture's exponential decay lr₀·e^{−kt} (ExponentialLR with γ = e^{−k}).
    | ExponentialDecay of k: float
    /// CosineAnnealingLR: η_min + (lr₀ − η_min)(1 + cos(π t/T_max))/2 (torch's recursive form).
    | CosineAnnealingLr of tMax: int * etaMin: float
    /// CosineAnnealingWarmRestarts (SGDR): cosine over T_i steps, then restart with T_i ← T_i·T_mult.
    | CosineAnnealingWarmRestarts of t0: int * tMult: int * etaMin: float
    /// LinearLR: factor goes linearly from startFactor to endFactor over totalIters steps.
    | LinearLr of startFactor: float * endFactor: float * totalIters: int
    /// ConstantLR: lr₀·factor until totalIters, then lr₀.
    | ConstantLr of factor: float * totalIters: int
    /// PolynomialLR: lr₀·(1 − min(t, T)/T)^power.
    | PolynomialLr of totalIters: int * power: float
    /// OneCycleLR (Smith & Topin 2017).
    | OneCycleLr of OneCycleArgs
    /// CyclicLR (Smith 2017).
    | CyclicLr of CyclicArgs
    /// LambdaLR: lr₀·λ(t).
    | LambdaLr of lambda: (int -> float)
    /// MultiplicativeLR: lr_t = lr_{t−1}·λ(t).
    | MultiplicativeLr of lambda: (int -> float)
    /// SequentialLR: schedules[i] runs from milestones[i−1] (restarted there) to milestones[i].
    | SequentialLr of schedules: LrSchedule[] * milestones: int[]
    /// ChainedScheduler: every schedule steps, each on the lr the previous one left.
    | ChainedLr of schedules: LrSchedule[]

/// A scheduler's own state (torch's `last_epoch`, `base_lrs`, SGDR's T_cur and T_i, inner schedulers).
type LrState =
    { LastEpoch: int
      BaseLr: float
      /// SGDR: steps since the last restart.
      TCur: float
      /// SGDR: length of the current cycle.
      TI: int
      /// Inner schedulers of SequentialLr / ChainedLr.
      Inner: LrState[] }

/// A scheduler attached to one optimizer parameter group: the schedule, its state, the group's current
/// lr (torch's `group['lr']`, what `get_last_lr` returns) and the group's `initial_lr`.
type LrScheduler =
    { Schedule: LrSchedule
      State: LrState
      Lr: float
      InitialLr: float }

/// torch.optim.lr_scheduler as pure state transitions. Every value equals the lr torch produces when
/// stepped (its recursive `get_lr` forms, and `_get_closed_form_lr` where torch uses it).
module LrSchedule =

    let private badArg (name: string) (v: obj) (msg: string) =
        raise (ArgumentOutOfRangeException(name, v, msg))

    /// Throws (naming the argument and its value) on invalid schedule arguments.
    let rec check (s: LrSchedule) =
        let pos name (v: float) op = if Double.IsNaN v || not (v > 0.0) then badArg name v (sprintf "%s: %s must be > 0, got %g" op name v)
        let nonNeg name (v: float) op = if Double.IsNaN v || v < 0.0 then badArg name v (sprintf "%s: %s must be >= 0, got %g" op name v)
        let atLeast1 name (v: int) op = if v < 1 then badArg name v (sprintf "%s: %s must be >= 1, got %d" op name v)
        match s with
        | ConstantSchedule -> ()
        | StepLr (n, g) -> atLeast1 "stepSize" n "StepLR"; pos "gamma" g "StepLR"
        | MultiStepLr (ms, g) ->
            pos "gamma" g "MultiStepLR"
            for i in 1 .. ms.Length - 1 do
                if ms.[i] <= ms.[i - 1] then invalidArg "milestones" (sprintf "MultiStepLR: milestones must be strictly increasing, got [%s]" (String.Join(", ", ms)))
        | ExponentialLr g -> pos "gamma" g "ExponentialLR"
        | ExponentialDecay k -> nonNeg "k" k "ExponentialDecay"
        | CosineAnnealingLr (t, e) -> atLeast1 "tMax" t "CosineAnnealingLR"; nonNeg "etaMin" e "CosineAnnealingLR"
        | CosineAnnealingWarmRestarts (t0, m, e) ->
            atLeast1 "t0" t0 "CosineAnnealingWarmRestarts"; atLeast1 "tMult" m "CosineAnnealingWarmRestarts"; nonNeg "etaMin" e "CosineAnnealingWarmRestarts"
        | LinearLr (a, b, n) ->
            if Double.IsNaN a || a <= 0.0 || a > 1.0 then badArg "startFactor" a (sprintf "LinearLR: startFactor must lie in (0, 1], got %g" a)
            if Double.IsNaN b || b < 0.0 || b > 1.0 then badArg "endFactor" b (sprintf "LinearLR: endFactor must lie in [0, 1], got %g" b)
            atLeast1 "totalIters" n "LinearLR"
        | ConstantLr (f, n) ->
            if Double.IsNaN f || f <= 0.0 || f > 1.0 then badArg "factor" f (sprintf "ConstantLR: factor must lie in (0, 1], got %g" f)
            if n < 0 then badArg "totalIters" n (sprintf "ConstantLR: totalIters must be >= 0, got %d" n)
        | PolynomialLr (n, p) -> atLeast1 "totalIters" n "PolynomialLR"; nonNeg "power" p "PolynomialLR"
        | OneCycleLr a ->
            pos "maxLr" a.MaxLr "OneCycleLR"; atLeast1 "totalSteps" a.TotalSteps "OneCycleLR"
            if Double.IsNaN a.PctStart || a.PctStart < 0.0 || a.PctStart > 1.0 then badArg "pctStart" a.PctStart (sprintf "OneCycleLR: pctStart must lie in [0, 1], got %g" a.PctStart)
            // the warm-up phase runs from step 0 to pctStart·totalSteps − 1: when that is 0 it has no length and
            // step 0 falls in it (torch divides 0 by 0 there); shorter warm-ups are skipped, as in torch
            if a.PctStart * float a.TotalSteps = 1.0 then
                badArg "pctStart" a.PctStart (sprintf "OneCycleLR: pctStart·totalSteps = %g·%d = 1 leaves a warm-up of zero length (0/0); use a larger or smaller pctStart" a.PctStart a.TotalSteps)
            pos "divFactor" a.DivFactor "OneCycleLR"; pos "finalDivFactor" a.FinalDivFactor "OneCycleLR"
        | CyclicLr a ->
            nonNeg "baseLr" a.BaseLr "CyclicLR"; nonNeg "maxLr" a.MaxLr "CyclicLR"; atLeast1 "stepSizeUp" a.StepSizeUp "CyclicLR"
            a.StepSizeDown |> Option.iter (fun d -> atLeast1 "stepSizeDown" d "CyclicLR")
            pos "gamma" a.Gamma "CyclicLR"
            match a.Mode with
            | CustomScale (f, _) when obj.ReferenceEquals(f, null) -> nullArg "scaleFn"
            | _ -> ()
        | LambdaLr f | MultiplicativeLr f -> if obj.ReferenceEquals(f, null) then nullArg "lambda"
        | SequentialLr (ss, ms) ->
            if ss.Length = 0 then invalidArg "schedules" "SequentialLR: needs at least one schedule"
            if ms.Length <> ss.Length - 1 then
                invalidArg "milestones" (sprintf "SequentialLR: expected %d milestones for %d schedules, got %d" (ss.Length - 1) ss.Length ms.Length)
            for i in 0 .. ms.Length - 1 do
                if (i > 0 && ms.[i] <= ms.[i - 1]) || ms.[i] < 1 then
                    invalidArg "milestones" (sprintf "SequentialLR: milestones must be positive and strictly increasing, got [%s]" (String.Join(", ", ms)))
            Array.iter check ss
        | ChainedLr ss ->
            if ss.Length = 0 then invalidArg "schedules" "ChainedScheduler: needs at least one schedule"
            Array.iter check ss

    // Python's a % m for m > 0 (never negative)
    let private pyMod (a: int) (m: int) = ((a % m) + m) % m

    /// CyclicLR at iteration e: (lr, momentum). scale = x/r rising, (x − 1)/(r − 1) falling, within the cycle.
    let private cyclic (a: CyclicArgs) (e: int) =
        let up = float a.StepSizeUp
        let total = up + (match a.StepSizeDown with Some d -> float d | None -> up)
        let ratio = up / total
        let cycle = Math.Floor(1.0 + float e / total)
        let x = 1.0 + float e / total - cycle
        let scale = if x <= ratio then x / ratio else (x - 1.0) / (ratio - 1.0)
        // triangular: 1; triangular2: 1/2^(cycle−1); exp_range: γ^e
        let amplitude =
            match a.Mode with
            | Triangular -> 1.0
            | Triangular2 -> 1.0 / (2.0 ** (cycle - 1.0))
            | ExpRange -> a.Gamma ** float e
            | CustomScale (f, byCycle) -> f (if byCycle then cycle else float e)
        a.BaseLr + (a.MaxLr - a.BaseLr) * scale * amplitude, a.MaxMomentum - (a.MaxMomentum - a.BaseMomentum) * scale * amplitude

    /// OneCycleLR at step e: (lr, momentum), annealing between the phase end points.
    let private oneCycle (a: OneCycleArgs) (e: int) =
        if e > a.TotalSteps then
            invalidOp (sprintf "OneCycleLR: tried to step %d times; totalSteps is %d" (e + 1) a.TotalSteps)
        let initial = a.MaxLr / a.DivFactor
        let minLr = initial / a.FinalDivFactor
        let total = float a.TotalSteps
        let hiM, loM = a.MaxMomentum, a.BaseMomentum
        // (end step, lr from, lr to, momentum from, momentum to)
        let phases =
            if a.ThreePhase then
                [| a.PctStart * total - 1.0, initial, a.MaxLr, hiM, loM
                   2.0 * a.PctStart * total - 2.0, a.MaxLr, initial, loM, hiM
                   total - 1.0, initial, minLr, hiM, hiM |]
            else
                [| a.PctStart * total - 1.0, initial, a.MaxLr, hiM, loM
                   total - 1.0, a.MaxLr, minLr, loM, hiM |]
        let anneal (start: float) (stop: float) (pct: float) =
            match a.AnnealStrategy with
            | AnnealCos -> stop + (start - stop) / 2.0 * (cos (Math.PI * pct) + 1.0)
            | AnnealLinear -> (stop - start) * pct + start
        let rec pick i startStep =
            let endStep, lo, hi, mLo, mHi = phases.[i]
            if float e <= endStep || i = phases.Length - 1 then
                let pct = (float e - startStep) / (endStep - startStep)
                anneal lo hi pct, anneal mLo mHi pct
            else pick (i + 1) endStep
        pick 0 0.0

    /// torch's recursive `get_lr`: the lr at epoch e from the group's current lr.
    let private recursive (s: LrSchedule) (e: int) (baseLr: float) (lr: float) =
        match s with
        | ConstantSchedule -> lr
        // StepLR: multiply by γ every stepSize epochs
        | StepLr (n, g) -> if e = 0 || e % n <> 0 then lr else lr * g
        // MultiStepLR: multiply by γ at each milestone
        | MultiStepLr (ms, g) -> if Array.contains e ms then lr * g else lr
        | ExponentialLr g -> if e = 0 then lr else lr * g
        | ExponentialDecay k -> if e = 0 then lr else lr * exp (-k)
        | CosineAnnealingLr (tMax, etaMin) ->
            let tm = float tMax
            if e = 0 then lr
            // at the trough the ratio form is 0/0: step by the closed-form increment instead
            elif pyMod (e - 1 - tMax) (2 * tMax) = 0 then lr + (baseLr - etaMin) * (1.0 - cos (Math.PI / tm)) / 2.0
            else (1.0 + cos (Math.PI * float e / tm)) / (1.0 + cos (Math.PI * float (e - 1) / tm)) * (lr - etaMin) + etaMin
        | LinearLr (a, b, n) ->
            if e = 0 then lr * a
            elif e > n then lr
            else lr * (1.0 + (b - a) / (float n * a + float (e - 1) * (b - a)))
        | ConstantLr (f, n) ->
            if e = 0 then lr * f
            elif e <> n then lr
            else lr * (1.0 / f)
        | PolynomialLr (n, p) ->
            if e = 0 || e > n then lr
            else lr * ((1.0 - float e / float n) / (1.0 - float (e - 1) / float n)) ** p
        | LambdaLr f -> baseLr * f e
        | MultiplicativeLr f -> if e > 0 then lr * f e else lr
        | CyclicLr a -> fst (cyclic a e)
        | OneCycleLr a -> fst (oneCycle a e)
        | CosineAnnealingWarmRestarts _ | SequentialLr _ | ChainedLr _ -> lr

    /// torch's `_get_closed_form_lr`, used when a scheduler is stepped with an explicit epoch.
    let private closedForm (s: LrSchedule) (e: int) (baseLr: float) =
        match s with
        | StepLr (n, g) -> Some (baseLr * g ** float (e / n))
        | MultiStepLr (ms, g) -> Some (baseLr * g ** float (ms |> Array.filter (fun m -> m <= e) |> Array.length))
        | ConstantLr (f, n) -> Some (baseLr * (f + (if e >= n then 1.0 else 0.0) * (1.0 - f)))
        | LinearLr (a, b, n) -> Some (baseLr * (a + (b - a) * float (min n e) / float n))
        | ExponentialLr g -> Some (baseLr * g ** float e)
        | ExponentialDecay k -> Some (baseLr * exp (-k * float e))
        | PolynomialLr (n, p) -> Some (baseLr * (1.0 - float (min n e) / float n) ** p)
        | CosineAnnealingLr (tMax, etaMin) -> Some (etaMin + (baseLr - etaMin) * (1.0 + cos (Math.PI * float e / float tMax)) / 2.0)
        | _ -> None

    let private fresh (baseLr: float) = { LastEpoch = -1; BaseLr = baseLr; TCur = -1.0; TI = 0; Inner = [||] }

    /// One torch `scheduler.step(epoch)` on a group whose lr is `lr`: returns the group's (lr, initial_lr)
    /// and the new state.
    let rec private stepAt (s: LrSchedule) (epoch: int option) (lr: float, initialLr: float) (st: LrState) : (float * float) * LrState =
        match s with
        | SequentialLr (ss, ms) ->
            let e = st.LastEpoch + 1
            let idx = ms |> Array.filter (fun m -> m <= e) |> Array.length
            let restart = idx > 0 && ms.[idx - 1] = e
            let g, inner = stepAt ss.[idx] (if restart then Some 0 else None) (lr, initialLr) st.Inner.[idx]
            g, { st with LastEpoch = e; Inner = Array.updateAt idx inner st.Inner }
        | ChainedLr ss ->
            let mutable g = (lr, initialLr)
            let inner =
                Array.mapi (fun i sub ->
                    let g', st' = stepAt sub None g st.Inner.[i]
                    g <- g'
                    st') ss
            g, { st with Inner = inner }
        | CosineAnnealingWarmRestarts (t0, tMult, etaMin) ->
            // SGDR: T_cur counts steps in the cycle; at T_cur ≥ T_i restart with T_i ← T_i·T_mult
            let epoch = match epoch with None when st.LastEpoch < 0 -> Some 0 | e -> e
            let e, tCur, tI =
                match epoch with
                | None ->
                    let tCur = st.TCur + 1.0
                    if tCur >= float st.TI then st.LastEpoch + 1, tCur - float st.TI, st.TI * tMult
                    else st.LastEpoch + 1, tCur, st.TI
                | Some e when e >= t0 ->
                    if tMult = 1 then e, float (e % t0), st.TI
                    else
                        let n = int (Math.Log(float e / float t0 * float (tMult - 1) + 1.0, float tMult))
                        let p = pown tMult n
                        e, float e - float t0 * float (p - 1) / float (tMult - 1), t0 * p
                | Some e -> e, float e, t0
            let lr' = etaMin + (st.BaseLr - etaMin) * (1.0 + cos (Math.PI * tCur / float tI)) / 2.0
            (lr', initialLr), { st with LastEpoch = e; TCur = tCur; TI = tI }
        | _ ->
            match epoch with
            | None ->
                let e = st.LastEpoch + 1
                (recursive s e st.BaseLr lr, initialLr), { st with LastEpoch = e }
            | Some e ->
                let lr' = match closedForm s e st.BaseLr with Some v -> v | None -> recursive s e st.BaseLr lr
                (lr', initialLr), { st with LastEpoch = e }

    /// torch's constructor: sets the group's initial_lr (if unset), takes base_lr, and performs the initial step.
    let rec private construct (s: LrSchedule) (lr: float, initialLr: float) : (float * float) * LrState =
        let setDefault = if Double.IsNaN initialLr then lr else initialLr
        match s with
        | SequentialLr (ss, _) ->
            let mutable g = (lr, initialLr)
            let inner = ss |> Array.map (fun sub -> let g', st = construct sub g in g <- g'; st)
            let initial = snd g
            // reset the group to initial_lr, undo every inner initial step, redo the first one
            let inner = inner |> Array.map (fun st -> { st with LastEpoch = st.LastEpoch - 1 })
            let st0 = { inner.[0] with LastEpoch = -1; TCur = -1.0 }
            let g0, st0 = stepAt ss.[0] None (initial, initial) st0
            g0, { fresh initial with LastEpoch = 0; Inner = Array.updateAt 0 st0 inner }
        | ChainedLr ss ->
            let mutable g = (lr, initialLr)
            let inner = ss |> Array.map (fun sub -> let g', st = construct sub g in g <- g'; st)
            g, { fresh (snd g) with Inner = inner }
        | OneCycleLr a ->
            let initial = a.MaxLr / a.DivFactor
            stepAt s None (lr, initial) (fresh initial)
        | CyclicLr a ->
            let initial = if Double.IsNaN initialLr then a.BaseLr else initialLr
            stepAt s None (a.BaseLr, initial) (fresh a.BaseLr)
        | CosineAnnealingWarmRestarts (t0, _, _) ->
            stepAt s None (lr, setDefault) { fresh setDefault with TI = t0 }
        | _ -> stepAt s None (lr, setDefault) (fresh setDefault)

    /// torch's constructor on a group whose lr is lr0 and whose initial_lr is initialLr (NaN: unset, as
    /// on a group no scheduler was attached to; otherwise torch's setdefault keeps it as base_lr).
    let createWith (schedule: LrSchedule) (lr0: float) (initialLr: float) : LrScheduler =
        check schedule
        Hyper.lr "lr scheduler" lr0
        let (lr, initial), st = construct schedule (lr0, initialLr)
        { Schedule = schedule; State = st; Lr = lr; InitialLr = initial }

    /// torch's constructor with last_epoch = lastEpoch ≥ 0 (resuming a schedule after lastEpoch + 1 steps): base_lr is
    /// the group's initial_lr, which must be set (torch raises KeyError otherwise); the initial step then moves to
    /// epoch lastEpoch + 1 by the recursive form from the group's current lr (closed forms for OneCycleLR, CyclicLR and,
    /// as torch, CosineAnnealingLR;
    /// SGDR starts with T_cur = lastEpoch, T_i = T_0; SequentialLR only counts from lastEpoch + 1). lastEpoch = −1 is
    /// `createWith`. torch's ChainedScheduler has no last_epoch.
    let createResumed (schedule: LrSchedule) (lr0: float) (initialLr: float) (lastEpoch: int) : LrScheduler =
        if lastEpoch < -1 then
            raise (ArgumentOutOfRangeException("lastEpoch", lastEpoch, sprintf "lr scheduler: lastEpoch must be >= -1 (-1: a fresh schedule), got %d" lastEpoch))
        if lastEpoch = -1 then createWith schedule lr0 initialLr
        else
            check schedule
            Hyper.lr "lr scheduler" lr0
            if Double.IsNaN initialLr && not (match schedule with SequentialLr _ -> true | _ -> false) then
                invalidArg "lastEpoch" (sprintf "lr scheduler: lastEpoch = %d resumes a schedule, but the parameter group has no initial_lr (set it, or load the optimizer's state dict first, as torch requires)" lastEpoch)
            let (lr, initial), st =
                match schedule with
                | ChainedLr _ -> invalidArg "lastEpoch" "lr scheduler: ChainedScheduler has no lastEpoch (as torch's); resume its schedulers instead"
                | SequentialLr _ ->
                    let g, st = construct schedule (lr0, initialLr)
                    g, { st with LastEpoch = lastEpoch + 1 }
                | CosineAnnealingWarmRestarts (t0, _, _) ->
                    stepAt schedule None (lr0, initialLr) { fresh initialLr with LastEpoch = lastEpoch; TCur = float lastEpoch; TI = t0 }
                | CyclicLr a -> stepAt schedule None (lr0, initialLr) { fresh a.BaseLr with LastEpoch = lastEpoch }
                // torch's CosineAnnealingLR takes its closed form on a resumed first step (_step_count == 1)
                | CosineAnnealingLr _ -> stepAt schedule (Some (lastEpoch + 1)) (lr0, initialLr) { fresh initialLr with LastEpoch = lastEpoch }
                | _ -> stepAt schedule None (lr0, initialLr) { fresh initialLr with LastEpoch = lastEpoch }
            { Schedule = schedule; State = st; Lr = lr; InitialLr = initial }

    /// Attach a schedule to a parameter group whose lr is lr0 (torch's constructor, initial step included).
    let create (schedule: LrSchedule) (lr0: float) : LrScheduler = createWith schedule lr0 nan

    /// torch's `scheduler.step()` when the group's lr is currentLr (it may have been changed outside).
    let stepFrom (currentLr: float) (sch: LrScheduler) : LrScheduler =
        let (lr, initial), st = stepAt sch.Schedule None (currentLr, sch.InitialLr) sch.State
        { sch with State = st; Lr = lr; InitialLr = initial }

    /// torch's `scheduler.step()`.
    let step (sch: LrScheduler) = stepFrom sch.Lr sch

    /// torch's `scheduler.step(epoch)` (deprecated in torch; closed forms where torch has them).
    let stepTo (epoch: int) (sch: LrScheduler) : LrScheduler =
        if epoch < 0 then raise (ArgumentOutOfRangeException("epoch", epoch, sprintf "lr scheduler: epoch must be >= 0, got %d" epoch))
        match sch.Schedule with
        | SequentialLr _ | ChainedLr _ -> invalidArg "epoch" "lr scheduler: SequentialLR and ChainedScheduler step without an epoch"
        | _ ->
            let (lr, initial), st = stepAt sch.Schedule (Some epoch) (sch.Lr, sch.InitialLr) sch.State
            { sch with State = st; Lr = lr; InitialLr = initial }

    /// The momentum OneCycleLR / CyclicLR (cycle_momentum) has set on the group at the scheduler's
    /// current step; None for other schedules or when cycling is off.
    let momentum (sch: LrScheduler) : float option =
        match sch.Schedule with
        | OneCycleLr a when a.CycleMomentum -> Some (snd (oneCycle a sch.State.LastEpoch))
        | CyclicLr a when a.CycleMomentum -> Some (snd (cyclic a sch.State.LastEpoch))
        | _ -> None

    /// The lr after construction and after each of the next n − 1 steps (n values).
    let values (schedule: LrSchedule) (lr0: float) (n: int) : float[] =
        if n < 0 then raise (ArgumentOutOfRangeException("n", n, sprintf "lr scheduler: n must be >= 0, got %d" n))
        if n = 0 then [||]
        else
            let first = create schedule lr0
            Array.scan (fun (s: LrScheduler) _ -> step s) first (Array.zeroCreate (n - 1)) |> Array.map (fun s -> s.Lr)

    /// The lr at step t (t = 0 right after construction), as torch produces it when stepped t times.
    let lrAt (schedule: LrSchedule) (lr0: float) (t: int) = (values schedule lr0 (t + 1)).[t]
