using System.Runtime.CompilerServices;
using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreBfgs = Hybrid.Core.Optim.Bfgs;

namespace Hybrid.Optim;

/// <summary>
/// BFGS (Nocedal &amp; Wright, Alg. 6.1) with a dense inverse-Hessian approximation H kept between steps: d = −H∇L;
/// a strong-Wolfe line search from t = lr gives t; s = t d, y = ∇L(θ + s) − ∇L(θ); θ ← θ + s;
/// H ← (I − ρsyᵀ)H(I − ρysᵀ) + ρssᵀ with ρ = 1/(yᵀs) (skipped when yᵀs ≤ curvatureEps; H₀ rescaled to (yᵀs/yᵀy)I
/// before the first update). Memory n² for n parameters: small models. Options: "lr", "c1", "c2", "maxLs",
/// "toleranceChange", "curvatureEps".
/// </summary>
public sealed class BFGS : FlatOptimizer
{
    private BfgsState? _state;

    private static IReadOnlyDictionary<string, object> D(double lr, double c1, double c2, int maxLs, double toleranceChange, double curvatureEps) =>
        Options(("lr", lr), ("c1", c1), ("c2", c2), ("maxLs", maxLs), ("toleranceChange", toleranceChange), ("curvatureEps", curvatureEps));

    /// <summary>BFGS over parameters (one group).</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">First trial step of each line search.</param>
    /// <param name="c1">Sufficient-decrease constant c₁ in (0, 1).</param>
    /// <param name="c2">Curvature constant c₂ in (c₁, 1).</param>
    /// <param name="maxLs">Most loss evaluations per line search.</param>
    /// <param name="toleranceChange">Line search stops when its bracket is this small.</param>
    /// <param name="curvatureEps">Skip the H update when yᵀs ≤ this.</param>
    public BFGS(IEnumerable<Parameter> parameters, double lr = 1, double c1 = 1e-4, double c2 = 0.9, int maxLs = 25, double toleranceChange = 1e-12, double curvatureEps = 1e-10)
        : base(parameters, D(lr, c1, c2, maxLs, toleranceChange, curvatureEps)) { }

    /// <summary>BFGS over a single parameter group.</summary>
    /// <param name="groups">One group.</param>
    /// <param name="lr">First trial step of each line search.</param>
    /// <param name="c1">Sufficient-decrease constant c₁.</param>
    /// <param name="c2">Curvature constant c₂.</param>
    /// <param name="maxLs">Most evaluations per line search.</param>
    /// <param name="toleranceChange">Line search bracket tolerance.</param>
    /// <param name="curvatureEps">Skip the update when yᵀs ≤ this.</param>
    public BFGS(IEnumerable<ParamGroup> groups, double lr = 1, double c1 = 1e-4, double c2 = 0.9, int maxLs = 25, double toleranceChange = 1e-12, double curvatureEps = 1e-10)
        : base(groups, D(lr, c1, c2, maxLs, toleranceChange, curvatureEps)) { }

    private BfgsHyper Hyper(ParamGroup g) =>
        new(Option(g, "lr"), Option(g, "c1"), Option(g, "c2"), (int)Option(g, "maxLs"), Option(g, "toleranceChange"), Option(g, "curvatureEps"));

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckPositive(g, "lr");
        foreach (var n in new[] { "c1", "c2" })
            if (!(Option(g, n) > 0 && Option(g, n) < 1)) throw new ArgumentOutOfRangeException(n, g[n], $"BFGS: {n} = {g[n]} is invalid (expected a number in (0, 1))");
        if (!(Option(g, "c1") < Option(g, "c2"))) throw new ArgumentException($"BFGS: c2 = {g["c2"]} is invalid (expected c1 = {g["c1"]} < c2 < 1)", "c2");
        if (!(Option(g, "maxLs") >= 1)) throw new ArgumentOutOfRangeException("maxLs", g["maxLs"], $"BFGS: maxLs = {g["maxLs"]} is invalid (expected >= 1)");
        CheckNonNegative(g, "toleranceChange");
        CheckNonNegative(g, "curvatureEps");
    }

    /// <summary>One BFGS iteration from the current parameters; <paramref name="closure"/> is required.</summary>
    /// <param name="closure">Clears the gradients, computes the loss, calls Backward and returns the loss.</param>
    /// <returns>The loss at the parameters the step started from.</returns>
    public override Tensor? Step(Func<Tensor>? closure)
    {
        var f = RequireClosure(closure);
        Validate(Group);
        var hyper = Hyper(Group);
        var first = new StrongBox<Tensor?>();
        var obj = ObjectiveOf(f, first);
        var s0 = CoreBfgs.init(obj, Hybrid.Core.Create.ofFloat64(Gather(), new[] { Dim }));
        // keep H and the counters; the point, loss and gradient are those of the parameters as they are now
        var start = _state is BfgsState old ? new BfgsState(s0.X, s0.Value, s0.Grad, old.H, old.Iter, old.Evals + 1, old.Skipped, old.LastStep) : s0;
        var s = CoreBfgs.step(hyper, obj, start);
        Scatter(s.X);
        _state = s;
        return first.Value;
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters) =>
        _state is not BfgsState s ? new Dictionary<int, ParamState>()
            : new Dictionary<int, ParamState> { [0] = new ParamState("bfgs", s.Iter, new[] { KeyValuePair.Create("H", Tensor.FromArray(s.H, Dim, Dim)) }, new[] { s.Evals, s.Skipped, s.LastStep }) };

    /// <inheritdoc />
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) =>
        CheckFlat(state, "bfgs", 3, ("H", new long[] { Dim, Dim }));

    /// <inheritdoc />
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        // X, Value and Grad are re-evaluated at the next step; only H and the counters matter
        _state = state.TryGetValue(0, out var s)
            ? new BfgsState(Array.Empty<double>(), double.NaN, Array.Empty<double>(), s.Buffers["H"].Core.ToFloat64Array(), (int)s.Step, (int)s.Scalars[0], (int)s.Scalars[1], s.Scalars[2])
            : null;
    }
}
