using CoreWriter = Hybrid.Core.Logging.SummaryWriter;

namespace Hybrid.Logging;

/// <summary>
/// Writes TensorBoard event files (<c>tensorboard --logdir &lt;logDir&gt;</c>), as torch.utils.tensorboard's
/// SummaryWriter: <c>&lt;logDir&gt;/events.out.tfevents.&lt;unix time&gt;.&lt;host&gt;</c>, one flushed record per call,
/// written by the core's TFRecord/protobuf writer.
/// </summary>
public sealed class SummaryWriter : IDisposable
{
    private readonly CoreWriter _core;

    /// <summary>Creates <paramref name="logDir"/> if needed and opens a new event file in it.</summary>
    /// <param name="logDir">The folder TensorBoard is pointed at (default "runs", as torch's).</param>
    public SummaryWriter(string logDir = "runs")
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        _core = new CoreWriter(logDir);
    }

    /// <summary>The event file being written.</summary>
    public string Path => _core.Path;

    /// <summary>Logs one scalar under <paramref name="tag"/> (e.g. "train/loss") at <paramref name="step"/> (stored as float32, as TensorBoard does).</summary>
    /// <exception cref="ArgumentException">An empty tag or a negative step.</exception>
    public void AddScalar(string tag, double value, long step)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        if (step < 0) throw new ArgumentException($"SummaryWriter: step {step} is negative", nameof(step));
        _core.AddScalar(tag, value, step);
    }

    /// <summary>Logs several scalars at one step in a single event, keyed by tag.</summary>
    /// <exception cref="ArgumentException">An empty tag or a negative step.</exception>
    public void AddScalars(long step, IReadOnlyDictionary<string, double> scalars)
    {
        ArgumentNullException.ThrowIfNull(scalars);
        if (step < 0) throw new ArgumentException($"SummaryWriter: step {step} is negative", nameof(step));
        foreach (var tag in scalars.Keys)
            if (string.IsNullOrEmpty(tag)) throw new ArgumentException("SummaryWriter: a scalar has an empty tag", nameof(scalars));
        _core.AddScalars(step, scalars.Select(kv => Tuple.Create(kv.Key, kv.Value)));
    }

    /// <summary>Closes the event file.</summary>
    public void Dispose() => _core.Dispose();
}
