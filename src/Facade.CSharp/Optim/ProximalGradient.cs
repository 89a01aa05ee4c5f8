using System.Runtime.CompilerServices;
using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreProx = Hybrid.Core.Optim.ProximalGradient;

namespace Hybrid.Optim;

/// <summary>The regulariser R of <see cref="ProximalGradient"/> (minimizing L(θ) + λR(θ)).</summary>
public enum ProxRegularizer
{
    /// <summary>R(θ) = ‖θ‖₁ (lasso; prox = soft-thresholding).</summary>
    L1,
    /// <summary>R(θ) = ½‖θ‖₂² (ridge; prox = shrinkage θ/(1 + ηλ)).</summary>
    L2Squared,
    /// <summary>R(θ) = α‖θ‖₁ + (1 − α)/2‖θ‖₂², α = l1Ratio.</summary>
    ElasticNet,
    /// <summary>The indicator of θ ≥ 0 (prox = projection; λ is irrelevant).</summary>
    NonNegative,
    /// <summary>The indicator of lower ≤ θ ≤ upper (prox = clamping; λ is irrelevant).</summary>
    Box,
}

/// <summary>
/// Proximal gradient descent for min L(θ) + λR(θ) with a non-smooth R: θ ← prox_{ηλR}(θ − η∇L(θ)), where
/// prox_{τR}(v) = argmin_u τR(u) + ½‖u − v‖² (ISTA). With accelerated = true it is FISTA (Beck &amp; Teboulle 2009):
/// the gradient step is taken at y and tₖ₊₁ = (1 + √(1 + 4tₖ²))/2, y ← θₖ₊₁ + ((tₖ − 1)/tₖ₊₁)(θₖ₊₁ − θₖ). With
/// backtracking = true the step η shrinks (η ← βη) until L(p) ≤ L(y) + ∇L(y)ᵀ(p − y) + ‖p − y‖²/(2η). The closure
/// returns the smooth loss L only. Options: "lr", "lambda", "regularizer", "l1Ratio", "lower", "upper",
/// "accelerated", "backtracking", "beta".
/// </summary>
public sealed class ProximalGradient : FlatOptimizer
{
    private ProxState? _state;
    private double[]? _written;

    private static IReadOnlyDictionary<string, object> D(double lr, double lambda, ProxRegularizer regularizer, bool accelerated, bool backtracking, double beta, double l1Ratio, double lower, double upper) =>
        Options(("lr", lr), ("lambda", lambda), ("regularizer", regularizer), ("accelerated", accelerated), ("backtracking", backtracking),
                ("beta", beta), ("l1Ratio", l1Ratio), ("lower", lower), ("upper", upper));

    /// <summary>ISTA / FISTA over parameters (one group).</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Step size η (≤ 1/Lipschitz(∇L) for guaranteed descent; the first trial with backtracking).</param>
    /// <param name="lambda">Regularization weight λ ≥ 0.</param>
    /// <param name="regularizer">The regulariser R.</param>
    /// <param name="accelerated">FISTA instead of ISTA.</param>
    /// <param name="backtracking">Choose η by Beck–Teboulle backtracking.</param>
    /// <param name="beta">Backtracking shrink factor β in (0, 1).</param>
    /// <param name="l1Ratio">Elastic net's α in [0, 1].</param>
    /// <param name="lower">Box's lower bound.</param>
    /// <param name="upper">Box's upper bound.</param>
    public ProximalGradient(IEnumerable<Parameter> parameters, double lr = 1e-2, double lambda = 1e-3, ProxRegularizer regularizer = ProxRegularizer.L1,
                            bool accelerated = false, bool backtracking = false, double beta = 0.5, double l1Ratio = 0.5, double lower = 0, double upper = 1)
        : base(parameters, D(lr, lambda, regularizer, accelerated, backtracking, beta, l1Ratio, lower, upper)) { }

    /// <summary>ISTA / FISTA over a single parameter group.</summary>
    /// <param name="groups">One group.</param>
    /// <param name="lr">Step size η.</param>
    /// <param name="lambda">Regularization weight λ.</param>
    /// <param name="regularizer">The regulariser R.</param>
    /// <param name="accelerated">FISTA instead of ISTA.</param>
    /// <param name="backtracking">Backtracking step size.</param>
    /// <param name="beta">Backtracking shrink factor.</param>
    /// <param name="l1Ratio">Elastic net's α.</param>
    /// <param name="lower">Box's lower bound.</param>
    /// <param name="upper">Box's upper bound.</param>
    public ProximalGradient(IEnumerable<ParamGroup> groups, double lr = 1e-2, double lambda = 1e-3, ProxRegularizer regularizer = ProxRegularizer.L1,
                            bool accelerated = false, bool backtracking = false, double beta = 0.5, double l1Ratio = 0.5, double lower = 0, double upper = 1)
        : base(groups, D(lr, lambda, regularizer, accelerated, backtracking, beta, l1Ratio, lower, upper)) { }

    private ProxHyper Hyper(ParamGroup g)
    {
        var reg = g["regularizer"] is ProxRegularizer r ? r : throw new ArgumentException($"ProximalGradient: regularizer = {g["regularizer"]} is not a ProxRegularizer", "regularizer");
        var coreReg = reg switch
        {
            ProxRegularizer.L1 => Regularizer.L1,
            ProxRegularizer.L2Squared => Regularizer.L2Squared,
            ProxRegularizer.ElasticNet => Regularizer.NewElasticNet(Option(g, "l1Ratio")),
            ProxRegularizer.NonNegative => Regularizer.NonNegative,
            ProxRegularizer.Box => Regularizer.NewBox(Option(g, "lower"), Option(g, "upper")),
            _ => throw new ArgumentOutOfRangeException("regularizer", reg, $"ProximalGradient: regularizer = {reg} is unknown"),
        };
        var step = Flag(g, "backtracking") ? ProxStepRule.NewBacktracking(Option(g, "lr"), Option(g, "beta")) : ProxStepRule.NewFixedStep(Option(g, "lr"));
        return new ProxHyper(Option(g, "lambda"), coreReg, step, Flag(g, "accelerated"));
    }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckPositive(g, "lr");
        CheckNonNegative(g, "lambda");
        if (!(Option(g, "beta") > 0 && Option(g, "beta") < 1)) throw new ArgumentOutOfRangeException("beta", g["beta"], $"ProximalGradient: beta = {g["beta"]} is invalid (expected a number in (0, 1))");
        CheckClosedUnit(g, "l1Ratio");
        if (!(Option(g, "lower") <= Option(g, "upper")))
            throw new ArgumentException($"ProximalGradient: lower = {g["lower"]}, upper = {g["upper"]} are invalid (expected lower <= upper)", "lower");
        CoreProx.check(Hyper(g));
    }

    /// <summary>One ISTA / FISTA iteration; <paramref name="closure"/> (returning the smooth loss L) is required.</summary>
    /// <param name="closure">Clears the gradients, computes L, calls Backward and returns L.</param>
    /// <returns>The first loss the closure returned in this step.</returns>
    public override Tensor? Step(Func<Tensor>? closure)
    {
        var f = RequireClosure(closure);
        Validate(Group);
        var hyper = Hyper(Group);
        var first = new StrongBox<Tensor?>();
        var obj = ObjectiveOf(f, first);
        var x = Gather();
        // restart (y = θ, t = 1) when there is no state or the parameters were changed since the last step
        var s = _state is ProxState old && (_written is null || _written.AsSpan().SequenceEqual(x))
            ? old
            : CoreProx.init(hyper, obj, Hybrid.Core.Create.ofFloat64(x, new[] { Dim }));
        s = CoreProx.step(hyper, obj, s);
        Scatter(s.X);
        _written = Gather();
        _state = s;
        return first.Value;
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters) =>
        _state is not ProxState s ? new Dictionary<int, ParamState>()
            : new Dictionary<int, ParamState>
            {
                [0] = new ParamState("proximal", s.Iter, new[] { KeyValuePair.Create("x", Vector(s.X)), KeyValuePair.Create("y", Vector(s.Y)) },
                                     new[] { s.TMom, s.StepSize, s.Evals }),
            };

    /// <inheritdoc />
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) =>
        CheckFlat(state, "proximal", 3, ("x", new long[] { Dim }), ("y", new long[] { Dim }));

    /// <inheritdoc />
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        _written = null;
        _state = state.TryGetValue(0, out var s)
            ? new ProxState(s.Buffers["x"].Core.ToFloat64Array(), s.Buffers["y"].Core.ToFloat64Array(), s.Scalars[0], s.Scalars[1], (int)s.Step, (int)s.Scalars[2])
            : null;
    }
}
