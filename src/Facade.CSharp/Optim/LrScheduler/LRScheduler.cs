using CoreOptim = Hybrid.Core.Optim;
using CoreSchedule = Hybrid.Core.Optim.LrScheduleModule;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// Base class of the learning-rate schedulers (<c>torch.optim.lr_scheduler.LRScheduler</c>). Construction records
/// each group's <see cref="ParamGroup.InitialLr"/> (if unset) and performs the initial step, as torch does; every
/// <see cref="Step"/> then writes the new lr into each group's <see cref="ParamGroup.Lr"/>. Each group has its own
/// schedule state, so groups may start from different lrs. The schedule math lives in the core
/// (<c>Hybrid.Core.Optim.LrSchedule</c>); this class only carries its state between steps.
/// </summary>
public abstract class LRScheduler : ICheckpointScheduler
{
    private CoreOptim.LrScheduler[] _states;
    private readonly double[] _lrBefore;
    private readonly double[] _initialLrBefore;
    private LRScheduler? _owner;

    /// <summary>Attach one schedule per parameter group to <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose groups' lrs are scheduled.</param>
    /// <param name="scheduleOf">The schedule of the group at the given index.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 starts the schedule, k ≥ 0 resumes it after step k.</param>
    private protected LRScheduler(Optimizer optimizer, Func<int, ParamGroup, CoreOptim.LrSchedule> scheduleOf, int lastEpoch = -1)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        Optimizer = optimizer;
        var groups = optimizer.ParamGroups;
        Schedules = groups.Select((g, i) => scheduleOf(i, g)).ToArray();
        _lrBefore = groups.Select(g => g.Lr).ToArray();
        _initialLrBefore = groups.Select(g => g.InitialLr ?? double.NaN).ToArray();
        // everything is computed (and checked by the core) before any group changes
        CheckResume(lastEpoch, groups);
        _states = Schedules.Select((s, i) => CoreSchedule.createResumed(s, _lrBefore[i], _initialLrBefore[i], lastEpoch)).ToArray();
        CheckMomentum(_states, groups);
        Apply();
    }

    /// <summary>Compose already-built schedulers on <paramref name="optimizer"/> into one (SequentialLR, ChainedScheduler).</summary>
    /// <param name="optimizer">The optimizer the inner schedulers were built on.</param>
    /// <param name="schedulers">The inner schedulers, in the order they were built.</param>
    /// <param name="compose">The composite schedule of a group from its inner schedules.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c> of SequentialLR: the composite's counter starts at lastEpoch + 1.</param>
    private protected LRScheduler(Optimizer optimizer, LRScheduler[] schedulers, Func<CoreOptim.LrSchedule[], CoreOptim.LrSchedule> compose, int lastEpoch = -1)
    {
        Optimizer = optimizer;
        int n = optimizer.ParamGroups.Count;
        for (int k = 0; k < schedulers.Length; k++)
            if (schedulers[k].Schedules.Length != n)
                throw new ArgumentException($"{GetType().Name}: scheduler {k} covers {schedulers[k].Schedules.Length} parameter groups but the optimizer now has {n}", nameof(schedulers));
        Schedules = Enumerable.Range(0, n).Select(i => compose(schedulers.Select(s => s.Schedules[i]).ToArray())).ToArray();
        // the core replays the inner constructions from the lr the groups had before the first one
        _lrBefore = (double[])schedulers[0]._lrBefore.Clone();
        _initialLrBefore = (double[])schedulers[0]._initialLrBefore.Clone();
        if (lastEpoch < -1) throw new ArgumentOutOfRangeException(nameof(lastEpoch), lastEpoch, $"{GetType().Name}: lastEpoch = {lastEpoch} is invalid (expected -1 for a fresh schedule, or a step >= 0 to resume after)");
        _states = Schedules.Select((s, i) => CoreSchedule.createResumed(s, _lrBefore[i], _initialLrBefore[i], lastEpoch)).ToArray();
        foreach (var s in schedulers) s._owner = this;
        Apply();
    }

    /// <summary>The optimizer whose groups this scheduler drives.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The core schedule of each parameter group.</summary>
    internal CoreOptim.LrSchedule[] Schedules { get; }

    /// <summary>Steps taken since construction (torch's <c>last_epoch</c>; 0 right after construction).</summary>
    public virtual int LastEpoch => _states[0].State.LastEpoch;

    /// <summary>The core state of each group (for composites reading their inner counters).</summary>
    private protected CoreOptim.LrScheduler[] States => _states;

    /// <summary>The lr of each parameter group after the last step (torch's <c>get_last_lr()</c>).</summary>
    /// <returns>One lr per group, in group order.</returns>
    public double[] GetLastLr() => _states.Select(s => s.Lr).ToArray();

    /// <summary>
    /// Advance the schedule by one step and write the new lr into each group. Each group's current
    /// <see cref="ParamGroup.Lr"/> is read first, so an lr changed by hand (or by another scheduler) is taken into account.
    /// </summary>
    public void Step()
    {
        if (_owner is not null)
            throw new InvalidOperationException($"{GetType().Name}: this scheduler is driven by a {_owner.GetType().Name}; step that one instead");
        var groups = Optimizer.ParamGroups;
        if (groups.Count != _states.Length)
            throw new InvalidOperationException($"{GetType().Name}: the optimizer has {groups.Count} parameter groups but the scheduler was built for {_states.Length}");
        _states = _states.Select((s, i) => CoreSchedule.stepFrom(groups[i].Lr, s)).ToArray();
        Apply();
    }

    /// <summary>The scheduler's state (numbers only; a lambda is not saved), for checkpointing.</summary>
    /// <returns>A state that <see cref="LoadStateDict"/> restores.</returns>
    public LRSchedulerState StateDict() =>
        new(GetType().Name, _states.Select(s => new LRSchedulerGroupState(s.Lr, s.InitialLr, ToState(s.State))).ToArray(), SchedulerArgs.Of(Schedules));

    /// <summary>
    /// Restore a state saved by <see cref="StateDict"/> of a scheduler of the same kind and arguments; also writes the
    /// saved lr (and cycled momentum) into each group, so that stepping continues as the saved run would have.
    /// </summary>
    /// <param name="state">The saved state.</param>
    public void LoadStateDict(LRSchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state, nameof(state));
        _states = CheckStateDict(state);
        Apply();
    }

    /// <summary>The group states <paramref name="state"/> restores; throws an ArgumentException naming the key that does not fit, changing nothing.</summary>
    private CoreOptim.LrScheduler[] CheckStateDict(LRSchedulerState state)
    {
        if (state.Scheduler != GetType().Name)
            throw new ArgumentException($"{GetType().Name}: the state was saved by a {state.Scheduler} (key 'Scheduler')", nameof(state));
        if (state.Groups is null || state.Groups.Length != _states.Length)
            throw new ArgumentException($"{GetType().Name}: the state's 'base_lrs' has {state.Groups?.Length ?? 0} groups, the scheduler {_states.Length}", nameof(state));
        SchedulerArgs.Check(GetType().Name, SchedulerArgs.Of(Schedules), state.Args);
        var loaded = _states.Select((s, i) =>
        {
            var g = state.Groups[i] ?? throw new ArgumentException($"{GetType().Name}: group {i} of the state is null", nameof(state));
            return new CoreOptim.LrScheduler(s.Schedule, FromState(g.Schedule, s.State, i), g.Lr, g.InitialLr);
        }).ToArray();
        return loaded;
    }

    string ICheckpointScheduler.SaveJson() => Checkpoint.ToJson(StateDict());

    Action ICheckpointScheduler.Prepare(string json)
    {
        var loaded = CheckStateDict(Checkpoint.FromJson<LRSchedulerState>(json, GetType().Name));
        return () => { _states = loaded; Apply(); };
    }

    /// <summary>Write each group's lr, initial lr and (OneCycleLR, CyclicLR) momentum.</summary>
    private void Apply()
    {
        var groups = Optimizer.ParamGroups;
        for (int i = 0; i < _states.Length; i++)
        {
            groups[i].Lr = _states[i].Lr;
            groups[i].InitialLr = _states[i].InitialLr;
            var m = CoreSchedule.momentum(_states[i]);
            if (m is not null) Momentum.Set(groups[i], m.Value);
        }
    }

    /// <summary>torch's checks of <c>last_epoch</c>: −1 or a step ≥ 0; resuming needs every group's initial lr.</summary>
    private void CheckResume(int lastEpoch, IReadOnlyList<ParamGroup> groups)
    {
        if (lastEpoch < -1)
            throw new ArgumentOutOfRangeException(nameof(lastEpoch), lastEpoch, $"{GetType().Name}: lastEpoch = {lastEpoch} is invalid (expected -1 for a fresh schedule, or a step >= 0 to resume after)");
        if (lastEpoch == -1) return;
        for (int i = 0; i < groups.Count; i++)
            if (groups[i].InitialLr is null)
                throw new ArgumentException(
                    $"{GetType().Name}: lastEpoch = {lastEpoch} resumes a schedule, but parameter group {i} has no InitialLr (torch: \"param 'initial_lr' is not specified in param_groups[{i}] when resuming an optimizer\"); load the optimizer's state dict first or set InitialLr",
                    nameof(lastEpoch));
    }

    private void CheckMomentum(CoreOptim.LrScheduler[] states, IReadOnlyList<ParamGroup> groups)
    {
        for (int i = 0; i < states.Length; i++)
            if (CoreSchedule.momentum(states[i]) is not null && !Momentum.Has(groups[i]))
                throw new ArgumentException(
                    $"{GetType().Name}: cycleMomentum is true but parameter group {i} has neither a 'momentum' nor a 'betas' option; pass cycleMomentum: false",
                    "cycleMomentum");
    }

    private static ScheduleState ToState(CoreOptim.LrState s) =>
        new(s.LastEpoch, s.BaseLr, s.TCur, s.TI, s.Inner.Select(ToState).ToArray());

    private CoreOptim.LrState FromState(ScheduleState? s, CoreOptim.LrState like, int group)
    {
        if (s is null || s.Inner is null || s.Inner.Length != like.Inner.Length)
            throw new ArgumentException($"{GetType().Name}: the state of group {group} does not match this scheduler's schedule (key '_schedulers': {s?.Inner?.Length ?? 0} inner schedulers, expected {like.Inner.Length})", "state");
        return new CoreOptim.LrState(s.LastEpoch, s.BaseLr, s.TCur, s.TI, s.Inner.Select((x, k) => FromState(x, like.Inner[k], group)).ToArray());
    }

    /// <summary>One value per group: <paramref name="values"/> when given (its length must match), else <paramref name="value"/>.</summary>
    private protected static double[] PerGroup(Optimizer optimizer, string name, double value, double[]? values)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        int n = optimizer.ParamGroups.Count;
        if (values is null) return Enumerable.Repeat(value, n).ToArray();
        if (values.Length != n)
            throw new ArgumentException($"expected {n} values for {name} (one per parameter group), got {values.Length}", name);
        return values;
    }
}
