using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.ReduceLROnPlateau</c>: after more than <c>patience</c> steps without improvement of the
/// metric (outside a cooldown), each group's lr ← max(lr·factor, minLr), applied only when it changes the lr by more
/// than eps. An improvement is a &lt; best·(1 − threshold) (min, rel), a &lt; best − threshold (min, abs),
/// a &gt; best·(1 + threshold) (max, rel) or a &gt; best + threshold (max, abs). Like torch 1.13 it is not an
/// <see cref="LRScheduler"/>: its step takes the metric.
/// </summary>
public sealed class ReduceLROnPlateau : ICheckpointScheduler
{
    private readonly CoreOptim.PlateauHyper[] _hypers;
    private CoreOptim.PlateauState[] _states;

    /// <summary>Reduce the lr of every group of <paramref name="optimizer"/> when the metric stops improving.</summary>
    /// <param name="optimizer">The optimizer whose lrs are reduced.</param>
    /// <param name="mode">Whether the metric should decrease (Min) or increase (Max).</param>
    /// <param name="factor">Factor of each reduction, in [0, 1).</param>
    /// <param name="patience">Steps without improvement tolerated before a reduction (≥ 0).</param>
    /// <param name="threshold">Smallest change counted as an improvement (≥ 0).</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Steps after a reduction during which bad steps are not counted (≥ 0).</param>
    /// <param name="minLr">Lowest lr of every group (≥ 0).</param>
    /// <param name="eps">Smallest lr change that is applied (≥ 0).</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0.0, double eps = 1e-8)
        : this(optimizer, mode, factor, patience, threshold, thresholdMode, cooldown, PerGroupMinLr(optimizer, minLr), eps) { }

    /// <summary>Reduce the lrs with a floor per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs are reduced.</param>
    /// <param name="mode">Whether the metric should decrease (Min) or increase (Max).</param>
    /// <param name="factor">Factor of each reduction, in [0, 1).</param>
    /// <param name="patience">Steps without improvement tolerated before a reduction (≥ 0).</param>
    /// <param name="threshold">Smallest change counted as an improvement (≥ 0).</param>
    /// <param name="thresholdMode">Relative or absolute threshold.</param>
    /// <param name="cooldown">Steps after a reduction during which bad steps are not counted (≥ 0).</param>
    /// <param name="minLr">Lowest lr of each group, in group order (≥ 0).</param>
    /// <param name="eps">Smallest lr change that is applied (≥ 0).</param>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode, double factor, int patience,
        double threshold, ThresholdMode thresholdMode, int cooldown, double[] minLr, double eps)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        ArgumentNullException.ThrowIfNull(minLr, nameof(minLr));
        var groups = optimizer.ParamGroups;
        if (minLr.Length != groups.Count)
            throw new ArgumentException($"ReduceLROnPlateau: expected {groups.Count} values for minLr (one per parameter group), got {minLr.Length}", nameof(minLr));
        var coreMode = mode switch
        {
            PlateauMode.Min => CoreOptim.PlateauMode.Min,
            PlateauMode.Max => CoreOptim.PlateauMode.Max,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, $"ReduceLROnPlateau: unknown mode {mode}"),
        };
        var coreThreshold = thresholdMode switch
        {
            ThresholdMode.Rel => CoreOptim.ThresholdMode.Rel,
            ThresholdMode.Abs => CoreOptim.ThresholdMode.Abs,
            _ => throw new ArgumentOutOfRangeException(nameof(thresholdMode), thresholdMode, $"ReduceLROnPlateau: unknown thresholdMode {thresholdMode}"),
        };
        _hypers = minLr.Select(m => new CoreOptim.PlateauHyper(coreMode, factor, patience, threshold, coreThreshold, cooldown, m, eps)).ToArray();
        _states = _hypers.Select((h, i) => CoreOptim.Plateau.init(h, groups[i].Lr)).ToArray();
        Optimizer = optimizer;
    }

    private static double[] PerGroupMinLr(Optimizer optimizer, double minLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        return Enumerable.Repeat(minLr, optimizer.ParamGroups.Count).ToArray();
    }

    /// <summary>The optimizer whose lrs this scheduler reduces.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Steps taken (torch's <c>last_epoch</c>).</summary>
    public int LastEpoch => _states[0].LastEpoch;

    /// <summary>Best metric seen so far.</summary>
    public double Best => _states[0].Best;

    /// <summary>The lr of each parameter group after the last step.</summary>
    /// <returns>One lr per group, in group order.</returns>
    public double[] GetLastLr() => _states.Select(s => s.Lr).ToArray();

    /// <summary>Observe the metric of this epoch and reduce the lrs if it has not improved for too long.</summary>
    /// <param name="metric">The monitored value (a validation loss, for example).</param>
    public void Step(double metric)
    {
        var groups = Optimizer.ParamGroups;
        if (groups.Count != _states.Length)
            throw new InvalidOperationException($"ReduceLROnPlateau: the optimizer has {groups.Count} parameter groups but the scheduler was built for {_states.Length}");
        _states = _states.Select((s, i) => CoreOptim.Plateau.stepFrom(_hypers[i], groups[i].Lr, metric, s)).ToArray();
        for (int i = 0; i < _states.Length; i++) groups[i].Lr = _states[i].Lr;
    }

    /// <summary>The scheduler's state, for checkpointing.</summary>
    /// <returns>A state that <see cref="LoadStateDict"/> restores.</returns>
    public ReduceLROnPlateauState StateDict()
    {
        var s = _states[0];
        return new(s.Best, s.NumBadEpochs, s.CooldownCounter, s.LastEpoch, GetLastLr(), SchedulerArgs.Of(_hypers));
    }

    /// <summary>Restore a state saved by <see cref="StateDict"/>; also writes the saved lr into each group.</summary>
    /// <param name="state">The saved state.</param>
    public void LoadStateDict(ReduceLROnPlateauState state)
    {
        ArgumentNullException.ThrowIfNull(state, nameof(state));
        Apply(CheckStateDict(state));
    }

    // the group states a saved state restores; throws an ArgumentException naming the key that does not fit
    private CoreOptim.PlateauState[] CheckStateDict(ReduceLROnPlateauState state)
    {
        if (state.LastLr is null || state.LastLr.Length != _states.Length)
            throw new ArgumentException($"ReduceLROnPlateau: the state's '_last_lr' has {state.LastLr?.Length ?? 0} groups, the scheduler {_states.Length}", nameof(state));
        SchedulerArgs.Check("ReduceLROnPlateau", SchedulerArgs.Of(_hypers), state.Args);
        return state.LastLr.Select(lr => new CoreOptim.PlateauState(state.Best, state.NumBadEpochs, state.CooldownCounter, state.LastEpoch, lr)).ToArray();
    }

    private void Apply(CoreOptim.PlateauState[] states)
    {
        _states = states;
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < _states.Length; i++) groups[i].Lr = _states[i].Lr;
    }

    string ICheckpointScheduler.SaveJson() => Checkpoint.ToJson(StateDict());

    Action ICheckpointScheduler.Prepare(string json)
    {
        var states = CheckStateDict(Checkpoint.FromJson<ReduceLROnPlateauState>(json, "ReduceLROnPlateau"));
        return () => Apply(states);
    }
}
