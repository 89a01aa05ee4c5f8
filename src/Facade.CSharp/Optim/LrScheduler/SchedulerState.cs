namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// The counters of one schedule on one parameter group (torch's <c>last_epoch</c>, <c>base_lrs</c> entry, SGDR's
/// <c>T_cur</c>/<c>T_i</c>) and, for SequentialLR and ChainedScheduler, those of the inner schedulers.
/// </summary>
/// <param name="LastEpoch">Steps taken (0 right after construction).</param>
/// <param name="BaseLr">The group's base lr for this schedule.</param>
/// <param name="TCur">CosineAnnealingWarmRestarts: steps since the last restart.</param>
/// <param name="TI">CosineAnnealingWarmRestarts: length of the current cycle.</param>
/// <param name="Inner">States of the inner schedulers (empty for a simple schedule).</param>
public sealed record ScheduleState(int LastEpoch, double BaseLr, double TCur, int TI, ScheduleState[] Inner);

/// <summary>A scheduler's state on one parameter group: the group's lr, its initial lr and the schedule's counters.</summary>
/// <param name="Lr">The group's lr after the last step (what <see cref="LRScheduler.GetLastLr"/> returns).</param>
/// <param name="InitialLr">The group's initial lr (torch's <c>initial_lr</c>).</param>
/// <param name="Schedule">The schedule's counters.</param>
public sealed record LRSchedulerGroupState(double Lr, double InitialLr, ScheduleState Schedule);

/// <summary>
/// What <see cref="LRScheduler.StateDict"/> returns: plain numbers, safe to serialize (lambdas are not saved). Besides
/// the counters it carries the scheduler's arguments under torch's state-dict keys (<see cref="Args"/>:
/// <c>step_size</c>, <c>gamma</c>, <c>T_max</c>, <c>milestones</c>, ...; one value per group joined by "; " where they
/// are per group), and shows torch's <c>base_lrs</c>, <c>last_epoch</c> and <c>_last_lr</c>. Loading refuses a state
/// of another scheduler, another number of groups, or other arguments, naming the key that differs.
/// </summary>
/// <param name="Scheduler">The scheduler's class name, checked on load.</param>
/// <param name="Groups">One state per parameter group.</param>
/// <param name="Args">The scheduler's arguments by torch's key, formatted invariantly (round-trip doubles).</param>
public sealed record LRSchedulerState(string Scheduler, LRSchedulerGroupState[] Groups, IReadOnlyDictionary<string, string>? Args = null)
{
    /// <summary>torch's <c>base_lrs</c>: each group's base lr.</summary>
    public double[] BaseLrs => Groups?.Select(g => g?.Schedule?.BaseLr ?? double.NaN).ToArray() ?? Array.Empty<double>();

    /// <summary>torch's <c>last_epoch</c>: steps taken (0 right after construction, k + 1 when resumed with lastEpoch = k).</summary>
    public int LastEpoch => Groups is { Length: > 0 } && Groups[0]?.Schedule is ScheduleState s ? s.LastEpoch : 0;

    /// <summary>torch's <c>_last_lr</c>: each group's lr after the last step.</summary>
    public double[] LastLr => Groups?.Select(g => g?.Lr ?? double.NaN).ToArray() ?? Array.Empty<double>();
}

/// <summary>What <see cref="ReduceLROnPlateau.StateDict"/> returns.</summary>
/// <param name="Best">Best metric seen so far.</param>
/// <param name="NumBadEpochs">Steps since the last improvement.</param>
/// <param name="CooldownCounter">Steps of cooldown left.</param>
/// <param name="LastEpoch">Steps taken.</param>
/// <param name="LastLr">Each group's lr after the last step.</param>
/// <param name="Args">The scheduler's arguments under torch's keys (<c>mode</c>, <c>factor</c>, <c>patience</c>,
/// <c>threshold</c>, <c>threshold_mode</c>, <c>cooldown</c>, <c>min_lrs</c>, <c>eps</c>); loading refuses other ones,
/// naming the key.</param>
public sealed record ReduceLROnPlateauState(double Best, int NumBadEpochs, int CooldownCounter, int LastEpoch, double[] LastLr, IReadOnlyDictionary<string, string>? Args = null);
