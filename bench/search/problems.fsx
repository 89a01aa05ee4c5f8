// The test functions, spaces and the sequential study loop shared by bench.fsx and tune.fsx.
module Problems

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
