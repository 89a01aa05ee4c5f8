using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreTensor = Hybrid.Core.Tensor;
using CoreStateDict = Hybrid.Core.Optim.StateDict;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Base class of the gradient optimizers (SGD, Adam, ...): keeps one core state per parameter (torch's <c>state[p]</c>)
/// and, at each <see cref="Step(Func{Tensor})"/>, builds the core's pure rule from each group's current options and
/// applies it in place to every parameter that has a gradient (parameters without one are skipped, as in torch).
/// </summary>
public abstract class FirstOrderOptimizer : Optimizer
{
    private readonly Dictionary<Parameter, OptimState> _state = new(ReferenceEqualityComparer.Instance);

    /// <summary>Create the optimizer over one group.</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="defaults">Option defaults.</param>
    private protected FirstOrderOptimizer(IEnumerable<Parameter> parameters, IReadOnlyDictionary<string, object> defaults) : base(parameters, defaults) { }

    /// <summary>Create the optimizer over several groups.</summary>
    /// <param name="groups">The groups.</param>
    /// <param name="defaults">Option defaults.</param>
    private protected FirstOrderOptimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults) : base(groups, defaults) { }

    /// <summary>The core's rule for a group's current options (validates them).</summary>
    internal abstract CoreOptimizer CreateCore(ParamGroup group);

    /// <summary>Check the facade-level options (names as the user wrote them), then let the core check the rest.</summary>
    /// <param name="group">The group.</param>
    protected abstract void CheckOptions(ParamGroup group);

    /// <inheritdoc />
    protected sealed override void Validate(ParamGroup group)
    {
        CheckOptions(group);
        CreateCore(group);
    }

    /// <summary>Take one step (torch's <c>step(closure)</c>): every parameter with a gradient is updated in place.</summary>
    /// <param name="closure">Optional: re-evaluates the model, calls Backward and returns the loss.</param>
    /// <returns>The closure's loss, or null.</returns>
    public override Tensor? Step(Func<Tensor>? closure)
    {
        Tensor? loss = null;
        if (closure is not null)
            using (Hybrid.Core.GradMode.EnableGrad()) loss = closure();
        // every check before any parameter changes: options (the core rules) and gradients
        var cores = new CoreOptimizer[ParamGroups.Count];
        for (int i = 0; i < cores.Length; i++)
        {
            Validate(ParamGroups[i]);
            cores[i] = CreateCore(ParamGroups[i]);
        }
        foreach (var p in ParamGroups.SelectMany(g => g.Params))
        {
            var g = p.Core.Grad;
            if (g is null) continue;
            if (g.DType != p.Core.DType)
                throw new InvalidOperationException($"{GetType().Name}.Step: a gradient is {g.DType} but its parameter of shape [{string.Join(",", p.Shape)}] is {p.Core.DType}");
            if (_state.TryGetValue(p, out var s) && s.Buffers.Length == 1 && s.Buffers[0].Any(b => !b.Shape.AsSpan().SequenceEqual(p.Core.Shape)))
                throw new InvalidOperationException($"{GetType().Name}.Step: the state of a parameter of shape [{string.Join(",", p.Shape)}] no longer fits it");
        }
        for (int i = 0; i < cores.Length; i++)
            foreach (var p in ParamGroups[i].Params)
            {
                var g = p.Core.Grad;
                if (g is null) continue;
                var s = _state.TryGetValue(p, out var old) ? old : InitState(cores[i], p);
                _state[p] = cores[i].StepInPlace(s, new[] { g }, new[] { p.Core });
            }
        return loss;
    }

    /// <summary>The state a parameter starts from (Lookahead puts the inner optimizer's existing state inside).</summary>
    internal virtual OptimState InitState(CoreOptimizer core, Parameter p) => core.Init.Invoke(new[] { p.Core });

    internal void ValidateGroup(ParamGroup group) => Validate(group);

    internal bool TryGetCoreState(Parameter p, out OptimState state) => _state.TryGetValue(p, out state!);

    // ------------------------------------------------------------------ state dicts

    /// <inheritdoc />
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters)
    {
        var d = new Dictionary<int, ParamState>();
        for (int i = 0; i < parameters.Count; i++)
            if (_state.TryGetValue(parameters[i], out var s)) d[i] = ToParamState(OptimStateModule.toDict(s), parameters[i]);
        return d;
    }

    private static ParamState ToParamState(CoreStateDict d, Parameter p)
    {
        var buffers = d.Slots.Select((slot, j) =>
        {
            var values = d.Values[0][j];
            var t = FlatOptimizer.ShapedLike(p, values, d.DTypes[0] == "float32" ? DType.Float32 : DType.Float64);
            return KeyValuePair.Create(slot, t);
        });
        return new ParamState(d.Name, d.Step, buffers, d.Scalars, d.Inner.Select(x => ToParamState(x, p)));
    }

    /// <inheritdoc />
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        var index = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < parameters.Count; i++) index[parameters[i]] = i;
        foreach (var group in ParamGroups)
        {
            var core = CreateCore(group);
            foreach (var p in group.Params)
            {
                if (!state.TryGetValue(index[p], out var s)) continue;
                var fresh = OptimStateModule.toDict(InitState(core, p));
                CheckFits($"state of parameter {index[p]}", s, fresh, p);
            }
        }
    }

    private void CheckFits(string where, ParamState s, CoreStateDict fresh, Parameter p)
    {
        var name = GetType().Name;
        if (s.Kind != fresh.Name)
            throw new ArgumentException($"{name}.LoadStateDict: the {where} was made by '{s.Kind}' (expected '{fresh.Name}')", "stateDict");
        if (!s.Slots.SequenceEqual(fresh.Slots))
            throw new ArgumentException($"{name}.LoadStateDict: the {where} has buffers [{string.Join(", ", s.Slots)}] (expected [{string.Join(", ", fresh.Slots)}])", "stateDict");
        foreach (var slot in s.Slots)
        {
            var b = s.Buffers[slot];
            if (!b.Shape.SequenceEqual(p.Shape) || b.DType != p.DType)
                throw new ArgumentException($"{name}.LoadStateDict: buffer '{slot}' of the {where} is [{string.Join(",", b.Shape)}] {b.DType} but the parameter is [{string.Join(",", p.Shape)}] {p.DType}", "stateDict");
        }
        if (s.Scalars.Count != fresh.Scalars.Length)
            throw new ArgumentException($"{name}.LoadStateDict: the {where} has {s.Scalars.Count} scalars (expected {fresh.Scalars.Length})", "stateDict");
        if (s.Inner.Count != fresh.Inner.Length)
            throw new ArgumentException($"{name}.LoadStateDict: the {where} has {s.Inner.Count} inner states (expected {fresh.Inner.Length})", "stateDict");
        for (int k = 0; k < s.Inner.Count; k++) CheckFits($"{where} (inner {k})", s.Inner[k], fresh.Inner[k], p);
    }

    /// <inheritdoc />
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters)
    {
        _state.Clear();
        foreach (var (i, s) in state) _state[parameters[i]] = OptimStateModule.ofDict(ToCore(s, parameters[i]));
    }

    private static CoreStateDict ToCore(ParamState s, Parameter p)
    {
        var dtype = s.Slots.Count > 0 ? s.Buffers[s.Slots[0]].DType : p.DType;
        return new CoreStateDict(
            s.Kind, s.Step, s.Slots.ToArray(),
            new[] { Array.ConvertAll(p.Shape, d => (int)d) },
            new[] { dtype == DType.Float32 ? "float32" : "float64" },
            new[] { s.Slots.Select(slot => s.Buffers[slot].Core.ToFloat64Array()).ToArray() },
            s.Scalars.ToArray(),
            s.Inner.Select(x => ToCore(x, p)).ToArray());
    }
}
