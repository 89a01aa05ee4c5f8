namespace Hybrid.Core.Search

open System

/// A trial's life: Waiting -> Running -> Complete | Pruned | Fail.
type TrialState =
    | Waiting
    | Running
    | Complete
    | Pruned
    | Fail

/// Whether smaller or larger objective values are better.
type Direction =
    | Minimize
    | Maximize

/// One evaluation of a configuration: its state, final value, the values reported per step (epoch),
/// attributes and times.
type Trial =
    { /// 0, 1, 2, ... in the order trials were created in the study.
      Number: int
      State: TrialState
      Config: Config
      /// The objective, for a Complete trial.
      Value: float option
      /// The value reported at each step (epoch), by step.
      Intermediate: Map<int64, float>
      UserAttrs: Map<string, string>
      SystemAttrs: Map<string, string>
      Started: DateTimeOffset option
      Ended: DateTimeOffset option
      /// The last sign of life of the process running the trial.
      Heartbeat: DateTimeOffset option
      /// Why a Fail trial failed (an exception, a NaN loss at a step, a lost heartbeat).
      FailReason: string option }

/// What every sampler and pruner may need to know about the study.
type StudySettings =
    { Direction: Direction
      /// The study's seed; trial n draws from Rng.derive n (Rng.create Seed).
      Seed: uint64 }

/// A pruner's verdict at one reported step.
type PruneDecision =
    | Continue
    | Prune

/// A sampler: a pure function of (settings, space, history, rng) to a configuration of the space's active
/// parameters. History is every trial of the study so far (any state; the sampler picks what it uses).
type Sampler =
    { Name: string
      Sample: StudySettings -> Space -> Trial[] -> Rng -> Config }
    /// The configuration for the next trial.
    member s.Suggest(settings: StudySettings, space: Space, history: Trial[], rng: Rng) = s.Sample settings space history rng

/// A pruner: a pure function of (settings, history, trial, step, value) to Continue or Prune, called after the
/// trial reported `value` at `step`. History is every trial of the study (the trial itself may be among them;
/// pruners skip its number); `trial.Intermediate` holds the values reported before and including `step`.
type Pruner =
    { Name: string
      Decide: StudySettings -> Trial[] -> Trial -> int64 -> float -> PruneDecision }
    /// Whether the trial should stop after reporting `value` at `step`.
    member p.ShouldPrune(settings: StudySettings, history: Trial[], trial: Trial, step: int64, value: float) =
        p.Decide settings history trial step value = Prune

/// Comparing values in a direction.
module Direction =
    /// Whether a is strictly better than b.
    let better (d: Direction) (a: float) (b: float) = match d with Minimize -> a < b | Maximize -> a > b
    /// The value as a loss (smaller is better): v for Minimize, -v for Maximize.
    let toLoss (d: Direction) (v: float) = match d with Minimize -> v | Maximize -> -v
    /// The best of the values (NaN when empty).
    let best (d: Direction) (vs: float seq) =
        vs |> Seq.fold (fun acc v -> if Double.IsNaN acc || better d v acc then v else acc) nan

/// Trials and their values.
module Trial =
    /// A new Waiting trial with this configuration.
    let create (number: int) (config: Config) : Trial =
        { Number = number; State = Waiting; Config = config; Value = None; Intermediate = Map.empty
          UserAttrs = Map.empty; SystemAttrs = Map.empty; Started = None; Ended = None; Heartbeat = None; FailReason = None }

    /// The value reported at the largest step, if any.
    let lastIntermediate (t: Trial) : (int64 * float) option =
        if t.Intermediate.IsEmpty then None else Some(t.Intermediate |> Seq.last |> fun kv -> kv.Key, kv.Value)

    /// The value at the first reported step >= step, if any (a rung's value when steps skip the rung).
    let valueAtOrAfter (step: int64) (t: Trial) : float option =
        t.Intermediate |> Seq.tryFind (fun kv -> kv.Key >= step) |> Option.map (fun kv -> kv.Value)

    /// The Complete trial with the best value (the lowest number among ties), if any.
    let best (d: Direction) (history: Trial seq) : Trial option =
        history
        |> Seq.filter (fun t -> t.State = Complete && t.Value.IsSome && not (Double.IsNaN t.Value.Value))
        |> Seq.fold (fun (acc: Trial option) t ->
            match acc with
            | Some b when not (Direction.better d t.Value.Value b.Value.Value) -> acc
            | _ -> Some t) None

    /// Whether the trial finished (Complete, Pruned or Fail).
    let isFinished (t: Trial) = match t.State with Complete | Pruned | Fail -> true | Waiting | Running -> false

/// The pruner that never prunes (every trial runs its full budget).
module NopPruner =
    /// Never prunes.
    let pruner : Pruner = { Name = "none"; Decide = fun _ _ _ _ _ -> Continue }
