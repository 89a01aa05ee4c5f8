using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// RMSprop (Hinton, lecture 6e; centered: Graves 2013). With g = ∇L (−∇L when maximizing): g ← g + λθ; v ← αv + (1−α)g²; centered: ḡ ← αḡ + (1−α)g and d = √(v − ḡ²) + ε, else d = √v + ε; with momentum μ: b ← μb + g/d, θ ← θ − ηb; otherwise θ ← θ − η g/d. Options: "lr", "alpha", "eps", "weightDecay", "momentum", "centered", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.RMSprop</c>; the math is the core's fused rule.
/// </summary>
public sealed class RMSprop : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, bool maximize) =>
        Options(("lr", lr), ("alpha", alpha), ("eps", eps), ("weightDecay", weightDecay), ("momentum", momentum), ("centered", centered), ("maximize", maximize));

    /// <summary>RMSprop over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="alpha">Smoothing constant α of the squared-gradient average, in [0, 1).</param>
    /// <param name="eps">ε added to the root (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="momentum">Momentum factor μ (0: none).</param>
    /// <param name="centered">Normalize by the variance estimate v − ḡ² instead of v.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public RMSprop(IEnumerable<Parameter> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base(parameters, D(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    /// <summary>RMSprop over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="alpha">Smoothing constant α of the squared-gradient average, in [0, 1).</param>
    /// <param name="eps">ε added to the root (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="momentum">Momentum factor μ (0: none).</param>
    /// <param name="centered">Normalize by the variance estimate v − ḡ² instead of v.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public RMSprop(IEnumerable<ParamGroup> groups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0, double momentum = 0, bool centered = false, bool maximize = false)
        : base(groups, D(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckUnit(g, "alpha");
        CheckPositive(g, "eps");
        CheckNonNegative(g, "weightDecay");
        CheckNonNegative(g, "momentum");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Rmsprop.create(new RmspropHyper(Option(g, "lr"), Option(g, "alpha"), Option(g, "eps"), Option(g, "weightDecay"), Option(g, "momentum"), Flag(g, "centered"), Flag(g, "maximize")));
}
