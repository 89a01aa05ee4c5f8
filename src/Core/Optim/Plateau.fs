namespace Hybrid.Core.Optim

open System

/// Whether a lower or a higher metric is better.
type PlateauMode =
    | Min
    | Max

/// How an improvement is measured against the best value so far.
type ThresholdMode =
    /// better than best·(1 ∓ threshold).
    | Rel
    /// better than best ∓ threshold.
    | Abs

/// torch.optim.lr_scheduler.ReduceLROnPlateau arguments (same names and defaults).
type PlateauHyper =
    { Mode: PlateauMode
      Factor: float
      Patience: int
      Threshold: float
      ThresholdMode: ThresholdMode
      Cooldown: int
      MinLr: float
      Eps: float }

/// ReduceLROnPlateau's state: best metric, bad-epoch and cooldown counters, last epoch, and the group's lr.
type PlateauState =
    { Best: float
      NumBadEpochs: int
      CooldownCounter: int
      LastEpoch: int
      Lr: float }

/// ReduceLROnPlateau as a state transition on the observed metric.
module Plateau =

    /// torch's defaults: min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, min_lr 0, eps 1e-8.
    let defaults = { Mode = Min; Factor = 0.1; Patience = 10; Threshold = 1e-4; ThresholdMode = Rel; Cooldown = 0; MinLr = 0.0; Eps = 1e-8 }

    /// Throws (naming the argument and its value) on bad arguments.
    let check (h: PlateauHyper) =
        if Double.IsNaN h.Factor || h.Factor >= 1.0 || h.Factor < 0.0 then
            raise (ArgumentOutOfRangeException("factor", h.Factor, sprintf "ReduceLROnPlateau: factor must lie in [0, 1), got %g" h.Factor))
        Guard.atLeast "ReduceLROnPlateau" "patience" 0 h.Patience
        Guard.atLeast "ReduceLROnPlateau" "cooldown" 0 h.Cooldown
        Guard.nonNegative "ReduceLROnPlateau" "threshold" h.Threshold
        Guard.nonNegative "ReduceLROnPlateau" "minLr" h.MinLr
        Guard.nonNegative "ReduceLROnPlateau" "eps" h.Eps

    /// The state for a group whose lr is lr0 (best = the worst value of the mode).
    let init (hyper: PlateauHyper) (lr0: float) =
        check hyper
        Guard.nonNegative "ReduceLROnPlateau" "lr" lr0
        { Best = (match hyper.Mode with Min -> infinity | Max -> -infinity); NumBadEpochs = 0; CooldownCounter = 0; LastEpoch = 0; Lr = lr0 }

    /// torch's is_better: a < best(1 − threshold), a < best − threshold, a > best(1 + threshold), a > best + threshold.
    let isBetter (hyper: PlateauHyper) (a: float) (best: float) =
        match hyper.Mode, hyper.ThresholdMode with
        | Min, Rel -> a < best * (1.0 - hyper.Threshold)
        | Min, Abs -> a < best - hyper.Threshold
        | Max, Rel -> a > best * (hyper.Threshold + 1.0)
        | Max, Abs -> a > best + hyper.Threshold

    /// torch's `step(metric)` on a group whose lr is `currentLr`: after more than `patience` bad epochs
    /// (outside cooldown) lr ← max(lr·factor, min_lr), applied only if it changes lr by more than eps.
    let stepFrom (hyper: PlateauHyper) (currentLr: float) (metric: float) (state: PlateauState) =
        check hyper
        let best, bad = if isBetter hyper metric state.Best then metric, 0 else state.Best, state.NumBadEpochs + 1
        let cooldown, bad = if state.CooldownCounter > 0 then state.CooldownCounter - 1, 0 else state.CooldownCounter, bad
        let lr, cooldown, bad =
            if bad > hyper.Patience then
                let newLr = max (currentLr * hyper.Factor) hyper.MinLr
                (if currentLr - newLr > hyper.Eps then newLr else currentLr), hyper.Cooldown, 0
            else currentLr, cooldown, bad
        { Best = best; NumBadEpochs = bad; CooldownCounter = cooldown; LastEpoch = state.LastEpoch + 1; Lr = lr }

    /// torch's `step(metric)`.
    let step (hyper: PlateauHyper) (metric: float) (state: PlateauState) = stepFrom hyper state.Lr metric state
