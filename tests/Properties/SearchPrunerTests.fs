module Hybrid.Tests.SearchPrunerTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Search

let minimize = { Direction = Minimize; Seed = 1UL }

/// A finished trial with one value per epoch 1..epochs.
let curve (number: int) (values: float[]) =
    { Trial.create number Map.empty with State = Complete; Value = Some(Array.last values); Intermediate = values |> Array.mapi (fun i v -> int64 (i + 1), v) |> Map.ofArray }

[<Property(MaxTest = 100)>]
let ``synchronous successive halving keeps the top 1/eta of each rung and spends exactly the budget it claims`` (seed: int) (n: byte) (eta: byte) =
    let eta = 2 + int eta % 3
    let n0 = 1L + int64 n
    let rungs = SuccessiveHalving.schedule eta n0 1.0 (float (pown eta 4))
    let loss (c: int) (r: float) = float ((c * 7919 + seed) % 1009) + 1.0 / r
    let survivors, spent = SuccessiveHalving.run rungs loss
    let keepsTop =
        Array.pairwise survivors |> Array.forall (fun (a, b) ->
            b.Length = a.Length / eta
            && b |> Array.forall (fun c -> a |> Array.filter (fun o -> (loss o 1.0, o) < (loss c 1.0, c)) |> Array.length < b.Length))
    let claimed = rungs |> Array.mapi (fun i r -> float r.Configs * (r.Budget - (if i = 0 then 0.0 else rungs[i - 1].Budget))) |> Array.sum
    keepsTop && spent = SuccessiveHalving.budgetResumed rungs && spent = claimed
    && SuccessiveHalving.budget rungs = (Array.map2 (fun (s: int[]) (r: Rung) -> float s.Length * r.Budget) survivors rungs |> Array.sum)

[<Property(MaxTest = 100)>]
let ``ASHA continues a trial at a rung iff it is in the best floor(n/eta) of that rung's values (the best while n < eta)`` (seed: int) (others: byte) =
    let o = { MinBudget = 1L; MaxBudget = 27L; ReductionFactor = 3 }
    let r = Rng.stream (Rng.create (uint64 seed))
    let history = Array.init (int others % 40) (fun i -> curve i (Array.init 27 (fun _ -> r.NextFloat())))
    let pruner = SuccessiveHalving.pruner o
    SuccessiveHalving.rungs o |> Array.forall (fun rung ->
        let v = r.NextFloat()
        let mine = { Trial.create 999 Map.empty with State = Running; Intermediate = Map.ofList [ for s in 1L .. rung -> s, (if s = rung then v else 0.0) ] }
        let values = Array.append (history |> Array.map (fun t -> t.Intermediate[rung])) [| v |]
        let k = max 1 (values.Length / 3)
        let better = values |> Array.filter (fun x -> x < v) |> Array.length
        (pruner.Decide minimize history mine rung v = Continue) = (better < k))

[<Fact>]
let ``ASHA judges only at rungs and never prunes the first trial or at the max budget`` () =
    let o = AshaOptions.Default 81L
    Assert.Equal<int64[]>([| 1L; 3L; 9L; 27L |], SuccessiveHalving.rungs o)
    let p = SuccessiveHalving.pruner o
    let t = { Trial.create 0 Map.empty with State = Running; Intermediate = Map.ofList [ 1L, 5.0 ] }
    Assert.Equal(Continue, p.Decide minimize [||] t 1L 5.0)
    let good = Array.init 9 (fun i -> curve i (Array.create 81 0.0))
    let bad = { Trial.create 20 Map.empty with State = Running; Intermediate = Map.ofList [ 1L, 1.0; 2L, 1.0 ] }
    Assert.Equal(Continue, p.Decide minimize good bad 2L 1.0) // step 2 is no rung
    Assert.Equal(Prune, p.Decide minimize good { bad with Intermediate = bad.Intermediate.Add(3L, 1.0) } 3L 1.0)
    Assert.Equal(Continue, p.Decide minimize good { bad with Intermediate = Map.ofList [ for s in 1L .. 81L -> s, 1.0 ] } 81L 1.0)
    // Maximize: the high values continue.
    Assert.Equal(Continue, p.Decide { minimize with Direction = Maximize } good { bad with Intermediate = bad.Intermediate.Add(3L, 1.0) } 3L 1.0)

/// Table 1 of Li et al. (JMLR 2018) for R = 81, η = 3: (n_i, r_i) per bracket s. The formula
/// n = ⌈(s_max+1)/(s+1)·η^s⌉ gives 34, 15, 8 and 5 configurations for s = 3, 2, 1, 0, as the table prints.
[<Fact>]
let ``Hyperband's brackets for (R, eta) = (81, 3) are the paper's table`` () =
    let o = { MinBudget = 1L; MaxBudget = 81L; ReductionFactor = 3 }
    Assert.Equal(4, Hyperband.sMax o)
    let table =
        [ 4, [ 81L, 1.0; 27L, 3.0; 9L, 9.0; 3L, 27.0; 1L, 81.0 ]
          3, [ 34L, 3.0; 11L, 9.0; 3L, 27.0; 1L, 81.0 ]
          2, [ 15L, 9.0; 5L, 27.0; 1L, 81.0 ]
          1, [ 8L, 27.0; 2L, 81.0 ]
          0, [ 5L, 81.0 ] ]
    let got = Hyperband.brackets o |> Array.map (fun b -> b.S, b.Rungs |> Array.map (fun r -> r.Configs, r.Budget) |> List.ofArray) |> List.ofArray
    Assert.Equal<(int * (int64 * float) list) list>(table, got)

[<Fact>]
let ``Hyperband assigns brackets deterministically in proportion to their configurations and prunes within the bracket`` () =
    let o = { MinBudget = 1L; MaxBudget = 81L; ReductionFactor = 3 }
    let counts = Array.zeroCreate 5
    for n in 0 .. 14299 do counts[Hyperband.bracketOf o 1UL n] <- counts[Hyperband.bracketOf o 1UL n] + 1
    // Shares 81:34:15:8:5 of 143, within 4 standard deviations of the binomial.
    Array.iter2 (fun c share -> let e = 14300.0 * share / 143.0 in Assert.InRange(float c, e - 4.0 * sqrt e, e + 4.0 * sqrt e)) counts [| 81.0; 34.0; 15.0; 8.0; 5.0 |]
    Assert.Equal(Hyperband.bracketOf o 1UL 17, Hyperband.bracketOf o 1UL 17)
    // Bracket s = 0 never prunes: its only rung is the max budget.
    let s0 = Seq.initInfinite id |> Seq.find (fun n -> Hyperband.bracketOf o 1UL n = 4)
    Assert.Equal<int64[]>([||], SuccessiveHalving.rungs (Hyperband.bracketOptions o 4))
    let p = Hyperband.pruner o
    let history = Array.init 30 (fun i -> curve (1000 + i) (Array.create 81 0.0))
    let mine = { Trial.create s0 Map.empty with State = Running; Intermediate = Map.ofList [ for s in 1L .. 27L -> s, 9.0 ] }
    Assert.Equal(Continue, p.Decide minimize history mine 27L 9.0)

[<Fact>]
let ``the median pruner prunes a trial worse than the completed trials' median at that step (Optuna's defaults)`` () =
    let p = MedianPruner.pruner MedianOptions.Default
    let done' = Array.init 5 (fun i -> curve i [| 1.0; float i; 0.5 |]) // step 2 median: 2.0
    let trial (v: float) = { Trial.create 9 Map.empty with State = Running; Intermediate = Map.ofList [ 1L, 5.0; 2L, v ] }
    Assert.Equal(Prune, p.Decide minimize done' (trial 2.5) 2L 2.5)
    Assert.Equal(Continue, p.Decide minimize done' (trial 1.5) 2L 1.5)
    Assert.Equal(Continue, p.Decide minimize done'[0..3] (trial 2.5) 2L 2.5) // 4 < 5 start-up trials
    Assert.Equal(Prune, p.Decide minimize done' (trial nan) 2L nan)
    Assert.Equal(Continue, p.Decide { minimize with Direction = Maximize } done' (trial 2.5) 2L 2.5)
    Assert.Equal(2.5, MedianPruner.median [| 4.0; 1.0; 2.0; 3.0 |])
    Assert.Equal(Continue, NopPruner.pruner.Decide minimize done' (trial 100.0) 2L 100.0)
