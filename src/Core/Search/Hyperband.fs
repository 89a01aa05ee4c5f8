namespace Hybrid.Core.Search

open System

/// One Hyperband bracket: s, and its successive-halving rungs.
type Bracket =
    { S: int
      Rungs: Rung[] }

/// Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018):
/// s_max = ⌊log_η(R/r)⌋; bracket s runs successive halving from n = ⌈(s_max+1)/(s+1)·η^s⌉ configurations at
/// r = R·η^-s. Asynchronously, each trial is assigned a bracket by a hash of its number, brackets weighted by
/// their n (the paper's share of configurations), and pruned by ASHA among the trials of its bracket only.
module Hyperband =
    let private pow (eta: int) (k: int) = pown (int64 eta) k

    /// s_max = ⌊log_η(R/r)⌋, computed in integers: the largest s with r·η^s <= R.
    let sMax (o: AshaOptions) =
        let mutable s = 0
        while o.MinBudget * pow o.ReductionFactor (s + 1) <= o.MaxBudget do s <- s + 1
        s

    /// The brackets s = s_max .. 0 (R = MaxBudget, r = MinBudget, η = ReductionFactor).
    let brackets (o: AshaOptions) : Bracket[] =
        SuccessiveHalving.rungs o |> ignore // validates the options
        let sm = sMax o
        [| for s in sm .. -1 .. 0 ->
             // ⌈(s_max+1)·η^s / (s+1)⌉ in integers.
             let n = (int64 (sm + 1) * pow o.ReductionFactor s + int64 s) / int64 (s + 1)
             let r = float o.MaxBudget / float (pow o.ReductionFactor s)
             { S = s; Rungs = SuccessiveHalving.schedule o.ReductionFactor n r (float o.MaxBudget) } |]

    /// The bracket (its index in `brackets`) of trial `number`: a SplitMix64 hash of (seed, number) taken modulo
    /// Σ n_s, walked over the brackets' n_s.
    let bracketOf (o: AshaOptions) (seed: uint64) (number: int) =
        let bs = brackets o
        let total = bs |> Array.sumBy (fun b -> b.Rungs[0].Configs)
        let h, _ = Rng.next (Rng.derive (int64 number) (Rng.create seed))
        let mutable x = int64 (h % uint64 total)
        let mutable i = 0
        while x >= bs[i].Rungs[0].Configs do
            x <- x - bs[i].Rungs[0].Configs
            i <- i + 1
        i

    /// The ASHA options of bracket i: its first rung at R·η^-s (at least one epoch).
    let bracketOptions (o: AshaOptions) (i: int) : AshaOptions =
        let b = (brackets o)[i]
        { o with MinBudget = max 1L (int64 (Math.Round b.Rungs[0].Budget)) }

    /// Asynchronous Hyperband: ASHA within the trial's bracket.
    let pruner (o: AshaOptions) : Pruner =
        brackets o |> ignore
        { Name = "hyperband"
          Decide =
            fun settings history trial step value ->
                let mine = bracketOf o settings.Seed trial.Number
                let peers = history |> Array.filter (fun t -> bracketOf o settings.Seed t.Number = mine)
                SuccessiveHalving.decideAmong (bracketOptions o mine) settings.Direction peers trial step value }
