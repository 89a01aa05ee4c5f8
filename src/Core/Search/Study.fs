namespace Hybrid.Core.Search

open System
open System.Text.Json
open System.Threading

/// Thrown by an objective (or by TrialRun.Report when the pruner says so) to end its trial as Pruned.
type TrialPrunedException(message: string) =
    inherit Exception(message)
    new() = TrialPrunedException "trial pruned"

/// Thrown by TrialRun.Report when a reported value is NaN or infinite: the trial ends as Fail with the step and
/// value, and the study goes on.
type TrialDivergedException(step: int64, value: float) =
    inherit Exception(sprintf "diverged at step %d: value %g" step value)
    member _.Step = step
    member _.Value = value

/// How a study's workers behave.
type StudyOptions =
    { Sampler: Sampler
      Pruner: Pruner
      /// A Running trial whose heartbeat is older than this is taken to have lost its process: Fail, and queued again.
      HeartbeatTimeout: TimeSpan
      /// This worker's name in the storage (host:pid:thread by default).
      Worker: string }

/// The default options: random sampling, no pruning, a 60 s heartbeat timeout.
module StudyOptions =
    let defaults =
        { Sampler = RandomSampler.sampler; Pruner = NopPruner.pruner; HeartbeatTimeout = TimeSpan.FromSeconds 60.0
          Worker = sprintf "%s:%d" Environment.MachineName Environment.ProcessId }

/// A study: a name in a storage, its direction and seed.
type Study = { Storage: IStorage; Stored: StoredStudy; Settings: StudySettings }

/// One trial while its objective runs: its number, its configuration so far, and the calls the objective makes.
/// The configuration grows as the objective suggests parameters (define-by-run) or is set at once from a space;
/// a trial claimed from the queue (a retry, an enqueued or grid configuration) starts with its configuration and
/// every suggestion returns the queued value.
[<Sealed; AllowNullLiteral>]
type TrialRun(study: Study, options: StudyOptions, number: int, start: Config, cancel: CancellationToken) =
    let mutable config = start
    let mutable pruned = false
    let rng = Rng.derive (int64 number) (Rng.create study.Settings.Seed)
    let lockObj = obj ()
    // FNV-1a of the name: a parameter's draws depend only on (seed, trial number, name)
    let keyOf (name: string) =
        let mutable h = 14695981039346656037UL
        for c in name do h <- (h ^^^ uint64 c) * 1099511628211UL
        int64 (h >>> 1)
    let history () = study.Storage.Trials study.Stored.Id
    let store () =
        if not (study.Storage.SetConfig(study.Stored.Id, number, config)) then
            invalidOp (sprintf "search: trial %d is no longer running in %s (its heartbeat was lost and it was queued again)" number study.Storage.Describe)

    /// The trial's number in the study (0, 1, 2, ...).
    member _.Number = number
    /// The values suggested so far (or queued), by name.
    member _.Config = lock lockObj (fun () -> config)
    /// Set when the study is being stopped (Ctrl-C): the objective should throw OperationCanceledException.
    member _.Cancellation = cancel
    /// The study this trial belongs to.
    member _.Study = study

    /// The whole configuration of a space: the queued one, else one the sampler draws over the study's history
    /// (Running trials included, so a sampler can treat them as pending, the "constant liar").
    member _.Sample(space: Space) : Config =
        lock lockObj (fun () ->
            if config.IsEmpty then
                config <- options.Sampler.Suggest(study.Settings, space, history (), rng)
                store ()
            config)

    /// The value of one parameter (define-by-run): the queued or already suggested one, else a draw of the sampler
    /// over a one-parameter space, from a stream keyed by (seed, trial number, parameter name).
    member _.Suggest(p: Param) : ParamValue =
        lock lockObj (fun () ->
            match config.TryFind p.Name with
            | Some v when Param.contains p v -> v
            | Some v ->
                invalidArg p.Name (sprintf "search: parameter '%s' was suggested again with another range; its value %O lies outside it" p.Name v)
            | None ->
                let space = Space.create [ { p with Condition = None } ]
                let drawn = options.Sampler.Suggest(study.Settings, space, history (), Rng.derive (keyOf p.Name) rng)
                let v = drawn.[p.Name]
                config <- config.Add(p.Name, v)
                store ()
                v)

    /// Stores the value at a step (an epoch) and asks the pruner; a NaN or infinite value throws
    /// TrialDivergedException. Returns whether the trial should stop (it is also what ShouldPrune returns).
    member _.Report(step: int64, value: float) : bool =
        if Double.IsNaN value || Double.IsInfinity value then raise (TrialDivergedException(step, value))
        study.Storage.Report(study.Stored.Id, number, step, value) |> ignore
        let all = history ()
        match all |> Array.tryFind (fun t -> t.Number = number) with
        | Some me -> pruned <- options.Pruner.ShouldPrune(study.Settings, all, me, step, value)
        | None -> ()
        pruned

    /// The pruner's verdict at the last report.
    member _.ShouldPrune() = pruned

    /// Stores a user attribute of the trial (e.g. the folder of its run).
    member _.SetAttr(key: string, value: string) = study.Storage.SetAttr(study.Stored.Id, number, key, value)

/// Creating, loading and running studies.
module Study =
    let private settingsJson (seed: uint64) (options: StudyOptions) (extra: string) =
        use doc = JsonDocument.Parse extra
        JsonSerializer.Serialize(dict [ "seed", box seed; "sampler", box options.Sampler.Name; "pruner", box options.Pruner.Name
                                        "extra", box (doc.RootElement.Clone()) ])

    let private seedOf (stored: StoredStudy) =
        try
            use doc = JsonDocument.Parse stored.Settings
            doc.RootElement.GetProperty("seed").GetUInt64()
        with e -> raise (IO.InvalidDataException(sprintf "search: study '%s' has unreadable settings '%s': %s" stored.Name stored.Settings e.Message))

    let private ofStored storage (stored: StoredStudy) =
        { Storage = storage; Stored = stored; Settings = { Direction = stored.Direction; Seed = seedOf stored } }

    /// Creates a new study; fails naming it if one of that name exists in the storage.
    let create (storage: IStorage) (name: string) (direction: Direction) (seed: uint64) (options: StudyOptions) =
        ofStored storage (storage.CreateStudy(name, direction, settingsJson seed options "{}"))

    /// Creates a new study that also stores `extra` (a JSON object: what a worker in another process needs to join
    /// it, e.g. the CLI's space, strategy and budget); read it back with `extra`.
    let createWith (storage: IStorage) (name: string) (direction: Direction) (seed: uint64) (options: StudyOptions) (extra: string) =
        ofStored storage (storage.CreateStudy(name, direction, settingsJson seed options extra))

    /// The JSON object stored with createWith ("{}" for a study made by create).
    let extra (study: Study) =
        use doc = JsonDocument.Parse study.Stored.Settings
        match doc.RootElement.TryGetProperty "extra" with
        | true, e -> e.GetRawText()
        | _ -> "{}"

    /// The study of that name; fails naming it and the storage if there is none.
    let load (storage: IStorage) (name: string) =
        match storage.LoadStudy name with
        | Some s -> ofStored storage s
        | None -> invalidArg "name" (sprintf "search: no study named '%s' in %s" name storage.Describe)

    /// Every trial, by number.
    let trials (study: Study) = study.Storage.Trials study.Stored.Id

    /// The best Complete trial, if any.
    let best (study: Study) = Trial.best study.Settings.Direction (trials study)

    /// Queues a configuration to run (grid points, a known good configuration); returns its trial number.
    let enqueue (study: Study) (config: Config) = study.Storage.Enqueue(study.Stored.Id, config)

    /// Starts a trial: fails the trials whose workers died (queuing their configurations again), then claims the
    /// lowest queued trial or creates the next one.
    let ask (study: Study) (options: StudyOptions) (worker: string) (cancel: CancellationToken) =
        let now = DateTimeOffset.UtcNow
        study.Storage.ReapStale(study.Stored.Id, options.HeartbeatTimeout, now) |> ignore
        let t = study.Storage.Claim(study.Stored.Id, worker, now)
        TrialRun(study, options, t.Number, t.Config, cancel)

    /// How an objective's run ended.
    type Outcome =
        | Completed of float
        | WasPruned of float option
        | Failed of string
        | Interrupted
        /// The objective described an invalid space (a bug in the caller): the trial fails and the study stops.
        | InvalidSpace of InvalidSpaceException

    /// Runs the objective on a trial with a heartbeat timer beside it and classifies how it ended.
    let runTrial (study: Study) (options: StudyOptions) (trial: TrialRun) (objective: TrialRun -> float) : Outcome =
        let interval = TimeSpan.FromMilliseconds(max 100.0 (options.HeartbeatTimeout.TotalMilliseconds / 4.0))
        let beat _ = try study.Storage.Heartbeat(study.Stored.Id, trial.Number, DateTimeOffset.UtcNow) |> ignore with _ -> ()
        use _timer = new Timer(TimerCallback beat, null, interval, interval)
        let lastValue () =
            (trials study |> Array.tryFind (fun t -> t.Number = trial.Number)) |> Option.bind Trial.lastIntermediate |> Option.map snd
        try
            let v = objective trial
            if Double.IsNaN v || Double.IsInfinity v then Failed(sprintf "the objective returned %g" v) else Completed v
        with
        | :? TrialPrunedException -> WasPruned(lastValue ())
        | :? TrialDivergedException as d -> Failed d.Message
        | :? InvalidSpaceException as e -> InvalidSpace e
        | :? OperationCanceledException when trial.Cancellation.IsCancellationRequested -> Interrupted
        | e -> Failed(sprintf "%s: %s" (e.GetType().Name) e.Message)

    /// Ends a trial with its outcome; an interrupted trial is Fail "interrupted" and its configuration queued again
    /// so that a resumed study runs it.
    let tell (study: Study) (trial: TrialRun) (outcome: Outcome) =
        let id, n, now = study.Stored.Id, trial.Number, DateTimeOffset.UtcNow
        match outcome with
        | Completed v -> study.Storage.Finish(id, n, Complete, Some v, None, now) |> ignore
        | WasPruned v -> study.Storage.Finish(id, n, Pruned, v, None, now) |> ignore
        | Failed why -> study.Storage.Finish(id, n, Fail, None, Some why, now) |> ignore
        | InvalidSpace e -> study.Storage.Finish(id, n, Fail, None, Some e.Message, now) |> ignore
        | Interrupted ->
            if study.Storage.Finish(id, n, Fail, None, Some "interrupted", now) && not trial.Config.IsEmpty then
                let again = enqueue study trial.Config
                study.Storage.SetAttr(id, again, "retry_of", string n)

    /// How many trials have a result or are running: every trial that is not Waiting, less the failures that were
    /// queued again (a lost heartbeat, an interruption: their retry counts instead). A search of N trials runs
    /// until this reaches N.
    let counted (trials: Trial[]) =
        let retried = trials |> Array.choose (fun t -> t.UserAttrs.TryFind "retry_of") |> Set.ofArray
        trials |> Array.filter (fun t -> t.State <> Waiting && not (retried.Contains(string t.Number))) |> Array.length

    /// Runs trials until nTrials have started in this call, the timeout has passed, or the token is cancelled;
    /// nJobs workers run in this process, each on its own thread, sharing the storage. Returns the numbers of the
    /// trials this call ran. An objective that describes an invalid space stops the study with that error (its trial
    /// fails with the message); a storage error stops the worker that met it, and is raised once all have stopped.
    ///
    /// Reproducibility: with nJobs = 1 (and no other worker on the study) trial n's configuration is a function of
    /// (seed, n, the results of trials 0..n-1), so a rerun with the same seed and a deterministic objective gives
    /// the same trials. With several workers each trial still draws from its own stream keyed by (seed, n), but which
    /// trials are finished, running or not yet started when it samples depends on timing, so the configurations of
    /// a history-dependent sampler (TPE) and the pruner's decisions are not reproducible; random and grid
    /// configurations are (the set of configurations per trial number does not depend on timing).
    let optimize (study: Study) (options: StudyOptions) (objective: TrialRun -> float) (nTrials: int) (nJobs: int)
                 (timeout: TimeSpan option) (cancel: CancellationToken) : int list =
        if nTrials < 0 then invalidArg "nTrials" (sprintf "search: nTrials must be >= 0, got %d" nTrials)
        if nJobs < 1 then invalidArg "nJobs" (sprintf "search: nJobs must be >= 1, got %d" nJobs)
        let started = ref 0
        let clock = Diagnostics.Stopwatch.StartNew()
        let ran = Collections.Concurrent.ConcurrentBag<int>()
        let errors = Collections.Concurrent.ConcurrentBag<exn>()
        let work (job: int) () =
            try
                let worker = sprintf "%s:%d" options.Worker job
                let mutable go = true
                while go do
                    let timedOut = match timeout with Some t -> clock.Elapsed >= t | None -> false
                    if cancel.IsCancellationRequested || timedOut || Interlocked.Increment &started.contents > nTrials then go <- false
                    else
                        let trial = ask study options worker cancel
                        ran.Add trial.Number
                        let outcome = runTrial study options trial objective
                        tell study trial outcome
                        match outcome with
                        | InvalidSpace e -> raise e
                        | _ -> ()
            with e -> errors.Add e
        let threads = [ for j in 0 .. nJobs - 1 -> Thread(ThreadStart(work j), IsBackground = true, Name = sprintf "search-worker-%d" j) ]
        for t in threads do t.Start()
        for t in threads do t.Join()
        if errors.Count = 1 then Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(Seq.head errors).Throw()
        if not errors.IsEmpty then raise (AggregateException(sprintf "search: %d worker(s) of study '%s' stopped on a storage error" errors.Count study.Stored.Name, errors))
        ran |> Seq.sort |> List.ofSeq
