using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.ExponentialLR</c>: lr_t = lr₀·γ^t.</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Attach an exponential decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="gamma">Multiplicative factor per step (&gt; 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public ExponentialLR(Optimizer optimizer, double gamma, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewExponentialLr(gamma), lastEpoch) { }
}
