namespace Hybrid.Core.Search

open System

/// TPE's options; `TpeOptions.Default` is Optuna's TPESampler defaults except Multivariate, Group and
/// ConstantLiar, which are on here (Optuna: off).
type TpeOptions =
    { /// Random trials before TPE starts (counting Complete and Pruned trials).
      StartupTrials: int
      /// Candidates drawn from l(x); the one maximising l(x)/g(x) is proposed.
      EiCandidates: int
      /// Weight of the prior kernel (uniform over the space) in each mixture.
      PriorWeight: float
      /// Bandwidths clipped below at (high - low)/min(100, 1 + kernels).
      MagicClip: bool
      /// Univariate only: whether the end points count as neighbours for the outermost bandwidths.
      ConsiderEndpoints: bool
      /// One joint Parzen estimator per group of co-occurring parameters (Falkner et al. 2018 style
      /// bandwidth 0.2·n^(-1/(d+4))·(high - low)) instead of one per parameter.
      Multivariate: bool
      /// Conditional spaces: parameters that always occur together in the history form a group, each group
      /// sampled from the trials that have it (Optuna's group=True).
      Group: bool
      /// Running trials count as the worst value, so parallel workers spread out.
      ConstantLiar: bool
      /// gamma(n): how many of the n observations are "good".
      Gamma: int -> int
      /// weights(n): the kernels' weights, oldest first.
      Weights: int -> float[]
      /// true: each continuous kernel is a truncated normal density, exp(-z²/2)/(σ·√(2π)·mass). false (default):
      /// the density without its 1/σ, as Optuna 3.1 computes it (its _truncnorm.logpdf omits -log σ): a kernel
      /// counts by its height, not its mass, so the narrow kernels of many observations weigh less against the
      /// prior, by σ^d in d dimensions. Measured on tuning seeds (bench/search/tune.fsx), false is the better
      /// sampler on Hartmann-6 and Branin, and it is what the Optuna 3.1 figures were obtained with.
      NormaliseKernels: bool }

/// The Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio & Kégl, "Algorithms for Hyper-Parameter
/// Optimization", NeurIPS 2011): split the observations at the gamma-quantile into good l(x) and bad g(x), fit a
/// Parzen mixture (truncated Gaussians in the transformed space, smoothed counts for categoricals, plus a prior
/// kernel) to each, draw candidates from l and propose argmax l(x)/g(x), which maximises expected improvement.
/// Details follow Optuna 3.1's TPESampler: gamma(n) = min(⌈0.1n⌉, 25), ramp weights for the oldest trials,
/// log and integer parameters in the transformed space, pruned trials ranked by (last step, its value).
module Tpe =
    /// Optuna's default_gamma: min(⌈0.1·n⌉, 25).
    let defaultGamma (n: int) = min (int (ceil (0.1 * float n))) 25

    /// Optuna's default_weights: all ones below 25, else a ramp 1/n..1 over the n - 25 oldest and ones for the newest 25.
    let defaultWeights (n: int) : float[] =
        if n < 25 then Array.create n 1.0
        else
            let m = n - 25
            Array.init n (fun i ->
                if i >= m then 1.0
                elif m = 1 then 1.0 / float n
                else 1.0 / float n + (1.0 - 1.0 / float n) * float i / float (m - 1))

    /// Optuna 3.1's defaults (its kernel heights included) with multivariate, grouped sampling and the constant liar on.
    let defaults =
        { StartupTrials = 10; EiCandidates = 24; PriorWeight = 1.0; MagicClip = true; ConsiderEndpoints = false
          Multivariate = true; Group = true; ConstantLiar = true; Gamma = defaultGamma; Weights = defaultWeights
          NormaliseKernels = false }

    // ---- Transformed coordinates ---------------------------------------------------------------------------

    /// A numeric parameter in the estimator's space: bounds, q (the integer step, 0 for continuous), log.
    [<Struct>]
    type private Axis = { Low: float; High: float; Q: float; Log: bool }

    let private axis (p: Param) =
        match p.Distribution with
        | Uniform(lo, hi) -> { Low = lo; High = hi; Q = 0.0; Log = false }
        | LogUniform(lo, hi) -> { Low = log lo; High = log hi; Q = 0.0; Log = true }
        | IntRange(lo, hi, step, false) -> { Low = float lo - 0.5 * float step; High = float hi + 0.5 * float step; Q = float step; Log = false }
        | IntRange(lo, hi, _, true) -> { Low = log (float lo - 0.5); High = log (float hi + 0.5); Q = 0.0; Log = true }
        | Categorical _ -> invalidOp "categorical"

    /// A value in the estimator's coordinates: log for log scales, the choice's index for categoricals.
    let private encode (p: Param) (v: ParamValue) =
        match p.Distribution with
        | Categorical cs -> float (Array.IndexOf(cs, v))
        | LogUniform _ | IntRange(_, _, _, true) -> log v.AsFloat
        | _ -> v.AsFloat

    /// A coordinate back to a value of the parameter: exp, then rounding to the step and clipping as Optuna.
    let private decode (p: Param) (x: float) =
        match p.Distribution with
        | Categorical cs -> cs[int x]
        | Uniform(lo, hi) -> ParamValue.Float(Math.Clamp(x, lo, hi))
        | LogUniform(lo, hi) -> ParamValue.Float(Math.Clamp(exp x, lo, hi))
        | IntRange(lo, hi, step, false) ->
            ParamValue.Int(Math.Clamp(lo + int64 (Math.Round((x - float lo) / float step, MidpointRounding.ToEven)) * step, lo, hi))
        | IntRange(lo, hi, _, true) -> ParamValue.Int(Math.Clamp(int64 (Math.Round(exp x, MidpointRounding.ToEven)), lo, hi))

    // ---- The normal distribution, in managed arithmetic -----------------------------------------------------

    /// erfc(x), fractional error < 1.2e-7 everywhere (Numerical Recipes' Chebyshev fit).
    let private erfc (x: float) =
        let z = abs x
        let t = 1.0 / (1.0 + 0.5 * z)
        let r =
            t * exp (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807
                     + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
        if x >= 0.0 then r else 2.0 - r

    /// Φ(x), the standard normal CDF.
    let private phi (x: float) = 0.5 * erfc (-x * 0.70710678118654752)

    /// Φ⁻¹(u) by Acklam's rational approximation (relative error 1.15e-9).
    let private phiInv (u: float) =
        let a = [| -3.969683028665376e+01; 2.209460984245205e+02; -2.759285104469687e+02; 1.383577518672690e+02; -3.066479806614716e+01; 2.506628277459239e+00 |]
        let b = [| -5.447609879822406e+01; 1.615858368580409e+02; -1.556989798598866e+02; 6.680131188771972e+01; -1.328068155288572e+01 |]
        let c = [| -7.784894002430293e-03; -3.223964580411365e-01; -2.400758277161838e+00; -2.549732539343734e+00; 4.374664141464968e+00; 2.938163982698783e+00 |]
        let d = [| 7.784695709041462e-03; 3.224671290700398e-01; 2.445134137142996e+00; 3.754408661907416e+00 |]
        let u = Math.Clamp(u, 1e-300, 1.0 - 1e-16)
        if u < 0.02425 then
            let q = sqrt (-2.0 * log u)
            (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        elif u > 1.0 - 0.02425 then
            let q = sqrt (-2.0 * log (1.0 - u))
            -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
        else
            let q = u - 0.5
            let r = q * q
            (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)

    /// log of the standard normal mass on [a, b], a <= b.
    let private logMass (a: float) (b: float) =
        // Compute on the side away from the mean so that the difference does not cancel; a tail beyond 8.3σ
        // (mass < 5e-17, below a double's resolution of 1) costs no erfc.
        if a > 0.0 then log (max (phi (-a) - (if b > 8.3 then 0.0 else phi (-b))) 1e-300)
        elif b < 0.0 then log (max (phi b - (if a < -8.3 then 0.0 else phi a)) 1e-300)
        else log (max (1.0 - (if a < -8.3 then 0.0 else phi a) - (if b > 8.3 then 0.0 else phi (-b))) 1e-300)

    let private log2Pi = log (2.0 * Math.PI)

    // ---- A Parzen mixture over one group ----------------------------------------------------------------------

    /// A mixture of K kernels (the observations, then the prior) over D numeric and C categorical axes.
    /// Arrays are kernel-major; Const[k] folds log w_k, -log σ, -½log 2π and -log P(accept) of every axis.
    type private Mixture =
        { K: int
          Axes: Axis[]
          Mu: float[]
          InvSigma: float[]
          Sigma: float[]
          Const: float[]
          /// Cumulative kernel weights, for drawing a kernel.
          Cum: float[]
          /// Per categorical axis: log probabilities [k * nChoices + c] and their cumulative rows.
          CatLog: float[][]
          CatProb: float[][]
          NChoices: int[] }

    let private fit (o: TpeOptions) (axes: Axis[]) (nChoices: int[]) (num: float[][]) (cat: int[][]) (n: int) : Mixture =
        let d, c = axes.Length, nChoices.Length
        let k = n + 1
        let w = Array.zeroCreate k
        let ws = o.Weights n
        for i in 0 .. n - 1 do w[i] <- ws[i]
        w[n] <- o.PriorWeight
        let total = Array.sum w
        for i in 0 .. k - 1 do w[i] <- w[i] / total
        let mu = Array.zeroCreate (k * d)
        let sigma = Array.zeroCreate (k * d)
        let sigma0 = 0.2 * Math.Pow(float (max n 1), -1.0 / float (d + c + 4))
        for a in 0 .. d - 1 do
            let ax = axes[a]
            let range = ax.High - ax.Low
            for i in 0 .. n - 1 do mu[i * d + a] <- num[a][i]
            mu[n * d + a] <- 0.5 * (ax.Low + ax.High)
            if o.Multivariate then
                for i in 0 .. n - 1 do sigma[i * d + a] <- sigma0 * range
            else
                // Univariate: the larger gap to the sorted neighbours (end points as neighbours unless excluded).
                let mus = Array.init k (fun i -> mu[i * d + a])
                let order = Array.init k id
                Array.sortInPlaceWith (fun i j -> if mus[i] < mus[j] then -1 elif mus[i] > mus[j] then 1 else compare i j) order
                let sorted = Array.append (Array.append [| ax.Low |] (order |> Array.map (fun i -> mus[i]))) [| ax.High |]
                let ss = Array.init k (fun j -> max (sorted[j + 1] - sorted[j]) (sorted[j + 2] - sorted[j + 1]))
                if not o.ConsiderEndpoints && sorted.Length >= 4 then
                    ss[0] <- sorted[2] - sorted[1]
                    ss[k - 1] <- sorted[k] - sorted[k - 1]
                order |> Array.iteri (fun j i -> sigma[i * d + a] <- ss[j])
            let minSigma = if o.MagicClip then range / min 100.0 (1.0 + float k) else 1e-12
            for i in 0 .. n - 1 do sigma[i * d + a] <- Math.Clamp(sigma[i * d + a], minSigma, range)
            sigma[n * d + a] <- range
        let inv = sigma |> Array.map (fun s -> 1.0 / s)
        let cst = Array.init k (fun i ->
            let mutable s = log w[i]
            for a in 0 .. d - 1 do
                let ax = axes[a]
                let m, sg = mu[i * d + a], sigma[i * d + a]
                s <- s - logMass ((ax.Low - m) / sg) ((ax.High - m) / sg)
                if ax.Q = 0.0 then s <- s - (if o.NormaliseKernels then log sg else 0.0) - 0.5 * log2Pi
            s)
        let cum = Array.scan (+) 0.0 w |> Array.tail
        let catProb =
            Array.init c (fun a ->
                let nc = nChoices[a]
                let p = Array.create (k * nc) (o.PriorWeight / float k)
                for i in 0 .. n - 1 do p[i * nc + cat[a][i]] <- p[i * nc + cat[a][i]] + 1.0
                for i in 0 .. k - 1 do
                    let row = Span<float>(p, i * nc, nc)
                    let mutable t = 0.0
                    for v in row do t <- t + v
                    for j in 0 .. nc - 1 do row[j] <- row[j] / t
                p)
        { K = k; Axes = axes; Mu = mu; Sigma = sigma; InvSigma = inv; Const = cst; Cum = cum
          CatLog = catProb |> Array.map (Array.map log); CatProb = catProb; NChoices = nChoices }

    /// m candidates drawn from the mixture: a kernel by weight, then a truncated normal per numeric axis (by the
    /// inverse CDF, as Optuna) snapped to integer steps, and a choice per categorical axis.
    let private draw (mx: Mixture) (snap: int -> float -> float) (rng: RngStream) (m: int) =
        let d, c = mx.Axes.Length, mx.NChoices.Length
        let num = Array.zeroCreate (m * d)
        let cat = Array.zeroCreate (m * c)
        for j in 0 .. m - 1 do
            let u = rng.NextFloat()
            let mutable k = 0
            while k < mx.K - 1 && mx.Cum[k] <= u do k <- k + 1
            for a in 0 .. d - 1 do
                let ax = mx.Axes[a]
                let m0, s = mx.Mu[k * d + a], mx.Sigma[k * d + a]
                let pa, pb = phi ((ax.Low - m0) / s), phi ((ax.High - m0) / s)
                let x = m0 + s * phiInv (pa + (pb - pa) * rng.NextOpenFloat())
                num[j * d + a] <- snap a (Math.Clamp(x, ax.Low, ax.High))
            for a in 0 .. c - 1 do
                let nc = mx.NChoices[a]
                let u = rng.NextFloat()
                let p = mx.CatProb[a]
                let mutable acc = p[k * nc]
                let mutable i = 0
                while i < nc - 1 && acc <= u do
                    i <- i + 1
                    acc <- acc + p[k * nc + i]
                cat[j * c + a] <- i
        num, cat

    /// log p(x) of each candidate under the mixture: log Σ_k exp(Const_k + Σ_axes log kernel), with a log-sum-exp
    /// over kernels. The continuous axes' quadratic terms run over the kernels in SIMD lanes (axis-major copies of
    /// μ and 1/σ); one scratch row of K values serves every candidate.
    let private logPdf (mx: Mixture) (num: float[]) (cat: int[]) (m: int) : float[] =
        let d, c, k = mx.Axes.Length, mx.NChoices.Length, mx.K
        let muT = Array.init d (fun a -> Array.init k (fun i -> mx.Mu[i * d + a]))
        let invT = Array.init d (fun a -> Array.init k (fun i -> mx.InvSigma[i * d + a]))
        let out = Array.zeroCreate m
        let row = Array.zeroCreate k
        let lanes = Numerics.Vector<float>.Count
        let half = Numerics.Vector<float>(0.5)
        for j in 0 .. m - 1 do
            Array.blit mx.Const 0 row 0 k
            for a in 0 .. d - 1 do
                let ax = mx.Axes[a]
                let x = num[j * d + a]
                let mu, inv = muT[a], invT[a]
                if ax.Q = 0.0 then
                    let xv = Numerics.Vector<float>(x)
                    let mutable i = 0
                    while i + lanes <= k do
                        let z = (xv - Numerics.Vector<float>(mu, i)) * Numerics.Vector<float>(inv, i)
                        (Numerics.Vector<float>(row, i) - half * z * z).CopyTo(row, i)
                        i <- i + lanes
                    while i < k do
                        let z = (x - mu[i]) * inv[i]
                        row[i] <- row[i] - 0.5 * z * z
                        i <- i + 1
                else
                    // Mass of the integer's cell [x - q/2, x + q/2] ∩ [low, high] (Optuna's discrete log-pdf).
                    for i in 0 .. k - 1 do
                        let z = (x - mu[i]) * inv[i]
                        let h = 0.5 * ax.Q * inv[i]
                        let lo = max (z - h) ((ax.Low - mu[i]) * inv[i])
                        let hi = min (z + h) ((ax.High - mu[i]) * inv[i])
                        row[i] <- row[i] + logMass lo hi
            for a in 0 .. c - 1 do
                let nc = mx.NChoices[a]
                let lp = mx.CatLog[a]
                let x = cat[j * c + a]
                for i in 0 .. k - 1 do row[i] <- row[i] + lp[i * nc + x]
            let mutable best = Double.NegativeInfinity
            for i in 0 .. k - 1 do
                if row[i] > best then best <- row[i]
            // terms below e^-40 (4e-18 of the largest) change the sum of up to 1,000 kernels by less than 5e-15
            let mutable acc = 0.0
            for i in 0 .. k - 1 do
                let t = row[i] - best
                if t > -40.0 then acc <- acc + exp t
            out[j] <- best + log acc
        out

    // ---- History -------------------------------------------------------------------------------------------

    /// A trial's rank key, Optuna's (-step, loss): Complete (-∞, loss); Pruned (-last step, its loss);
    /// Running (+∞, +∞) under the constant liar.
    let private rankKey (d: Direction) (t: Trial) =
        match t.State with
        | Complete -> struct (Double.NegativeInfinity, (match t.Value with Some v when not (Double.IsNaN v) -> Direction.toLoss d v | _ -> infinity))
        | Pruned ->
            match Trial.lastIntermediate t with
            | Some(step, v) -> struct (-float step, (if Double.IsNaN v then infinity else Direction.toLoss d v))
            | None -> struct (1.0, 0.0)
        | _ -> struct (infinity, infinity)

    /// The usable trials in number order, column by column: cols[p][t] is parameter p of trial t in the estimator's
    /// coordinates, NaN where the trial lacks it (one pass over each trial's configuration).
    let private columns (space: Space) (trials: Trial[]) =
        let ps = space.Params
        let index = Collections.Generic.Dictionary<string, int>(ps.Length)
        ps |> Array.iteri (fun i p -> index[p.Name] <- i)
        let cols = Array.init ps.Length (fun _ -> Array.create trials.Length nan)
        // a lookup per (trial, parameter): enumerating an F# Map allocates an iterator and walks the tree, slower
        for ti in 0 .. trials.Length - 1 do
            let config = trials[ti].Config
            for j in 0 .. ps.Length - 1 do
                match config.TryGetValue ps[j].Name with
                | true, v -> cols[j][ti] <- encode ps[j] v
                | _ -> ()
        cols

    /// Groups of parameters that co-occur in every observed trial (the atoms of the partition generated by the
    /// trials' parameter sets, Optuna's group decomposition), as parameter indices; a parameter no finished trial
    /// has belongs to no group.
    let private groups (cols: float[][]) (finished: bool[]) : int[][] =
        // pattern j: which finished trials have parameter j
        let pattern = cols |> Array.map (fun col -> Array.init finished.Length (fun ti -> finished[ti] && not (Double.IsNaN col[ti])))
        let seen = [| 0 .. cols.Length - 1 |] |> Array.filter (fun j -> Array.contains true pattern[j])
        let out = ResizeArray<ResizeArray<int>>()
        for j in seen do
            match out |> Seq.tryFind (fun g -> MemoryExtensions.SequenceEqual(ReadOnlySpan pattern[g[0]], ReadOnlySpan pattern[j])) with
            | Some g -> g.Add j
            | None -> out.Add(ResizeArray [ j ])
        out |> Seq.map (fun g -> g.ToArray()) |> Array.ofSeq

    /// Proposes values for one group from the trials that have it: split by rank into below/above, fit l and g,
    /// return the candidate maximising log l - log g.
    let private sampleGroup (o: TpeOptions) (ps: Param[]) (group: int[]) (cols: float[][]) (isBelow: bool[]) (rng: RngStream) =
        // Within a group, parameters in name order (Optuna sorts them), numeric axes before categorical ones.
        let group = group |> Array.sortBy (fun j -> ps[j].Name)
        let isCat j = match ps[j].Distribution with Categorical _ -> true | _ -> false
        let numeric = group |> Array.filter (isCat >> not)
        let categorical = group |> Array.filter isCat
        let axes = numeric |> Array.map (fun j -> axis ps[j])
        let nChoices = categorical |> Array.map (fun j -> match ps[j].Distribution with Categorical cs -> cs.Length | _ -> 0)
        let has = cols[group[0]]
        let side below =
            let rows = [| for ti in 0 .. isBelow.Length - 1 do if isBelow[ti] = below && not (Double.IsNaN has[ti]) then ti |]
            let num = numeric |> Array.map (fun j -> rows |> Array.map (fun ti -> cols[j][ti]))
            let cat = categorical |> Array.map (fun j -> rows |> Array.map (fun ti -> int cols.[j].[ti]))
            fit o axes nChoices num cat rows.Length
        let l, g = side true, side false
        let snap a (x: float) = let p = ps[numeric[a]] in encode p (decode p x)
        let m = max 1 o.EiCandidates
        let num, cat = draw l snap rng m
        let ll, lg = logPdf l num cat m, logPdf g num cat m
        let mutable best = 0
        for j in 1 .. m - 1 do
            if ll[j] - lg[j] > ll[best] - lg[best] then best <- j
        let dn, dc = numeric.Length, categorical.Length
        Seq.append
            (numeric |> Seq.mapi (fun a j -> ps[j].Name, decode ps[j] num[best * dn + a]))
            (categorical |> Seq.mapi (fun a j -> ps[j].Name, decode ps[j] (float cat[best * dc + a])))

    /// One TPE suggestion: random until StartupTrials trials are Complete or Pruned, then per group a TPE
    /// proposal; parameters never observed (or activated by the proposal for the first time) drawn from the prior.
    let sample (o: TpeOptions) (settings: StudySettings) (space: Space) (history: Trial[]) (rng: Rng) : Config =
        let s = Rng.stream rng
        let usable =
            history
            |> Array.filter (fun t -> t.State = Complete || t.State = Pruned || (o.ConstantLiar && t.State = Running))
            |> Array.sortBy (fun t -> t.Number)
        let finished = usable |> Array.map (fun t -> t.State <> Running)
        let nFinished = finished |> Array.sumBy (fun f -> if f then 1 else 0)
        if nFinished < o.StartupTrials then RandomSampler.sample space rng
        else
            let ps = space.Params
            let cols = columns space usable
            // Below: the gamma(n) best by (step key, loss, number); running trials rank last.
            let keys = usable |> Array.map (rankKey settings.Direction)
            let order = Array.init usable.Length id
            Array.sortInPlaceWith (fun i j ->
                let struct (s1, l1) = keys[i]
                let struct (s2, l2) = keys[j]
                if s1 < s2 then -1 elif s1 > s2 then 1 elif l1 < l2 then -1 elif l1 > l2 then 1 else compare i j) order
            let isBelow = Array.zeroCreate usable.Length
            for r in 0 .. min (o.Gamma nFinished) order.Length - 1 do isBelow[order[r]] <- true
            let observed j =
                let col = cols[j]
                let mutable any = false
                for ti in 0 .. usable.Length - 1 do
                    if finished[ti] && not (Double.IsNaN col[ti]) then any <- true
                any
            let gs =
                if o.Multivariate && o.Group then groups cols finished
                elif o.Multivariate then
                    // Without grouping: one joint group of the parameters every finished trial has, the others alone.
                    let every j = Seq.forall (fun ti -> not finished[ti] || not (Double.IsNaN cols.[j].[ti])) (seq { 0 .. usable.Length - 1 })
                    let all = [| 0 .. ps.Length - 1 |] |> Array.filter every
                    let rest = [| 0 .. ps.Length - 1 |] |> Array.filter (fun j -> not (every j) && observed j) |> Array.map (fun j -> [| j |])
                    if all.Length > 0 then Array.append [| all |] rest else rest
                else [| 0 .. ps.Length - 1 |] |> Array.filter observed |> Array.map (fun j -> [| j |])
            let proposed = Collections.Generic.Dictionary<string, ParamValue>()
            for g in gs do
                for k, v in sampleGroup o ps g cols isBelow s do proposed[k] <- v
            Space.build space (fun _ p -> match proposed.TryGetValue p.Name with | true, v -> v | _ -> RandomSampler.sampleParam s p)

    /// The TPE sampler with these options.
    let sampler (o: TpeOptions) : Sampler =
        { Name = (if o.Multivariate then "tpe" else "tpe-univariate"); Sample = sample o }
