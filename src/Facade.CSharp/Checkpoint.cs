using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Hybrid.Core.Data;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Microsoft.FSharp.Collections;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid;

/// <summary>What a checkpoint records beside the states: the epoch, the step and any named values of the caller's.</summary>
public sealed class CheckpointInfo
{
    /// <summary>Describe a checkpoint.</summary>
    /// <param name="epoch">The epoch the training has reached.</param>
    /// <param name="step">The optimizer steps taken.</param>
    /// <param name="extra">Further values by name (a best metric, a run id...); saved as given.</param>
    public CheckpointInfo(long epoch = 0, long step = 0, IReadOnlyDictionary<string, string>? extra = null)
    {
        Epoch = epoch;
        Step = step;
        Extra = new Dictionary<string, string>(extra ?? new Dictionary<string, string>());
    }

    /// <summary>The epoch the training has reached.</summary>
    public long Epoch { get; }

    /// <summary>The optimizer steps taken.</summary>
    public long Step { get; }

    /// <summary>Further values by name.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; }
}

/// <summary>The schedulers' side of a checkpoint: their state as JSON, and a check that returns how to apply a saved one.</summary>
internal interface ICheckpointScheduler
{
    /// <summary>The state dict as JSON.</summary>
    string SaveJson();

    /// <summary>Parse and check a saved state (throwing an ArgumentException naming the key that does not fit, changing nothing); the returned action applies it.</summary>
    Action Prepare(string json);
}

/// <summary>
/// Saves a model, its optimizer and its learning-rate scheduler together in one safetensors file, and restores them
/// (PyTorch's <c>torch.save({'model': m.state_dict(), 'optimizer': o.state_dict(), 'scheduler': s.state_dict(),
/// 'epoch': e}, path)</c>, without pickle). The file holds the model's tensors under <c>model.</c>, the optimizer's
/// buffers under <c>optimizer.</c>, the rest as JSON metadata, and a SHA-256 of all of it; it is written to a temporary
/// name and renamed, so a crash leaves the previous file whole. <see cref="Load(string, Module, Optimizer)"/> checks
/// everything before changing anything: a state from another optimizer or scheduler, or a model whose parameter
/// names, shapes or dtypes differ, is refused with an ArgumentException naming the first key that differs (with both
/// values), and a truncated or altered file with an InvalidDataException; in either case the model, optimizer and
/// scheduler are left as they were. Restoring into fresh objects and training on gives the same numbers, bit for bit,
/// as never stopping (random generators, such as dropout's, are the caller's to seed).
/// </summary>
public static class Checkpoint
{
    private const string MetaKey = "hybrid.checkpoint";
    private const string OptimizerKey = "hybrid.optimizer";
    private const string SchedulerKey = "hybrid.scheduler";
    private const string DigestKey = "hybrid.checkpoint.sha256";
    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const int Format = 1;

    // doubles round-trip exactly; a best metric of +inf (ReduceLROnPlateau) is written as "Infinity"
    private static readonly JsonSerializerOptions JsonOptions = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Save a model and its optimizer.</summary>
    /// <param name="path">The file to write (its folder is created if missing).</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="info">The epoch, step and extra values to record.</param>
    public static void Save(string path, Module model, Optimizer optimizer, CheckpointInfo? info = null) =>
        SaveCore(path, model, optimizer, null, null, info);

    /// <summary>Save a model, its optimizer and its scheduler.</summary>
    /// <param name="path">The file to write (its folder is created if missing).</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="scheduler">The scheduler (null: none).</param>
    /// <param name="info">The epoch, step and extra values to record.</param>
    public static void Save(string path, Module model, Optimizer optimizer, LRScheduler? scheduler, CheckpointInfo? info = null) =>
        SaveCore(path, model, optimizer, scheduler, scheduler?.GetType().Name, info);

    /// <summary>Save a model, its optimizer and its ReduceLROnPlateau scheduler.</summary>
    /// <param name="path">The file to write (its folder is created if missing).</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="scheduler">The scheduler (null: none).</param>
    /// <param name="info">The epoch, step and extra values to record.</param>
    public static void Save(string path, Module model, Optimizer optimizer, ReduceLROnPlateau? scheduler, CheckpointInfo? info = null) =>
        SaveCore(path, model, optimizer, scheduler, scheduler is null ? null : nameof(ReduceLROnPlateau), info);

    /// <summary>Save a model, its optimizer and its SWALR scheduler.</summary>
    /// <param name="path">The file to write (its folder is created if missing).</param>
    /// <param name="model">The model.</param>
    /// <param name="optimizer">The optimizer.</param>
    /// <param name="scheduler">The scheduler (null: none).</param>
    /// <param name="info">The epoch, step and extra values to record.</param>
    public static void Save(string path, Module model, Optimizer optimizer, SWALR? scheduler, CheckpointInfo? info = null) =>
        SaveCore(path, model, optimizer, scheduler, scheduler is null ? null : nameof(SWALR), info);

    /// <summary>Restore a model and its optimizer from a checkpoint saved without a scheduler.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore (same parameter names, shapes and dtypes).</param>
    /// <param name="optimizer">The optimizer to restore (same class and groups).</param>
    /// <returns>The epoch, step and extra values the checkpoint recorded.</returns>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer) => LoadCore(path, model, optimizer, null, null);

    /// <summary>Restore a model, its optimizer and its scheduler.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore (same parameter names, shapes and dtypes).</param>
    /// <param name="optimizer">The optimizer to restore (same class and groups).</param>
    /// <param name="scheduler">The scheduler to restore (same class and arguments; null: the checkpoint must hold none).</param>
    /// <returns>The epoch, step and extra values the checkpoint recorded.</returns>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, LRScheduler? scheduler) =>
        LoadCore(path, model, optimizer, scheduler, scheduler?.GetType().Name);

    /// <summary>Restore a model, its optimizer and its ReduceLROnPlateau scheduler.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore (same parameter names, shapes and dtypes).</param>
    /// <param name="optimizer">The optimizer to restore (same class and groups).</param>
    /// <param name="scheduler">The scheduler to restore (same arguments; null: the checkpoint must hold none).</param>
    /// <returns>The epoch, step and extra values the checkpoint recorded.</returns>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, ReduceLROnPlateau? scheduler) =>
        LoadCore(path, model, optimizer, scheduler, scheduler is null ? null : nameof(ReduceLROnPlateau));

    /// <summary>Restore a model, its optimizer and its SWALR scheduler.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <param name="model">The model to restore (same parameter names, shapes and dtypes).</param>
    /// <param name="optimizer">The optimizer to restore (same class and groups).</param>
    /// <param name="scheduler">The scheduler to restore (same arguments; null: the checkpoint must hold none).</param>
    /// <returns>The epoch, step and extra values the checkpoint recorded.</returns>
    public static CheckpointInfo Load(string path, Module model, Optimizer optimizer, SWALR? scheduler) =>
        LoadCore(path, model, optimizer, scheduler, scheduler is null ? null : nameof(SWALR));

    /// <summary>Read what a checkpoint records (epoch, step, extra values) without restoring anything; the file is verified as by Load.</summary>
    /// <param name="path">The checkpoint file.</param>
    /// <returns>The epoch, step and extra values.</returns>
    public static CheckpointInfo ReadInfo(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        var (_, meta) = Read(path);
        return Header.Parse(meta[MetaKey], path).Info;
    }

    // ------------------------------------------------------------------ saving

    private static void SaveCore(string path, Module model, Optimizer optimizer, ICheckpointScheduler? scheduler, string? schedulerName, CheckpointInfo? info)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        ArgumentNullException.ThrowIfNull(model, nameof(model));
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        info ??= new CheckpointInfo();
        var tensors = new List<Tuple<string, CoreTensor>>();
        foreach (var (name, t) in model.StateDict()) tensors.Add(Tuple.Create(ModelPrefix + name, t.Core));
        var optimizerMeta = optimizer.StateDict().Encode(out var buffers);
        foreach (var (name, t) in buffers) tensors.Add(Tuple.Create(OptimizerPrefix + name, t));
        var header = new Header(Format, model.GetType().Name, optimizer.GetType().Name, schedulerName, info.Epoch, info.Step, new Dictionary<string, string>(info.Extra));
        var meta = new Dictionary<string, string>
        {
            [MetaKey] = JsonSerializer.Serialize(header, JsonOptions),
            [OptimizerKey] = optimizerMeta,
        };
        if (scheduler is not null) meta[SchedulerKey] = scheduler.SaveJson();
        var map = MapModule.OfSeq(tensors);
        // the data section does not depend on the header: encoded once without the digest to hash it
        var plain = Safetensors.serialize(map, MapModule.OfSeq(meta.Select(kv => Tuple.Create(kv.Key, kv.Value))));
        meta[DigestKey] = Digest(plain, meta);
        var bytes = Safetensors.serialize(map, MapModule.OfSeq(meta.Select(kv => Tuple.Create(kv.Key, kv.Value))));
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);
        Hybrid.Core.Durability.AtomicFile.writeAllBytes("a checkpoint", path, bytes);
    }

    // SHA-256 over the metadata (but the digest itself, in key order) and the tensors' bytes
    private static string Digest(byte[] file, IReadOnlyDictionary<string, string> meta)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (k, v) in meta.Where(kv => kv.Key != DigestKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            h.AppendData(Encoding.UTF8.GetBytes(k));
            h.AppendData(new byte[] { 0 });
            h.AppendData(Encoding.UTF8.GetBytes(v));
            h.AppendData(new byte[] { 0 });
        }
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(0, 8));
        h.AppendData(file.AsSpan(8 + headerLength));
        return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
    }

    // ------------------------------------------------------------------ loading

    private static CheckpointInfo LoadCore(string path, Module model, Optimizer optimizer, ICheckpointScheduler? scheduler, string? schedulerName)
    {
        ArgumentException.ThrowIfNullOrEmpty(path, nameof(path));
        ArgumentNullException.ThrowIfNull(model, nameof(model));
        ArgumentNullException.ThrowIfNull(optimizer, nameof(optimizer));
        var (tensors, meta) = Read(path);
        var header = Header.Parse(meta[MetaKey], path);

        // 1. everything is checked, in the order model, optimizer, scheduler ...
        var modelState = new Dictionary<string, Tensor>();
        var optimizerTensors = new List<Tuple<string, CoreTensor>>();
        foreach (var (name, t) in tensors)
        {
            if (name.StartsWith(ModelPrefix, StringComparison.Ordinal)) modelState[name[ModelPrefix.Length..]] = Tensor.Wrap(t);
            else if (name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) optimizerTensors.Add(Tuple.Create(name[OptimizerPrefix.Length..], t));
            else throw new InvalidDataException($"Checkpoint.Load: '{path}' holds the tensor '{name}', neither the model's nor the optimizer's");
        }
        if (model.CheckStateDict(modelState, strict: true) is string modelError)
            throw new ArgumentException($"Checkpoint.Load: '{path}' does not fit the model ({model.GetType().Name}; saved from a {header.Model}): {modelError}", nameof(model));

        var optimizerName = optimizer.GetType().Name;
        if (header.Optimizer != optimizerName)
            throw new ArgumentException($"Checkpoint.Load: '{path}' holds the state of a {header.Optimizer} optimizer, not of this {optimizerName} (key 'optimizer': {header.Optimizer} in the file, {optimizerName} given)", nameof(optimizer));
        OptimizerStateDict optimizerState;
        try { optimizerState = OptimizerStateDict.Decode(MapModule.OfSeq(optimizerTensors), meta.TryFind(OptimizerKey)?.Value ?? throw new InvalidDataException($"no '{OptimizerKey}' metadata"), path); }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"Checkpoint.Load: '{path}' holds an optimizer state that cannot be read: {e.Message}", e);
        }
        try { optimizer.CheckStateDict(optimizerState); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Checkpoint.Load: '{path}' does not fit the optimizer: {Plain(e)}", nameof(optimizer), e);
        }

        Action? applyScheduler = null;
        if (header.Scheduler != schedulerName)
            throw new ArgumentException(
                $"Checkpoint.Load: '{path}' holds {(header.Scheduler is null ? "no scheduler state" : $"the state of a {header.Scheduler} scheduler")} " +
                $"but {(schedulerName is null ? "no scheduler was given" : $"a {schedulerName} was given")} (key 'scheduler': {header.Scheduler ?? "none"} in the file, {schedulerName ?? "none"} given)",
                nameof(scheduler));
        if (scheduler is not null)
        {
            var json = meta.TryFind(SchedulerKey)?.Value ?? throw new InvalidDataException($"Checkpoint.Load: '{path}' names a {header.Scheduler} scheduler but holds no '{SchedulerKey}' metadata");
            try { applyScheduler = scheduler.Prepare(json); }
            catch (JsonException e) { throw new InvalidDataException($"Checkpoint.Load: '{path}' holds a scheduler state that cannot be read: {e.Message}", e); }
            catch (ArgumentException e) { throw new ArgumentException($"Checkpoint.Load: '{path}' does not fit the scheduler: {Plain(e)}", nameof(scheduler), e); }
        }

        // 2. ... and only then applied
        model.ApplyStateDict(modelState);
        optimizer.ApplyStateDict(optimizerState);
        applyScheduler?.Invoke();
        return header.Info;
    }

    // the file's tensors and metadata, after its structure and digest are verified
    private static (FSharpMap<string, CoreTensor> Tensors, FSharpMap<string, string> Meta) Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint.Load: no checkpoint at '{path}'", path);
        var bytes = File.ReadAllBytes(path);
        FSharpMap<string, CoreTensor> tensors;
        FSharpMap<string, string> meta;
        try { (tensors, meta) = Safetensors.deserialize(path, bytes).ToValueTuple(); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Checkpoint.Load: '{path}' is truncated, damaged or not a checkpoint: {e.Message}", e);
        }
        if (!meta.ContainsKey(MetaKey))
            throw new InvalidDataException($"Checkpoint.Load: '{path}' is a safetensors file without '{MetaKey}' metadata (not a checkpoint; Module.Load reads plain weights)");
        if (!meta.ContainsKey(DigestKey) || meta[DigestKey] != Digest(bytes, meta.ToDictionary(kv => kv.Key, kv => kv.Value)))
            throw new InvalidDataException($"Checkpoint.Load: '{path}' is damaged: its content does not match the SHA-256 recorded when it was written");
        return (tensors, meta);
    }

    // an ArgumentException's message without the " (Parameter 'x')" that .NET appends
    private static string Plain(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);

    internal static string ToJson<T>(T state) => JsonSerializer.Serialize(state, JsonOptions);

    internal static T FromJson<T>(string json, string scheduler) =>
        JsonSerializer.Deserialize<T>(json, JsonOptions) ?? throw new JsonException($"the {scheduler} state is null");

    private sealed record Header(int Format, string Model, string Optimizer, string? Scheduler, long Epoch, long Step, Dictionary<string, string> Extra)
    {
        [JsonIgnore]
        public CheckpointInfo Info => new(Epoch, Step, Extra);

        public static Header Parse(string json, string path)
        {
            Header? h;
            try { h = JsonSerializer.Deserialize<Header>(json, JsonOptions); }
            catch (JsonException e) { throw new InvalidDataException($"Checkpoint.Load: '{path}' has a '{MetaKey}' entry that is not valid: {e.Message}", e); }
            if (h is null || h.Optimizer is null || h.Model is null || h.Extra is null)
                throw new InvalidDataException($"Checkpoint.Load: '{path}' has a '{MetaKey}' entry without model, optimizer or extra");
            if (h.Format != Checkpoint.Format)
                throw new InvalidDataException($"Checkpoint.Load: '{path}' is a checkpoint of format {h.Format}; this version reads format {Checkpoint.Format}");
            return h;
        }
    }
}
