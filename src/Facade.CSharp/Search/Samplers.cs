using Microsoft.FSharp.Collections;
using Hybrid.Core.Search;
using CoreSampler = Hybrid.Core.Search.Sampler;

namespace Hybrid.Search;

/// <summary>How a study proposes each trial's parameters. The seed (random when null) is the study's: trial n draws
/// from a stream keyed by (seed, n, parameter name), so a sequential study is reproducible.</summary>
public abstract class Sampler
{
    internal abstract CoreSampler Core { get; }

    /// <summary>The seed of the study created with this sampler (null: drawn at random).</summary>
    public ulong? Seed { get; }

    private protected Sampler(ulong? seed) => Seed = seed;
}

/// <summary>Random search: every parameter drawn independently from its range (Bergstra &amp; Bengio, JMLR 2012).</summary>
public sealed class RandomSampler : Sampler
{
    /// <summary>A random sampler.</summary>
    /// <param name="seed">The study's seed (null: drawn at random).</param>
    public RandomSampler(ulong? seed = null) : base(seed) { }

    internal override CoreSampler Core => Hybrid.Core.Search.RandomSampler.sampler;
}

/// <summary>
/// Grid search over explicit values: the study queues the exact product of the values when it is created, and each
/// trial runs one point; <see cref="Study.Optimize"/> stops when the grid is exhausted. A parameter the objective
/// suggests that is not in the grid is an error naming it.
/// </summary>
public sealed class GridSampler : Sampler
{
    /// <summary>The grid: each parameter's values (double, long/int, string or bool).</summary>
    public IReadOnlyDictionary<string, object[]> SearchSpace { get; }

    /// <summary>A grid over these values.</summary>
    /// <param name="searchSpace">Each parameter's values, e.g. { ["lr"] = new object[] { 1e-3, 1e-2 } }.</param>
    /// <param name="seed">The study's seed (unused by the grid itself).</param>
    public GridSampler(IReadOnlyDictionary<string, object[]> searchSpace, ulong? seed = null) : base(seed)
    {
        ArgumentNullException.ThrowIfNull(searchSpace);
        foreach (var (name, values) in searchSpace)
            if (values is null || values.Length == 0) throw new ArgumentException($"GridSampler: parameter '{name}' has no values", nameof(searchSpace));
        SearchSpace = searchSpace;
    }

    internal override CoreSampler Core => new(
        "grid",
        Microsoft.FSharp.Core.FuncConvert.FromFunc<StudySettings, Space, Hybrid.Core.Search.Trial[], Hybrid.Core.Search.Rng, FSharpMap<string, ParamValue>>((_, space, _, _) =>
            throw new InvalidOperationException(
                $"GridSampler: parameter(s) {string.Join(", ", space.Params.Select(p => $"'{p.Name}'"))} are not in the grid (or the grid is exhausted)")));

    /// <summary>The grid's points, in a fixed order.</summary>
    internal IEnumerable<FSharpMap<string, ParamValue>> Points()
    {
        IEnumerable<FSharpMap<string, ParamValue>> points = new[] { MapModule.Empty<string, ParamValue>() };
        foreach (var (name, values) in SearchSpace)
            points = points.SelectMany(p => values.Select(v => p.Add(name, Values.ToCore(v, name))));
        return points;
    }
}

/// <summary>
/// The Tree-structured Parzen Estimator (Bergstra et al., NeurIPS 2011) with Optuna's defaults: random start-up
/// trials, then the candidate among nEiCandidates drawn from the good trials' density l(x) that maximizes l(x)/g(x).
/// With the constant liar, running trials count as bad results, so parallel workers spread out. Define-by-run
/// suggestions are sampled one parameter at a time (univariate); a whole space given at once is sampled jointly.
/// </summary>
public sealed class TpeSampler : Sampler
{
    private readonly TpeOptions _options;

    /// <summary>A TPE sampler.</summary>
    /// <param name="seed">The study's seed (null: drawn at random).</param>
    /// <param name="nStartupTrials">Random trials before TPE starts.</param>
    /// <param name="nEiCandidates">Candidates drawn from l(x) per suggestion.</param>
    /// <param name="multivariate">One joint density per group of co-occurring parameters.</param>
    /// <param name="constantLiar">Count running trials as bad results (for parallel workers).</param>
    public TpeSampler(ulong? seed = null, int nStartupTrials = 10, int nEiCandidates = 24, bool multivariate = true, bool constantLiar = true) : base(seed)
    {
        if (nStartupTrials < 0) throw new ArgumentException($"TpeSampler: nStartupTrials must be >= 0, got {nStartupTrials}", nameof(nStartupTrials));
        if (nEiCandidates < 1) throw new ArgumentException($"TpeSampler: nEiCandidates must be >= 1, got {nEiCandidates}", nameof(nEiCandidates));
        var d = Tpe.defaults;
        _options = new TpeOptions(nStartupTrials, nEiCandidates, d.PriorWeight, d.MagicClip, d.ConsiderEndpoints, multivariate, d.Group, constantLiar, d.Gamma, d.Weights, d.NormaliseKernels);
    }

    internal override CoreSampler Core => Tpe.sampler(_options);
}
