using System.Globalization;
using System.Text.Json;
using CoreTensor = Hybrid.Core.Tensor;
using Hybrid.Core.Data;
using Microsoft.FSharp.Collections;

namespace Hybrid.Optim;

/// <summary>
/// The state of one parameter (torch's <c>state[p]</c>): the step count, named buffers with the parameter's shape
/// (such as Adam's "exp_avg" and "exp_avg_sq"), scalars shared by the rule, and the states of wrapped optimizers.
/// </summary>
public sealed class ParamState
{
    /// <summary>Make a parameter state.</summary>
    /// <param name="kind">Which rule made it ("adam", "sgd", "lbfgs", ...).</param>
    /// <param name="step">Steps taken (torch's <c>state['step']</c>).</param>
    /// <param name="buffers">Named buffers, in the rule's slot order.</param>
    /// <param name="scalars">Rule scalars (NAdam's μ product, ASGD's η and μ, L-BFGS's t...).</param>
    /// <param name="inner">States of wrapped optimizers (Lookahead's inner optimizer).</param>
    public ParamState(string kind, long step, IEnumerable<KeyValuePair<string, Tensor>> buffers, IEnumerable<double>? scalars = null, IEnumerable<ParamState>? inner = null)
    {
        ArgumentNullException.ThrowIfNull(kind, nameof(kind));
        ArgumentNullException.ThrowIfNull(buffers, nameof(buffers));
        Kind = kind;
        Step = step;
        var list = buffers.ToList();
        Slots = list.Select(kv => kv.Key).ToArray();
        var d = new Dictionary<string, Tensor>();
        foreach (var (k, v) in list)
        {
            if (v is null) throw new ArgumentNullException(nameof(buffers), $"ParamState: buffer '{k}' is null");
            if (!d.TryAdd(k, v)) throw new ArgumentException($"ParamState: buffer '{k}' appears twice", nameof(buffers));
        }
        Buffers = d;
        Scalars = (scalars ?? Array.Empty<double>()).ToArray();
        Inner = (inner ?? Array.Empty<ParamState>()).ToArray();
    }

    /// <summary>Which rule made this state ("adam", "sgd", "lbfgs", ...).</summary>
    public string Kind { get; }

    /// <summary>Steps taken so far.</summary>
    public long Step { get; }

    /// <summary>Buffer names in the rule's order.</summary>
    public IReadOnlyList<string> Slots { get; }

    /// <summary>Buffers by name.</summary>
    public IReadOnlyDictionary<string, Tensor> Buffers { get; }

    /// <summary>Scalars of the rule.</summary>
    public IReadOnlyList<double> Scalars { get; }

    /// <summary>States of wrapped optimizers.</summary>
    public IReadOnlyList<ParamState> Inner { get; }
}

/// <summary>One entry of torch's <c>param_groups</c> in a state dict: the group's options and the indices of its parameters.</summary>
public sealed class ParamGroupState
{
    /// <summary>Make a group entry.</summary>
    /// <param name="options">Options by name ("lr", "betas", ...).</param>
    /// <param name="params">Indices of the group's parameters (counted over all groups in order).</param>
    /// <param name="initialLr">The scheduler's initial learning rate, if any.</param>
    public ParamGroupState(IReadOnlyDictionary<string, object> options, IEnumerable<int> @params, double? initialLr = null)
    {
        ArgumentNullException.ThrowIfNull(options, nameof(options));
        ArgumentNullException.ThrowIfNull(@params, nameof(@params));
        Options = new Dictionary<string, object>(options);
        Params = @params.ToArray();
        InitialLr = initialLr;
    }

    /// <summary>Options by name.</summary>
    public IReadOnlyDictionary<string, object> Options { get; }

    /// <summary>Indices of the group's parameters.</summary>
    public IReadOnlyList<int> Params { get; }

    /// <summary>torch's <c>initial_lr</c> (set by schedulers), or null.</summary>
    public double? InitialLr { get; }
}

/// <summary>
/// An optimizer's state dict in torch's shape: per-parameter <see cref="State"/> keyed by the parameter's index
/// (counted over the groups in order) and the <see cref="ParamGroups"/> with their options. Holds copies: later steps
/// do not change it. <see cref="Save"/> and <see cref="Load"/> write and read it exactly (safetensors).
/// </summary>
public sealed class OptimizerStateDict
{
    private const string MetaKey = "hybrid.optimizer";

    /// <summary>Make a state dict.</summary>
    /// <param name="optimizer">The optimizer's class name ("Adam").</param>
    /// <param name="state">Per-parameter states by parameter index.</param>
    /// <param name="paramGroups">The groups.</param>
    public OptimizerStateDict(string optimizer, IReadOnlyDictionary<int, ParamState> state, IEnumerable<ParamGroupState> paramGroups)
    {
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        ArgumentNullException.ThrowIfNull(state, nameof(state));
        ArgumentNullException.ThrowIfNull(paramGroups, nameof(paramGroups));
        Optimizer = optimizer;
        State = new SortedDictionary<int, ParamState>(state.ToDictionary(kv => kv.Key, kv => kv.Value));
        ParamGroups = paramGroups.ToArray();
    }

    /// <summary>The class name of the optimizer that made it ("Adam").</summary>
    public string Optimizer { get; }

    /// <summary>Per-parameter states by parameter index (parameters never stepped have none).</summary>
    public IReadOnlyDictionary<int, ParamState> State { get; }

    /// <summary>The groups, with options and parameter indices.</summary>
    public IReadOnlyList<ParamGroupState> ParamGroups { get; }

    // ------------------------------------------------------------------ files

    /// <summary>Write to a safetensors file: every buffer as a tensor ("state.3.exp_avg"), the rest as JSON metadata.</summary>
    /// <param name="path">The file.</param>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        var meta = Encode(out var tensors);
        Safetensors.saveWithMetadata(path,
            MapModule.OfSeq(tensors),
            MapModule.OfSeq(new[] { Tuple.Create(MetaKey, meta) }));
    }

    /// <summary>Read a file written by <see cref="Save"/>.</summary>
    /// <param name="path">The file.</param>
    public static OptimizerStateDict Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        var (tensors, meta) = Safetensors.loadWithMetadata(path).ToValueTuple();
        if (!meta.ContainsKey(MetaKey))
            throw new ArgumentException($"OptimizerStateDict.Load: '{path}' has no '{MetaKey}' metadata (not an optimizer state file)", nameof(path));
        return Decode(tensors, meta[MetaKey], path);
    }

    /// <summary>The state as safetensors entries: every buffer a tensor ("state.3.exp_avg"), the rest the returned JSON.</summary>
    internal string Encode(out List<Tuple<string, CoreTensor>> tensors)
    {
        tensors = new List<Tuple<string, CoreTensor>>();
        var states = new Dictionary<string, object>();
        foreach (var (i, s) in State) states[i.ToString(CultureInfo.InvariantCulture)] = Describe(s, $"state.{i}", tensors);
        var groups = ParamGroups.Select(g => new Dictionary<string, object>
        {
            ["options"] = g.Options.ToDictionary(kv => kv.Key, kv => (object)EncodeOption(kv.Key, kv.Value)),
            ["params"] = g.Params,
            ["initialLr"] = g.InitialLr is double d ? Bits(d) : "",
        }).ToArray();
        return JsonSerializer.Serialize(new Dictionary<string, object> { ["optimizer"] = Optimizer, ["state"] = states, ["paramGroups"] = groups });
    }

    /// <summary>The state <see cref="Encode"/> wrote as <paramref name="tensors"/> and <paramref name="meta"/>; <paramref name="path"/> names the file in errors.</summary>
    internal static OptimizerStateDict Decode(FSharpMap<string, CoreTensor> tensors, string meta, string path)
    {
        using var doc = JsonDocument.Parse(meta);
        var root = doc.RootElement;
        var state = new Dictionary<int, ParamState>();
        foreach (var e in root.GetProperty("state").EnumerateObject())
            state[int.Parse(e.Name, CultureInfo.InvariantCulture)] = Rebuild(e.Value, $"state.{e.Name}", tensors, path);
        var groups = root.GetProperty("paramGroups").EnumerateArray().Select(g =>
        {
            var options = new Dictionary<string, object>();
            foreach (var o in g.GetProperty("options").EnumerateObject()) options[o.Name] = DecodeOption(o.Value.GetString()!);
            var ps = g.GetProperty("params").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            var ilr = g.GetProperty("initialLr").GetString();
            return new ParamGroupState(options, ps, string.IsNullOrEmpty(ilr) ? null : FromBits(ilr));
        }).ToArray();
        // every tensor of the file must belong to a described state: extra ones mean another model's or a tampered file
        var expected = new List<Tuple<string, CoreTensor>>();
        foreach (var (i, s) in state) Describe(s, $"state.{i}", expected);
        var unexpected = tensors.Keys.Except(expected.Select(t => t.Item1)).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        if (unexpected.Length > 0)
            throw new InvalidDataException($"OptimizerStateDict.Load: '{path}' holds unexpected tensors: {string.Join(", ", unexpected)}");
        return new OptimizerStateDict(root.GetProperty("optimizer").GetString()!, state, groups);
    }

    private static Dictionary<string, object> Describe(ParamState s, string prefix, List<Tuple<string, CoreTensor>> tensors)
    {
        foreach (var slot in s.Slots) tensors.Add(Tuple.Create($"{prefix}.{slot}", s.Buffers[slot].Core));
        return new Dictionary<string, object>
        {
            ["kind"] = s.Kind,
            ["step"] = s.Step,
            ["slots"] = s.Slots,
            ["scalars"] = s.Scalars.Select(Bits).ToArray(),
            ["inner"] = s.Inner.Select((x, k) => Describe(x, $"{prefix}.inner{k}", tensors)).ToArray(),
        };
    }

    private static ParamState Rebuild(JsonElement e, string prefix, FSharpMap<string, CoreTensor> tensors, string path)
    {
        var slots = e.GetProperty("slots").EnumerateArray().Select(x => x.GetString()!).ToArray();
        var buffers = slots.Select(slot =>
        {
            var name = $"{prefix}.{slot}";
            if (!tensors.ContainsKey(name)) throw new ArgumentException($"OptimizerStateDict.Load: '{path}' lacks the tensor '{name}'", nameof(path));
            return KeyValuePair.Create(slot, Tensor.Wrap(tensors[name]));
        }).ToArray();
        var inner = e.GetProperty("inner").EnumerateArray().Select((x, k) => Rebuild(x, $"{prefix}.inner{k}", tensors, path)).ToArray();
        return new ParamState(e.GetProperty("kind").GetString()!, e.GetProperty("step").GetInt64(), buffers,
            e.GetProperty("scalars").EnumerateArray().Select(x => FromBits(x.GetString()!)), inner);
    }

    // doubles travel as their IEEE bits in hex: exact, NaN and infinities included
    private static string Bits(double d) => BitConverter.DoubleToInt64Bits(d).ToString("x16", CultureInfo.InvariantCulture);
    private static double FromBits(string s) => BitConverter.Int64BitsToDouble(long.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture));

    private static string EncodeOption(string name, object v) => v switch
    {
        double d => "d:" + Bits(d),
        float f => "d:" + Bits(f),
        int i => "i:" + i.ToString(CultureInfo.InvariantCulture),
        long l => "l:" + l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "b:1" : "b:0",
        string s => "s:" + s,
        ValueTuple<double, double> t => "t:" + Bits(t.Item1) + "," + Bits(t.Item2),
        Enum en => "e:" + en.GetType().AssemblyQualifiedName + "|" + en,
        _ => throw new NotSupportedException($"OptimizerStateDict.Save: option '{name}' has a value of type {v.GetType().Name} that cannot be saved (double, int, long, bool, string, enum or (double, double))"),
    };

    private static object DecodeOption(string s)
    {
        var body = s[2..];
        return s[0] switch
        {
            'd' => FromBits(body),
            'i' => int.Parse(body, CultureInfo.InvariantCulture),
            'l' => long.Parse(body, CultureInfo.InvariantCulture),
            'b' => body == "1",
            's' => body,
            't' => (FromBits(body.Split(',')[0]), FromBits(body.Split(',')[1])),
            'e' => Enum.Parse(Type.GetType(body.Split('|')[0], throwOnError: true)!, body.Split('|')[1]),
            _ => throw new ArgumentException($"OptimizerStateDict.Load: option value '{s}' is not understood", nameof(s)),
        };
    }
}
