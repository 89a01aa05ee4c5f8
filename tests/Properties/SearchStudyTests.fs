module Hybrid.Tests.SearchStudyTests

open System
open System.IO
open System.Threading
open Xunit
open Hybrid.Core.Search

let private tempDb () =
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-study-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    Path.Combine(dir, "study.db")

let private space = Space.create [ Param.uniform "x" -5.0 10.0; Param.uniform "y" 0.0 15.0 ]

/// Branin (optimum 0.397887 at (-π, 12.275), (π, 2.275), (9.42478, 2.475)).
let private branin (c: Config) =
    let x, y = c.["x"].AsFloat, c.["y"].AsFloat
    let a, b, r, s, t = 1.0, 5.1 / (4.0 * Math.PI * Math.PI), 5.0 / Math.PI, 6.0, 1.0 / (8.0 * Math.PI)
    a * (y - b * x * x + r * x - s) ** 2.0 + 10.0 * (1.0 - t) * cos x + 10.0

let private opts = { StudyOptions.defaults with HeartbeatTimeout = TimeSpan.FromSeconds 5.0 }

let private run (path: string) (seed: uint64) (n: int) =
    use storage = SqliteStorage.openFile path
    let study = Study.create storage "s" Minimize seed opts
    Study.optimize study opts (fun t -> branin (t.Sample space)) n 1 None CancellationToken.None |> ignore
    Study.trials study

[<Fact>]
let ``a sequential study is reproducible from its seed`` () =
    let a, b, c = run (tempDb ()) 7UL 12, run (tempDb ()) 7UL 12, run (tempDb ()) 8UL 12
    Assert.Equal<Config[]>(a |> Array.map (fun t -> t.Config), b |> Array.map (fun t -> t.Config))
    Assert.NotEqual<Config[]>(a |> Array.map (fun t -> t.Config), c |> Array.map (fun t -> t.Config))
    Assert.True(a |> Array.forall (fun t -> t.State = Complete && t.Value = Some(branin t.Config)))
    Assert.Equal<int[]>([| 0..11 |], a |> Array.map (fun t -> t.Number))

[<Fact>]
let ``a diverging trial and a throwing one fail with the reason and the study goes on`` () =
    use storage = SqliteStorage.openFile (tempDb ())
    let study = Study.create storage "s" Minimize 1UL opts
    let objective (t: TrialRun) =
        let x = (t.Sample space).["x"].AsFloat
        match t.Number with
        | 1 -> t.Report(0L, 0.5) |> ignore; t.Report(1L, nan) |> ignore; 0.0
        | 2 -> failwith "out of memory"
        | _ -> x
    Study.optimize study opts objective 4 1 None CancellationToken.None |> ignore
    let ts = Study.trials study
    Assert.Equal<TrialState[]>([| Complete; Fail; Fail; Complete |], ts |> Array.map (fun t -> t.State))
    Assert.Equal(Some "diverged at step 1: value NaN", ts.[1].FailReason)
    Assert.Equal(Some "Exception: out of memory", ts.[2].FailReason)

[<Fact>]
let ``a pruned trial keeps its last reported value`` () =
    let pruneAtTwo = { Name = "at-2"; Decide = fun _ _ _ step _ -> if step >= 2L then Prune else Continue }
    let opts = { opts with Pruner = pruneAtTwo }
    use storage = SqliteStorage.openFile (tempDb ())
    let study = Study.create storage "s" Maximize 1UL opts
    let objective (t: TrialRun) =
        t.Sample space |> ignore
        for step in 0L .. 5L do
            if t.Report(step, float step / 10.0) then raise (TrialPrunedException())
        1.0
    Study.optimize study opts objective 2 1 None CancellationToken.None |> ignore
    let ts = Study.trials study
    Assert.True(ts |> Array.forall (fun t -> t.State = Pruned && t.Value = Some 0.2 && t.Intermediate.Count = 3))

[<Fact>]
let ``an interrupted study keeps its finished trials and its resume reruns only the interrupted one`` () =
    let path = tempDb ()
    use cts = new CancellationTokenSource()
    let calls = Collections.Concurrent.ConcurrentBag<int * Config>()
    let objective (t: TrialRun) =
        let c = t.Sample space
        calls.Add((t.Number, c))
        if t.Number = 3 && not cts.IsCancellationRequested then
            cts.Cancel()
            t.Cancellation.ThrowIfCancellationRequested()
        branin c
    do
        use storage = SqliteStorage.openFile path
        let study = Study.create storage "s" Minimize 3UL opts
        Study.optimize study opts objective 10 1 None cts.Token |> ignore
        let ts = Study.trials study
        Assert.Equal<TrialState[]>([| Complete; Complete; Complete; Fail; Waiting |], ts |> Array.map (fun t -> t.State))
        Assert.Equal(Some "interrupted", ts.[3].FailReason)
        Assert.Equal<Config>(ts.[3].Config, ts.[4].Config)
    // resume: the queued configuration of trial 3 runs as trial 4, then new ones; 0-2 never run again
    use storage = SqliteStorage.openFile path
    let study = Study.load storage "s"
    let before = calls.Count
    Study.optimize study opts objective 3 1 None CancellationToken.None |> ignore
    let ts = Study.trials study
    Assert.Equal(before + 3, calls.Count)
    Assert.Equal(7, ts.Length)
    Assert.Equal<Config>(ts.[3].Config, ts.[4].Config)
    Assert.True(ts.[4].State = Complete && ts.[6].State = Complete)
    let configs = calls |> Seq.map snd |> Seq.toList
    Assert.Equal(configs.Length - 1, (List.distinct configs).Length)

[<Fact>]
let ``four in-process workers run exactly the trials asked, numbered densely`` () =
    use storage = SqliteStorage.openFile (tempDb ())
    let study = Study.create storage "s" Minimize 5UL opts
    let ran = Study.optimize study opts (fun t -> branin (t.Sample space)) 40 4 None CancellationToken.None
    Assert.Equal<int list>([ 0..39 ], ran)
    let ts = Study.trials study
    Assert.Equal(40, ts.Length)
    Assert.True(ts |> Array.forall (fun t -> t.State = Complete))
    Assert.Equal(ts |> Array.choose (fun t -> t.Value) |> Array.min, (Study.best study).Value.Value.Value)

[<Fact>]
let ``define-by-run suggestions form the configuration and a trial's draws depend only on seed, number and name`` () =
    let go () =
        use storage = SqliteStorage.openFile (tempDb ())
        let study = Study.create storage "s" Minimize 9UL opts
        Study.optimize study opts (fun t ->
            let lr = t.Suggest(Param.logUniform "lr" 1e-5 1e-1)
            let opt = t.Suggest(Param.choice "optimizer" [ "sgd"; "adam" ])
            if opt = ParamValue.Str "sgd" then t.Suggest(Param.uniform "momentum" 0.0 0.99) |> ignore
            lr.AsFloat) 6 1 None CancellationToken.None |> ignore
        Study.trials study |> Array.map (fun t -> t.Config)
    let a = go ()
    Assert.Equal<Config[]>(a, go ())
    for c in a do
        Assert.InRange(c.["lr"].AsFloat, 1e-5, 1e-1)
        Assert.Equal(c.["optimizer"] = ParamValue.Str "sgd", c.ContainsKey "momentum")
