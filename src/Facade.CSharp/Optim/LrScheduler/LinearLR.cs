using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.LinearLR</c>: lr_t = lr₀·(s + (e − s)·min(t, T)/T) with s = startFactor,
/// e = endFactor, T = totalIters (a linear warm-up or decay).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Attach a linear ramp of the lr factor to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="startFactor">Factor at step 0, in (0, 1].</param>
    /// <param name="endFactor">Factor from step totalIters on, in [0, 1].</param>
    /// <param name="totalIters">Steps of the ramp (≥ 1).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3.0, double endFactor = 1.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, (_, _) => CoreOptim.LrSchedule.NewLinearLr(startFactor, endFactor, totalIters), lastEpoch) { }
}
