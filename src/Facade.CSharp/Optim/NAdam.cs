using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// NAdam (Dozat 2016): Adam with Nesterov momentum. With g = ∇L (−∇L when maximizing), step t and μₜ = β₁(1 − ½·0.96^(tψ)): g ← g + λθ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; v̂ = v/(1−β₂ᵗ); θ ← θ − η(1−μₜ)/(1−∏ᵢ≤ₜμᵢ)·g/(√v̂ + ε) − ημₜ₊₁/(1−∏ᵢ≤ₜ₊₁μᵢ)·m/(√v̂ + ε) (torch's documented algorithm). Options: "lr", "betas", "eps", "weightDecay", "momentumDecay", "decoupledWeightDecay", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.NAdam</c>; the math is the core's fused rule.
/// </summary>
public sealed class NAdam : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, (double, double)? betas, double eps, double weightDecay, double momentumDecay, bool decoupledWeightDecay, bool maximize) =>
        Options(("lr", lr), ("betas", (object)(betas ?? (0.9, 0.999))), ("eps", eps), ("weightDecay", weightDecay), ("momentumDecay", momentumDecay), ("decoupledWeightDecay", decoupledWeightDecay), ("maximize", maximize));

    /// <summary>NAdam over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">Weight decay λ (added to the gradient, or decoupled).</param>
    /// <param name="momentumDecay">ψ in the momentum schedule μₜ.</param>
    /// <param name="decoupledWeightDecay">Decay the weights directly, θ ← θ(1 − ηλ) (AdamW style, torch ≥ 2.1).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public NAdam(IEnumerable<Parameter> parameters, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, double momentumDecay = 4e-3, bool decoupledWeightDecay = false, bool maximize = false)
        : base(parameters, D(lr, betas, eps, weightDecay, momentumDecay, decoupledWeightDecay, maximize)) { }

    /// <summary>NAdam over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.999).</param>
    /// <param name="eps">ε added to the denominator (&gt; 0).</param>
    /// <param name="weightDecay">Weight decay λ (added to the gradient, or decoupled).</param>
    /// <param name="momentumDecay">ψ in the momentum schedule μₜ.</param>
    /// <param name="decoupledWeightDecay">Decay the weights directly, θ ← θ(1 − ηλ) (AdamW style, torch ≥ 2.1).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public NAdam(IEnumerable<ParamGroup> groups, double lr = 2e-3, (double, double)? betas = null, double eps = 1e-8, double weightDecay = 0, double momentumDecay = 4e-3, bool decoupledWeightDecay = false, bool maximize = false)
        : base(groups, D(lr, betas, eps, weightDecay, momentumDecay, decoupledWeightDecay, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckAdamOptions(g);
        CheckNonNegative(g, "momentumDecay");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.NAdam.create(new NAdamHyper(Option(g, "lr"), Pair(g, "betas").Item1, Pair(g, "betas").Item2, Option(g, "eps"), Option(g, "weightDecay"), Option(g, "momentumDecay"), Flag(g, "decoupledWeightDecay"), Flag(g, "maximize")));
}
