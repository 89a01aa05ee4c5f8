namespace Hybrid.Core.Search

open System

/// Parameter importance by the correlation ratio (Pearson's η², the first-order main effect):
/// η²_p = Σ_b n_b (ȳ_b - ȳ)² / Σ_i (y_i - ȳ)² over the Complete trials that have p, with the trials binned by p's
/// value (categoricals by choice, numbers into up to min(10, ⌊√n⌋) equal-count bins in the transformed space: log
/// for log scales), then normalised to sum to 1 over the parameters. It is the single-parameter variance share
/// that fANOVA (Hutter et al., ICML 2014) estimates with a random forest, estimated here by binning instead: no
/// model to fit, deterministic, and meaningful at the 20-100 trials a search runs; it does not see interactions.
module Importance =
    /// The binned value of each trial for one parameter.
    let private bins (p: Param) (xs: ParamValue[]) : int[] =
        match p.Distribution with
        | Categorical cs -> xs |> Array.map (fun v -> Array.IndexOf(cs, v))
        | _ ->
            let t (v: ParamValue) = match p.Distribution with LogUniform _ | IntRange(_, _, _, true) -> log v.AsFloat | _ -> v.AsFloat
            let n = xs.Length
            let nb = max 1 (min 10 (int (sqrt (float n))))
            let order = Array.init n id |> Array.sortBy (fun i -> t xs[i])
            let out = Array.zeroCreate n
            // Equal-count bins; equal values share a bin.
            let mutable b = 0
            for r in 0 .. n - 1 do
                let i = order[r]
                if r > 0 && t xs[i] <> t xs[order[r - 1]] && r * nb / n > b then b <- r * nb / n
                out[i] <- b
            out

    /// η² of one parameter over (value, objective) pairs; 0 with fewer than two trials or no variance.
    let correlationRatio (p: Param) (xs: ParamValue[]) (ys: float[]) =
        if ys.Length < 2 then 0.0
        else
            let mean = Array.average ys
            let total = ys |> Array.sumBy (fun y -> (y - mean) ** 2.0)
            if total <= 0.0 then 0.0
            else
                let between =
                    Array.zip (bins p xs) ys |> Array.groupBy fst
                    |> Array.sumBy (fun (_, g) -> let m = g |> Array.averageBy snd in float g.Length * (m - mean) ** 2.0)
                between / total

    /// Each parameter's share of importance (sums to 1 unless every share is 0), most important first; a pure
    /// function of the Complete trials with a finite value.
    let compute (space: Space) (history: Trial[]) : (string * float)[] =
        let done' = history |> Array.filter (fun t -> t.State = Complete && (match t.Value with Some v -> Double.IsFinite v | None -> false)) |> Array.sortBy (fun t -> t.Number)
        let raw =
            space.Params |> Array.map (fun p ->
                let ts = done' |> Array.filter (fun t -> t.Config.ContainsKey p.Name)
                p.Name, correlationRatio p (ts |> Array.map (fun t -> t.Config[p.Name])) (ts |> Array.map (fun t -> t.Value.Value)))
        let total = raw |> Array.sumBy snd
        raw |> Array.map (fun (n, v) -> n, (if total > 0.0 then v / total else 0.0)) |> Array.sortBy (fun (n, v) -> -v, n)
