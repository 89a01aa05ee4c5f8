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
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewStepLr(stepSize, gamma), lastEpoch) { }
}
