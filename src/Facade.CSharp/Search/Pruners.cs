using CorePruner = Hybrid.Core.Search.Pruner;

namespace Hybrid.Search;

/// <summary>Decides, after each <see cref="Trial.Report"/>, whether a trial should stop early.</summary>
public abstract class Pruner
{
    internal abstract CorePruner Core { get; }

    private protected Pruner() { }
}

/// <summary>Never prunes: every trial runs its full budget.</summary>
public sealed class NopPruner : Pruner
{
    internal override CorePruner Core => Hybrid.Core.Search.NopPruner.pruner;
}

/// <summary>The median stopping rule (Google Vizier), as Optuna's MedianPruner: stop a trial at a step when its best
/// value so far is worse than the median of the complete trials' values at that step.</summary>
public sealed class MedianPruner : Pruner
{
    private readonly Hybrid.Core.Search.MedianOptions _options;

    /// <summary>A median pruner.</summary>
    /// <param name="nStartupTrials">No pruning until this many trials are complete.</param>
    /// <param name="nWarmupSteps">No pruning before this step.</param>
    /// <param name="intervalSteps">Judge only every this many steps after the warm-up.</param>
    /// <param name="nMinTrials">No pruning while fewer complete trials reported at the step.</param>
    public MedianPruner(int nStartupTrials = 5, long nWarmupSteps = 0, long intervalSteps = 1, int nMinTrials = 1)
    {
        if (nStartupTrials < 0 || nWarmupSteps < 0 || intervalSteps < 1 || nMinTrials < 1)
            throw new ArgumentException($"MedianPruner: need nStartupTrials >= 0, nWarmupSteps >= 0, intervalSteps >= 1, nMinTrials >= 1 (got {nStartupTrials}, {nWarmupSteps}, {intervalSteps}, {nMinTrials})");
        _options = new Hybrid.Core.Search.MedianOptions(nStartupTrials, nWarmupSteps, intervalSteps, nMinTrials);
    }

    internal override CorePruner Core => Hybrid.Core.Search.MedianPruner.pruner(_options);
}

/// <summary>Asynchronous successive halving (ASHA, Li et al., MLSys 2020): rungs at minResource·η^k steps; at each
/// rung a trial continues only if it is among the best 1/η of the trials that reached it, decided as soon as it
/// arrives, so workers never wait.</summary>
public sealed class SuccessiveHalvingPruner : Pruner
{
    private readonly Hybrid.Core.Search.AshaOptions _options;

    /// <summary>An ASHA pruner.</summary>
    /// <param name="maxResource">The budget of a trial that is never pruned (e.g. epochs).</param>
    /// <param name="minResource">The first rung.</param>
    /// <param name="reductionFactor">η: the top 1/η of each rung continues.</param>
    public SuccessiveHalvingPruner(long maxResource, long minResource = 1, int reductionFactor = 3) =>
        _options = Checked("SuccessiveHalvingPruner", maxResource, minResource, reductionFactor);

    internal static Hybrid.Core.Search.AshaOptions Checked(string who, long maxResource, long minResource, int reductionFactor)
    {
        if (minResource < 1 || maxResource < minResource || reductionFactor < 2)
            throw new ArgumentException($"{who}: need 1 <= minResource <= maxResource and reductionFactor >= 2 (got {minResource}, {maxResource}, {reductionFactor})");
        return new Hybrid.Core.Search.AshaOptions(minResource, maxResource, reductionFactor);
    }

    internal override CorePruner Core => Hybrid.Core.Search.SuccessiveHalving.pruner(_options);
}

/// <summary>Hyperband (Li et al., JMLR 2018): several successive-halving brackets with different first rungs, each
/// trial assigned to one by its number, so aggressive and conservative early stopping are both tried.</summary>
public sealed class HyperbandPruner : Pruner
{
    private readonly Hybrid.Core.Search.AshaOptions _options;

    /// <summary>A Hyperband pruner.</summary>
    /// <param name="maxResource">R: the budget of a trial that is never pruned (e.g. epochs).</param>
    /// <param name="minResource">r: the smallest first rung.</param>
    /// <param name="reductionFactor">η.</param>
    public HyperbandPruner(long maxResource, long minResource = 1, int reductionFactor = 3) =>
        _options = SuccessiveHalvingPruner.Checked("HyperbandPruner", maxResource, minResource, reductionFactor);

    internal override CorePruner Core => Hybrid.Core.Search.Hyperband.pruner(_options);
}
