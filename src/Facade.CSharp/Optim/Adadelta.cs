using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Adadelta (Zeiler 2012). With g = ∇L (−∇L when maximizing): g ← g + λθ; v ← ρv + (1−ρ)g²; Δ ← √(u + ε)/√(v + ε)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − ηΔ. Options: "lr", "rho", "eps", "weightDecay", "maximize".
/// Same arguments, meanings and defaults as <c>torch.optim.Adadelta</c>; the math is the core's fused rule.
/// </summary>
public sealed class Adadelta : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, double rho, double eps, double weightDecay, bool maximize) =>
        Options(("lr", lr), ("rho", rho), ("eps", eps), ("weightDecay", weightDecay), ("maximize", maximize));

    /// <summary>Adadelta over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Scale η of the update.</param>
    /// <param name="rho">Decay ρ of the running averages, in [0, 1].</param>
    /// <param name="eps">ε inside the roots (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adadelta(IEnumerable<Parameter> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(parameters, D(lr, rho, eps, weightDecay, maximize)) { }

    /// <summary>Adadelta over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Scale η of the update.</param>
    /// <param name="rho">Decay ρ of the running averages, in [0, 1].</param>
    /// <param name="eps">ε inside the roots (&gt; 0).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Adadelta(IEnumerable<ParamGroup> groups, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(groups, D(lr, rho, eps, weightDecay, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckClosedUnit(g, "rho");
        CheckPositive(g, "eps");
        CheckNonNegative(g, "weightDecay");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Adadelta.create(new AdadeltaHyper(Option(g, "lr"), Option(g, "rho"), Option(g, "eps"), Option(g, "weightDecay"), Flag(g, "maximize")));
}
