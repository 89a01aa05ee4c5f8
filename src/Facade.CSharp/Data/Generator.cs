using CoreGenerator = Hybrid.Core.Generator;

namespace Hybrid.Data;

/// <summary>
/// A seeded random source for shuffling and random transforms (PyTorch's <c>torch.Generator</c>): the same seed
/// gives the same batch order and the same augmentations on every run and machine.
/// </summary>
public sealed class Generator
{
    private CoreGenerator _core;

    /// <summary>A generator started from <paramref name="seed"/>.</summary>
    /// <param name="seed">The seed.</param>
    public Generator(int seed) => _core = new CoreGenerator(seed);

    /// <summary>The seed this generator was last started from.</summary>
    public int InitialSeed => _core.Seed;

    /// <summary>Restarts the generator from <paramref name="seed"/> (<c>torch.Generator.manual_seed</c>).</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>This generator.</returns>
    public Generator ManualSeed(int seed)
    {
        _core = new CoreGenerator(seed);
        return this;
    }

    /// <summary>A uniformly random permutation of 0..n-1 (<c>torch.randperm(n, generator=g)</c>).</summary>
    /// <param name="n">How many indices.</param>
    /// <returns>The permutation.</returns>
    public int[] Permutation(int n)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Permutation: n must be >= 0");
        return _core.Permutation(n);
    }

    internal CoreGenerator Core => _core;
}
