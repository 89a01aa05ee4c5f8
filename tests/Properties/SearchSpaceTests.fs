module Hybrid.Tests.SearchSpaceTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Search

let str = ParamValue.Str
let i64 (i: int) = ParamValue.Int(int64 i)

/// A random valid space from a seed: 1-6 parameters of every kind, some conditional on an earlier categorical
/// (ParentIn) or integer (ParentAbove) parameter, some with explicit grid values.
let randomSpaceOf (maxParams: int) (seed: int) : Space =
    let r = Rng.stream (Rng.create (uint64 seed))
    let n = 1 + int (r.NextInt(int64 maxParams))
    let ps = ResizeArray<Param>()
    for i in 0 .. n - 1 do
        let name = sprintf "p%d" i
        let p =
            match r.NextInt 6L with
            | 0L -> Param.choice name [ for c in 0 .. int (r.NextInt 3L) -> sprintf "c%d" c ]
            | 1L -> Param.uniform name -1.0 (1.0 + float (r.NextInt 5L)) |> Param.withGrid [ ParamValue.Float -1.0; ParamValue.Float 0.5 ]
            | 2L -> Param.logUniform name 1e-5 (0.1 * float (1L + r.NextInt 5L)) |> Param.withGrid [ ParamValue.Float 1e-4; ParamValue.Float 1e-2 ]
            | 3L -> Param.intStep name 2 (2 + 3 * int (1L + r.NextInt 4L)) 3
            | 4L -> Param.intLog name 1 (2 + int (r.NextInt 11L))
            | _ -> Param.bool name
        let parents = ps |> Seq.filter (fun q -> match q.Distribution with Categorical _ | IntRange(_, _, _, false) -> true | _ -> false) |> Array.ofSeq
        let p =
            if parents.Length > 0 && r.NextInt 2L = 0L then
                let q = parents[int (r.NextInt(int64 parents.Length))]
                match q.Distribution with
                | Categorical cs -> Param.whenIn q.Name [ cs[int (r.NextInt(int64 cs.Length))] ] p
                | IntRange(lo, _, _, _) -> Param.whenAbove q.Name (float lo + 0.5) p
                | _ -> p
            else p
        ps.Add p
    Space.create ps

/// A random space of up to six parameters.
let randomSpace (seed: int) = randomSpaceOf 6 seed

/// Every configuration of a space built independently of Grid: the cartesian product of the active parameters'
/// grid values, recursively in the space's order.
let rec product (ps: Param list) (partial: Config) : Config list =
    match ps with
    | [] -> [ partial ]
    | p :: rest ->
        let on = match Param.parent p with None -> true | Some q -> partial.ContainsKey q && Space.conditionHolds partial p
        if not on then product rest partial
        else [ for v in Grid.values p do yield! product rest (partial.Add(p.Name, v)) ]

[<Property(MaxTest = 100)>]
let ``grid enumerates exactly the product of the active parameters' values, without duplicates`` (seed: int) =
    let space = randomSpaceOf 4 seed // at most 12^4 configurations
    let grid = Grid.enumerate space
    let expected = product (List.ofArray space.Params) Map.empty
    grid.Length = expected.Length && Set.ofArray grid = Set.ofList expected && (Array.distinct grid).Length = grid.Length
    && grid |> Array.forall (fun c -> Space.check space c = None)

[<Fact>]
let ``grid counts of conditional spaces: optimizer branches and nested depth`` () =
    let opt =
        Space.create
            [ Param.choice "optimizer" [ "sgd"; "adam" ]
              Param.uniform "momentum" 0.0 0.99 |> Param.withGrid [ ParamValue.Float 0.0; ParamValue.Float 0.9 ] |> Param.whenIs "optimizer" [ "sgd" ]
              Param.bool "nesterov" |> Param.whenIs "optimizer" [ "sgd" ]
              Param.uniform "beta1" 0.8 0.999 |> Param.withGrid [ ParamValue.Float 0.9; ParamValue.Float 0.95 ] |> Param.whenIs "optimizer" [ "adam" ] ]
    Assert.Equal(2 * 2 + 2, Grid.size opt)
    let nested = Space.create [ yield Param.int "depth" 1 3; for i in 0 .. 2 -> Param.choice (sprintf "width_%d" i) [ "32"; "64" ] |> Param.whenAbove "depth" (float i) ]
    // depth 1: width_0; depth 2: width_0,1; depth 3: all three.
    Assert.Equal(2 + 4 + 8, Grid.size nested)
    let shuffled = Grid.shuffled (Rng.create 5UL) nested
    Assert.Equal<Set<Config>>(Set.ofArray (Grid.enumerate nested), Set.ofArray shuffled)
    Assert.Equal<Config[]>(shuffled, Grid.shuffled (Rng.create 5UL) nested)

[<Fact>]
let ``grid names the continuous parameter that has no grid values`` () =
    let space = Space.create [ Param.int "batch" 1 3; Param.logUniform "lr" 1e-4 1e-1 ]
    let e = Assert.Throws<ArgumentException>(fun () -> Grid.enumerate space |> ignore)
    Assert.Contains("'lr'", e.Message)

[<Fact>]
let ``the grid sampler walks the grid in order, skipping taken configurations, then stops`` () =
    let space = Space.create [ Param.int "a" 0 2; Param.bool "b" ]
    let settings = { Direction = Minimize; Seed = 0UL }
    let s = Grid.sampler false
    let mutable history = [||]
    for i in 0 .. 5 do
        let c = s.Sample settings space history (Rng.create 0UL)
        Assert.Equal<Config>((Grid.enumerate space)[i], c)
        history <- Array.append history [| Trial.create i c |]
    Assert.Throws<InvalidOperationException>(fun () -> s.Sample settings space history (Rng.create 0UL) |> ignore) |> ignore

[<Property(MaxTest = 100)>]
let ``random draws are points of the space and reproduce with the same seed`` (seed: int) (draw: int) =
    let space = randomSpace seed
    let rng = Rng.derive (int64 draw) (Rng.create 42UL)
    let c = RandomSampler.sample space rng
    Space.check space c = None && RandomSampler.sample space rng = c

[<Property(MaxTest = 100)>]
let ``inactive conditional parameters never appear and active ones always do`` (seed: int) (draw: int) =
    let space = randomSpace seed
    let c = RandomSampler.sample space (Rng.create (uint64 draw))
    let active = Space.activeParams space c |> Array.map (fun p -> p.Name) |> Set.ofArray
    Set.ofSeq c.Keys = active
    && space.Params |> Array.forall (fun p -> active.Contains p.Name = (match Param.parent p with None -> true | Some q -> active.Contains q && Space.conditionHolds c p))

/// Kolmogorov-Smirnov: D_n = sup |F_n(u) - u| of u = (log x - log lo)/(log hi - log lo); reject uniformity at
/// α = 0.01 when √n·D_n > 1.628 (the asymptotic critical value). Five fixed seeds: deterministic, and a correct
/// sampler fails a given seed with probability 1%.
[<Fact>]
let ``log-uniform draws are uniform in log space (KS test at alpha 0.01, fixed seeds)`` () =
    let lo, hi = 1e-5, 1e-1
    let p = Param.logUniform "lr" lo hi
    for seed in 1UL .. 5UL do
        let s = Rng.stream (Rng.create seed)
        let n = 4000
        let u = Array.init n (fun _ -> (log (RandomSampler.sampleParam s p).AsFloat - log lo) / (log hi - log lo)) |> Array.sort
        let d = u |> Array.mapi (fun i x -> max (abs (float (i + 1) / float n - x)) (abs (x - float i / float n))) |> Array.max
        Assert.True(sqrt (float n) * d < 1.628, sprintf "seed %d: sqrt(n) D = %.3f" seed (sqrt (float n) * d))
        // And it is not uniform in linear space: most of the mass lies below a tenth of the range.
        let below = u |> Array.filter (fun x -> exp (log lo + x * (log hi - log lo)) < hi / 10.0) |> Array.length
        Assert.InRange(float below / float n, 0.7, 0.8)

[<Fact>]
let ``integer draws cover every step of the range and log integers stay in bounds`` () =
    let s = Rng.stream (Rng.create 3UL)
    let p = Param.intStep "batch" 16 256 16
    let seen = Array.init 3000 (fun _ -> (RandomSampler.sampleParam s p).AsInt) |> Set.ofArray
    Assert.Equal<Set<int64>>(set [ 16L .. 16L .. 256L ], seen)
    let q = Param.intLog "width" 8 1024
    let xs = Array.init 3000 (fun _ -> (RandomSampler.sampleParam s q).AsInt)
    Assert.True(xs |> Array.forall (fun x -> x >= 8L && x <= 1024L))
    Assert.InRange(xs |> Array.filter (fun x -> x < 91L) |> Array.length |> float, 1200.0, 1800.0) // √(8·1024) ≈ 90.5: half below

[<Fact>]
let ``SplitMix64 is the published generator (first output from state 0)`` () =
    // Steele, Lea & Flood 2014 / Vigna's splitmix64.c: state 0 gives 0xE220A8397B1DCDAF first.
    Assert.Equal(0xE220A8397B1DCDAFUL, (RngStream { State = 0UL }).NextUInt64())
    Assert.NotEqual(Rng.derive 1L (Rng.create 1UL), Rng.derive 2L (Rng.create 1UL))

/// Each malformed parameter, alone in a space with a valid one: the error names it.
[<Fact>]
let ``every space error names the parameter`` () =
    let ok = Param.choice "optimizer" [ "sgd"; "adam" ]
    let bad =
        [ "empty", Param.categorical "empty" []
          "inverted", Param.uniform "inverted" 1.0 0.5
          "flat", Param.uniform "flat" 1.0 1.0
          "loglow", Param.logUniform "loglow" 0.0 1.0
          "logneg", Param.logUniform "logneg" -1.0 1.0
          "intinv", Param.int "intinv" 5 2
          "step", Param.intStep "step" 0 10 3
          "logstep", { Param.intLog "logstep" 1 64 with Distribution = IntRange(1L, 64L, 3L, true) }
          "orphan", Param.uniform "orphan" 0.0 1.0 |> Param.whenIs "missing" [ "x" ]
          "badvalue", Param.uniform "badvalue" 0.0 1.0 |> Param.whenIs "optimizer" [ "lion" ]
          "self", Param.uniform "self" 0.0 1.0 |> Param.whenAbove "self" 0.0
          "grid", Param.uniform "grid" 0.0 1.0 |> Param.withGrid [ ParamValue.Float 2.0 ] ]
    for name, p in bad do
        let e = Assert.Throws<InvalidSpaceException>(fun () -> Space.create [ ok; p ] |> ignore)
        Assert.Contains(sprintf "'%s'" name, e.Message)
        Assert.True(e.Errors |> List.forall (fun x -> x.Param = name), e.Message)
    let cycle = [ Param.uniform "a" 0.0 1.0 |> Param.whenAbove "b" 0.0; Param.uniform "b" 0.0 1.0 |> Param.whenAbove "a" 0.0 ]
    let e = Assert.Throws<InvalidSpaceException>(fun () -> Space.create cycle |> ignore)
    Assert.Contains("'a'", e.Message)
    Assert.Contains("cycle", e.Message)
    let dup = Assert.Throws<InvalidSpaceException>(fun () -> Space.create [ ok; ok ] |> ignore)
    Assert.Contains("'optimizer'", dup.Message)

[<Fact>]
let ``parents come before children whatever the order given`` () =
    let space = Space.create [ Param.uniform "momentum" 0.0 1.0 |> Param.whenIs "optimizer" [ "sgd" ]; Param.choice "optimizer" [ "sgd"; "adam" ] ]
    Assert.Equal<string[]>([| "optimizer"; "momentum" |], space.Params |> Array.map (fun p -> p.Name))
    let c = RandomSampler.sample space (Rng.create 1UL)
    Assert.Equal(c["optimizer"] = str "sgd", c.ContainsKey "momentum")

[<Property(MaxTest = 100)>]
let ``JSON round-trips a space`` (seed: int) =
    let space = randomSpace seed
    SpaceJson.parse "test" (SpaceJson.toJson space) = space

[<Property(MaxTest = 50)>]
let ``JSON round-trips a configuration`` (seed: int) =
    let space = randomSpace seed
    let c = RandomSampler.sample space (Rng.create (uint64 seed))
    SpaceJson.configOfJson space "test" (SpaceJson.configToJson space c) = c

[<Fact>]
let ``JSON errors name the parameter and its path`` () =
    let cases =
        [ """{"parameters": {"lr": {"type": "float", "low": "x", "high": 1}}}""", "'lr'", "$.parameters.lr.low"
          """{"parameters": {"lr": {"type": "float", "high": 1}}}""", "'lr'", "missing \"low\""
          """{"parameters": {"lr": {"type": "real", "low": 0, "high": 1}}}""", "'lr'", "$.parameters.lr.type"
          """{"parameters": {"lr": {"type": "float", "low": 0, "high": 1, "lgo": true}}}""", "'lr'", "$.parameters.lr.lgo"
          """{"parameters": {"bs": {"type": "int", "low": 1.5, "high": 8}}}""", "'bs'", "$.parameters.bs.low"
          """{"parameters": {"m": {"type": "float", "low": 0, "high": 1, "when": {"opt": ["sgd"]}}}}""", "'m'", "$.parameters.m.when.opt"
          """{"parameters": {"opt": {"type": "categorical", "choices": ["sgd"]}, "m": {"type": "float", "low": 0, "high": 1, "when": {"opt": [3.5]}}}}""", "'m'", "$.parameters.m"
          """{"parameters": {"lr": {"type": "float", "low": 1, "high": 0}}}""", "'lr'", "$.parameters.lr"
          """{"parameters": {"d": {"type": "float", "low": 0, "high": 1, "grid": [0.5, "a"]}}}""", "'d'", "$.parameters.d.grid[1]" ]
    for json, name, path in cases do
        let e = Assert.Throws<FormatException>(fun () -> SpaceJson.parse "space.json" json |> ignore)
        Assert.Contains(name, e.Message)
        Assert.Contains(path, e.Message)
        Assert.Contains("space.json", e.Message)

[<Fact>]
let ``the shipped example spaces parse and sample`` () =
    let root = IO.Path.Combine(__SOURCE_DIRECTORY__, "..", "..", "docs", "examples")
    for f in [ "space-mlp.json"; "space-cnn.json" ] do
        let space = SpaceJson.load (IO.Path.Combine(root, f))
        Assert.True(space.Params.Length >= 10, f)
        for i in 0 .. 50 do
            let c = RandomSampler.sample space (Rng.create (uint64 i))
            Assert.Equal(None, Space.check space c)
