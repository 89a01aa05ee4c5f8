namespace Hybrid.Core.Optim

open System
open Hybrid.Core

/// How SWALR moves from the optimizer's lr to the SWA lr.
type SwaAnneal =
    /// α(t) = (1 − cos πt)/2.
    | CosAnneal
    /// α(t) = t.
    | LinearAnneal

/// Weight averaging (torch.optim.swa_utils): stochastic weight averaging (Izmailov et al. 2018, "Averaging Weights
/// Leads to Wider Optima and Better Generalization") and exponential moving averages of weights, and SWALR's lr.
module Swa =

    /// SWA's running mean after n models have been averaged: w̄ ← w̄ + (w − w̄)/(n + 1).
    let average (n: int64) (avg: Tensor) (w: Tensor) =
        if n < 0L then raise (ArgumentOutOfRangeException("n", n, sprintf "swa: the number of averaged models must be >= 0, got %d" n))
        use _ = GradMode.NoGrad()
        avg + (w - avg) * (1.0 / float (n + 1L))

    /// The exponential moving average of weights: w̄ ← d·w̄ + (1 − d)·w, decay d ∈ [0, 1].
    let ema (decay: float) (avg: Tensor) (w: Tensor) =
        if Double.IsNaN decay || decay < 0.0 || decay > 1.0 then
            raise (ArgumentOutOfRangeException("decay", decay, sprintf "ema: decay must lie in [0, 1], got %g" decay))
        use _ = GradMode.NoGrad()
        avg * decay + w * (1.0 - decay)

    let private alpha (anneal: SwaAnneal) (t: float) =
        match anneal with
        | CosAnneal -> (1.0 - Math.Cos(Math.PI * t)) / 2.0
        | LinearAnneal -> t

    /// torch's SWALR lr at scheduler step `step` (0 at construction) from the group's current lr:
    /// with α = anneal(t), t = clamp(step / max(1, E), 0, 1) over E anneal epochs, the lr before the last step is
    /// recovered as lr₀ = (lr − α′·swaLr)/(1 − α′) (α′ at the previous step; swaLr when α′ = 1), and the new lr is
    /// swaLr·α + lr₀·(1 − α). A chainable rule: an lr changed by hand between steps is taken into account.
    let swalrLr (anneal: SwaAnneal) (annealEpochs: int) (swaLr: float) (step: int) (lr: float) =
        if annealEpochs < 0 then raise (ArgumentOutOfRangeException("annealEpochs", annealEpochs, sprintf "swalr: annealEpochs must be >= 0, got %d" annealEpochs))
        let step = if annealEpochs = 0 then max 1 step else step
        let clamp01 (v: float) = max 0.0 (min 1.0 v)
        let prevAlpha = alpha anneal (clamp01 (float (step - 1) / float (max 1 annealEpochs)))
        let prevLr = if prevAlpha = 1.0 then swaLr else (lr - prevAlpha * swaLr) / (1.0 - prevAlpha)
        let a = alpha anneal (clamp01 (float step / float (max 1 annealEpochs)))
        swaLr * a + prevLr * (1.0 - a)
