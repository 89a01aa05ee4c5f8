using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.PolynomialLR</c>: lr_t = lr₀·(1 − min(t, T)/T)^power with T = totalIters.</summary>
public sealed class PolynomialLR : LRScheduler
{
    /// <summary>Attach a polynomial decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="totalIters">Steps until the lr reaches 0 (≥ 1).</param>
    /// <param name="power">Power of the polynomial (≥ 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public PolynomialLR(Optimizer optimizer, int totalIters = 5, double power = 1.0, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewPolynomialLr(totalIters, power), lastEpoch) { }
}
