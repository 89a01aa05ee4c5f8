using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Rprop (Riedmiller &amp; Braun 1993): sign-based steps with per-element step sizes s. With g = ∇L (−∇L when maximizing) and the previous gradient g₋: s ← clamp(s·η₊ if g·g₋ &gt; 0, s·η₋ if g·g₋ &lt; 0, else s; stepSizes); g ← 0 where g·g₋ &lt; 0; θ ← θ − sign(g)·s; g₋ ← g (s starts at lr). Options: "lr", "etas", "stepSizes", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.Rprop</c>; the math is the core's fused rule.
/// </summary>
public sealed class Rprop : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, (double, double)? etas, (double, double)? stepSizes, bool maximize) =>
        Options(("lr", lr), ("etas", (object)(etas ?? (0.5, 1.2))), ("stepSizes", (object)(stepSizes ?? (1e-6, 50.0))), ("maximize", maximize));

    /// <summary>Rprop over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Initial step size.</param>
    /// <param name="etas">(η₋, η₊): multiplicative decrease and increase, 0 &lt; η₋ &lt; 1 &lt; η₊; default (0.5, 1.2).</param>
    /// <param name="stepSizes">(min, max) step sizes; default (1e-6, 50).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Rprop(IEnumerable<Parameter> parameters, double lr = 1e-2, (double, double)? etas = null, (double, double)? stepSizes = null, bool maximize = false)
        : base(parameters, D(lr, etas, stepSizes, maximize)) { }

    /// <summary>Rprop over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Initial step size.</param>
    /// <param name="etas">(η₋, η₊): multiplicative decrease and increase, 0 &lt; η₋ &lt; 1 &lt; η₊; default (0.5, 1.2).</param>
    /// <param name="stepSizes">(min, max) step sizes; default (1e-6, 50).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Rprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, (double, double)? etas = null, (double, double)? stepSizes = null, bool maximize = false)
        : base(groups, D(lr, etas, stepSizes, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckEtas(g);
    }

    private void CheckEtas(ParamGroup g)
    {
        var (em, ep) = Pair(g, "etas");
        if (!(0 < em && em < 1 && 1 < ep && !double.IsInfinity(ep)))
            throw new ArgumentOutOfRangeException("etas", (em, ep), $"Rprop: etas = ({em}, {ep}) is invalid (expected 0 < etaMinus < 1 < etaPlus)");
        var (lo, hi) = Pair(g, "stepSizes");
        if (!(0 <= lo && lo <= hi))
            throw new ArgumentOutOfRangeException("stepSizes", (lo, hi), $"Rprop: stepSizes = ({lo}, {hi}) is invalid (expected 0 <= min <= max)");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Rprop.create(new RpropHyper(Option(g, "lr"), Pair(g, "etas").Item1, Pair(g, "etas").Item2, Pair(g, "stepSizes").Item1, Pair(g, "stepSizes").Item2, Flag(g, "maximize")));
}
