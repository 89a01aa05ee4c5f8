namespace Hybrid.Core.Search

open System

/// Options of the median pruner (Optuna's defaults: 5 start-up trials, no warm-up, every step).
type MedianOptions =
    { /// No pruning until this many trials are Complete.
      StartupTrials: int
      /// No pruning before this step.
      WarmupSteps: int64
      /// Judge only every this many steps after the warm-up.
      IntervalSteps: int64
      /// No pruning while fewer Complete trials reported at this step.
      MinTrials: int }
    /// Optuna's defaults.
    static member Default = { StartupTrials = 5; WarmupSteps = 0L; IntervalSteps = 1L; MinTrials = 1 }

/// The median stopping rule (Golovin et al., "Google Vizier", KDD 2017), as Optuna's MedianPruner: prune at step t
/// when the trial's best value so far is worse than the median of the Complete trials' values at step t.
module MedianPruner =
    /// The median with linear interpolation (numpy's percentile 50).
    let median (vs: float[]) =
        let a = Array.sort vs
        let n = a.Length
        if n = 0 then nan elif n % 2 = 1 then a[n / 2] else 0.5 * (a[n / 2 - 1] + a[n / 2])

    /// The decision at one step.
    let decide (o: MedianOptions) (d: Direction) (history: Trial[]) (trial: Trial) (step: int64) (value: float) =
        let complete = history |> Array.filter (fun t -> t.State = Complete && t.Number <> trial.Number)
        if Double.IsNaN value then Prune
        elif complete.Length < o.StartupTrials || step < o.WarmupSteps || (step - o.WarmupSteps) % o.IntervalSteps <> 0L then Continue
        else
            let at = complete |> Array.choose (fun t -> t.Intermediate.TryFind step) |> Array.filter (fun v -> not (Double.IsNaN v))
            if at.Length < o.MinTrials then Continue
            else
                let own = Seq.append (trial.Intermediate.Values) [ value ] |> Seq.filter (fun v -> not (Double.IsNaN v))
                let best = Direction.best d own
                if Direction.better d (median at) best then Prune else Continue

    /// The median pruner.
    let pruner (o: MedianOptions) : Pruner =
        { Name = "median"; Decide = fun settings history trial step value -> decide o settings.Direction history trial step value }
