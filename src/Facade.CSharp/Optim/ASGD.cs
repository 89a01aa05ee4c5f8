using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Averaged SGD (Polyak &amp; Juditsky 1992). With g = ∇L (−∇L when maximizing) and step t: g ← g + λθ; θ ← θ(1 − λ'ηₜ) − ηₜg; a ← θ if μₜ = 1 else a + μₜ(θ − a); then ηₜ₊₁ = η/(1 + λ'ηt)^α, μₜ₊₁ = 1/max(1, t − t₀). The average a is state "ax". Options: "lr", "lambd", "alpha", "t0", "weightDecay", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.ASGD</c>; the math is the core's fused rule.
/// </summary>
public sealed class ASGD : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, double lambd, double alpha, double t0, double weightDecay, bool maximize) =>
        Options(("lr", lr), ("lambd", lambd), ("alpha", alpha), ("t0", t0), ("weightDecay", weightDecay), ("maximize", maximize));

    /// <summary>ASGD over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="lambd">Decay term λ'.</param>
    /// <param name="alpha">Power α of the η schedule.</param>
    /// <param name="t0">Step at which averaging starts.</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public ASGD(IEnumerable<Parameter> parameters, double lr = 1e-2, double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6, double weightDecay = 0, bool maximize = false)
        : base(parameters, D(lr, lambd, alpha, t0, weightDecay, maximize)) { }

    /// <summary>ASGD over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="lambd">Decay term λ'.</param>
    /// <param name="alpha">Power α of the η schedule.</param>
    /// <param name="t0">Step at which averaging starts.</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public ASGD(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6, double weightDecay = 0, bool maximize = false)
        : base(groups, D(lr, lambd, alpha, t0, weightDecay, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckNonNegative(g, "lambd");
        CheckNonNegative(g, "alpha");
        CheckNonNegative(g, "t0");
        CheckNonNegative(g, "weightDecay");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Asgd.create(new AsgdHyper(Option(g, "lr"), Option(g, "lambd"), Option(g, "alpha"), Option(g, "t0"), Option(g, "weightDecay"), Flag(g, "maximize")));
}
