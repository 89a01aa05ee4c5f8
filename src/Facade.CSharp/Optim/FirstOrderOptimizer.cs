using Hybrid.Core.Optim;
using Hybrid.Nn;
using CoreTensor = Hybrid.Core.Tensor;
using CoreStateDict = Hybrid.Core.Optim.StateDict;
using CoreOptimizer = Hybrid.Core.Optim.Optimizer<Hybrid.Core.Optim.OptimState>;

namespace Hybrid.Optim;

/// <summary>
/// Base class of the gradient optimizers (SGD, Adam, ...): keeps one core state per parameter (torch's <c>state[p]</c>)
/// and one core rule per group, built and validated when the group's options change (a scheduler moving lr included)
/// and reused otherwise. At each <see cref="Step(Func{Tensor})"/> the core applies the rule to all parameters of a group
/// that have a gradient in one call (torch's multi-tensor <c>foreach</c> path: one fused pass per tensor); parameters
/// without one are skipped, as in torch.
/// </summary>
public abstract class FirstOrderOptimizer : Optimizer
{
    private readonly Dictionary<Parameter, OptimState> _state = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<ParamGroup, (KeyValuePair<string, object>[] Options, CoreOptimizer Core)> _cores = new(ReferenceEqualityComparer.Instance);

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

    /// <summary>The core rule of a group: the cached one while the group's options are those it was built from,
    /// otherwise a new one, validated once (and cached only when valid).</summary>
    private CoreOptimizer CoreOf(ParamGroup group)
    {
        if (_cores.TryGetValue(group, out var cached) && SameOptions(cached.Options, group.Options)) return cached.Core;
        CheckOptions(group);
        var core = CreateCore(group);
        _cores[group] = (Snapshot(group.Options), core);
        return core;
    }

    private static KeyValuePair<string, object>[] Snapshot(IReadOnlyDictionary<string, object> options) =>
        options.Select(o => KeyValuePair.Create(o.Key, o.Value is Array a ? a.Clone() : o.Value)).ToArray();

    private static bool SameOptions(KeyValuePair<string, object>[] snapshot, IReadOnlyDictionary<string, object> options)
    {
        if (snapshot.Length != options.Count) return false;
        foreach (var (k, v) in snapshot)
            if (!options.TryGetValue(k, out var now) || !System.Collections.StructuralComparisons.StructuralEqualityComparer.Equals(v, now)) return false;
        return true;
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
        for (int i = 0; i < cores.Length; i++) cores[i] = CoreOf(ParamGroups[i]);
        foreach (var p in ParamGroups.SelectMany(g => g.Params))
        {
            var g = p.Core.Grad;
            if (g is null) continue;
            if (g.DType != p.Core.DType)
                throw new InvalidOperationException($"{GetType().Name}.Step: a gradient is {g.DType} but its parameter of shape [{string.Join(",", p.Shape)}] is {p.Core.DType}");
            if (_state.TryGetValue(p, out var s) && s.Buffers.Length == 1 && s.Buffers[0].Any(b => !b.Shape.AsSpan().SequenceEqual(p.Core.Shape)))
                throw new InvalidOperationException($"{GetType().Name}.Step: the state of a parameter of shape [{string.Join(",", p.Shape)}] no longer fits it");
        }
        for (int i = 0; i < cores.Length; i++) StepGroup(cores[i], ParamGroups[i]);
        return loss;
    }

    /// <summary>One step of a group: the parameters with a gradient whose states are at the same step (all of them,
    /// unless some joined the group later or lacked a gradient before) go to the core together, in one call.</summary>
    private void StepGroup(CoreOptimizer core, ParamGroup group)
    {
        var batches = new List<(OptimState First, List<Parameter> Params, List<OptimState> States)>();
        foreach (var p in group.Params)
        {
            if (p.Core.Grad is null) continue;
            var s = _state.TryGetValue(p, out var old) ? old : InitState(core, p);
            // a state with inner states (Lookahead) is stepped alone: its inner states are per parameter
            var batch = batches.FindIndex(b => Batchable(b.First, s));
            if (batch < 0) batches.Add((s, new List<Parameter> { p }, new List<OptimState> { s }));
            else { batches[batch].Params.Add(p); batches[batch].States.Add(s); }
        }
        foreach (var (first, ps, states) in batches)
        {
            var joint = ps.Count == 1 ? first
                : new OptimState(first.Name, first.Step, first.Slots, states.Select(s => s.Buffers[0]).ToArray(), first.Scalars, first.Inner);
            var next = core.StepInPlace(joint, ps.Select(p => p.Core.Grad!).ToArray(), ps.Select(p => p.Core).ToArray());
            for (int j = 0; j < ps.Count; j++)
                _state[ps[j]] = ps.Count == 1 ? next
                    : new OptimState(next.Name, next.Step, next.Slots, new[] { next.Buffers[j] }, next.Scalars, next.Inner);
        }
    }

    /// <summary>Two per-parameter states one core call can advance together: same rule, step, slots and scalars.</summary>
    private static bool Batchable(OptimState a, OptimState b) =>
        a.Inner.Length == 0 && b.Inner.Length == 0 && a.Buffers.Length == 1 && b.Buffers.Length == 1
        && a.Name == b.Name && a.Step == b.Step && a.Slots.SequenceEqual(b.Slots) && a.Scalars.SequenceEqual(b.Scalars);

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
