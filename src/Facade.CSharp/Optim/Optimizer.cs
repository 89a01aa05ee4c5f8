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

    /// <summary>Clear the gradients of every parameter.</summary>
    /// <param name="setToNone">Set them to null (the default) rather than to zeros.</param>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in _groups.SelectMany(g => g.Params))
            p.Grad = setToNone || p.Grad is null ? null : p.Grad.ZerosLike();
    }
}
