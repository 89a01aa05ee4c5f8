namespace Hybrid.Core.Search

open System
open System.Globalization

/// A hyperparameter's value.
[<RequireQualifiedAccess>]
type ParamValue =
    | Float of float
    | Int of int64
    | Str of string
    | Bool of bool
    /// The value as a number: floats and integers as themselves, booleans as 0/1; strings fail.
    member v.AsFloat =
        match v with
        | Float x -> x
        | Int i -> float i
        | Bool b -> if b then 1.0 else 0.0
        | Str s -> invalidOp (sprintf "search: the value '%s' is a string, not a number" s)
    /// The integer value (Int, or a Float that is a whole number); others fail.
    member v.AsInt =
        match v with
        | Int i -> i
        | Float x when x = Math.Round x -> int64 x
        | other -> invalidOp (sprintf "search: the value %O is not an integer" other)
    override v.ToString() =
        match v with
        | Float x -> x.ToString("R", CultureInfo.InvariantCulture)
        | Int i -> string i
        | Str s -> s
        | Bool b -> if b then "true" else "false"

/// The prior of one parameter.
type Distribution =
    /// One of the choices, unordered.
    | Categorical of choices: ParamValue[]
    /// Uniform on [low, high).
    | Uniform of low: float * high: float
    /// log x uniform on [log low, log high); low > 0.
    | LogUniform of low: float * high: float
    /// An integer in {low, low + step, ..., high}; with log = true, log x is uniform on [log low, log high]
    /// before rounding (step must then be 1, as in Optuna).
    | IntRange of low: int64 * high: int64 * step: int64 * log: bool

/// When a parameter is active; a parameter whose parent is inactive is inactive too.
type Condition =
    /// Active when the parent takes one of these values (momentum only when optimizer = sgd).
    | ParentIn of parent: string * values: ParamValue[]
    /// Active when the parent is numerically greater than the threshold (width_i only when depth > i).
    | ParentAbove of parent: string * threshold: float

/// One hyperparameter: its name, prior, optional condition and optional explicit values for grid search.
type Param =
    { Name: string
      Distribution: Distribution
      Condition: Condition option
      /// The values a grid enumerates; required for Uniform and LogUniform parameters in a grid.
      GridValues: ParamValue[] option }

/// A configuration: the value of each ACTIVE parameter, by name.
type Config = Map<string, ParamValue>

/// One problem of a space, naming the parameter.
type SpaceError =
    { Param: string
      Message: string }
    override e.ToString() = sprintf "parameter '%s': %s" e.Param e.Message

/// A space that failed validation; the message lists every error, each naming its parameter.
type InvalidSpaceException(errors: SpaceError list) =
    inherit ArgumentException("search space: " + String.Join("; ", errors |> List.map string))
    /// The errors, in parameter order.
    member _.Errors = errors

/// A validated search space: parameters ordered so that every parent comes before its children.
[<Sealed>]
type Space internal (parameters: Param[]) =
    /// The parameters, parents before children (otherwise in the order given).
    member _.Params = parameters
    /// The parameter of this name, if any.
    member _.TryFind(name: string) = parameters |> Array.tryFind (fun p -> p.Name = name)
    override _.ToString() = sprintf "Space(%s)" (String.Join(", ", parameters |> Array.map (fun p -> p.Name)))
    override _.Equals(o) =
        match o with
        | :? Space as s -> s.Params = parameters
        | _ -> false
    override _.GetHashCode() = hash parameters

/// Building parameters.
module Param =
    let private make name dist = { Name = name; Distribution = dist; Condition = None; GridValues = None }
    /// One of the choices.
    let categorical (name: string) (choices: ParamValue seq) = make name (Categorical(Array.ofSeq choices))
    /// One of the strings.
    let choice (name: string) (choices: string seq) = categorical name (choices |> Seq.map ParamValue.Str)
    /// Uniform on [low, high).
    let uniform name low high = make name (Uniform(low, high))
    /// Log-uniform on [low, high).
    let logUniform name low high = make name (LogUniform(low, high))
    /// An integer in [low, high], step 1.
    let int name (low: int) (high: int) = make name (IntRange(int64 low, int64 high, 1L, false))
    /// An integer in {low, low + step, ..., high}.
    let intStep name (low: int) (high: int) (step: int) = make name (IntRange(int64 low, int64 high, int64 step, false))
    /// An integer in [low, high], log-uniform before rounding.
    let intLog name (low: int) (high: int) = make name (IntRange(int64 low, int64 high, 1L, true))
    /// True or false.
    let bool name = categorical name [ ParamValue.Bool false; ParamValue.Bool true ]
    /// Active only when the parent takes one of the values.
    let whenIn (parent: string) (values: ParamValue seq) (p: Param) = { p with Condition = Some(ParentIn(parent, Array.ofSeq values)) }
    /// Active only when the parent is one of these strings.
    let whenIs (parent: string) (values: string seq) (p: Param) = whenIn parent (values |> Seq.map ParamValue.Str) p
    /// Active only when the parent is greater than the threshold.
    let whenAbove (parent: string) (threshold: float) (p: Param) = { p with Condition = Some(ParentAbove(parent, threshold)) }
    /// The explicit values a grid enumerates.
    let withGrid (values: ParamValue seq) (p: Param) = { p with GridValues = Some(Array.ofSeq values) }

    /// Whether the value lies in the parameter's domain (bounds, step, choices).
    let contains (p: Param) (v: ParamValue) =
        match p.Distribution, v with
        | Categorical cs, v -> Array.contains v cs
        | Uniform(lo, hi), ParamValue.Float x
        | LogUniform(lo, hi), ParamValue.Float x -> x >= lo && x <= hi
        | IntRange(lo, hi, step, _), ParamValue.Int i -> i >= lo && i <= hi && (i - lo) % step = 0L
        | _ -> false

    /// The parent named by the condition, if any.
    let parent (p: Param) =
        match p.Condition with
        | Some(ParentIn(q, _)) | Some(ParentAbove(q, _)) -> Some q
        | None -> None

/// Validating spaces and finding the active parameters of a configuration.
module Space =
    let private distributionErrors (p: Param) =
        let err m = [ { Param = p.Name; Message = m } ]
        match p.Distribution with
        | Categorical cs when cs.Length = 0 -> err "no choices"
        | Categorical cs when (Array.distinct cs).Length <> cs.Length -> err "duplicate choices"
        | Uniform(lo, hi) | LogUniform(lo, hi) when not (Double.IsFinite lo && Double.IsFinite hi) ->
            err (sprintf "bounds [%g, %g] are not finite" lo hi)
        | Uniform(lo, hi) when lo >= hi -> err (sprintf "low %g >= high %g" lo hi)
        | LogUniform(lo, hi) when lo <= 0.0 -> err (sprintf "log scale needs low > 0, got %g" lo)
        | LogUniform(lo, hi) when lo >= hi -> err (sprintf "low %g >= high %g" lo hi)
        | IntRange(lo, hi, _, _) when lo >= hi -> err (sprintf "low %d >= high %d" lo hi)
        | IntRange(_, _, step, _) when step <= 0L -> err (sprintf "step %d is not positive" step)
        | IntRange(lo, _, step, true) when step <> 1L || lo <= 0L ->
            err (sprintf "log scale needs step 1 and low > 0, got step %d, low %d" step lo)
        | IntRange(lo, hi, step, _) when (hi - lo) % step <> 0L ->
            err (sprintf "high %d - low %d is not a multiple of step %d (use high %d)" hi lo step (lo + (hi - lo) / step * step))
        | _ -> []

    let private gridErrors (p: Param) =
        match p.GridValues with
        | Some vs when vs.Length = 0 -> [ { Param = p.Name; Message = "empty grid values" } ]
        | Some vs ->
            vs |> Array.toList |> List.choose (fun v ->
                if Param.contains p v then None
                else Some { Param = p.Name; Message = sprintf "grid value %O is outside the distribution" v })
        | None -> []

    let private conditionErrors (byName: Map<string, Param>) (p: Param) =
        let err m = [ { Param = p.Name; Message = m } ]
        match p.Condition with
        | None -> []
        | Some(ParentIn(q, _)) | Some(ParentAbove(q, _)) when q = p.Name -> err "its condition names itself"
        | Some(ParentIn(q, vs)) ->
            match Map.tryFind q byName with
            | None -> err (sprintf "condition on unknown parameter '%s'" q)
            | Some _ when vs.Length = 0 -> err (sprintf "condition on '%s' lists no values" q)
            | Some parent ->
                vs |> Array.toList |> List.choose (fun v ->
                    if Param.contains parent v then None
                    else Some { Param = p.Name; Message = sprintf "condition value %O is not a value of '%s'" v q })
        | Some(ParentAbove(q, _)) ->
            match Map.tryFind q byName with
            | None -> err (sprintf "condition on unknown parameter '%s'" q)
            | Some { Distribution = Categorical cs } when cs |> Array.exists (function ParamValue.Str _ -> true | _ -> false) ->
                err (sprintf "numeric condition on '%s', which has string choices" q)
            | Some _ -> []

    /// Every problem of the parameters, each naming its parameter: empty choices, low >= high, log with low <= 0,
    /// bad steps, grid values outside the distribution, duplicate names, conditions on unknown parents or values,
    /// and cycles of conditions.
    let errors (ps: Param seq) : SpaceError list =
        let ps = Array.ofSeq ps
        let names = ps |> Array.map (fun p -> p.Name)
        let dup =
            names |> Array.countBy id |> Array.filter (fun (_, c) -> c > 1)
            |> Array.toList |> List.map (fun (n, _) -> { Param = n; Message = "defined more than once" })
        let blank = ps |> Array.toList |> List.filter (fun p -> String.IsNullOrWhiteSpace p.Name) |> List.map (fun p -> { Param = p.Name; Message = "empty name" })
        let byName = ps |> Array.map (fun p -> p.Name, p) |> Map.ofArray
        let local = ps |> Array.toList |> List.collect (fun p -> distributionErrors p @ gridErrors p @ conditionErrors byName p)
        // Cycles: follow parents from each parameter; revisiting the start is a cycle through it.
        let cycles =
            ps |> Array.toList |> List.choose (fun p ->
                let rec walk (seen: Set<string>) (q: string option) =
                    match q with
                    | None -> None
                    | Some q when q = p.Name -> Some { Param = p.Name; Message = sprintf "its conditions form a cycle (%s)" (String.Join(" -> ", p.Name :: List.ofSeq seen @ [ p.Name ])) }
                    | Some q when seen.Contains q -> None
                    | Some q -> walk (seen.Add q) (Map.tryFind q byName |> Option.bind Param.parent)
                match Param.parent p with
                | Some q when q = p.Name -> None // reported as naming itself
                | q -> walk Set.empty q)
        blank @ dup @ local @ cycles

    /// A validated space (parents ordered before children, otherwise the given order); throws
    /// InvalidSpaceException listing every error.
    let create (ps: Param seq) : Space =
        let ps = Array.ofSeq ps
        match errors ps with
        | [] ->
            // Stable topological order: repeatedly take the first parameter whose parent is placed.
            let placed = Collections.Generic.HashSet<string>()
            let out = ResizeArray()
            let remaining = ResizeArray ps
            while remaining.Count > 0 do
                let i = remaining.FindIndex(fun p -> match Param.parent p with None -> true | Some q -> placed.Contains q)
                let p = remaining[i]
                remaining.RemoveAt i
                placed.Add p.Name |> ignore
                out.Add p
            Space(out.ToArray())
        | errs -> raise (InvalidSpaceException errs)

    /// Whether the parameter's condition holds given the values chosen so far (its parent absent = inactive).
    let conditionHolds (config: Config) (p: Param) =
        match p.Condition with
        | None -> true
        | Some(ParentIn(q, vs)) -> match Map.tryFind q config with Some v -> Array.contains v vs | None -> false
        | Some(ParentAbove(q, t)) ->
            match Map.tryFind q config with
            | Some(ParamValue.Str _) | None -> false
            | Some v -> v.AsFloat > t

    /// The parameters active under the configuration, parents before children: those whose condition holds
    /// given the configuration's values (a parameter whose parent is inactive is inactive).
    let activeParams (space: Space) (config: Config) : Param[] =
        let active = Collections.Generic.HashSet<string>()
        space.Params |> Array.filter (fun p ->
            let on =
                match Param.parent p with
                | None -> true
                | Some q -> active.Contains q && conditionHolds config p
            if on then active.Add p.Name |> ignore
            on)

    /// Builds a configuration parameter by parameter in the space's order, asking `pick` for each active one.
    let build (space: Space) (pick: Config -> Param -> ParamValue) : Config =
        space.Params |> Array.fold (fun (config: Config) p ->
            let on = match Param.parent p with None -> true | Some q -> config.ContainsKey q && conditionHolds config p
            if on then config.Add(p.Name, pick config p) else config) Map.empty

    /// Why the configuration is not a point of the space (missing or extra parameters, values outside their
    /// domain), or None when it is one.
    let check (space: Space) (config: Config) : string option =
        let active = activeParams space config
        let names = active |> Array.map (fun p -> p.Name) |> Set.ofArray
        let missing = active |> Array.tryFind (fun p -> not (config.ContainsKey p.Name))
        let extra = config |> Seq.tryFind (fun kv -> not (names.Contains kv.Key))
        let outside = active |> Array.tryFind (fun p -> match config.TryFind p.Name with Some v -> not (Param.contains p v) | None -> false)
        match missing, extra, outside with
        | Some p, _, _ -> Some(sprintf "parameter '%s' is active but has no value" p.Name)
        | _, Some kv, _ -> Some(sprintf "parameter '%s' is not active in this configuration (or not in the space)" kv.Key)
        | _, _, Some p -> Some(sprintf "parameter '%s' = %O is outside its distribution" p.Name config[p.Name])
        | _ -> None
