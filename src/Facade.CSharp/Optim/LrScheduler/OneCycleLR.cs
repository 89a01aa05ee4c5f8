using CoreOptim = Hybrid.Core.Optim;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// <c>torch.optim.lr_scheduler.OneCycleLR</c> (Smith &amp; Topin 2017, "super-convergence"): the lr anneals from
/// maxLr/divFactor up to maxLr over the first pctStart·totalSteps steps, then down to
/// maxLr/(divFactor·finalDivFactor) (three phases: back to the initial lr first), each phase by
/// anneal(a, b, p) = b + (a − b)·(1 + cos(π·p))/2 (cos) or a + (b − a)·p (linear), p the fraction of the phase done.
/// With cycleMomentum, the group's momentum (or beta1) moves inversely between maxMomentum and baseMomentum.
/// Stepping more than totalSteps times throws InvalidOperationException.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    /// <summary>Attach a one-cycle policy to every group of <paramref name="optimizer"/>.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="maxLr">Peak lr (&gt; 0).</param>
    /// <param name="totalSteps">Steps in the cycle; when null, epochs·stepsPerEpoch.</param>
    /// <param name="epochs">Epochs, used with stepsPerEpoch when totalSteps is null.</param>
    /// <param name="stepsPerEpoch">Steps per epoch, used with epochs when totalSteps is null.</param>
    /// <param name="pctStart">Fraction of the cycle spent increasing the lr, in [0, 1].</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Cycle the group's momentum (or Adam's beta1) inversely to the lr.</param>
    /// <param name="baseMomentum">Momentum at the lr's peak.</param>
    /// <param name="maxMomentum">Momentum at the cycle's ends.</param>
    /// <param name="divFactor">Initial lr = maxLr/divFactor (&gt; 0).</param>
    /// <param name="finalDivFactor">Final lr = initial lr/finalDivFactor (&gt; 0).</param>
    /// <param name="threePhase">Use three phases (up, back down to the initial lr, then down to the final lr).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public OneCycleLR(Optimizer optimizer, double maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25.0, double finalDivFactor = 1e4, bool threePhase = false, int lastEpoch = -1)
        : this(optimizer, PerGroup(optimizer, nameof(maxLr), maxLr, null), totalSteps, epochs, stepsPerEpoch, pctStart, annealStrategy,
            cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase, lastEpoch) { }

    /// <summary>Attach a one-cycle policy with a peak lr per group.</summary>
    /// <param name="optimizer">The optimizer whose lrs are scheduled.</param>
    /// <param name="maxLr">Peak lr of each group, in group order (&gt; 0).</param>
    /// <param name="totalSteps">Steps in the cycle; when null, epochs·stepsPerEpoch.</param>
    /// <param name="epochs">Epochs, used with stepsPerEpoch when totalSteps is null.</param>
    /// <param name="stepsPerEpoch">Steps per epoch, used with epochs when totalSteps is null.</param>
    /// <param name="pctStart">Fraction of the cycle spent increasing the lr, in [0, 1].</param>
    /// <param name="annealStrategy">Cosine or linear annealing.</param>
    /// <param name="cycleMomentum">Cycle the group's momentum (or Adam's beta1) inversely to the lr.</param>
    /// <param name="baseMomentum">Momentum at the lr's peak.</param>
    /// <param name="maxMomentum">Momentum at the cycle's ends.</param>
    /// <param name="divFactor">Initial lr = maxLr/divFactor (&gt; 0).</param>
    /// <param name="finalDivFactor">Final lr = initial lr/finalDivFactor (&gt; 0).</param>
    /// <param name="threePhase">Use three phases (up, back down to the initial lr, then down to the final lr).</param>
    /// <param name="lastEpoch">torch's <c>last_epoch</c>: −1 (the default) starts the schedule; k ≥ 0 resumes it after step k, so that construction leaves the lr of step k + 1 (every group's <see cref="ParamGroup.InitialLr"/> must then be set, as torch requires <c>initial_lr</c>; loading the optimizer's state dict sets it).</param>
    public OneCycleLR(Optimizer optimizer, double[] maxLr, int? totalSteps = null, int? epochs = null, int? stepsPerEpoch = null,
        double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
        double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25.0, double finalDivFactor = 1e4, bool threePhase = false, int lastEpoch = -1)
        : base(optimizer, (i, _) => CoreOptim.LrSchedule.NewOneCycleLr(new CoreOptim.OneCycleArgs(
            PerGroup(optimizer, nameof(maxLr), 0.0, maxLr ?? throw new ArgumentNullException(nameof(maxLr)))[i],
            Total(totalSteps, epochs, stepsPerEpoch), pctStart,
            annealStrategy switch
            {
                AnnealStrategy.Cos => CoreOptim.AnnealStrategy.AnnealCos,
                AnnealStrategy.Linear => CoreOptim.AnnealStrategy.AnnealLinear,
                _ => throw new ArgumentOutOfRangeException(nameof(annealStrategy), annealStrategy, $"OneCycleLR: unknown annealStrategy {annealStrategy}"),
            },
            divFactor, finalDivFactor, threePhase, cycleMomentum, baseMomentum, maxMomentum)) , lastEpoch) { }

    private static int Total(int? totalSteps, int? epochs, int? stepsPerEpoch)
    {
        if (totalSteps is int t)
            return t >= 1 ? t : throw new ArgumentOutOfRangeException(nameof(totalSteps), t, $"OneCycleLR: totalSteps must be >= 1, got {t}");
        if (epochs is not int e || stepsPerEpoch is not int s)
            throw new ArgumentException("OneCycleLR: give totalSteps, or both epochs and stepsPerEpoch", nameof(totalSteps));
        if (e < 1) throw new ArgumentOutOfRangeException(nameof(epochs), e, $"OneCycleLR: epochs must be >= 1, got {e}");
        if (s < 1) throw new ArgumentOutOfRangeException(nameof(stepsPerEpoch), s, $"OneCycleLR: stepsPerEpoch must be >= 1, got {s}");
        return e * s;
    }
}
