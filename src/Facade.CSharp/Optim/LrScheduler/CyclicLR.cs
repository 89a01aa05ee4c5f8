using Microsoft.FSharp.Core;
using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.CyclicLR</c> (Smith 2017): the lr goes from baseLr up to maxLr in stepSizeUp steps and
/// back in stepSizeDown steps, lr_t = baseLr + (maxLr − baseLr)·scale(t)·amplitude(t), scale rising 0→1 then falling
/// 1→0 within each cycle; amplitude is 1 (triangular), 1/2^(cycle−1) (triangular2) or γ^t (exp_range).
/// Construction sets each group's lr to baseLr. With cycleMomentum, the group's momentum (or beta1) moves inversely,
/// momentum_t = maxMomentum − (maxMomentum − baseMomentum)·scale(t)·amplitude(t). A custom scaleFn (torch's
/// <c>scale_fn</c>) replaces the amplitude: scaleFn(cycle) or scaleFn(t), by scaleMode.
/// </summary>
public sealed class CyclicLR : LRScheduler
{
    /// <summary>Attach a cyclic policy to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="baseLr">Lower bound of the cycle (≥ 0).</param>
    /// <param name="maxLr">Upper bound of the cycle (≥ 0).</param>
    /// <param name="stepSizeUp">Steps in the rising half (≥ 1).</param>
    /// <param name="stepSizeDown">Steps in the falling half (≥ 1); null: equal to stepSizeUp.</param>
    /// <param name="mode">Amplitude policy.</param>
    /// <param name="gamma">Base of the exp_range amplitude γ^t (&gt; 0).</param>
    /// <param name="cycleMomentum">Cycle the group's momentum (or Adam's beta1) inversely to the lr.</param>
    /// <param name="baseMomentum">Momentum at the lr's peak.</param>
    /// <param name="maxMomentum">Momentum at the lr's trough.</param>
    /// <param name="scaleFn">torch's <c>scale_fn</c>: a custom amplitude of the cycle number (scaleMode "cycle") or of the
    /// iteration (scaleMode "iterations"), used instead of <paramref name="mode"/>; null: the mode's own.</param>
    /// <param name="scaleMode">"cycle" (torch's default with a scaleFn) or "iterations": what scaleFn is given.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public CyclicLR(Optimizer optimizer, double baseLr, double maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true, double baseMomentum = 0.8, double maxMomentum = 0.9,
        Func<double, double>? scaleFn = null, string scaleMode = "cycle", int lastEpoch = -1)
        : this(optimizer, PerGroup(optimizer, nameof(baseLr), baseLr, null), PerGroup(optimizer, nameof(maxLr), maxLr, null),
            stepSizeUp, stepSizeDown, mode, gamma, cycleMomentum, baseMomentum, maxMomentum, scaleFn, scaleMode, lastEpoch) { }

    /// <summary>Attach a cyclic policy with bounds per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="baseLr">Lower bound of each group, in group order (≥ 0).</param>
    /// <param name="maxLr">Upper bound of each group, in group order (≥ 0).</param>
    /// <param name="stepSizeUp">Steps in the rising half (≥ 1).</param>
    /// <param name="stepSizeDown">Steps in the falling half (≥ 1); null: equal to stepSizeUp.</param>
    /// <param name="mode">Amplitude policy.</param>
    /// <param name="gamma">Base of the exp_range amplitude γ^t (&gt; 0).</param>
    /// <param name="cycleMomentum">Cycle the group's momentum (or Adam's beta1) inversely to the lr.</param>
    /// <param name="baseMomentum">Momentum at the lr's peak.</param>
    /// <param name="maxMomentum">Momentum at the lr's trough.</param>
    /// <param name="scaleFn">torch's <c>scale_fn</c>: a custom amplitude of the cycle number (scaleMode "cycle") or of the
    /// iteration (scaleMode "iterations"), used instead of <paramref name="mode"/>; null: the mode's own.</param>
    /// <param name="scaleMode">"cycle" (torch's default with a scaleFn) or "iterations": what scaleFn is given.</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public CyclicLR(Optimizer optimizer, double[] baseLr, double[] maxLr, int stepSizeUp = 2000, int? stepSizeDown = null,
        CyclicMode mode = CyclicMode.Triangular, double gamma = 1.0, bool cycleMomentum = true, double baseMomentum = 0.8, double maxMomentum = 0.9,
        Func<double, double>? scaleFn = null, string scaleMode = "cycle", int lastEpoch = -1)
        : base(optimizer, (i, _) => CoreOptim.LrSchedule.NewCyclicLr(new CoreOptim.CyclicArgs(
            PerGroup(optimizer, nameof(baseLr), 0.0, baseLr ?? throw new ArgumentNullException(nameof(baseLr)))[i],
            PerGroup(optimizer, nameof(maxLr), 0.0, maxLr ?? throw new ArgumentNullException(nameof(maxLr)))[i],
            stepSizeUp,
            stepSizeDown is int d ? FSharpOption<int>.Some(d) : FSharpOption<int>.None,
            Mode(mode, scaleFn, scaleMode),
            gamma, cycleMomentum, baseMomentum, maxMomentum)) , lastEpoch) { }

    private static CoreOptim.CyclicMode Mode(CyclicMode mode, Func<double, double>? scaleFn, string scaleMode)
    {
        if (scaleFn is not null)
            return CoreOptim.CyclicMode.NewCustomScale(FuncConvert.FromFunc(scaleFn), scaleMode switch
            {
                "cycle" => true,
                "iterations" => false,
                _ => throw new ArgumentException($"CyclicLR: scaleMode = \"{scaleMode}\" is invalid (expected \"cycle\" or \"iterations\")", nameof(scaleMode)),
            });
        return mode switch
        {
            CyclicMode.Triangular2 => CoreOptim.CyclicMode.Triangular2,
            CyclicMode.ExpRange => CoreOptim.CyclicMode.ExpRange,
            CyclicMode.Triangular => CoreOptim.CyclicMode.Triangular,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, $"CyclicLR: unknown mode {mode}"),
        };
    }
}
