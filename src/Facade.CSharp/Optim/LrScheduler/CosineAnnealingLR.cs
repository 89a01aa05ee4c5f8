using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.CosineAnnealingLR</c>: lr_t = η_min + (lr₀ − η_min)·(1 + cos(π·t/T_max))/2, computed in
/// torch's recursive form (so the curve keeps oscillating with period 2·T_max past T_max, as torch's does).
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Attach a cosine annealing to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="tMax">Steps of the half cosine (torch's <c>T_max</c>, ≥ 1).</param>
    /// <param name="etaMin">Lowest lr (≥ 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0.0, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewCosineAnnealingLr(tMax, etaMin), lastEpoch) { }
}
