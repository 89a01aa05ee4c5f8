using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Adagrad (Duchi et al. 2011). With g = ∇L (−∇L when maximizing): g ← g + λθ; G ← G + g² (G starts at the initial accumulator value); η̃ = η/(1 + (t−1)·lrDecay); θ ← θ − η̃ g/(√G + ε). Options: "lr", "lrDecay", "weightDecay", "initialAccumulatorValue", "eps", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.Adagrad</c>; the math is the core's fused rule.
/// </summary>
public sealed class Adagrad : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps, bool maximize) =>
        Options(("lr", lr), ("lrDecay", lrDecay), ("weightDecay", weightDecay), ("initialAccumulatorValue", initialAccumulatorValue), ("eps", eps), ("maximize", maximize));

    /// <summary>Adagrad over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="lrDecay">Learning-rate decay: η̃ = η/(1 + (t−1)·lrDecay).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squares G.</param>
    /// <param name="eps">ε added to √G (&gt; 0).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adagrad(IEnumerable<Parameter> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(parameters, D(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    /// <summary>Adagrad over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="lrDecay">Learning-rate decay: η̃ = η/(1 + (t−1)·lrDecay).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="initialAccumulatorValue">Starting value of the sum of squares G.</param>
    /// <param name="eps">ε added to √G (&gt; 0).</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adagrad(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0, double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(groups, D(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckNonNegative(g, "lrDecay");
        CheckNonNegative(g, "weightDecay");
        CheckNonNegative(g, "initialAccumulatorValue");
        CheckPositive(g, "eps");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Adagrad.create(new AdagradHyper(Option(g, "lr"), Option(g, "lrDecay"), Option(g, "weightDecay"), Option(g, "initialAccumulatorValue"), Option(g, "eps"), Flag(g, "maximize")));
}
