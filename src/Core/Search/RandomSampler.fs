namespace Hybrid.Core.Search

open System

/// Random search (Bergstra & Bengio, JMLR 2012): each active parameter drawn independently from its prior.
/// Uniform: low + (high - low)·u; log-uniform: exp(log low + (log high - log low)·u); integers: a uniform
/// index into {low, low + step, ..., high}, or with log = true exp(U[log(low - 0.5), log(high + 0.5)]) rounded
/// (each integer's mass is the log-width of its rounding interval, as in Optuna).
module RandomSampler =
    /// One draw from the parameter's prior.
    let sampleParam (rng: RngStream) (p: Param) : ParamValue =
        match p.Distribution with
        | Categorical cs -> cs[int (rng.NextInt(int64 cs.Length))]
        | Uniform(lo, hi) -> ParamValue.Float(lo + (hi - lo) * rng.NextFloat())
        | LogUniform(lo, hi) ->
            let a, b = log lo, log hi
            ParamValue.Float(Math.Clamp(exp (a + (b - a) * rng.NextFloat()), lo, hi))
        | IntRange(lo, hi, step, false) -> ParamValue.Int(lo + step * rng.NextInt((hi - lo) / step + 1L))
        | IntRange(lo, hi, _, true) ->
            let a, b = log (float lo - 0.5), log (float hi + 0.5)
            let x = Math.Round(exp (a + (b - a) * rng.NextFloat()), MidpointRounding.ToEven)
            ParamValue.Int(Math.Clamp(int64 x, lo, hi))

    /// A configuration of the space's active parameters, drawn in the space's order (parents first).
    let sample (space: Space) (rng: Rng) : Config =
        let s = Rng.stream rng
        Space.build space (fun _ p -> sampleParam s p)

    /// The random sampler; ignores the history.
    let sampler : Sampler = { Name = "random"; Sample = fun _ space _ rng -> sample space rng }
