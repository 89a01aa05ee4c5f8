using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Adamax (Kingma &amp; Ba 2015, §7.1): Adam with the infinity norm. With g = ∇L (−∇L when maximizing) and step t: g ← g + λθ; m ← β₁m + (1−β₁)g; u ← max(β₂u, |g| + ε); θ ← θ − η/(1−β₁ᵗ)·m/u. Options: "lr", "betas", "eps", "weightDecay", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.Adamax</c>; the math is the core's fused rule.
/// </summary>
public sealed class Adamax : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, (double, double)? betas, double eps, double weightDecay, bool maximize) =>
        Options(("lr", lr), ("betas", (object)(betas ?? (0.9, 0.999))), ("eps", eps), ("weightDecay", weightDecay), ("maximize", maximize));

    /// <summary>Adamax over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to |g| (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adamax(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool maximize = false)
        : base(parameters, D(lr, betas, eps, weightDecay, maximize)) { }

    /// <summary>Adamax over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to |g| (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adamax(IEnumerable<ParamGroup> groups, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool maximize = false)
        : base(groups, D(lr, betas, eps, weightDecay, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckAdamOptions(g);
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Adamax.create(new AdamaxHyper(Option(g, "lr"), Pair(g, "betas").Item1, Pair(g, "betas").Item2, Option(g, "eps"), Option(g, "weightDecay"), Flag(g, "maximize")));
}
