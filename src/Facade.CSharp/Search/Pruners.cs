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
