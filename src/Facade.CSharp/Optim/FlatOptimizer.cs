using Hybrid.Core.Optim;
using Hybrid.Nn;
using System.Runtime.CompilerServices;
using Microsoft.FSharp.Core;
using CoreDType = Hybrid.Core.DType;

namespace Hybrid.Optim;

/// <summary>
/// Base class of the optimizers that work on one flat parameter vector and re-evaluate the loss through a closure
/// (L-BFGS, Newton, BFGS, proximal gradient): x is the concatenation of the group's parameters (as float64), the
/// objective sets the parameters from x, calls the closure (which clears the gradients, computes the loss, calls
/// Backward and returns the loss, exactly torch's contract), and gathers the gradients (zeros where a parameter has
/// none). One parameter group only, as torch's LBFGS.
/// </summary>
public abstract class FlatOptimizer : Optimizer
{
    /// <summary>Create the optimizer over one group.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="defaults">Option defaults.</param>
    private protected FlatOptimizer(IEnumerable<Parameter> parameters, IReadOnlyDictionary<string, object> defaults) : base(parameters, defaults) { }

    /// <summary>Create the optimizer over a single group.</summary>
    /// <param name="groups">One group.</param>
    /// <param name="defaults">Option defaults.</param>
    private protected FlatOptimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults) : base(groups, defaults) { }

    /// <summary>Check a group's options (names as the user wrote them).</summary>
    /// <param name="group">The group.</param>
    protected abstract void CheckOptions(ParamGroup group);

    /// <inheritdoc />
    protected sealed override void Validate(ParamGroup group)
    {
        if (ParamGroups.Count >= 1 && !group.Params.SequenceEqual(ParamGroups[0].Params))
            throw new ArgumentException($"{GetType().Name}: doesn't support per-parameter options (parameter groups): got a second group of {group.Params.Count} parameters", nameof(group));
        CheckOptions(group);
    }

    /// <summary>The single group.</summary>
    protected ParamGroup Group => ParamGroups[0];

    /// <summary>Total number of elements of the parameters (the length of x).</summary>
    protected int Dim => checked((int)Group.Params.Sum(p => p.Numel));

    /// <summary>The parameters concatenated into one float64 vector.</summary>
    protected double[] Gather()
    {
        var x = new double[Dim];
        int o = 0;
        foreach (var p in Group.Params)
        {
            var v = p.Core.ToFloat64Array();
            v.CopyTo(x, o);
            o += v.Length;
        }
        return x;
    }

    /// <summary>Set the parameters from a flat vector (each in its own dtype), keeping their gradients.</summary>
    /// <param name="x">The flat vector.</param>
    protected void Scatter(double[] x)
    {
        int o = 0;
        foreach (var p in Group.Params)
        {
            var n = (int)p.Numel;
            var slice = x.AsSpan(o, n).ToArray();
            p.SetData(ShapedLike(p, slice, p.DType));
            o += n;
        }
    }

    /// <summary>
    /// A tensor of exactly <paramref name="p"/>'s shape (rank 0 included: <c>Tensor.FromArray(values)</c> with no shape
    /// would mean [n]) holding <paramref name="values"/> in <paramref name="dtype"/>.
    /// </summary>
    /// <param name="p">The parameter whose shape the tensor takes.</param>
    /// <param name="values">Values in row-major order (as many as the parameter has elements).</param>
    /// <param name="dtype">Element type (float32 or float64).</param>
    internal static Tensor ShapedLike(Parameter p, double[] values, DType dtype) =>
        Tensor.Wrap(dtype == DType.Float32
            ? Hybrid.Core.Create.ofFloat32(Array.ConvertAll(values, v => (float)v), p.Core.Shape)
            : Hybrid.Core.Create.ofFloat64(values, p.Core.Shape));

    private double[] GatherGrad()
    {
        var g = new double[Dim];
        int o = 0;
        foreach (var p in Group.Params)
        {
            var n = (int)p.Numel;
            p.Core.Grad?.ToFloat64Array().CopyTo(g, o);
            o += n;
        }
        return g;
    }

    /// <summary>The closure as the core's objective: (f(x), ∇f(x)). The first loss tensor it returns is kept in <paramref name="first"/>.</summary>
    /// <param name="closure">The user's closure.</param>
    /// <param name="first">Receives the first loss tensor.</param>
    internal Objective ObjectiveOf(Func<Tensor> closure, StrongBox<Tensor?> first)
    {
        var name = GetType().Name;
        var eval = FSharpFunc<double[], Tuple<double, double[]>>.FromConverter(x =>
        {
            Scatter(x);
            Tensor loss;
            using (Hybrid.Core.GradMode.EnableGrad()) loss = closure();
            if (loss is null) throw new InvalidOperationException($"{name}.Step: the closure returned null (expected the loss)");
            if (loss.Numel != 1) throw new InvalidOperationException($"{name}.Step: the closure returned a tensor of shape [{string.Join(",", loss.Shape)}] (expected a scalar loss)");
            first.Value ??= loss;
            return Tuple.Create(loss.Core.ToFloat64Array()[0], GatherGrad());
        });
        return new Objective(Dim, CoreDType.Float64, eval);
    }

    /// <summary>Checks the closure is given (these optimizers re-evaluate the loss).</summary>
    /// <param name="closure">The closure.</param>
    protected Func<Tensor> RequireClosure(Func<Tensor>? closure) =>
        closure ?? throw new ArgumentNullException(nameof(closure), $"{GetType().Name}.Step: a closure that recomputes the loss is required");

    /// <summary>A float64 vector tensor (for state dicts).</summary>
    /// <param name="v">Values.</param>
    protected static Tensor Vector(double[] v) => Tensor.FromArray(v, v.Length);

    /// <summary>A float64 matrix tensor of rows (for state dicts).</summary>
    /// <param name="rows">Rows of equal length.</param>
    /// <param name="cols">Row length (used when there are no rows).</param>
    protected static Tensor Matrix(double[][] rows, int cols) => Tensor.FromArray(rows.SelectMany(r => r).ToArray(), rows.Length, cols);

    /// <summary>The rows of a matrix tensor.</summary>
    /// <param name="t">A rank-2 tensor.</param>
    protected static double[][] Rows(Tensor t)
    {
        var v = t.Core.ToFloat64Array();
        var (m, n) = ((int)t.Shape[0], (int)t.Shape[1]);
        return Enumerable.Range(0, m).Select(i => v.AsSpan(i * n, n).ToArray()).ToArray();
    }

    /// <summary>Check a saved flat state: its kind, its buffers' shapes (given as expected element counts per slot), its scalars.</summary>
    /// <param name="state">Saved states.</param>
    /// <param name="kind">Expected kind.</param>
    /// <param name="scalars">Expected number of scalars.</param>
    /// <param name="shapes">Expected shape of each slot (-1: any length).</param>
    protected void CheckFlat(IReadOnlyDictionary<int, ParamState> state, string kind, int scalars, params (string Slot, long[] Shape)[] shapes)
    {
        var name = GetType().Name;
        foreach (var (i, s) in state)
        {
            if (i != 0) throw new ArgumentException($"{name}.LoadStateDict: the state is kept under parameter 0, got one under {i}", "stateDict");
            if (s.Kind != kind) throw new ArgumentException($"{name}.LoadStateDict: the state was made by '{s.Kind}' (expected '{kind}')", "stateDict");
            if (!s.Slots.SequenceEqual(shapes.Select(x => x.Slot)))
                throw new ArgumentException($"{name}.LoadStateDict: the state has buffers [{string.Join(", ", s.Slots)}] (expected [{string.Join(", ", shapes.Select(x => x.Slot))}])", "stateDict");
            foreach (var (slot, shape) in shapes)
            {
                var b = s.Buffers[slot].Shape;
                if (b.Length != shape.Length || b.Zip(shape).Any(z => z.Second >= 0 && z.First != z.Second))
                    throw new ArgumentException($"{name}.LoadStateDict: buffer '{slot}' has shape [{string.Join(",", b)}] (expected [{string.Join(",", shape.Select(d => d < 0 ? "*" : d.ToString()))}] for {Dim} parameters)", "stateDict");
            }
            if (s.Scalars.Count != scalars) throw new ArgumentException($"{name}.LoadStateDict: the state has {s.Scalars.Count} scalars (expected {scalars})", "stateDict");
        }
    }
}
