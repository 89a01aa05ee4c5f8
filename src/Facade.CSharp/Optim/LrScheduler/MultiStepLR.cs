using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.MultiStepLR</c>: decays each group's lr by <c>gamma</c> at each milestone,
/// lr_t = lr₀·γ^(number of milestones ≤ t).
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    /// <summary>Attach a milestone decay to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="milestones">Steps at which the lr is multiplied by gamma (strictly increasing).</param>
    /// <param name="gamma">Multiplicative factor of each decay (&gt; 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public MultiStepLR(Optimizer optimizer, int[] milestones, double gamma = 0.1, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewMultiStepLr(
            (int[])(milestones ?? throw new ArgumentNullException(nameof(milestones))).Clone(), gamma), lastEpoch) { }
}
