using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Adam (Kingma &amp; Ba 2015; AMSGrad: Reddi et al. 2018). With g = ∇L (−∇L when maximizing) and step t: g ← g + λθ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; m̂ = m/(1−β₁ᵗ); v̂ = v/(1−β₂ᵗ) (amsgrad: v̂ from the running max of v); θ ← θ − η m̂/(√v̂ + ε). Options: "lr", "betas", "eps", "weightDecay", "amsgrad", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.Adam</c>; the math is the core's fused rule.
/// </summary>
public sealed class Adam : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, (double, double)? betas, double eps, double weightDecay, bool amsgrad, bool maximize) =>
        Options(("lr", lr), ("betas", (object)(betas ?? (0.9, 0.999))), ("eps", eps), ("weightDecay", weightDecay), ("amsgrad", amsgrad), ("maximize", maximize));

    /// <summary>Adam over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂): decay rates of the first and second moments, each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient (coupled; see AdamW for decoupled).</param>
    /// <param name="amsgrad">Use the running maximum of v (AMSGrad).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, D(lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Adam over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂): decay rates of the first and second moments, each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient (coupled; see AdamW for decoupled).</param>
    /// <param name="amsgrad">Use the running maximum of v (AMSGrad).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : base(groups, D(lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckAdamOptions(g);
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Adam.create(new AdamHyper(Option(g, "lr"), Pair(g, "betas").Item1, Pair(g, "betas").Item2, Option(g, "eps"), Option(g, "weightDecay"), Flag(g, "amsgrad"), Flag(g, "maximize")));
}
