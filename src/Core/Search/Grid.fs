namespace Hybrid.Core.Search

open System

/// Grid search: the exact product of each parameter's grid values (categorical choices, every integer of
/// an integer range, or the explicit GridValues), expanded only where a parameter is active, so that a
/// conditional space yields no duplicate configurations. Order: the first parameter varies slowest.
module Grid =
    /// The values the grid takes for this parameter: its explicit GridValues, else its choices, else every
    /// integer of its range; a continuous parameter without grid values is an error naming it.
    let values (p: Param) : ParamValue[] =
        match p.GridValues, p.Distribution with
        | Some vs, _ -> vs
        | None, Categorical cs -> cs
        | None, IntRange(lo, hi, step, _) -> [| for i in lo .. step .. hi -> ParamValue.Int i |]
        | None, (Uniform _ | LogUniform _) ->
            raise (ArgumentException(sprintf "grid: parameter '%s' is continuous and has no grid values (give it \"grid\": [...])" p.Name))

    /// Every configuration of the grid, in a deterministic order.
    let enumerate (space: Space) : Config[] =
        let grids = space.Params |> Array.map (fun p -> p, values p)
        grids |> Array.fold (fun (partial: Config list) (p, vs) ->
            partial |> List.collect (fun c ->
                let on = match Param.parent p with None -> true | Some q -> c.ContainsKey q && Space.conditionHolds c p
                if on then vs |> Array.toList |> List.map (fun v -> c.Add(p.Name, v)) else [ c ])) [ Map.empty ]
        |> Array.ofList

    /// The number of configurations of the grid.
    let size (space: Space) = (enumerate space).Length

    /// The grid in a seeded random order (Fisher-Yates with the Rng), as Optuna's GridSampler shuffles.
    let shuffled (rng: Rng) (space: Space) : Config[] =
        let a = enumerate space
        let s = Rng.stream rng
        for i in a.Length - 1 .. -1 .. 1 do
            let j = int (s.NextInt(int64 (i + 1)))
            let t = a[i]
            a[i] <- a[j]
            a[j] <- t
        a

    /// The first grid configuration no trial of the history has (any state), in grid order, or shuffled by the
    /// study seed when `shuffle`; throws when every configuration is taken (stop the study at `size`).
    let sampler (shuffle: bool) : Sampler =
        { Name = (if shuffle then "grid-shuffled" else "grid")
          Sample =
            fun settings space history _ ->
                let order = if shuffle then shuffled (Rng.create settings.Seed) space else enumerate space
                let taken = history |> Array.map (fun t -> t.Config) |> Collections.Generic.HashSet
                match order |> Array.tryFind (fun c -> not (taken.Contains c)) with
                | Some c -> c
                | None -> invalidOp (sprintf "grid: all %d configurations are taken" order.Length) }
