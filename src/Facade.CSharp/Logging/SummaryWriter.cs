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

    /// <summary>Logs the histogram of <paramref name="values"/> (e.g. a layer's weights) under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    /// <param name="tag">The histogram's name, e.g. "weights/fc1".</param>
    /// <param name="values">The values to bin (all finite, at least one).</param>
    /// <param name="step">The global step.</param>
    /// <param name="bins">The number of equal-width buckets over [min, max].</param>
    /// <exception cref="ArgumentException">An empty tag, a negative step, no values, a non-finite value or bins below 1.</exception>
    public void AddHistogram(string tag, double[] values, long step, int bins = 30)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        ArgumentNullException.ThrowIfNull(values);
        if (step < 0) throw new ArgumentException($"SummaryWriter: step {step} is negative", nameof(step));
        _core.AddHistogram(tag, values, step, bins);
    }

    /// <summary>Logs the histogram of a tensor's values (e.g. a <see cref="Hybrid.Nn.Parameter"/>) under <paramref name="tag"/> at <paramref name="step"/>.</summary>
    /// <param name="tag">The histogram's name, e.g. "weights/fc1".</param>
    /// <param name="values">A float32 or float64 tensor.</param>
    /// <param name="step">The global step.</param>
    /// <param name="bins">The number of equal-width buckets over [min, max].</param>
    public void AddHistogram(string tag, Tensor values, long step, int bins = 30)
    {
        ArgumentNullException.ThrowIfNull(values);
        var flat = values.DType == DType.Float32 ? values.ToArray<float>().Select(v => (double)v).ToArray() : values.ToArray<double>();
        AddHistogram(tag, flat, step, bins);
    }

    /// <summary>
    /// Logs a run's hyperparameters for TensorBoard's HPARAMS tab, with its final metrics (as torch's add_hparams):
    /// the plugin's experiment, session-start and session-end events, then the metrics as scalars under their tags.
    /// </summary>
    /// <param name="hparams">Hyperparameters by name: numbers, strings or bools.</param>
    /// <param name="metrics">The run's results by tag, e.g. "hparam/accuracy".</param>
    /// <param name="step">The step the events are logged at.</param>
    /// <exception cref="ArgumentException">A value that is not a number, string or bool (the message names it), or an empty name.</exception>
    public void AddHparams(IReadOnlyDictionary<string, object> hparams, IReadOnlyDictionary<string, double> metrics, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(hparams);
        ArgumentNullException.ThrowIfNull(metrics);
        if (hparams.Keys.Concat(metrics.Keys).Any(string.IsNullOrEmpty))
            throw new ArgumentException("SummaryWriter: a hyperparameter or metric has an empty name", nameof(hparams));
        foreach (var (k, v) in hparams)
            if (v is not (string or bool or double or float or int or long or decimal or short or byte or uint or ulong))
                throw new ArgumentException($"SummaryWriter: hyperparameter '{k}' is a {v?.GetType().Name ?? "null"} (expected a number, string or bool)", nameof(hparams));
        _core.AddHparams(hparams.Select(kv => Tuple.Create(kv.Key, kv.Value)), metrics.Select(kv => Tuple.Create(kv.Key, kv.Value)), step);
    }

    /// <summary>Closes the event file.</summary>
    public void Dispose() => _core.Dispose();
}
