using Microsoft.FSharp.Collections;
using System.Globalization;
using System.Text;
using Hybrid.Core.Search;
using Microsoft.FSharp.Core;
using CoreStudy = Hybrid.Core.Search.Study;

namespace Hybrid.Search;

/// <summary>
/// A hyperparameter search, shaped like Optuna's: a named study in a storage, a sampler that proposes parameters, a
/// pruner that stops bad trials early, and an objective run once per trial.
/// <code>
/// using var storage = new SqliteStorage("runs/s/study.db");
/// var study = Study.Create("s", storage, new TpeSampler(seed: 1), new MedianPruner(), StudyDirection.Maximize);
/// study.Optimize(trial =&gt; { var lr = trial.SuggestFloat("lr", 1e-5, 1e-1, log: true); ... return accuracy; }, nTrials: 50);
/// </code>
/// Reproducibility: with nJobs = 1 and no other worker, the same seed and a deterministic objective give the same
/// trials. With several workers each trial still draws from its own stream keyed by (seed, trial number, name), but
/// what the sampler sees of the other trials depends on timing: random and grid studies reproduce, TPE's proposals
/// and the pruners' decisions do not.
/// </summary>
public sealed class Study
{
    private readonly CoreStudy _core;
    private readonly StudyOptions _options;
    private readonly Sampler _sampler;

    private Study(CoreStudy core, StudyOptions options, Sampler sampler)
    {
        _core = core;
        _options = options;
        _sampler = sampler;
    }

    private static StudyOptions Options(Sampler sampler, Pruner? pruner, TimeSpan? heartbeatTimeout)
    {
        var d = StudyOptionsModule.defaults;
        var timeout = heartbeatTimeout ?? d.HeartbeatTimeout;
        if (timeout <= TimeSpan.Zero) throw new ArgumentException($"Study: heartbeatTimeout must be positive, got {timeout}", nameof(heartbeatTimeout));
        return new StudyOptions(sampler.Core, (pruner ?? new NopPruner()).Core, timeout, d.Worker);
    }

    /// <summary>Creates a study; fails, naming it, if the storage holds one of that name already.</summary>
    /// <param name="name">The study's name in the storage.</param>
    /// <param name="storage">Where its trials live.</param>
    /// <param name="sampler">How parameters are proposed (default: <see cref="RandomSampler"/>); its seed is the study's.</param>
    /// <param name="pruner">How trials are stopped early (default: <see cref="NopPruner"/>).</param>
    /// <param name="direction">Whether the objective is minimized or maximized.</param>
    /// <param name="heartbeatTimeout">A running trial silent this long lost its process: it fails and is queued again (default 60 s).</param>
    /// <returns>The study.</returns>
    public static Study Create(string name, Storage storage, Sampler? sampler = null, Pruner? pruner = null,
        StudyDirection direction = StudyDirection.Minimize, TimeSpan? heartbeatTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        sampler ??= new RandomSampler();
        var options = Options(sampler, pruner, heartbeatTimeout);
        var seed = sampler.Seed ?? (ulong)Random.Shared.NextInt64();
        var core = StudyModule.create(storage.Core, name, direction == StudyDirection.Maximize ? Hybrid.Core.Search.Direction.Maximize : Hybrid.Core.Search.Direction.Minimize, seed, options);
        if (sampler is GridSampler grid)
            foreach (var point in grid.Points()) StudyModule.enqueue(core, point);
        return new Study(core, options, sampler);
    }

    /// <summary>Loads a study to continue it or to join it as another worker; fails naming it if absent.</summary>
    /// <param name="name">The study's name.</param>
    /// <param name="storage">Where it lives.</param>
    /// <param name="sampler">The sampler this worker uses (the study's seed stays the stored one).</param>
    /// <param name="pruner">The pruner this worker uses.</param>
    /// <param name="heartbeatTimeout">As in <see cref="Create"/>.</param>
    /// <returns>The study.</returns>
    public static Study Load(string name, Storage storage, Sampler? sampler = null, Pruner? pruner = null, TimeSpan? heartbeatTimeout = null)
    {
        ArgumentNullException.ThrowIfNull(storage);
        sampler ??= new RandomSampler();
        var options = Options(sampler, pruner, heartbeatTimeout);
        return new Study(StudyModule.load(storage.Core, name), options, sampler);
    }

    /// <summary>The study's name.</summary>
    public string Name => _core.Stored.Name;

    /// <summary>Whether the objective is minimized or maximized.</summary>
    public StudyDirection Direction => _core.Settings.Direction.IsMaximize ? StudyDirection.Maximize : StudyDirection.Minimize;

    /// <summary>The study's seed.</summary>
    public ulong Seed => _core.Settings.Seed;

    /// <summary>
    /// Runs the objective on new trials until nTrials have started in this call, the timeout has passed or the token
    /// is cancelled (a grid study also stops when its grid is exhausted). A trial whose objective throws, or reports
    /// or returns NaN or infinity, fails with the reason and the study goes on; <see cref="TrialPruned"/> ends it as
    /// pruned; on cancellation the running trials fail as "interrupted" and are queued to run again, so a later
    /// Optimize (or another worker) reruns them and never repeats a finished trial.
    /// </summary>
    /// <param name="objective">Returns the trial's value.</param>
    /// <param name="nTrials">Trials to run in this call.</param>
    /// <param name="nJobs">Workers in this process, each on its own thread.</param>
    /// <param name="timeout">Start no new trial after this long.</param>
    /// <param name="cancellationToken">Stops the study (Ctrl-C).</param>
    public void Optimize(Func<Trial, double> objective, int nTrials, int nJobs = 1, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(objective);
        if (_sampler is GridSampler) nTrials = Math.Min(nTrials, Trials.Count(t => t.State == TrialState.Waiting));
        var limit = timeout is TimeSpan t ? FSharpOption<TimeSpan>.Some(t) : FSharpOption<TimeSpan>.None;
        StudyModule.optimize(_core, _options, Trial.Wrap(objective), nTrials, nJobs, limit, cancellationToken);
    }

    /// <summary>Queues a trial with these parameters; the next trial a worker starts runs it. Returns its number.</summary>
    /// <param name="parameters">Values by name (double, long, int, string or bool).</param>
    /// <returns>The queued trial's number.</returns>
    public int EnqueueTrial(IReadOnlyDictionary<string, object> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var config = parameters.Aggregate(MapModule.Empty<string, ParamValue>(), (m, kv) => m.Add(kv.Key, Values.ToCore(kv.Value, kv.Key)));
        return StudyModule.enqueue(_core, config);
    }

    /// <summary>Every trial of the study, by number (a fresh snapshot from the storage).</summary>
    public IReadOnlyList<FrozenTrial> Trials => StudyModule.trials(_core).Select(t => new FrozenTrial(t)).ToArray();

    /// <summary>The complete trial with the best value (the lowest number among ties); fails if none is complete.</summary>
    public FrozenTrial BestTrial
    {
        get
        {
            var best = StudyModule.best(_core);
            if (best is null) throw new InvalidOperationException($"Study '{Name}': no trial is complete yet");
            return new FrozenTrial(best.Value);
        }
    }

    /// <summary>The best trial's parameters.</summary>
    public IReadOnlyDictionary<string, object> BestParams => BestTrial.Params;

    /// <summary>The best trial's value.</summary>
    public double BestValue => BestTrial.Value!.Value;

    /// <summary>Writes every trial as CSV (number, state, value, one column per parameter, fail reason) to a temporary
    /// file in the same folder, then renames it over the path, so a reader never sees half a file.</summary>
    /// <param name="path">The CSV file.</param>
    public void ExportCsv(string path)
    {
        var trials = Trials;
        var names = trials.SelectMany(t => t.Params.Keys).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray();
        static string Cell(object? v) => v switch
        {
            null => "",
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => Quote(v.ToString() ?? ""),
        };
        static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n', '\r' }) < 0 ? s : "\"" + s.Replace("\"", "\"\"") + "\"";
        var sb = new StringBuilder();
        sb.Append("number,state,value");
        foreach (var n in names) sb.Append(",params_").Append(Quote(n));
        sb.Append(",fail_reason\n");
        foreach (var t in trials)
        {
            sb.Append(t.Number).Append(',').Append(t.State.ToString().ToUpperInvariant()).Append(',').Append(Cell(t.Value));
            foreach (var n in names) sb.Append(',').Append(Cell(t.Params.GetValueOrDefault(n)));
            sb.Append(',').Append(Quote(t.FailReason ?? "")).Append('\n');
        }
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            var bytes = Encoding.UTF8.GetBytes(sb.ToString());
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, full, overwrite: true);
    }
}
