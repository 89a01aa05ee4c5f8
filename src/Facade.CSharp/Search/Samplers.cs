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
