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

/// <summary>What <see cref="LRScheduler.StateDict"/> returns: plain numbers, safe to serialize (lambdas are not saved).</summary>
/// <param name="Scheduler">The scheduler's class name, checked on load.</param>
/// <param name="Groups">One state per parameter group.</param>
public sealed record LRSchedulerState(string Scheduler, LRSchedulerGroupState[] Groups);

/// <summary>What <see cref="ReduceLROnPlateau.StateDict"/> returns.</summary>
/// <param name="Best">Best metric seen so far.</param>
/// <param name="NumBadEpochs">Steps since the last improvement.</param>
/// <param name="CooldownCounter">Steps of cooldown left.</param>
/// <param name="LastEpoch">Steps taken.</param>
/// <param name="LastLr">Each group's lr after the last step.</param>
public sealed record ReduceLROnPlateauState(double Best, int NumBadEpochs, int CooldownCounter, int LastEpoch, double[] LastLr);
