using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Stochastic gradient descent with momentum (<c>torch.optim.SGD</c>). Per step, with g = ∇L (−∇L when maximizing):
/// g ← g + λθ; b ← g on the first step, else b ← μb + (1−τ)g; d ← g + μb (Nesterov) or d ← b; θ ← θ − η d
/// (plain θ ← θ − η g when μ = 0). Options: "lr", "momentum", "dampening", "weightDecay", "nesterov", "maximize".
/// </summary>
public sealed class SGD : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize) =>
        Options(("lr", lr), ("momentum", momentum), ("dampening", dampening), ("weightDecay", weightDecay), ("nesterov", nesterov), ("maximize", maximize));

    /// <summary>SGD over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η (torch 2's default 1e-3).</param>
    /// <param name="momentum">Momentum factor μ (0: none).</param>
    /// <param name="dampening">Dampening τ of the gradient in the momentum buffer.</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient.</param>
    /// <param name="nesterov">Nesterov momentum (needs momentum &gt; 0 and dampening = 0).</param>
    /// <param name="maximize">Maximize the objective instead of minimizing.</param>
    public SGD(IEnumerable<Parameter> parameters, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(parameters, D(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    /// <summary>SGD over parameter groups with per-group options (the arguments are the defaults).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η.</param>
    /// <param name="momentum">Momentum factor μ.</param>
    /// <param name="dampening">Dampening τ.</param>
    /// <param name="weightDecay">L2 penalty λ.</param>
    /// <param name="nesterov">Nesterov momentum.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr = 1e-3, double momentum = 0, double dampening = 0, double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, D(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckNonNegative(g, "momentum");
        CheckNonNegative(g, "weightDecay");
        if (Flag(g, "nesterov") && (Option(g, "momentum") <= 0 || Option(g, "dampening") != 0))
            throw new ArgumentException($"SGD: nesterov = true requires momentum > 0 and dampening = 0 (got momentum = {Option(g, "momentum")}, dampening = {Option(g, "dampening")})", "nesterov");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Sgd.create(new SgdHyper(Option(g, "lr"), Option(g, "momentum"), Option(g, "dampening"), Option(g, "weightDecay"), Flag(g, "nesterov"), Flag(g, "maximize")));
}
