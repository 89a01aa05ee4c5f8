using System.Runtime.CompilerServices;
using Hybrid.Core.Optim;
using Hybrid.Nn;
using Microsoft.FSharp.Core;
using CoreCreate = Hybrid.Core.Create;

namespace Hybrid.Optim;

/// <summary>
/// L-BFGS (Nocedal 1980; Liu &amp; Nocedal 1989) as <c>torch.optim.LBFGS</c>, step for step. One <c>Step(closure)</c> runs
/// up to maxIter iterations: d = −H∇L by the two-loop recursion over the last historySize pairs sᵢ = θᵢ₊₁ − θᵢ,
/// yᵢ = ∇Lᵢ₊₁ − ∇Lᵢ (with H₀ = (yᵀs/yᵀy)·I); θ ← θ + t d, t = lr (the very first t scaled by min(1, 1/‖∇L‖₁)) or
/// chosen by a strong-Wolfe line search. Stops when ‖∇L‖∞ ≤ toleranceGrad, or the step or the loss change less than
/// toleranceChange, or after maxEval closure calls. Options: "lr", "maxIter", "maxEval", "toleranceGrad",
/// "toleranceChange", "historySize", "lineSearchFn" ("" for none, or "strong_wolfe").
/// </summary>
public sealed class LBFGS : FlatOptimizer
{
    private LbfgsState? _state;

    private static IReadOnlyDictionary<string, object> D(double lr, int maxIter, int? maxEval, double toleranceGrad, double toleranceChange, int historySize, string? lineSearchFn) =>
        Options(("lr", lr), ("maxIter", maxIter), ("maxEval", maxEval ?? maxIter * 5 / 4), ("toleranceGrad", toleranceGrad),
                ("toleranceChange", toleranceChange), ("historySize", historySize), ("lineSearchFn", lineSearchFn ?? ""));

    /// <summary>L-BFGS over parameters (one group).</summary>
    /// <param name="parameters">The parameters to optimize.</param>
    /// <param name="lr">Step length (the line search's first trial with strong_wolfe).</param>
    /// <param name="maxIter">Most iterations per Step.</param>
    /// <param name="maxEval">Most closure calls per Step (default maxIter·5/4).</param>
    /// <param name="toleranceGrad">Stop when ‖∇L‖∞ ≤ this.</param>
    /// <param name="toleranceChange">Stop when the step or the loss change less than this.</param>
    /// <param name="historySize">Number of (s, y) pairs kept.</param>
    /// <param name="lineSearchFn">null for a fixed step, or "strong_wolfe".</param>
    public LBFGS(IEnumerable<Parameter> parameters, double lr = 1, int maxIter = 20, int? maxEval = null, double toleranceGrad = 1e-7,
                 double toleranceChange = 1e-9, int historySize = 100, string? lineSearchFn = null)
        : base(parameters, D(lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn)) { }

    /// <summary>L-BFGS over a single parameter group (torch's LBFGS supports one group only).</summary>
    /// <param name="groups">One group.</param>
    /// <param name="lr">Step length.</param>
    /// <param name="maxIter">Most iterations per Step.</param>
    /// <param name="maxEval">Most closure calls per Step (default maxIter·5/4).</param>
    /// <param name="toleranceGrad">Stop when ‖∇L‖∞ ≤ this.</param>
    /// <param name="toleranceChange">Stop when the step or the loss change less than this.</param>
    /// <param name="historySize">Number of (s, y) pairs kept.</param>
    /// <param name="lineSearchFn">null for a fixed step, or "strong_wolfe".</param>
    public LBFGS(IEnumerable<ParamGroup> groups, double lr = 1, int maxIter = 20, int? maxEval = null, double toleranceGrad = 1e-7,
                 double toleranceChange = 1e-9, int historySize = 100, string? lineSearchFn = null)
        : base(groups, D(lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize, lineSearchFn)) { }

    private LbfgsHyper Hyper(ParamGroup g)
    {
        var ls = g["lineSearchFn"] as string;
        try
        {
            return Lbfgs.create(Option(g, "lr"), (int)Option(g, "maxIter"), FSharpOption<int>.Some((int)Option(g, "maxEval")),
                Option(g, "toleranceGrad"), Option(g, "toleranceChange"), (int)Option(g, "historySize"), ls ?? "");
        }
        catch (ArgumentException e) when (e.ParamName == "lineSearchFn")
        {
            throw new ArgumentException($"LBFGS: lineSearchFn = \"{ls}\" is invalid (expected null or \"strong_wolfe\")", "lineSearchFn", e);
        }
    }

    /// <inheritdoc />
    protected override void CheckOptions(ParamGroup g)
    {
        CheckLr(g);
        foreach (var n in new[] { "maxIter", "maxEval", "historySize" })
            if (!(Option(g, n) >= 1)) throw new ArgumentOutOfRangeException(n, g[n], $"LBFGS: {n} = {g[n]} is invalid (expected >= 1)");
        CheckNonNegative(g, "toleranceGrad");
        CheckNonNegative(g, "toleranceChange");
        Lbfgs.check(Hyper(g));
    }

    /// <summary>Run one torch L-BFGS step; <paramref name="closure"/> is required.</summary>
    /// <param name="closure">Clears the gradients, computes the loss, calls Backward and returns the loss.</param>
    /// <returns>The loss at the parameters the step started from.</returns>
    public override Tensor? Step(Func<Tensor>? closure)
    {
        var f = RequireClosure(closure);
        Validate(Group);
        var hyper = Hyper(Group);
        var first = new StrongBox<Tensor?>();
        var obj = ObjectiveOf(f, first);
        var x0 = CoreCreate.ofFloat64(Gather(), new[] { Dim });
        var r = Lbfgs.step(hyper, obj, _state ?? Lbfgs.init(), x0);
        Scatter(r.Params.ToFloat64Array());
        _state = r.State;
        return first.Value;
    }

    /// <inheritdoc />
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters)
    {
        if (_state is not LbfgsState s) return new Dictionary<int, ParamState>();
        var buffers = new[]
        {
            KeyValuePair.Create("d", Vector(s.D)),
            KeyValuePair.Create("old_dirs", Matrix(s.OldDirs, Dim)),
            KeyValuePair.Create("old_stps", Matrix(s.OldStps, Dim)),
            KeyValuePair.Create("ro", Vector(s.Ro)),
            KeyValuePair.Create("prev_flat_grad", Vector(s.PrevFlatGrad)),
            KeyValuePair.Create("al", Vector(s.Al)),
        };
        return new Dictionary<int, ParamState> { [0] = new ParamState("lbfgs", s.NIter, buffers, new[] { s.FuncEvals, s.T, s.HDiag, s.PrevLoss }) };
    }

    /// <inheritdoc />
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) =>
        CheckFlat(state, "lbfgs", 4, ("d", new long[] { -1 }), ("old_dirs", new long[] { -1, Dim }), ("old_stps", new long[] { -1, Dim }),
                  ("ro", new long[] { -1 }), ("prev_flat_grad", new long[] { -1 }), ("al", new long[] { -1 }));

    /// <inheritdoc />
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        if (!state.TryGetValue(0, out var s)) { _state = null; return; }
        double[] V(string k) => s.Buffers[k].Core.ToFloat64Array();
        _state = new LbfgsState((int)s.Scalars[0], (int)s.Step, V("d"), s.Scalars[1], Rows(s.Buffers["old_dirs"]), Rows(s.Buffers["old_stps"]),
                                V("ro"), s.Scalars[2], V("prev_flat_grad"), s.Scalars[3], V("al"));
    }
}
