using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.StepLR</c>: decays each group's lr by <c>gamma</c> every <c>stepSize</c> steps,
/// lr_t = lr₀·γ^⌊t/stepSize⌋.
/// </summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Attach a step decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="stepSize">Steps between two decays (≥ 1).</param>
    /// <param name="gamma">Multiplicative factor of each decay (&gt; 0).</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewStepLr(stepSize, gamma)) { }
}
