using System.Collections;

namespace Hybrid.Nn;

/// <summary>
/// A list of submodules whose parameters belong to the owner (<c>torch.nn.ModuleList</c>): named "0", "1", ... so a
/// field <c>layers</c> gives "layers.0.weight". It has no <see cref="Forward"/> of its own; the owner calls the items.
/// </summary>
/// <typeparam name="T">The type of the items (<see cref="Module"/> for any).</typeparam>
public class ModuleList<T> : Module, IList<T>, IReadOnlyList<T> where T : Module
{
    private readonly List<T> _items = new();

    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    /// <param name="modules">The first items (none when omitted).</param>
    public ModuleList(IEnumerable<T>? modules = null)
    {
        if (modules is not null) foreach (var m in modules) Add(m);
    }

    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    /// <param name="modules">The items.</param>
    public ModuleList(params T[] modules) : this((IEnumerable<T>)modules) { }

    private void Renumber() => ReplaceModules(_items.Select((m, i) => (i.ToString(), (Module)m)));

    private static T Check(T item, string op) => item ?? throw new ArgumentNullException(nameof(item), $"{op}: the module is null");

    /// <summary>No forward of its own: a ModuleList is a container, its owner's <c>Forward</c> calls the items.</summary>
    /// <param name="input">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException($"{GetType().Name}: a module list has no Forward; call its items (or use Sequential to chain them)");

    /// <summary>The item at <paramref name="index"/>; setting replaces it.</summary>
    /// <param name="index">Position.</param>
    public T this[int index]
    {
        get => _items[index];
        set { _items[index] = Check(value, "ModuleList"); Renumber(); }
    }

    /// <summary>Number of items.</summary>
    public int Count => _items.Count;

    bool ICollection<T>.IsReadOnly => false;

    /// <summary>Appends a module (<c>append</c>).</summary>
    /// <param name="item">The module.</param>
    public void Add(T item) { _items.Add(Check(item, "ModuleList.Add")); Renumber(); }

    /// <summary>Appends modules (<c>extend</c>).</summary>
    /// <param name="items">The modules.</param>
    public void AddRange(IEnumerable<T> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        foreach (var m in items) _items.Add(Check(m, "ModuleList.AddRange"));
        Renumber();
    }

    /// <summary>Inserts a module at a position; later items are renumbered (<c>insert</c>).</summary>
    /// <param name="index">Position.</param>
    /// <param name="item">The module.</param>
    public void Insert(int index, T item) { _items.Insert(index, Check(item, "ModuleList.Insert")); Renumber(); }

    /// <summary>Removes the item at a position; later items are renumbered.</summary>
    /// <param name="index">Position.</param>
    public void RemoveAt(int index) { _items.RemoveAt(index); Renumber(); }

    /// <summary>Removes a module.</summary>
    /// <param name="item">The module.</param>
    /// <returns>Whether it was there.</returns>
    public bool Remove(T item) { var removed = _items.Remove(item); Renumber(); return removed; }

    /// <summary>Removes every item.</summary>
    public void Clear() { _items.Clear(); Renumber(); }

    /// <summary>Position of a module, or −1.</summary>
    /// <param name="item">The module.</param>
    /// <returns>Its index.</returns>
    public int IndexOf(T item) => _items.IndexOf(item);

    /// <summary>Whether the list holds a module.</summary>
    /// <param name="item">The module.</param>
    /// <returns>True when it does.</returns>
    public bool Contains(T item) => _items.Contains(item);

    /// <summary>Copies the items into an array.</summary>
    /// <param name="array">The destination.</param>
    /// <param name="arrayIndex">Where to start in it.</param>
    public void CopyTo(T[] array, int arrayIndex) => _items.CopyTo(array, arrayIndex);

    /// <summary>The items in order.</summary>
    /// <returns>An enumerator.</returns>
    public IEnumerator<T> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A list of any modules (<c>torch.nn.ModuleList</c>); see <see cref="ModuleList{T}"/>.</summary>
public class ModuleList : ModuleList<Module>
{
    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    /// <param name="modules">The first items (none when omitted).</param>
    public ModuleList(IEnumerable<Module>? modules = null) : base(modules) { }

    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    /// <param name="modules">The items.</param>
    public ModuleList(params Module[] modules) : base((IEnumerable<Module>)modules) { }
}

/// <summary>
/// Submodules by name, in insertion order (<c>torch.nn.ModuleDict</c>): a field <c>heads</c> holding "cls" gives
/// "heads.cls.weight". It has no <see cref="Forward"/> of its own.
/// </summary>
public class ModuleDict : Module, IEnumerable<KeyValuePair<string, Module>>
{
    private readonly List<KeyValuePair<string, Module>> _items = new();

    /// <summary>An empty dictionary.</summary>
    public ModuleDict() { }

    /// <summary>A dictionary holding <paramref name="modules"/>.</summary>
    /// <param name="modules">Name and module pairs (names must be distinct and contain no '.').</param>
    public ModuleDict(IEnumerable<KeyValuePair<string, Module>> modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (var (k, v) in modules) Add(k, v);
    }

    private void Refresh() => ReplaceModules(_items.Select(kv => (kv.Key, kv.Value)));

    private static void CheckKey(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key, nameof(key));
        if (key.Contains('.')) throw new ArgumentException($"ModuleDict: the key '{key}' contains '.', which separates names in parameter paths", nameof(key));
    }

    /// <summary>No forward of its own: the owner's <c>Forward</c> calls the items.</summary>
    /// <param name="input">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException("ModuleDict: a module dictionary has no Forward; call its items");

    /// <summary>The module named <paramref name="key"/>; setting adds or replaces it (keeping its place).</summary>
    /// <param name="key">The name.</param>
    public Module this[string key]
    {
        get
        {
            foreach (var kv in _items) if (kv.Key == key) return kv.Value;
            throw new KeyNotFoundException($"ModuleDict: no module named '{key}' (keys: {string.Join(", ", Keys)})");
        }
        set
        {
            CheckKey(key);
            ArgumentNullException.ThrowIfNull(value);
            var i = _items.FindIndex(kv => kv.Key == key);
            if (i >= 0) _items[i] = new(key, value); else _items.Add(new(key, value));
            Refresh();
        }
    }

    /// <summary>Adds a module under a new name.</summary>
    /// <param name="key">The name (not yet present).</param>
    /// <param name="module">The module.</param>
    public void Add(string key, Module module)
    {
        CheckKey(key);
        ArgumentNullException.ThrowIfNull(module);
        if (ContainsKey(key)) throw new ArgumentException($"ModuleDict: a module named '{key}' is already present", nameof(key));
        _items.Add(new(key, module));
        Refresh();
    }

    /// <summary>Removes the module named <paramref name="key"/>.</summary>
    /// <param name="key">The name.</param>
    /// <returns>Whether it was there.</returns>
    public bool Remove(string key)
    {
        var removed = _items.RemoveAll(kv => kv.Key == key) > 0;
        Refresh();
        return removed;
    }

    /// <summary>Whether a module has this name.</summary>
    /// <param name="key">The name.</param>
    /// <returns>True when present.</returns>
    public bool ContainsKey(string key) => _items.Any(kv => kv.Key == key);

    /// <summary>The names, in insertion order.</summary>
    public IReadOnlyList<string> Keys => _items.Select(kv => kv.Key).ToArray();

    /// <summary>The modules, in insertion order.</summary>
    public IReadOnlyList<Module> Values => _items.Select(kv => kv.Value).ToArray();

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The (name, module) pairs in insertion order.</summary>
    /// <returns>An enumerator.</returns>
    public IEnumerator<KeyValuePair<string, Module>> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>A list of parameters that belong to the owner (<c>torch.nn.ParameterList</c>), named "0", "1", ...</summary>
public class ParameterList : Module, IReadOnlyList<Parameter>
{
    private readonly List<Parameter> _items = new();

    /// <summary>A list holding <paramref name="parameters"/> in order.</summary>
    /// <param name="parameters">The first items (none when omitted).</param>
    public ParameterList(IEnumerable<Parameter>? parameters = null)
    {
        if (parameters is not null) foreach (var p in parameters) Add(p);
    }

    /// <summary>A list holding <paramref name="parameters"/> in order.</summary>
    /// <param name="parameters">The items.</param>
    public ParameterList(params Parameter[] parameters) : this((IEnumerable<Parameter>)parameters) { }

    private void Renumber() => ReplaceParameters(_items.Select((p, i) => (i.ToString(), p)));

    /// <summary>No forward of its own.</summary>
    /// <param name="input">Unused.</param>
    /// <returns>Never returns.</returns>
    /// <exception cref="InvalidOperationException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new InvalidOperationException("ParameterList: a parameter list has no Forward; use its parameters");

    /// <summary>The parameter at <paramref name="index"/>.</summary>
    /// <param name="index">Position.</param>
    public Parameter this[int index] => _items[index];

    /// <summary>Number of parameters.</summary>
    public int Count => _items.Count;

    /// <summary>Appends a parameter.</summary>
    /// <param name="parameter">The parameter.</param>
    public void Add(Parameter parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        _items.Add(parameter);
        Renumber();
    }

    /// <summary>The parameters in order.</summary>
    /// <returns>An enumerator.</returns>
    public IEnumerator<Parameter> GetEnumerator() => _items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
