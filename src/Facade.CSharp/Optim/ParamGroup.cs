using Hybrid.Nn;

namespace Hybrid.Optim;

/// <summary>
/// A set of parameters that share optimizer options (torch's <c>param_groups</c> entries). <see cref="Lr"/> and every
/// other option can be changed between steps (schedulers do); options not given take the optimizer's defaults.
/// </summary>
public sealed class ParamGroup
{
    private readonly Dictionary<string, object> _options;

    /// <summary>A group of parameters with per-group option overrides (camelCase torch names: "lr", "momentum", "weightDecay", "betas"...).</summary>
    /// <param name="parameters">The parameters.</param>
    /// <param name="options">Overrides of the optimizer's defaults for this group.</param>
    public ParamGroup(IEnumerable<Parameter> parameters, IReadOnlyDictionary<string, object>? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters, nameof(parameters));
        Params = parameters.ToArray();
        for (int i = 0; i < Params.Count; i++)
            if (Params[i] is null) throw new ArgumentNullException(nameof(parameters), $"ParamGroup: parameter {i} is null");
        _options = options is null ? new() : new Dictionary<string, object>(options);
    }

    /// <summary>The parameters of this group.</summary>
    public IReadOnlyList<Parameter> Params { get; }

    /// <summary>All options of the group, by name (after the optimizer filled in its defaults).</summary>
    public IReadOnlyDictionary<string, object> Options => _options;

    /// <summary>Read or change one option.</summary>
    /// <param name="name">Option name ("lr", "momentum", "betas", ...).</param>
    public object this[string name]
    {
        get => _options.TryGetValue(name, out var v) ? v : throw new KeyNotFoundException($"ParamGroup: no option '{name}' (known: {string.Join(", ", _options.Keys)})");
        set => _options[name] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>True when the group has the option.</summary>
    /// <param name="name">Option name.</param>
    public bool Has(string name) => _options.ContainsKey(name);

    /// <summary>The learning rate of this group.</summary>
    public double Lr
    {
        get => Convert.ToDouble(this["lr"]);
        set => this["lr"] = value;
    }

    /// <summary>The learning rate when the first scheduler was attached (torch's <c>initial_lr</c>); null before.</summary>
    public double? InitialLr { get; set; }

    /// <summary>A numeric option.</summary>
    /// <param name="name">Option name.</param>
    public double GetDouble(string name) => Convert.ToDouble(this[name]);

    /// <summary>A boolean option.</summary>
    /// <param name="name">Option name.</param>
    public bool GetBool(string name) => Convert.ToBoolean(this[name]);

    internal void ReplaceOptions(IReadOnlyDictionary<string, object> options)
    {
        _options.Clear();
        foreach (var (k, v) in options) _options[k] = v;
    }

    internal void FillDefaults(IReadOnlyDictionary<string, object> defaults)
    {
        foreach (var (k, v) in defaults)
            if (!_options.ContainsKey(k)) _options[k] = v;
    }
}
