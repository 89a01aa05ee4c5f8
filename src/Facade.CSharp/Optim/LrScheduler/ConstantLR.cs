using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.ConstantLR</c>: lr_t = lr₀·factor for t &lt; totalIters, then lr₀.</summary>
public sealed class ConstantLR : LRScheduler
{
    /// <summary>Attach a constant reduction to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="factor">Factor applied until totalIters, in (0, 1].</param>
    /// <param name="totalIters">Steps during which the factor applies (≥ 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public ConstantLR(Optimizer optimizer, double factor = 1.0 / 3.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewConstantLr(factor, totalIters), lastEpoch) { }
}
