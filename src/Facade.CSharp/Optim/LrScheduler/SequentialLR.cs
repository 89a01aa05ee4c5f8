using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.SequentialLR</c>: runs schedulers[0] until milestones[0], then schedulers[1] (restarted
/// from step 0) until milestones[1], and so on; lr_t = schedulers[i](t − milestones[i−1]) for
/// milestones[i−1] ≤ t &lt; milestones[i]. Build the inner schedulers on the same optimizer and pass them right away;
/// from then on step this scheduler only (stepping an inner one throws InvalidOperationException).
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    /// <summary>Chain <paramref name="schedulers"/> in time at <paramref name="milestones"/>.</summary>
    /// <param name="optimizer">The optimizer all the schedulers were built on.</param>
    /// <param name="schedulers">The schedulers, in the order they run (at least one).</param>
    /// <param name="milestones">Steps at which the next scheduler takes over (one fewer than schedulers, positive, strictly increasing).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: the step the composite counts from is lastEpoch + 1 (−1, the default: from 0); the inner schedulers keep their own.</param>
    public SequentialLR(Optimizer optimizer, LRScheduler[] schedulers, int[] milestones, int lastEpoch = -1)
        : base(Composite.Check(nameof(SequentialLR), optimizer ?? throw new ArgumentNullException(nameof(optimizer)), schedulers), schedulers,
            inner => CoreOptim.LrSchedule.NewSequentialLr(inner, Milestones(schedulers, milestones)), lastEpoch) { }

    private static int[] Milestones(LRScheduler[] schedulers, int[] milestones)
    {
        ArgumentNullException.ThrowIfNull(milestones, nameof(milestones));
        if (milestones.Length != schedulers.Length - 1)
            throw new ArgumentException($"SequentialLR: expected {schedulers.Length - 1} milestones for {schedulers.Length} schedulers, got {milestones.Length}", nameof(milestones));
        return (int[])milestones.Clone();
    }
}

/// <summary>Checks of the composite schedulers' arguments.</summary>
internal static class Composite
{
    /// <summary>Null, empty and foreign-optimizer checks; returns the shared optimizer.</summary>
    internal static Optimizer Check(string op, Optimizer? optimizer, LRScheduler[] schedulers)
    {
        ArgumentNullException.ThrowIfNull(schedulers, nameof(schedulers));
        if (schedulers.Length == 0) throw new ArgumentException($"{op}: needs at least one scheduler", nameof(schedulers));
        for (int k = 0; k < schedulers.Length; k++)
            if (schedulers[k] is null) throw new ArgumentNullException(nameof(schedulers), $"{op}: schedulers[{k}] is null");
        var opt = optimizer ?? schedulers[0].Optimizer;
        for (int k = 0; k < schedulers.Length; k++)
            if (!ReferenceEquals(schedulers[k].Optimizer, opt))
                throw new ArgumentException(
                    $"{op}: schedulers[{k}] ({schedulers[k].GetType().Name}) is a scheduler on a foreign optimizer; all schedulers must drive {(optimizer is null ? "schedulers[0]'s optimizer" : "the given optimizer")}",
                    nameof(schedulers));
        return opt;
    }
}
