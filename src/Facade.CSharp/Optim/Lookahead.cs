using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Lookahead (Zhang et al. 2019, "Lookahead Optimizer: k steps forward, 1 step back") around a gradient optimizer:
/// the inner optimizer moves the fast weights θ; every k of its steps the slow weights φ (a copy of the initial
/// parameters) move toward them and the fast weights restart there: φ ← φ + α(θ − φ); θ ← φ.
/// Shares the inner optimizer's <see cref="Optimizer.ParamGroups"/> (a scheduler on either changes both) and takes
/// over its state: after wrapping, step the Lookahead, not the inner optimizer.
/// </summary>
public sealed class Lookahead : FirstOrderOptimizer
{
    private readonly FirstOrderOptimizer? _inner;

    /// <summary>Wrap a gradient optimizer (SGD, Adam, ...).</summary>
    /// <param name="inner">The inner optimizer; its groups and options are used.</param>
    /// <param name="k">Inner steps between synchronizations (&gt;= 1).</param>
    /// <param name="alpha">Interpolation factor α of the slow weights, in [0, 1].</param>
    public Lookahead(Optimizer inner, int k = 5, double alpha = 0.5)
        : base(Checked(inner, k, alpha).ParamGroups, ((FirstOrderOptimizer)inner).DefaultOptions)
    {
        _inner = (FirstOrderOptimizer)inner;
        K = k;
        Alpha = alpha;
    }

    private static FirstOrderOptimizer Checked(Optimizer inner, int k, double alpha)
    {
        ArgumentNullException.ThrowIfNull(inner, nameof(inner));
        if (inner is not FirstOrderOptimizer f)
            throw new ArgumentException($"Lookahead: inner = {inner.GetType().Name} is not supported (expected a gradient optimizer such as SGD or Adam)", nameof(inner));
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, $"Lookahead: k = {k} is invalid (expected >= 1)");
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, $"Lookahead: alpha = {alpha} is invalid (expected a number in [0, 1])");
        return f;
    }

    /// <summary>The wrapped optimizer.</summary>
    public Optimizer Inner => _inner!;

    /// <summary>Inner steps between synchronizations.</summary>
    public int K { get; }

    /// <summary>Interpolation factor of the slow weights.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        // during construction the groups come from the inner optimizer, which has checked them
        _inner?.ValidateGroup(g);
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        _inner is null
            ? Hybrid.Core.Optim.Lookahead.create(new LookaheadHyper(K < 1 ? 1 : K, Alpha), Sgd.create(SgdHyper.defaults))
            : Hybrid.Core.Optim.Lookahead.create(new LookaheadHyper(K, Alpha), _inner.CreateCore(g));

    internal override OptimState InitState(CoreOptimizer core, Parameter p)
    {
        var s = base.InitState(core, p);
        // continue from the state the inner optimizer already built for this parameter
        return _inner is not null && _inner.TryGetCoreState(p, out var innerState)
            ? new OptimState(s.Name, s.Step, s.Slots, s.Buffers, s.Scalars, new[] { innerState })
            : s;
    }
}
