// Sampler quality and speed of Hybrid's search core, the F# half of bench/search/run.sh (which runs Optuna 3.1
// on the same functions in the same run). Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/search/bench.fsx
#load "problems.fsx"

open System
open System.Diagnostics
open Hybrid.Core.Search
open Problems

let samplers =
    [ "hybrid-tpe", Tpe.sampler Tpe.defaults
      "hybrid-tpe-univariate", Tpe.sampler { Tpe.defaults with Multivariate = false; Group = false }
      "hybrid-tpe-exact-kernels", Tpe.sampler { Tpe.defaults with NormaliseKernels = true }
      "hybrid-tpe-univariate-exact-kernels", Tpe.sampler { Tpe.defaults with Multivariate = false; Group = false; NormaliseKernels = true }
      "hybrid-random", RandomSampler.sampler ]

let env (k: string) (d: string) = defaultArg (Option.ofObj (Environment.GetEnvironmentVariable k)) d
let seeds = int (env "SEEDS" "20")
let seed0 = int (env "SEED0" "0")
let only = env "ONLY" ""
let speedOnly = env "SPEED_ONLY" "" <> ""
for (fname, space, obj, noisy) in spaces |> List.filter (fun (n, _, _, _) -> not speedOnly && (only = "" || n = only)) do
    for (sname, sampler) in samplers do
        let runs = Array.init seeds (fun s -> study sampler space obj noisy (seed0 + s) 100)
        let at k = median (runs |> Array.map (fun r -> r[k - 1]))
        printfn "quality %s %s %.4f %.4f %.4f" fname sname (at 25) (at 50) (at 100)

// Speed: one suggestion with 1,000 stored Complete trials on Hartmann-6 (6 continuous parameters) and on a mixed
// 6-parameter space (log-uniform, uniform, integer, log-integer, two categoricals).
let mixed =
    Space.create
        [ Param.logUniform "lr" 1e-5 1.0; Param.uniform "momentum" 0.0 0.99; Param.int "layers" 1 8; Param.intLog "width" 16 1024
          Param.choice "optimizer" [ "sgd"; "adam"; "adamw"; "rmsprop" ]; Param.bool "augment" ]
let mixedObj (c: Config) = (log10 (f c "lr") + 2.5) ** 2.0 + f c "momentum" + 0.1 * f c "layers" + (if c["optimizer"] = ParamValue.Str "adam" then 0.0 else 1.0)
for (name, space, obj) in [ "hartmann6", (let _, s, _, _ = spaces[1] in s), hartmann; "mixed6", mixed, mixedObj ] do
    let settings = { Direction = Minimize; Seed = 7UL }
    let root = Rng.create 7UL
    let history = Array.init 1000 (fun i -> let c = RandomSampler.sample space (Rng.derive (int64 i) root) in { Trial.create i c with State = Complete; Value = Some(obj c) })
    let sampler = Tpe.sampler Tpe.defaults
    for i in 0 .. 20 do sampler.Sample settings space history (Rng.derive (int64 (2000 + i)) root) |> ignore
    // The minimum over 10 batches of 20 suggestions: the machine is shared, the minimum is the least disturbed batch.
    let batch b =
        let sw = Stopwatch.StartNew()
        for i in 0 .. 19 do sampler.Sample settings space history (Rng.derive (int64 (3000 + 20 * b + i)) root) |> ignore
        sw.Elapsed.TotalMilliseconds / 20.0
    let times = Array.init 10 batch |> Array.sort
    printfn "speed %s hybrid-tpe min %.4f median %.4f ms" name times[0] times[5]
