using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary><c>torch.optim.lr_scheduler.ExponentialLR</c>: lr_t = lr₀·γ^t.</summary>
public sealed class ExponentialLR : LRScheduler
{
    /// <summary>Attach an exponential decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="gamma">Multiplicative factor per step (&gt; 0).</param>
    public ExponentialLR(Optimizer optimizer, double gamma)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewExponentialLr(gamma)) { }
}
