using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.CosineAnnealingWarmRestarts</c> (SGDR, Loshchilov &amp; Hutter 2017):
/// lr_t = η_min + (lr₀ − η_min)·(1 + cos(π·T_cur/T_i))/2, where T_cur counts steps since the last restart and the
/// cycle length starts at T_0 and is multiplied by T_mult at each restart.
/// </summary>
public sealed class CosineAnnealingWarmRestarts : LRScheduler
{
    /// <summary>Attach warm restarts to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="t0">Length of the first cycle (torch's <c>T_0</c>, ≥ 1).</param>
    /// <param name="tMult">Factor by which each cycle is longer than the previous one (torch's <c>T_mult</c>, ≥ 1).</param>
    /// <param name="etaMin">Lowest lr (≥ 0).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public CosineAnnealingWarmRestarts(Optimizer optimizer, int t0, int tMult = 1, double etaMin = 0.0, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewCosineAnnealingWarmRestarts(t0, tMult, etaMin), lastEpoch) { }
}
