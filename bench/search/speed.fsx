// TPE speed through the study database, the F# half of the speed rows of bench/search/run.sh: a SQLite study with
// 1,000 Complete Hartmann-6 trials; per suggestion, the history read from study.db plus the TPE proposal (what a
// worker does before a trial runs), and a whole ask/tell (claim, history, proposal, stored configuration, finish:
// three write transactions, each fsync'd). Run: dotnet build src/Cli -c Release && dotnet fsi --optimize+ bench/search/speed.fsx
#r "../../src/Cli/bin/Release/net10.0/Microsoft.Data.Sqlite.dll"
#r "../../src/Cli/bin/Release/net10.0/SQLitePCLRaw.core.dll"
#r "../../src/Cli/bin/Release/net10.0/SQLitePCLRaw.batteries_v2.dll"
#r "../../src/Cli/bin/Release/net10.0/SQLitePCLRaw.provider.e_sqlite3.dll"
#load "problems.fsx"

open System
open System.Diagnostics
open Hybrid.Core.Search
open Problems

// the native sqlite3 of the Cli's output (fsi does not read its deps.json)
let native = IO.Path.Combine(__SOURCE_DIRECTORY__, "../../src/Cli/bin/Release/net10.0/runtimes/linux-x64/native/libe_sqlite3.so")
Runtime.InteropServices.NativeLibrary.SetDllImportResolver(typeof<SQLitePCL.SQLite3Provider_e_sqlite3>.Assembly, fun name _ _ ->
    if name = "e_sqlite3" then Runtime.InteropServices.NativeLibrary.Load native else IntPtr.Zero)
SQLitePCL.Batteries_V2.Init()

let _, space, _, _ = spaces[1]
let dir = IO.Path.Combine(IO.Path.GetTempPath(), "hybrid-tpe-speed-" + Guid.NewGuid().ToString("N"))
IO.Directory.CreateDirectory dir |> ignore
let db = IO.Path.Combine(dir, "study.db")
let storage = SqliteStorage.openFile db
let study = storage.CreateStudy("speed", Minimize, """{"seed":7}""")
let settings = { Direction = Minimize; Seed = 7UL }
let root = Rng.create 7UL
let fill = Stopwatch.StartNew()
for i in 0 .. 999 do
    let t = storage.Claim(study.Id, "w", DateTimeOffset.UtcNow)
    let c = RandomSampler.sample space (Rng.derive (int64 i) root)
    storage.SetConfig(study.Id, t.Number, c) |> ignore
    storage.Finish(study.Id, t.Number, Complete, Some(hartmann c), None, DateTimeOffset.UtcNow) |> ignore
printfn "speed-storage filled 1000 trials in %.1f s (3 fsync'd write transactions each)" fill.Elapsed.TotalSeconds
let sampler = Tpe.sampler Tpe.defaults
let cold = Stopwatch.StartNew()
let fresh = SqliteStorage.openFile db
let h0 = fresh.Trials study.Id
printfn "speed-storage first read of %d trials by a new storage object %.2f ms" h0.Length cold.Elapsed.TotalMilliseconds
let suggest i = sampler.Sample settings space (storage.Trials study.Id) (Rng.derive (int64 (5000 + i)) root)
for i in 0 .. 20 do suggest i |> ignore
// wall time per call (minimum and median over batches: the machine is shared) and the process's CPU time per call
// (user + system over all batches), which other processes on the cores do not inflate
let mutable cpu = 0.0
let batches (n: int) (per: int) (f: int -> unit) =
    let p = Process.GetCurrentProcess()
    let c0 = p.TotalProcessorTime
    let times =
        Array.init n (fun b ->
            let sw = Stopwatch.StartNew()
            for i in 0 .. per - 1 do f (b * per + i)
            sw.Elapsed.TotalMilliseconds / float per) |> Array.sort
    p.Refresh()
    cpu <- (p.TotalProcessorTime - c0).TotalMilliseconds / float (n * per)
    times
let s = batches 20 20 (suggest >> ignore)
printfn "speed-storage hartmann6 hybrid-tpe suggestion (history from study.db + proposal) min %.4f median %.4f ms, cpu %.4f ms" s[0] s[10] cpu
let r = batches 20 20 (fun _ -> storage.Trials study.Id |> ignore)
printfn "speed-storage history read from study.db (1,000 trials, cached finished ones) min %.4f median %.4f ms, cpu %.4f ms" r[0] r[10] cpu
let ask i =
    let t = storage.Claim(study.Id, "w", DateTimeOffset.UtcNow)
    let c = sampler.Sample settings space (storage.Trials study.Id) (Rng.derive (int64 (9000 + i)) root)
    storage.SetConfig(study.Id, t.Number, c) |> ignore
    // FAIL, as the Optuna half does: the history the sampler sees stays at 1,000 trials
    storage.Finish(study.Id, t.Number, Fail, None, Some "speed", DateTimeOffset.UtcNow) |> ignore
let a = batches 10 10 ask
printfn "speed-storage hartmann6 hybrid-tpe ask/tell (claim, history, proposal, config, finish) min %.4f median %.4f ms, cpu %.4f ms" a[0] a[5] cpu
let sa = batches 20 20 (fun i -> sampler.Sample settings space h0 (Rng.derive (int64 (20000 + i)) root) |> ignore)
printfn "speed hartmann6 hybrid-tpe proposal alone (history in memory) min %.4f median %.4f ms, cpu %.4f ms" sa[0] sa[10] cpu
storage.Dispose()
fresh.Dispose()
IO.Directory.Delete(dir, true)
