namespace Hybrid.Core.Search

open System

/// Options of successive halving: rungs at MinBudget·η^k epochs below MaxBudget, reduction factor η.
type AshaOptions =
    { MinBudget: int64
      MaxBudget: int64
      /// η: the top 1/η of each rung continues.
      ReductionFactor: int }
    /// η = 3, from one epoch up to maxBudget.
    static member Default(maxBudget: int64) = { MinBudget = 1L; MaxBudget = maxBudget; ReductionFactor = 3 }

/// One rung of a synchronous successive-halving run: n configurations trained to budget r.
type Rung =
    { Configs: int64
      Budget: float }

/// Asynchronous successive halving (ASHA; Li et al., "A System for Massively Parallel Hyperparameter Tuning",
/// MLSys 2020) as a pruner: rung k at r_k = r_min·η^k (r_k < r_max). When a trial first reports at a step
/// >= r_k, it continues iff its value there is among the best ⌊n/η⌋ of the n values reported at rung k so far
/// (itself included; while n < η, iff it is the best), so a trial is promoted as soon as it qualifies and no
/// worker waits for a rung to fill. The synchronous schedule (Jamieson & Talwalkar 2016): n_i = ⌊n·η^-i⌋
/// configurations at r_i = r·η^i.
module SuccessiveHalving =
    let private check (o: AshaOptions) =
        if o.ReductionFactor < 2 then invalidArg "ReductionFactor" (sprintf "asha: reduction factor must be >= 2, got %d" o.ReductionFactor)
        if o.MinBudget < 1L then invalidArg "MinBudget" (sprintf "asha: min budget must be >= 1 epoch, got %d" o.MinBudget)
        if o.MaxBudget < o.MinBudget then invalidArg "MaxBudget" (sprintf "asha: max budget %d < min budget %d" o.MaxBudget o.MinBudget)

    /// The rung budgets r_min·η^k strictly below r_max (a trial reaching r_max completes, it is never judged there).
    let rungs (o: AshaOptions) : int64[] =
        check o
        let eta = int64 o.ReductionFactor
        Seq.unfold (fun r -> if r < o.MaxBudget then Some(r, r * eta) else None) o.MinBudget |> Array.ofSeq

    /// Whether the value is promotable among the rung's values (which include it): in the best ⌊n/η⌋,
    /// or the best while n < η (Optuna's rule, since a trial cannot be paused to wait for the rung to fill).
    let promotable (d: Direction) (eta: int) (value: float) (rungValues: float[]) =
        if Double.IsNaN value then false
        else
            let losses = rungValues |> Array.filter (fun v -> not (Double.IsNaN v)) |> Array.map (Direction.toLoss d) |> Array.sort
            let k = max 1 (losses.Length / eta)
            losses.Length = 0 || Direction.toLoss d value <= losses[min (k - 1) (losses.Length - 1)]

    /// The ASHA decision over the given competitors (the trials of the same bracket).
    let decideAmong (o: AshaOptions) (d: Direction) (competitors: Trial[]) (trial: Trial) (step: int64) (value: float) =
        if Double.IsNaN value then Prune
        else
            // The rung this step judges: the largest r_k <= step that no earlier report of the trial reached.
            let earlier = trial.Intermediate |> Seq.filter (fun kv -> kv.Key < step) |> Seq.map (fun kv -> kv.Key) |> Seq.fold max Int64.MinValue
            match rungs o |> Array.filter (fun r -> r <= step && r > earlier) |> Array.tryLast with
            | None -> Continue
            | Some r ->
                let others =
                    competitors |> Array.choose (fun t -> if t.Number = trial.Number then None else Trial.valueAtOrAfter r t)
                if promotable d o.ReductionFactor value (Array.append others [| value |]) then Continue else Prune

    /// ASHA over every trial of the study.
    let pruner (o: AshaOptions) : Pruner =
        check o
        { Name = "asha"; Decide = fun settings history trial step value -> decideAmong o settings.Direction history trial step value }

    /// The synchronous schedule from n configurations at budget r: n_i = ⌊n·η^-i⌋ at r_i = r·η^i while r_i <= rMax
    /// and n_i >= 1.
    let schedule (eta: int) (n: int64) (r: float) (rMax: float) : Rung[] =
        if eta < 2 then invalidArg "eta" (sprintf "successive halving: η must be >= 2, got %d" eta)
        Seq.unfold (fun (n, r) -> if n >= 1L && r <= rMax * (1.0 + 1e-12) then Some({ Configs = n; Budget = r }, (n / int64 eta, r * float eta)) else None) (n, r)
        |> Array.ofSeq

    /// The schedule's budget as the paper counts it, Σ n_i·r_i (each rung trains from scratch).
    let budget (rs: Rung[]) = rs |> Array.sumBy (fun x -> float x.Configs * x.Budget)

    /// The budget when promoted trials resume from their checkpoint, Σ n_i·(r_i - r_{i-1}), as ASHA's trials do.
    let budgetResumed (rs: Rung[]) =
        rs |> Array.mapi (fun i x -> float x.Configs * (x.Budget - (if i = 0 then 0.0 else rs[i - 1].Budget))) |> Array.sum

    /// Runs the synchronous schedule on configurations 0..n0-1 with a loss oracle loss(config, budget): at each rung
    /// the best n_{i+1} (lowest loss, ties by index) go on. Returns the survivors of each rung and the epochs spent
    /// with resumption.
    let run (rs: Rung[]) (loss: int -> float -> float) : int[][] * float =
        let mutable alive = [| 0 .. int rs[0].Configs - 1 |]
        let mutable spent = 0.0
        let mutable prev = 0.0
        let out = ResizeArray()
        for i in 0 .. rs.Length - 1 do
            let r = rs[i].Budget
            spent <- spent + float alive.Length * (r - prev)
            prev <- r
            out.Add alive
            if i + 1 < rs.Length then
                alive <- alive |> Array.sortBy (fun c -> loss c r, c) |> Array.truncate (int rs[i + 1].Configs)
        out.ToArray(), spent
