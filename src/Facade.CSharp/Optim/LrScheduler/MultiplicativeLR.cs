using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.MultiplicativeLR</c>: lr_t = lr_{t−1}·λ(t) for t ≥ 1, lr_0 = lr₀.</summary>
public sealed class MultiplicativeLR : LRScheduler
{
    /// <summary>Attach the same multiplier function to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="lrLambda">λ(t): the factor applied to the previous lr at step t.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public MultiplicativeLR(Optimizer optimizer, Func<int, double> lrLambda, int lastEpoch = -1)
        : this(optimizer, Lambdas.Repeat(optimizer, lrLambda), lastEpoch) { }

    /// <summary>Attach one multiplier function per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="lrLambda">λ_g(t) for each group g, in group order.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public MultiplicativeLR(Optimizer optimizer, Func<int, double>[] lrLambda, int lastEpoch = -1)
        : base(optimizer, (i, _) => CoreOptim.LrSchedule.NewMultiplicativeLr(Lambdas.Of(optimizer, lrLambda, nameof(lrLambda), i)), lastEpoch) { }
}
