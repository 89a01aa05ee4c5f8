using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Alg. 2). With g = ∇L (−∇L when maximizing): c = β₁m + (1−β₁)g; θ ← θ(1 − ηλ) − η·sign(c); m ← β₂m + (1−β₂)g. Options: "lr", "betas", "weightDecay", "maximize".
/// Same arguments, meanings and defaults as <c>Lion (Chen et al. 2023)</c>; the math is the core's fused rule.
/// </summary>
public sealed class Lion : FirstOrderOptimizer
{
    private static IReadOnlyDictionary<string, object> D(double lr, (double, double)? betas, double weightDecay, bool maximize) =>
        Options(("lr", lr), ("betas", (object)(betas ?? (0.9, 0.99))), ("weightDecay", weightDecay), ("maximize", maximize));

    /// <summary>Lion over one group of parameters.</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Learning rate η (typically 3–10× smaller than AdamW's).</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.99).</param>
    /// <param name="weightDecay">Decoupled weight decay λ.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Lion(IEnumerable<Parameter> parameters, double lr = 1e-4, (double, double)? betas = null, double weightDecay = 0, bool maximize = false)
        : base(parameters, D(lr, betas, weightDecay, maximize)) { }

    /// <summary>Lion over parameter groups with per-group options (the arguments are the defaults of every group).</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate η (typically 3–10× smaller than AdamW's).</param>
    /// <param name="betas">(β₁, β₂), each in [0, 1); default (0.9, 0.99).</param>
    /// <param name="weightDecay">Decoupled weight decay λ.</param>
    /// <param name="maximize">Maximize instead of minimize.</param>
    public Lion(IEnumerable<ParamGroup> groups, double lr = 1e-4, (double, double)? betas = null, double weightDecay = 0, bool maximize = false)
        : base(groups, D(lr, betas, weightDecay, maximize)) { }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        CheckBetas(g);
        CheckNonNegative(g, "weightDecay");
    }

    internal override CoreOptimizer CreateCore(ParamGroup g) =>
        Hybrid.Core.Optim.Lion.create(new LionHyper(Option(g, "lr"), Pair(g, "betas").Item1, Pair(g, "betas").Item2, Option(g, "weightDecay"), Flag(g, "maximize")));
}
