module Hybrid.Tests.SearchSamplerTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Search
open Hybrid.Tests.SearchSpaceTests

let settings = { Direction = Minimize; Seed = 11UL }

/// A history of n finished trials on the space: random configurations, a deterministic score, some Pruned with
/// intermediate values, some Running (for the constant liar) and Fail (ignored).
let history (space: Space) (seed: int) (n: int) =
    let r = Rng.stream (Rng.create (uint64 seed + 1000UL))
    Array.init n (fun i ->
        let c = RandomSampler.sample space (Rng.derive (int64 i) (Rng.create (uint64 seed)))
        let v = c |> Seq.sumBy (fun kv -> match kv.Value with ParamValue.Str s -> float s.Length | v -> v.AsFloat) |> fun x -> x + r.NextFloat()
        match i % 7 with
        | 5 -> { Trial.create i c with State = Pruned; Intermediate = Map.ofList [ 1L, v + 1.0; 3L, v ] }
        | 6 when i > n - 4 -> { Trial.create i c with State = Running }
        | 4 when i % 3 = 0 -> { Trial.create i c with State = Fail; FailReason = Some "diverged" }
        | _ -> { Trial.create i c with State = Complete; Value = Some v })

[<Property(MaxTest = 60)>]
let ``TPE proposes only points of the space (bounds, steps, choices, conditions) and is deterministic given the seed`` (seed: int) (n: byte) =
    let space = randomSpace seed
    let h = history space seed (int n % 60)
    let rng = Rng.create (uint64 seed * 7UL)
    [ Tpe.defaults; { Tpe.defaults with Multivariate = false; Group = false }; { Tpe.defaults with Group = false } ]
    |> List.forall (fun o ->
        let c = Tpe.sample o settings space h rng
        Space.check space c = None && Tpe.sample o settings space h rng = c)

[<Fact>]
let ``TPE moves toward the good region of a quadratic`` () =
    // After 60 trials on (log10 lr + 3)^2 the TPE proposals concentrate near lr = 1e-3 far more than random draws.
    let space = Space.create [ Param.logUniform "lr" 1e-6 1.0; Param.choice "opt" [ "sgd"; "adam"; "lion" ] ]
    let f (c: Config) = (log10 c["lr"].AsFloat + 3.0) ** 2.0 + (if c["opt"] = ParamValue.Str "adam" then 0.0 else 2.0)
    let sampler = Tpe.sampler Tpe.defaults
    let h = ResizeArray<Trial>()
    for i in 0 .. 59 do
        let c = sampler.Sample settings space (h.ToArray()) (Rng.derive (int64 i) (Rng.create 3UL))
        h.Add { Trial.create i c with State = Complete; Value = Some(f c) }
    let late = h |> Seq.skip 40 |> Seq.map (fun t -> f t.Config) |> Array.ofSeq
    let random = Array.init 200 (fun i -> f (RandomSampler.sample space (Rng.create (uint64 i))))
    Assert.True(Array.average late < 0.5 * Array.average random, sprintf "late TPE mean %.3f vs random %.3f" (Array.average late) (Array.average random))
    // a random draw is below 1 with probability 1/3 (adam) x 1/3 (|log10 lr + 3| < 1 of 6 decades) = 1/9: about 2 of
    // 20. The default (Optuna 3.1's kernel heights, which weigh the prior more) puts 11 there, exact densities 13.
    Assert.True((late |> Array.filter (fun v -> v < 1.0)).Length >= 9)

[<Fact>]
let ``TPE starts with the random sampler's draws until ten trials finished`` () =
    let space = randomSpace 4
    let h = history space 4 9 |> Array.map (fun t -> { t with State = Complete; Value = Some 1.0 })
    let rng = Rng.create 9UL
    Assert.Equal<Config>(RandomSampler.sample space rng, Tpe.sample Tpe.defaults settings space h rng)

[<Fact>]
let ``the constant liar spreads proposals away from running trials`` () =
    // With many Running trials at one point, the liar counts them as bad: the proposal moves away from it.
    let space = Space.create [ Param.uniform "x" 0.0 1.0 ]
    let done' = Array.init 30 (fun i -> let x = float i / 30.0 in { Trial.create i (Map.ofList [ "x", ParamValue.Float x ]) with State = Complete; Value = Some(abs (x - 0.5)) })
    let running = Array.init 30 (fun i -> { Trial.create (30 + i) (Map.ofList [ "x", ParamValue.Float 0.5 ]) with State = Running })
    let near (o: TpeOptions) h =
        [ for s in 0UL .. 39UL ->
            let c = Tpe.sample o settings space h (Rng.create s)
            abs (c["x"].AsFloat - 0.5) ] |> List.average
    let h = Array.append done' running
    Assert.True(near Tpe.defaults h > near { Tpe.defaults with ConstantLiar = false } h)

[<Fact>]
let ``default gamma and weights are Optuna's`` () =
    Assert.Equal<int list>([ 0; 1; 1; 2; 10; 25; 25 ], [ 0; 1; 10; 11; 100; 250; 1000 ] |> List.map Tpe.defaultGamma)
    Assert.Equal<float[]>(Array.create 24 1.0, Tpe.defaultWeights 24)
    let w = Tpe.defaultWeights 100
    Assert.Equal(100, w.Length)
    Assert.Equal(0.01, w[0], 12)
    Assert.Equal(1.0, w[74], 12)
    Assert.True(Array.forall (fun x -> x = 1.0) w[75..])

[<Fact>]
let ``importance ranks the parameter that drives the objective first and a noise parameter near zero`` () =
    let space = Space.create [ Param.logUniform "lr" 1e-5 1.0; Param.uniform "noise" 0.0 1.0; Param.choice "opt" [ "sgd"; "adam" ] ]
    let h = Array.init 200 (fun i ->
        let c = RandomSampler.sample space (Rng.create (uint64 i))
        { Trial.create i c with State = Complete; Value = Some((log10 c["lr"].AsFloat + 2.0) ** 2.0 + (if c["opt"] = ParamValue.Str "adam" then 0.0 else 3.0)) })
    let imp = Importance.compute space h
    Assert.Equal("lr", fst imp[0])
    Assert.Equal("opt", fst imp[1])
    Assert.Equal(1.0, imp |> Array.sumBy snd, 9)
    Assert.True(snd imp[2] < 0.1, sprintf "noise share %.3f" (snd imp[2]))
    Assert.Equal<(string * float)[]>(imp, Importance.compute space (Array.rev h))
