using Hybrid.Nn;

namespace Hybrid.Optim;

/// <summary>
/// Base class of the optimizers (<c>torch.optim.Optimizer</c>): holds parameter groups and per-parameter state, and
/// calls the core's pure update rules. Subclasses declare their defaults and how one step is taken.
/// </summary>
public abstract class Optimizer
{
    private readonly List<ParamGroup> _groups = new();

    /// <summary>The optimizer's defaults (torch's <c>defaults</c>), filled into every group that lacks an option.</summary>
    protected IReadOnlyDictionary<string, object> Defaults { get; }

    /// <summary>Create an optimizer over one group of parameters.</summary>
    /// <param name="parameters">The parameters (at least one).</param>
    /// <param name="defaults">Option defaults.</param>
    protected Optimizer(IEnumerable<Parameter> parameters, IReadOnlyDictionary<string, object> defaults)
        : this(new[] { new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters))) }, defaults) { }

    /// <summary>Create an optimizer over several groups with per-group options.</summary>
    /// <param name="groups">The groups (at least one).</param>
    /// <param name="defaults">Option defaults.</param>
    protected Optimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults)
    {
        ArgumentNullException.ThrowIfNull(groups, nameof(groups));
        Defaults = defaults ?? throw new ArgumentNullException(nameof(defaults));
        var list = groups.ToList();
        if (list.Count == 0) throw new ArgumentException($"{GetType().Name}: optimizer got an empty parameter list", nameof(groups));
        foreach (var g in list) AddParamGroup(g);
    }

    internal IReadOnlyDictionary<string, object> DefaultOptions => Defaults;

    /// <summary>The parameter groups; their options (Lr included) can be changed between steps.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>Add a group of parameters (fine-tuning a new layer, for example). Its missing options take the defaults.</summary>
    /// <param name="group">The group.</param>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group, nameof(group));
        if (group.Params.Count == 0)
            throw new ArgumentException($"{GetType().Name}: optimizer got an empty parameter list", nameof(group));
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var p in _groups.SelectMany(g => g.Params)) seen.Add(p);
        foreach (var p in group.Params)
            if (!seen.Add(p))
                throw new ArgumentException($"{GetType().Name}: a parameter of shape [{string.Join(",", p.Shape)}] appears in more than one parameter group", nameof(group));
        var merged = new ParamGroup(group.Params, group.Options) { InitialLr = group.InitialLr };
        merged.FillDefaults(Defaults);
        Validate(merged);
        // keep the caller's object so that later changes to it reach the optimizer
        group.FillDefaults(Defaults);
        _groups.Add(group);
    }

    /// <summary>Check a group's options, throwing ArgumentException naming the option and its value.</summary>
    /// <param name="group">The group, with defaults filled in.</param>
    protected virtual void Validate(ParamGroup group) { }

    /// <summary>Take one optimization step using the gradients in each parameter's <see cref="Tensor.Grad"/>.</summary>
    public void Step() => Step(null);

    /// <summary>Take one step; <paramref name="closure"/>, when given, re-evaluates the model and returns the loss (required by L-BFGS).</summary>
    /// <param name="closure">Clears the gradients, computes the loss, calls Backward and returns the loss.</param>
    /// <returns>The loss the closure returned, or null.</returns>
    public abstract Tensor? Step(Func<Tensor>? closure);

    /// <summary>Every parameter, groups in order: a parameter's position here is its index in state dicts.</summary>
    protected IReadOnlyList<Parameter> IndexedParameters => _groups.SelectMany(g => g.Params).ToArray();

    /// <summary>The state of each parameter that has one, by index in <see cref="IndexedParameters"/> (copies).</summary>
    /// <param name="parameters">The parameters, indexed.</param>
    protected abstract IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters);

    /// <summary>Check that saved states fit these parameters and this optimizer; throw ArgumentException naming what differs.</summary>
    /// <param name="state">The saved per-parameter states.</param>
    /// <param name="parameters">The parameters, indexed.</param>
    protected abstract void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters);

    /// <summary>Replace the per-parameter states by copies of saved ones (already checked).</summary>
    /// <param name="state">The saved per-parameter states.</param>
    /// <param name="parameters">The parameters, indexed.</param>
    protected abstract void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters);

    /// <summary>The optimizer's state (torch's <c>state_dict()</c>): per-parameter state by index and the groups' options. Holds copies.</summary>
    public OptimizerStateDict StateDict()
    {
        var ps = IndexedParameters;
        var index = new Dictionary<Parameter, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < ps.Count; i++) index[ps[i]] = i;
        var groups = _groups.Select(g => new ParamGroupState(g.Options, g.Params.Select(p => index[p]), g.InitialLr));
        return new OptimizerStateDict(GetType().Name, ExportState(ps), groups);
    }

    /// <summary>
    /// Restore a state made by <see cref="StateDict"/> of the same optimizer class over parameters of the same shapes
    /// (torch's <c>load_state_dict</c>): the groups' options and every parameter's state. Everything is checked first;
    /// on a mismatch an ArgumentException is thrown and nothing changes.
    /// </summary>
    /// <param name="stateDict">The saved state.</param>
    public void LoadStateDict(OptimizerStateDict stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict, nameof(stateDict));
        CheckStateDict(stateDict);
        ApplyStateDict(stateDict);
    }

    /// <summary>Throw an ArgumentException naming what does not fit when <paramref name="stateDict"/> cannot be loaded; changes nothing.</summary>
    internal void CheckStateDict(OptimizerStateDict stateDict)
    {
        var name = GetType().Name;
        if (stateDict.Optimizer != name)
            throw new ArgumentException($"{name}.LoadStateDict: the state dict was made by {stateDict.Optimizer} (expected {name})", nameof(stateDict));
        if (stateDict.ParamGroups.Count != _groups.Count)
            throw new ArgumentException($"{name}.LoadStateDict: the state dict has {stateDict.ParamGroups.Count} parameter groups (expected {_groups.Count})", nameof(stateDict));
        int offset = 0;
        for (int i = 0; i < _groups.Count; i++)
        {
            var saved = stateDict.ParamGroups[i];
            var expected = Enumerable.Range(offset, _groups[i].Params.Count);
            if (!saved.Params.SequenceEqual(expected))
                throw new ArgumentException($"{name}.LoadStateDict: group {i} of the state dict holds parameters [{string.Join(",", saved.Params)}] (expected [{string.Join(",", expected)}])", nameof(stateDict));
            offset += _groups[i].Params.Count;
            var candidate = new ParamGroup(_groups[i].Params, saved.Options);
            candidate.FillDefaults(Defaults);
            Validate(candidate);
        }
        var ps = IndexedParameters;
        foreach (var k in stateDict.State.Keys)
            if (k < 0 || k >= ps.Count)
                throw new ArgumentException($"{name}.LoadStateDict: the state dict has a state for parameter {k} (expected indices 0..{ps.Count - 1})", nameof(stateDict));
        CheckState(stateDict.State, ps);
    }

    /// <summary>Replace the groups' options and the per-parameter states by those of a state dict passed by <see cref="CheckStateDict"/>.</summary>
    internal void ApplyStateDict(OptimizerStateDict stateDict)
    {
        var ps = IndexedParameters;
        for (int i = 0; i < _groups.Count; i++)
        {
            _groups[i].ReplaceOptions(stateDict.ParamGroups[i].Options);
            _groups[i].FillDefaults(Defaults);
            _groups[i].InitialLr = stateDict.ParamGroups[i].InitialLr;
        }
        ImportState(stateDict.State, ps);
    }

    /// <summary>Write <see cref="StateDict"/> to a safetensors file (exact: loading it and continuing equals not stopping).</summary>
    /// <param name="path">The file.</param>
    public void Save(string path) => StateDict().Save(path);

    /// <summary>Read a file written by <see cref="Save"/> and <see cref="LoadStateDict"/> it.</summary>
    /// <param name="path">The file.</param>
    public void Load(string path) => LoadStateDict(OptimizerStateDict.Load(path));

    // ------------------------------------------------------------------ option checks shared by the subclasses

    // Each check is the core's (Hyper): one rule and one message format ("Adam: lr must be a finite number >= 0, got -1").

    /// <summary>lr must be a finite number >= 0.</summary>
    /// <param name="group">The group.</param>
    protected void CheckLr(ParamGroup group) => Hybrid.Core.Optim.Hyper.lr(GetType().Name, Option(group, "lr"));

    /// <summary>An option that must be finite and >= 0.</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected void CheckNonNegative(ParamGroup group, string name) => Hybrid.Core.Optim.Hyper.nonNegative(GetType().Name, name, Option(group, name));

    /// <summary>An option that must be finite and > 0 (eps).</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected void CheckPositive(ParamGroup group, string name) => Hybrid.Core.Optim.Hyper.positive(GetType().Name, name, Option(group, name));

    /// <summary>An option in [0, 1) (a decay rate).</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected void CheckUnit(ParamGroup group, string name) => Hybrid.Core.Optim.Hyper.unitOpen(GetType().Name, name, Option(group, name));

    /// <summary>An option in [0, 1].</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected void CheckClosedUnit(ParamGroup group, string name) => Hybrid.Core.Optim.Hyper.unitClosed(GetType().Name, name, Option(group, name));

    /// <summary>betas = (β₁, β₂), each in [0, 1).</summary>
    /// <param name="group">The group.</param>
    protected void CheckBetas(ParamGroup group)
    {
        var (b1, b2) = Pair(group, "betas");
        Hybrid.Core.Optim.Hyper.betas(GetType().Name, "betas", b1, b2);
    }

    /// <summary>The options of the Adam family (Adam, AdamW, Adamax, RAdam, NAdam): lr, betas, eps &gt; 0, weightDecay ≥ 0.</summary>
    /// <param name="group">The group.</param>
    protected void CheckAdamOptions(ParamGroup group)
    {
        CheckLr(group);
        CheckBetas(group);
        CheckPositive(group, "eps");
        CheckNonNegative(group, "weightDecay");
    }

    /// <summary>A numeric option of a group.</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected double Option(ParamGroup group, string name)
    {
        var v = group[name];
        try { return Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is InvalidCastException or FormatException)
        {
            throw new ArgumentException($"{GetType().Name}: option {name} = {v} is not a number", name, e);
        }
    }

    /// <summary>A boolean option of a group.</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected bool Flag(ParamGroup group, string name) =>
        group[name] is bool b ? b : throw new ArgumentException($"{GetType().Name}: option {name} = {group[name]} is not a bool", name);

    /// <summary>A pair option of a group ("betas", "etas"), stored as a <c>(double, double)</c> tuple.</summary>
    /// <param name="group">The group.</param>
    /// <param name="name">The option.</param>
    protected (double, double) Pair(ParamGroup group, string name) => group[name] switch
    {
        ValueTuple<double, double> t => t,
        double[] { Length: 2 } a => (a[0], a[1]),
        var v => throw new ArgumentException($"{GetType().Name}: option {name} = {v} is not a (double, double) pair", name),
    };

    /// <summary>Build an options dictionary.</summary>
    /// <param name="options">Name and value pairs.</param>
    protected static IReadOnlyDictionary<string, object> Options(params (string Name, object Value)[] options) =>
        options.ToDictionary(o => o.Name, o => o.Value);

    /// <summary>Clear the gradients of every parameter.</summary>
    /// <param name="setToNone">Set them to null (the default) rather than to zeros.</param>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _groups.SelectMany(g => g.Params))
            p.Grad = setToNone || p.Grad is null ? null : p.Grad.ZerosLike();
    }
}
