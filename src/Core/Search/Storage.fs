namespace Hybrid.Core.Search

open System

/// A study as a storage holds it: its key there, name, direction and the settings it was created with (a JSON
/// text the runner writes and reads back: seed, sampler, pruner, space).
type StoredStudy =
    { Id: int64
      Name: string
      Direction: Direction
      Settings: string }

/// Where studies and their trials live, shared by every worker of a study (threads, processes, machines).
///
/// Every method is one transaction. Trial numbers are dense (0, 1, 2, ... with no gap and no repeat) and unique
/// within a study: a number is taken inside the transaction that creates the trial, under the storage's write lock.
/// A trial is named by (study, number). Writes to a trial that is no longer Running (a heartbeat, a report or a
/// finish from a worker whose trial was reaped) change nothing and return false, so a slow worker cannot overwrite
/// what the study decided.
type IStorage =
    inherit IDisposable
    /// What the storage is, for messages: "sqlite runs/s/study.db", "postgresql host:port/db".
    abstract Describe: string
    /// Creates a study; fails naming it if one of that name exists.
    abstract CreateStudy: name: string * direction: Direction * settings: string -> StoredStudy
    /// The study of that name, if any.
    abstract LoadStudy: name: string -> StoredStudy option
    /// Queues a Waiting trial with this configuration; returns its number.
    abstract Enqueue: study: int64 * config: Config -> int
    /// Atomically takes the Waiting trial with the lowest number (Running, with its configuration), or creates a new
    /// Running trial with the next number and an empty configuration (the caller samples one and calls SetConfig).
    abstract Claim: study: int64 * worker: string * now: DateTimeOffset -> Trial
    /// Stores the configuration of a Running trial.
    abstract SetConfig: study: int64 * number: int * config: Config -> bool
    /// Stores the value reported at a step (epoch) of a Running trial.
    abstract Report: study: int64 * number: int * step: int64 * value: float -> bool
    /// Records that the process running the trial is alive.
    abstract Heartbeat: study: int64 * number: int * now: DateTimeOffset -> bool
    /// Ends a Running trial as Complete, Pruned or Fail, with its value and (for Fail) the reason.
    abstract Finish: study: int64 * number: int * state: TrialState * value: float option * reason: string option * now: DateTimeOffset -> bool
    /// Sets a user attribute of a Waiting or Running trial (a finished trial takes no more writes: ignored).
    abstract SetAttr: study: int64 * number: int * key: string * value: string -> unit
    /// Marks Fail every Running trial whose heartbeat is older than the timeout, with the reason
    /// "heartbeat lost after Ns", and queues its configuration again as a new Waiting trial; returns the failed
    /// trials' numbers.
    abstract ReapStale: study: int64 * timeout: TimeSpan * now: DateTimeOffset -> int list
    /// Every trial of the study, by number.
    abstract Trials: study: int64 -> Trial[]

/// The text forms a storage writes: states, directions and parameter values.
module StorageText =
    /// WAITING, RUNNING, COMPLETE, PRUNED or FAIL (Optuna's names).
    let state (s: TrialState) =
        match s with
        | Waiting -> "WAITING"
        | Running -> "RUNNING"
        | Complete -> "COMPLETE"
        | Pruned -> "PRUNED"
        | Fail -> "FAIL"

    /// The state a text names; fails naming the text.
    let parseState (text: string) =
        match text with
        | "WAITING" -> Waiting
        | "RUNNING" -> Running
        | "COMPLETE" -> Complete
        | "PRUNED" -> Pruned
        | "FAIL" -> Fail
        | other -> raise (FormatException(sprintf "search storage: unknown trial state '%s'" other))

    /// "minimize" or "maximize".
    let direction (d: Direction) = match d with Minimize -> "minimize" | Maximize -> "maximize"

    /// The direction a text names; fails naming the text.
    let parseDirection (text: string) =
        match text with
        | "minimize" -> Minimize
        | "maximize" -> Maximize
        | other -> raise (FormatException(sprintf "search: direction '%s' is neither minimize nor maximize" other))

    /// A value as (kind, text): float values round-trip exactly ("R"), in the invariant culture.
    let value (v: ParamValue) =
        match v with
        | ParamValue.Float x -> "float", x.ToString("R", Globalization.CultureInfo.InvariantCulture)
        | ParamValue.Int i -> "int", string i
        | ParamValue.Str s -> "str", s
        | ParamValue.Bool b -> "bool", (if b then "true" else "false")

    /// The value a (kind, text) pair stores; fails naming both.
    let parseValue (kind: string) (text: string) =
        let inv = Globalization.CultureInfo.InvariantCulture
        match kind with
        | "float" -> ParamValue.Float(Double.Parse(text, inv))
        | "int" -> ParamValue.Int(Int64.Parse(text, inv))
        | "str" -> ParamValue.Str text
        | "bool" -> ParamValue.Bool(text = "true")
        | other -> raise (FormatException(sprintf "search storage: unknown value kind '%s' (value '%s')" other text))

    /// The reason a reaped trial fails with.
    let heartbeatLost (timeout: TimeSpan) =
        sprintf "heartbeat lost after %gs" (Math.Round(timeout.TotalSeconds, 3))
