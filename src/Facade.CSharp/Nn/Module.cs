using System.Reflection;

namespace Hybrid.Nn;

/// <summary>
/// Base class of layers and models (<c>torch.nn.Module</c>). Parameters and submodules held in fields are found
/// automatically (in declaration order), or can be registered by name with <see cref="RegisterParameter"/> and
/// <see cref="RegisterModule"/>. A field holding an array or list of modules (<c>List&lt;Linear&gt;</c>, <c>Linear[]</c>) or of
/// parameters is found too, as a <see cref="ModuleList"/> / <see cref="ParameterList"/> of the items it holds when the module's
/// parameters are first asked for; modules added to such a list later are not seen: hold a <see cref="ModuleList"/> instead.
/// </summary>
public abstract partial class Module : IDisposable
{
    private readonly List<(string Name, Parameter? Param)> _params = new();
    private readonly List<(string Name, Module Module)> _modules = new();
    private readonly List<(string Name, Tensor Buffer)> _buffers = new();
    private bool _discovered;

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>; dropout and batch norm read it.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Compute the module's output.</summary>
    /// <param name="input">The input batch.</param>
    public abstract Tensor Forward(Tensor input);

    /// <summary>
    /// Run <see cref="Forward"/>, then the forward hooks (torch's <c>module(x)</c>): call submodules through this
    /// rather than <see cref="Forward"/> so that hooks, and <see cref="Summary"/>, see them.
    /// </summary>
    /// <param name="input">The input batch.</param>
    /// <returns>The module's output.</returns>
    public Tensor Call(Tensor input)
    {
        var output = Forward(input);
        if (_forwardHooks.Count > 0)
            foreach (var hook in _forwardHooks.ToArray()) hook(this, input, output);
        return output;
    }

    private readonly List<Action<Module, Tensor, Tensor>> _forwardHooks = new();

    /// <summary>Whether a forward hook is registered (a fused path that skips this module's <see cref="Call"/> must not be taken).</summary>
    internal bool HasForwardHooks => _forwardHooks.Count > 0;

    /// <summary>
    /// Run <paramref name="hook"/>(module, input, output) after each <see cref="Call"/> of this module (torch's
    /// <c>register_forward_hook</c>; a direct <see cref="Forward"/> call, like torch's <c>.forward()</c>, runs no hooks).
    /// </summary>
    /// <param name="hook">Called with the module, its input and its output.</param>
    /// <returns>A handle whose Dispose removes the hook.</returns>
    public IDisposable RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook, nameof(hook));
        _forwardHooks.Add(hook);
        return new HookHandle(() => _forwardHooks.Remove(hook));
    }

    private sealed class HookHandle(Action remove) : IDisposable
    {
        private Action? _remove = remove;

        public void Dispose()
        {
            _remove?.Invoke();
            _remove = null;
        }
    }

    /// <summary>Register a parameter under a name (null registers an absent parameter, such as a disabled bias).</summary>
    /// <param name="name">Name in <see cref="NamedParameters"/> and state dicts.</param>
    /// <param name="parameter">The parameter, or null.</param>
    protected void RegisterParameter(string name, Parameter? parameter)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, nameof(name));
        if (_params.Any(p => p.Name == name))
            throw new ArgumentException($"RegisterParameter: a parameter named '{name}' is already registered", nameof(name));
        _params.Add((name, parameter));
    }

    /// <summary>Register a submodule under a name.</summary>
    /// <param name="name">Name prefix of its parameters.</param>
    /// <param name="module">The submodule.</param>
    protected void RegisterModule(string name, Module module)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, nameof(name));
        ArgumentNullException.ThrowIfNull(module, nameof(module));
        if (_modules.Any(m => m.Name == name))
            throw new ArgumentException($"RegisterModule: a submodule named '{name}' is already registered", nameof(name));
        _modules.Add((name, module));
    }

    // containers (ModuleList, ModuleDict, ParameterList) rename their entries when items are inserted or removed
    private protected void ReplaceModules(IEnumerable<(string Name, Module Module)> modules)
    {
        _modules.Clear();
        _modules.AddRange(modules);
    }

    private protected void ReplaceParameters(IEnumerable<(string Name, Parameter Parameter)> parameters)
    {
        _params.Clear();
        _params.AddRange(parameters.Select(p => (p.Name, (Parameter?)p.Parameter)));
    }

    /// <summary>Register a non-learnable tensor that belongs to the state (such as batch norm's running mean).</summary>
    /// <param name="name">Name in state dicts.</param>
    /// <param name="buffer">The tensor.</param>
    protected void RegisterBuffer(string name, Tensor buffer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name, nameof(name));
        ArgumentNullException.ThrowIfNull(buffer, nameof(buffer));
        var i = _buffers.FindIndex(b => b.Name == name);
        if (i >= 0) _buffers[i] = (name, buffer); else _buffers.Add((name, buffer));
    }

    /// <summary>Read a registered buffer.</summary>
    /// <param name="name">Its name.</param>
    protected Tensor GetBuffer(string name) => _buffers.First(b => b.Name == name).Buffer;

    private void Discover()
    {
        if (_discovered) return;
        _discovered = true;
        for (var t = GetType(); t is not null && t != typeof(Module); t = t.BaseType)
        {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                var name = f.Name.StartsWith('<') ? f.Name[1..f.Name.IndexOf('>')] : f.Name.TrimStart('_');
                var value = f.GetValue(this);
                if (value is Parameter p && !_params.Any(x => ReferenceEquals(x.Param, p)))
                    _params.Add((ToSnake(name), p));
                else if (value is Module m && !_modules.Any(x => ReferenceEquals(x.Module, m)))
                    _modules.Add((ToSnake(name), m));
                // a plain collection of modules or parameters (torch silently ignores a Python list): its items, as a list
                // (skipped when its items are registered already, as Sequential's own array of its layers)
                else if (value is IEnumerable<Module> ms && value is not Module && !ms.All(i => _modules.Any(x => ReferenceEquals(x.Module, i))))
                    _modules.Add((ToSnake(name), new ModuleList(ms)));
                else if (value is IEnumerable<Parameter> ps && value is not Module && !ps.All(Known))
                    _modules.Add((ToSnake(name), new ParameterList(ps)));
            }
        }
    }

    // a parameter this module holds already, directly or through a submodule found so far (DDP's array of its module's parameters)
    private bool Known(Parameter q) =>
        _params.Any(x => ReferenceEquals(x.Param, q)) || _modules.Any(x => x.Module.Parameters().Any(y => ReferenceEquals(y, q)));

    private static string ToSnake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    /// <summary>The direct submodules with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren()
    {
        Discover();
        return _modules.ToArray();
    }

    /// <summary>Every parameter of this module and its submodules, named by path ("0.weight", "fc.bias").</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters()
    {
        Discover();
        // each parameter once, under its first name (torch's remove_duplicate=True: tied weights are not stepped twice)
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        foreach (var (n, p) in _params)
            if (p is not null && seen.Add(p)) yield return (n, p);
        foreach (var (mn, m) in _modules)
            foreach (var (n, p) in m.NamedParameters())
                if (seen.Add(p)) yield return ($"{mn}.{n}", p);
    }

    /// <summary>Every parameter of this module and its submodules, in a stable order.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>Every buffer of this module and its submodules, named by path.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers()
    {
        Discover();
        foreach (var b in _buffers) yield return b;
        foreach (var (mn, m) in _modules)
            foreach (var (n, b) in m.NamedBuffers())
                yield return ($"{mn}.{n}", b);
    }

    /// <summary>Move every parameter and buffer of this module and its submodules to a device (<c>torch.nn.Module.to</c>),
    /// in place: the parameter objects stay the same, so create optimizers before or after, alike (but before their
    /// first step). Inputs must then be moved too (<see cref="Tensor.To(string)"/>).</summary>
    /// <param name="device">"cpu", "cuda", "cuda:N", "opencl:N" or "ilgpu-cpu".</param>
    /// <returns>This module.</returns>
    /// <exception cref="ArgumentException">The name is not a device, or the device is absent.</exception>
    public Module To(string device)
    {
        ArgumentNullException.ThrowIfNull(device, nameof(device));
        var d = Hybrid.Core.Devices.parse(device);
        // open the device (and fail) before anything moves
        Hybrid.Core.Devices.backendOf(d);
        foreach (var p in Parameters()) p.MoveTo(d);
        MoveBuffers(d);
        return this;
    }

    private void MoveBuffers(Hybrid.Core.Device d)
    {
        Discover();
        for (int i = 0; i < _buffers.Count; i++)
        {
            var (n, b) = _buffers[i];
            if (!b.Core.Device.Equals(d)) _buffers[i] = (n, Tensor.Wrap(new Hybrid.Core.Tensor(Hybrid.Core.Devices.backendOf(d).Import(b.Core.Raw))));
        }
        foreach (var (_, m) in _modules) m.MoveBuffers(d);
    }

    /// <summary>Give the device buffers of every parameter and buffer back now (see <see cref="Tensor.Dispose"/>); a no-op on the CPU.</summary>
    public void Dispose()
    {
        OnDispose();
        foreach (var p in Parameters()) p.Dispose();
        foreach (var (_, b) in NamedBuffers()) b.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Called first by <see cref="Dispose"/>: a wrapper that holds more than tensors (a thread, a hook) releases it here.</summary>
    protected virtual void OnDispose() { }

    /// <summary>Switch this module and its submodules to training mode.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach (var (_, m) in NamedChildren()) m.Train(mode);
        return this;
    }

    /// <summary>Switch this module and its submodules to evaluation mode (dropout off, batch norm uses running statistics).</summary>
    public Module Eval() => Train(false);

    /// <summary>Clear the gradients of every parameter.</summary>
    /// <param name="setToNone">Set them to null (the default, as in PyTorch 2) rather than to zeros.</param>
    public void ZeroGrad(bool setToNone = true)
    {
        foreach (var p in Parameters())
            p.Grad = setToNone || p.Grad is null ? null : p.Grad.ZerosLike();
    }

    /// <summary>Copies of every parameter and buffer by name (<c>state_dict()</c>); later optimizer steps do not change them.</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>();
        using (Tensor.NoGrad())
        {
            foreach (var (n, p) in NamedParameters()) d[n] = p.Clone().Detach();
            foreach (var (n, b) in NamedBuffers()) d[n] = b.Clone().Detach();
        }
        return d;
    }

    /// <summary>Write the state dict to a safetensors file (readable by PyTorch and Hugging Face tools).</summary>
    /// <param name="path">The file to write.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        var entries = StateDict().Select(kv => Tuple.Create(kv.Key, kv.Value.Core));
        Hybrid.Core.Data.Safetensors.save(path, Microsoft.FSharp.Collections.MapModule.OfSeq(entries));
    }

    /// <summary>Load parameters and buffers from a safetensors file written by <see cref="Save"/> or by PyTorch (names must match).</summary>
    /// <param name="path">The file to read.</param>
    /// <param name="strict">Require exactly the module's names.</param>
    public void Load(string path, bool strict = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        var map = Hybrid.Core.Data.Safetensors.load(path);
        var dict = new Dictionary<string, Tensor>();
        foreach (var kv in map) dict[kv.Key] = new Tensor(kv.Value);
        LoadStateDict(dict, strict);
    }

    /// <summary>Load parameters and buffers by name. Checks every entry before changing anything.</summary>
    /// <param name="stateDict">Tensors by name, as from <see cref="StateDict"/>.</param>
    /// <param name="strict">Require exactly the module's names (no missing, no unexpected).</param>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict, nameof(stateDict));
        if (CheckStateDict(stateDict, strict) is string error) throw new ArgumentException(error, nameof(stateDict));
        ApplyStateDict(stateDict);
    }

    /// <summary>Why <paramref name="stateDict"/> cannot be loaded (the first key that does not fit), or null when it can.</summary>
    internal string? CheckStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict)
    {
        var parameters = NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        var buffers = NamedBuffers().ToList();
        var known = parameters.Keys.Concat(buffers.Select(b => b.Name)).ToHashSet();
        if (strict)
        {
            var missing = known.Where(k => !stateDict.ContainsKey(k)).ToArray();
            var unexpected = stateDict.Keys.Where(k => !known.Contains(k)).ToArray();
            if (missing.Length > 0 || unexpected.Length > 0)
                return $"LoadStateDict: missing keys [{string.Join(", ", missing)}], unexpected keys [{string.Join(", ", unexpected)}]";
        }
        // in the module's order (parameters, then buffers), so the first key named is the first that differs
        foreach (var (name, target) in parameters.Select(kv => (kv.Key, (Tensor)kv.Value)).Concat(buffers))
        {
            if (!stateDict.TryGetValue(name, out var value)) continue;
            if (!target.Shape.SequenceEqual(value.Shape) || target.DType != value.DType)
                return $"LoadStateDict: '{name}' has shape [{string.Join(",", value.Shape)}] {value.DType}, the module expects [{string.Join(",", target.Shape)}] {target.DType}";
        }
        return null;
    }

    /// <summary>Copy a state dict already passed by <see cref="CheckStateDict"/> into the parameters and buffers.</summary>
    internal void ApplyStateDict(IReadOnlyDictionary<string, Tensor> stateDict)
    {
        var parameters = NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
        foreach (var (name, value) in stateDict)
        {
            if (parameters.TryGetValue(name, out var p)) p.SetData(value);
            else
            {
                var owner = FindBufferOwner(name);
                owner?.Module.RegisterBuffer(owner.Value.Local, value.Detach());
            }
        }
    }

    private (Module Module, string Local)? FindBufferOwner(string path)
    {
        if (_buffers.Any(b => b.Name == path)) return (this, path);
        var dot = path.IndexOf('.');
        if (dot < 0) return null;
        var head = path[..dot];
        var child = NamedChildren().FirstOrDefault(c => c.Name == head).Module;
        return child?.FindBufferOwner(path[(dot + 1)..]);
    }
}
