using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.PolynomialLR</c>: lr_t = lr₀·(1 − min(t, T)/T)^power with T = totalIters.</summary>
public sealed class PolynomialLR : LRScheduler
{
    /// <summary>Attach a polynomial decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="totalIters">Steps until the lr reaches 0 (≥ 1).</param>
    /// <param name="power">Power of the polynomial (≥ 0).</param>
    public PolynomialLR(Optimizer optimizer, int totalIters = 5, double power = 1.0)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewPolynomialLr(totalIters, power)) { }
}
