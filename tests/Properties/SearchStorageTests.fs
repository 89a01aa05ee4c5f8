module Hybrid.Tests.SearchStorageTests

open System
open System.IO
open Xunit
open FsCheck
open FsCheck.Xunit
open Hybrid.Core.Search
open Hybrid.Tests.PostgresServer

let private tempDb () =
    let dir = Path.Combine(Path.GetTempPath(), "hybrid-store-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory dir |> ignore
    Path.Combine(dir, "study.db")

let private t0 = DateTimeOffset.FromUnixTimeMilliseconds 1_700_000_000_000L

/// A configuration of every value kind, including floats that only "R" formatting round-trips.
let private configOf (x: NormalFloat) (i: int64) (s: NonNull<string>) (b: bool) : Config =
    Map.ofList [ "lr", ParamValue.Float x.Get; "depth", ParamValue.Int i; "optimizer", ParamValue.Str s.Get; "nesterov", ParamValue.Bool b ]

/// Everything a trial carries survives the storage: configuration, intermediate values, value, state, attributes.
let private roundTrip (storage: IStorage) (config: Config) (values: float list) =
    let study = storage.CreateStudy("rt-" + Guid.NewGuid().ToString("N"), Maximize, """{"seed":1}""")
    let t = storage.Claim(study.Id, "w0", t0)
    Assert.True(storage.SetConfig(study.Id, t.Number, config))
    values |> List.iteri (fun step v -> Assert.True(storage.Report(study.Id, t.Number, int64 step, v)))
    storage.SetAttr(study.Id, t.Number, "dir", "trial-0")
    Assert.True(storage.Finish(study.Id, t.Number, Complete, Some 0.875, None, t0.AddSeconds 3.0))
    let back = storage.Trials study.Id |> Array.exactlyOne
    Assert.Equal<Config>(config, back.Config)
    Assert.Equal<(int64 * float) list>(values |> List.mapi (fun i v -> int64 i, v), back.Intermediate |> Map.toList)
    Assert.Equal(Some 0.875, back.Value)
    Assert.Equal(Complete, back.State)
    Assert.Equal(Some t0, back.Started)
    Assert.Equal(Some(t0.AddSeconds 3.0), back.Ended)
    Assert.Equal<Map<string, string>>(Map.ofList [ "dir", "trial-0" ], back.UserAttrs)
    Assert.Equal(Some study, storage.LoadStudy study.Name)
    // a finished trial takes no more writes
    Assert.False(storage.Report(study.Id, t.Number, 99L, 1.0))
    Assert.False(storage.Finish(study.Id, t.Number, Fail, None, Some "late", t0))

/// Claims take queued trials first (keeping their numbers), then create new ones; numbers stay dense; a stale
/// Running trial becomes FAIL with the stated reason and its configuration is queued again.
let private lifecycle (storage: IStorage) =
    let study = storage.CreateStudy("life-" + Guid.NewGuid().ToString("N"), Minimize, "{}")
    let queued = Map.ofList [ "x", ParamValue.Float 0.25 ]
    Assert.Equal(0, storage.Enqueue(study.Id, queued))
    let a = storage.Claim(study.Id, "w0", t0)
    Assert.Equal(0, a.Number)
    Assert.Equal<Config>(queued, a.Config)
    let b = storage.Claim(study.Id, "w1", t0)
    Assert.Equal(1, b.Number)
    Assert.True(b.Config.IsEmpty)
    Assert.True(storage.SetConfig(study.Id, 1, Map.ofList [ "x", ParamValue.Float 0.5 ]))
    // trial 0 stays alive, trial 1's worker died
    Assert.True(storage.Heartbeat(study.Id, 0, t0.AddSeconds 5.0))
    Assert.Equal<int list>([ 1 ], storage.ReapStale(study.Id, TimeSpan.FromSeconds 2.0, t0.AddSeconds 6.0))
    let trials = storage.Trials study.Id
    Assert.Equal<int[]>([| 0; 1; 2 |], trials |> Array.map (fun t -> t.Number))
    Assert.Equal(Fail, trials.[1].State)
    Assert.Equal(Some "heartbeat lost after 2s", trials.[1].FailReason)
    Assert.Equal(Waiting, trials.[2].State)
    Assert.Equal<Config>(Map.ofList [ "x", ParamValue.Float 0.5 ], trials.[2].Config)
    Assert.Equal(Some "1", trials.[2].UserAttrs.TryFind "retry_of")
    // the dead worker's late heartbeat changes nothing; the re-queued configuration is claimed next
    Assert.False(storage.Heartbeat(study.Id, 1, t0.AddSeconds 7.0))
    let c = storage.Claim(study.Id, "w2", t0.AddSeconds 7.0)
    Assert.Equal(2, c.Number)
    Assert.Equal(Running, (storage.Trials study.Id).[2].State)
    Assert.Throws<InvalidOperationException>(fun () -> storage.CreateStudy(study.Name, Minimize, "{}") |> ignore) |> ignore

[<Property(MaxTest = 25)>]
let ``a trial round-trips through the SQLite storage`` (x: NormalFloat) (i: int64) (s: NonNull<string>) (b: bool) (vs: NormalFloat list) =
    use storage = SqliteStorage.openFile (tempDb ())
    roundTrip storage (configOf x i s b) (vs |> List.map (fun v -> v.Get))

[<Fact>]
let ``SQLite storage: claims, dense numbers, heartbeat reaping and re-queueing`` () =
    use storage = SqliteStorage.openFile (tempDb ())
    lifecycle storage

[<Fact>]
let ``SQLite storage: the file is in WAL mode with a schema version table`` () =
    let path = tempDb ()
    (SqliteStorage.openFile path).Dispose()
    use conn = new Microsoft.Data.Sqlite.SqliteConnection("Data Source=" + path)
    conn.Open()
    let scalar (sql: string) = (let c = conn.CreateCommand() in c.CommandText <- sql; c.ExecuteScalar())
    Assert.Equal(box "wal", scalar "PRAGMA journal_mode")
    Assert.Equal(box 1L, scalar "SELECT version FROM schema_version")

[<Fact>]
let ``SQLite storage: a missing folder is named before anything is created`` () =
    let e = Assert.Throws<DirectoryNotFoundException>(fun () -> SqliteStorage.openFile "/nonexistent-hybrid/x/study.db" |> ignore)
    Assert.Contains("/nonexistent-hybrid/x", e.Message)

[<Fact>]
let ``SQLite storage: eight threads claiming at once get dense unique numbers`` () =
    use storage = SqliteStorage.openFile (tempDb ())
    let study = storage.CreateStudy("threads", Minimize, "{}")
    let numbers =
        Array.Parallel.init 8 (fun w -> [| for _ in 1..25 -> (storage.Claim(study.Id, string w, DateTimeOffset.UtcNow)).Number |])
        |> Array.concat |> Array.sort
    Assert.Equal<int[]>([| 0..199 |], numbers)

[<Fact>]
let ``a PostgreSQL URL that is not one is named`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> PostgresStorage.connectionString "postgresql://host-without-db" |> ignore)
    Assert.Contains("postgresql://host-without-db", e.Message)

[<PostgresFact>]
let ``a trial round-trips through the PostgreSQL storage`` () =
    match freshDatabase "rt" with
    | Error why -> failwith why
    | Ok url ->
        use storage = PostgresStorage.openUrl url
        roundTrip storage (Map.ofList [ "lr", ParamValue.Float 0.1234567890123; "depth", ParamValue.Int 3L; "opt", ParamValue.Str "sgd"; "n", ParamValue.Bool true ]) [ 0.5; 0.25; nan ]
        |> ignore

[<PostgresFact>]
let ``PostgreSQL storage: claims, dense numbers, heartbeat reaping and re-queueing`` () =
    match freshDatabase "life" with
    | Error why -> failwith why
    | Ok url ->
        use storage = PostgresStorage.openUrl url
        lifecycle storage

[<Fact>]
let ``a storage object's cached history follows another's writes: new trials, finishes, reaps; finished trials fixed`` () =
    // Trials re-reads only new and unfinished trials: what another connection (another worker) writes must still show.
    let path = tempDb ()
    use writer = SqliteStorage.openFile path
    use reader = SqliteStorage.openFile path
    let study = writer.CreateStudy("cache", Minimize, """{"seed":1}""")
    let c (x: float) : Config = Map.ofList [ "x", ParamValue.Float x ]
    let a = writer.Claim(study.Id, "w", t0)
    writer.SetConfig(study.Id, a.Number, c 0.5) |> ignore
    let b = writer.Claim(study.Id, "w", t0)
    Assert.Equal<TrialState list>([ Running; Running ], reader.Trials study.Id |> Array.map (fun t -> t.State) |> List.ofArray)
    Assert.True(writer.Finish(study.Id, a.Number, Complete, Some 1.0, None, t0.AddSeconds 1.0))
    writer.SetAttr(study.Id, a.Number, "late", "ignored")   // a finished trial takes no more writes
    writer.SetConfig(study.Id, b.Number, c 0.25) |> ignore
    writer.Report(study.Id, b.Number, 1L, 3.0) |> ignore
    let again = reader.Trials study.Id
    Assert.Equal<TrialState list>([ Complete; Running ], again |> Array.map (fun t -> t.State) |> List.ofArray)
    Assert.Equal(Some 1.0, again[0].Value)
    Assert.Equal<Config>(c 0.5, again[0].Config)
    Assert.True(again[0].UserAttrs.IsEmpty)
    Assert.Equal<Config>(c 0.25, again[1].Config)
    Assert.Equal<(int64 * float) list>([ 1L, 3.0 ], again[1].Intermediate |> Map.toList)
    // trial 1 dies: reaped (FAIL) and queued again as trial 2, both seen by the reader
    Assert.Equal<int list>([ 1 ], writer.ReapStale(study.Id, TimeSpan.FromSeconds 2.0, t0.AddSeconds 10.0))
    let last = reader.Trials study.Id
    Assert.Equal<int list>([ 0; 1; 2 ], last |> Array.map (fun t -> t.Number) |> List.ofArray)
    Assert.Equal<TrialState list>([ Complete; Fail; Waiting ], last |> Array.map (fun t -> t.State) |> List.ofArray)
    Assert.Equal<Config>(c 0.25, last[2].Config)
    // and the reader's answer is what a fresh storage object reads
    use fresh = SqliteStorage.openFile path
    Assert.Equal<Trial list>(fresh.Trials study.Id |> List.ofArray, last |> List.ofArray)
