using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.ChainedScheduler</c>: every step, each scheduler steps in turn, each on the lr the
/// previous one left, so the factors multiply: e.g. ConstantLR then ExponentialLR gives lr₀·factor·γ^t before
/// totalIters. Build the inner schedulers on the same optimizer and pass them right away; from then on step this
/// scheduler only (stepping an inner one throws InvalidOperationException).
/// </summary>
public sealed class ChainedScheduler : LRScheduler
{
    /// <summary>Step <paramref name="schedulers"/> together.</summary>
    /// <param name="schedulers">The schedulers, in the order they were built (at least one, all on the same optimizer).</param>
    public ChainedScheduler(LRScheduler[] schedulers)
        : base(Composite.Check(nameof(ChainedScheduler), null, schedulers), schedulers, inner => CoreOptim.LrSchedule.NewChainedLr(inner)) { }

    /// <summary>Steps taken by the last inner scheduler (the chain itself keeps no counter, as in torch).</summary>
    public override int LastEpoch => States[0].State.Inner[^1].LastEpoch;
}
