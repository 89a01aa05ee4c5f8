// Sampler quality and speed of Hybrid's search core, the F# half of bench/search/run.sh (which runs Optuna 3.1
// on the same functions in the same run). Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/search/bench.fsx
#r "../../src/Core/bin/Release/net10.0/Hybrid.Core.dll"

open System
open System.Diagnostics
open System.Text.Json
open Hybrid.Core.Search

let fns = JsonDocument.Parse(IO.File.ReadAllText(IO.Path.Combine(__SOURCE_DIRECTORY__, "functions.json"))).RootElement.GetProperty("hartmann6")
let arr (e: JsonElement) = [| for x in e.EnumerateArray() -> x.GetDouble() |]
let alpha = arr (fns.GetProperty "alpha")
let A = [| for r in fns.GetProperty("A").EnumerateArray() -> arr r |]
let P = [| for r in fns.GetProperty("P").EnumerateArray() -> arr r |] |> Array.map (Array.map (fun v -> v * 1e-4))

let f (c: Config) (k: string) = c[k].AsFloat

/// Branin on [-5, 10] x [0, 15]; minimum 0.397887.
let branin (c: Config) =
    let x1, x2 = f c "x1", f c "x2"
    let b, cc, r, s, t = 5.1 / (4.0 * Math.PI * Math.PI), 5.0 / Math.PI, 6.0, 10.0, 1.0 / (8.0 * Math.PI)
    (x2 - b * x1 * x1 + cc * x1 - r) ** 2.0 + s * (1.0 - t) * cos x1 + s

/// Hartmann-6 on [0, 1]^6; minimum -3.32237.
let hartmann (c: Config) =
    let x = Array.init 6 (fun i -> f c (sprintf "x%d" i))
    -(Array.init 4 (fun i -> alpha[i] * exp (-(Array.init 6 (fun j -> A[i][j] * (x[j] - P[i][j]) ** 2.0) |> Array.sum))) |> Array.sum)

/// A noisy quadratic over log10 lr and momentum: (log10 lr + 2.5)^2 + 10 (m - 0.9)^2 (+ N(0, 0.1^2) observed);
/// the score is the noise-free value of the best observed trial. Minimum 0.
let quadratic (c: Config) = (log10 (f c "lr") + 2.5) ** 2.0 + 10.0 * (f c "momentum" - 0.9) ** 2.0

let spaces =
    [ "branin", Space.create [ Param.uniform "x1" -5.0 10.0; Param.uniform "x2" 0.0 15.0 ], branin, false
      "hartmann6", Space.create [ for i in 0 .. 5 -> Param.uniform (sprintf "x%d" i) 0.0 1.0 ], hartmann, false
      "quadratic", Space.create [ Param.logUniform "lr" 1e-5 1.0; Param.uniform "momentum" 0.0 0.99 ], quadratic, true ]

/// A sequential study of n trials; the best (noise-free) value after each trial.
let study (sampler: Sampler) (space: Space) (obj: Config -> float) (noisy: bool) (seed: int) (n: int) =
    let settings = { Direction = Minimize; Seed = uint64 seed }
    let root = Rng.create settings.Seed
    let noise = Rng.stream (Rng.derive -1L root)
    let history = ResizeArray<Trial>()
    let mutable bestObs = infinity
    let mutable bestTrue = infinity
    [| for i in 0 .. n - 1 ->
         let c = sampler.Sample settings space (history.ToArray()) (Rng.derive (int64 i) root)
         let truth = obj c
         let v = if noisy then truth + 0.1 * noise.NextNormal() else truth
         history.Add { Trial.create i c with State = Complete; Value = Some v }
         if v < bestObs then
             bestObs <- v
             bestTrue <- truth
         bestTrue |] 

let median (xs: float[]) = let a = Array.sort xs in if a.Length % 2 = 1 then a[a.Length / 2] else 0.5 * (a[a.Length / 2 - 1] + a[a.Length / 2])

let samplers =
    [ "hybrid-tpe", Tpe.sampler Tpe.defaults
      "hybrid-tpe-univariate", Tpe.sampler { Tpe.defaults with Multivariate = false; Group = false }
      "hybrid-random", RandomSampler.sampler ]

let env (k: string) (d: string) = defaultArg (Option.ofObj (Environment.GetEnvironmentVariable k)) d
let seeds = int (env "SEEDS" "20")
let seed0 = int (env "SEED0" "0")
let only = env "ONLY" ""
for (fname, space, obj, noisy) in spaces |> List.filter (fun (n, _, _, _) -> only = "" || n = only) do
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
