using System.Runtime.CompilerServices;
using Hybrid.Core.Optim;
using Hybrid.Nn;
using Microsoft.FSharp.Core;
using CoreNewton = Hybrid.Core.Optim.Newton;

namespace Hybrid.Optim;

/// <summary>
/// Damped Newton's method: θ ← θ − η H⁻¹∇L. Per step: H is the Hessian of the closure's loss, taken in the core by central
/// differences of the closure's gradients (2n closure calls for n parameters: small models only); the core solves
/// (H + μI)d = −∇L with the smallest Levenberg damping μ ∈ {0, μ₀, 10μ₀, …} that makes H + μI positive definite, then
/// backtracks t ← ρt from t = lr until the Armijo condition L(θ + td) ≤ L(θ) + c₁t∇Lᵀd holds. Options: "lr", "rho",
/// "c1", "maxBacktracks", "muInit", "hessianEps". <see cref="StepExact"/> takes the exact Hessian from the tape instead
/// (double backward), given a loss function that does not call Backward.
/// </summary>
public sealed class Newton : FlatOptimizer
{
    private long _iter;
    private double _mu;

    private static IReadOnlyDictionary<string, object> D(double lr, double rho, double c1, int maxBacktracks, double muInit, double hessianEps) =>
        Options(("lr", lr), ("rho", rho), ("c1", c1), ("maxBacktracks", maxBacktracks), ("muInit", muInit), ("hessianEps", hessianEps));

    /// <summary>Newton's method over parameters (one group).</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">First trial step η of the backtracking search (1 = the full Newton step).</param>
    /// <param name="rho">Backtracking shrink factor ρ in (0, 1).</param>
    /// <param name="c1">Armijo constant c₁ in (0, 1).</param>
    /// <param name="maxBacktracks">Most loss evaluations in one backtracking search.</param>
    /// <param name="muInit">First damping μ₀ tried when H is not positive definite (relative to max|H|).</param>
    /// <param name="hessianEps">Relative step of the central differences that give H.</param>
    public Newton(IEnumerable<Parameter> parameters, double lr = 1, double rho = 0.5, double c1 = 1e-4, int maxBacktracks = 50, double muInit = 1e-8, double hessianEps = 1e-5)
        : base(parameters, D(lr, rho, c1, maxBacktracks, muInit, hessianEps)) { }

    /// <summary>Newton's method over a single parameter group.</summary>
    /// <param name="groups">One group.</param>
    /// <param name="lr">First trial step η.</param>
    /// <param name="rho">Backtracking shrink factor ρ.</param>
    /// <param name="c1">Armijo constant c₁.</param>
    /// <param name="maxBacktracks">Most evaluations per search.</param>
    /// <param name="muInit">First damping μ₀.</param>
    /// <param name="hessianEps">Relative step of the central differences.</param>
    public Newton(IEnumerable<ParamGroup> groups, double lr = 1, double rho = 0.5, double c1 = 1e-4, int maxBacktracks = 50, double muInit = 1e-8, double hessianEps = 1e-5)
        : base(groups, D(lr, rho, c1, maxBacktracks, muInit, hessianEps)) { }

    private NewtonHyper Hyper(ParamGroup g) => new(Option(g, "lr"), Option(g, "rho"), Option(g, "c1"), (int)Option(g, "maxBacktracks"), Option(g, "muInit"));

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckPositive(g, "lr");
        foreach (var n in new[] { "rho", "c1" })
            if (!(Option(g, n) > 0 && Option(g, n) < 1)) throw new ArgumentOutOfRangeException(n, g[n], $"Newton: {n} = {g[n]} is invalid (expected a number in (0, 1))");
        if (!(Option(g, "maxBacktracks") >= 1)) throw new ArgumentOutOfRangeException("maxBacktracks", g["maxBacktracks"], $"Newton: maxBacktracks = {g["maxBacktracks"]} is invalid (expected >= 1)");
        CheckPositive(g, "muInit");
        CheckPositive(g, "hessianEps");
    }

    /// <summary>One damped Newton step; <paramref name="closure"/> is required.</summary>
    /// <param name="closure">Clears the gradients, computes the loss, calls Backward and returns the loss.</param>
    /// <returns>The loss at the parameters the step started from.</returns>
    public override Tensor? Step(Func<Tensor>? closure)
    {
        var f = RequireClosure(closure);
        Validate(Group);
        var hyper = Hyper(Group);
        var eps = Option(Group, "hessianEps");
        var first = new StrongBox<Tensor?>();
        var obj = ObjectiveOf(f, first);
        var s0 = CoreNewton.init(obj, Hybrid.Core.Create.ofFloat64(Gather(), new[] { Dim }));
        var s = CoreNewton.stepDifference(hyper, eps, obj, new NewtonState(s0.X, s0.Value, s0.Grad, _mu, (int)_iter));
        Scatter(s.X);
        _iter = s.Iter;
        _mu = s.Mu;
        return first.Value;
    }

    /// <summary>
    /// One damped Newton step with the exact Hessian from the tape (double backward), for losses that can be
    /// differentiated twice. <paramref name="loss"/> computes the loss from the current parameters and returns it
    /// WITHOUT calling Backward (the optimizer differentiates it itself, with create-graph).
    /// </summary>
    /// <param name="loss">Computes and returns the scalar loss; must not call Backward.</param>
    /// <returns>The loss at the parameters the step started from.</returns>
    public Tensor StepExact(Func<Tensor> loss)
    {
        ArgumentNullException.ThrowIfNull(loss, nameof(loss));
        Validate(Group);
        var hyper = Hyper(Group);
        var ps = Group.Params;
        var dtype = ps[0].Core.DType;
        // L as a function of one flat vector: each parameter stands in for its (differentiable) slice of x
        Hybrid.Core.Tensor F(Hybrid.Core.Tensor x)
        {
            var scopes = new List<IDisposable>();
            int o = 0;
            foreach (var p in ps)
            {
                var n = (int)p.Numel;
                var piece = Hybrid.Core.Reshaping.reshape(p.Core.Shape, Hybrid.Core.Reshaping.narrow(0, o, n, x));
                scopes.Add(p.StandIn(piece.DType.Equals(p.Core.DType) ? piece : Hybrid.Core.Pointwise.cast(p.Core.DType, piece)));
                o += n;
            }
            try { return loss().Core; }
            finally { for (int i = scopes.Count - 1; i >= 0; i--) scopes[i].Dispose(); }
        }
        var f = FSharpFunc<Hybrid.Core.Tensor, Hybrid.Core.Tensor>.FromConverter(F);
        var obj = ObjectiveModule.ofTensorFn(Hybrid.Core.DType.Float64, Dim, f);
        var s0 = CoreNewton.init(obj, Hybrid.Core.Create.ofFloat64(Gather(), new[] { Dim }));
        var s = CoreNewton.step(hyper, f, obj, new NewtonState(s0.X, s0.Value, s0.Grad, _mu, (int)_iter));
        Scatter(s.X);
        _iter = s.Iter;
        _mu = s.Mu;
        return Tensor.Scalar(s0.Value, DType.Float64);
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters) =>
        _iter == 0 ? new Dictionary<int, ParamState>()
                   : new Dictionary<int, ParamState> { [0] = new ParamState("newton", _iter, Array.Empty<KeyValuePair<string, Tensor>>(), new[] { _mu }) };

    /// <inheritdoc />
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) => CheckFlat(state, "newton", 1);

    /// <inheritdoc />
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        (_iter, _mu) = state.TryGetValue(0, out var s) ? (s.Step, s.Scalars[0]) : (0, 0.0);
    }
}
