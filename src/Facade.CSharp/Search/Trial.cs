using Hybrid.Core.Search;
using Microsoft.FSharp.Core;

namespace Hybrid.Search;

/// <summary>Throw from an objective to end its trial as pruned (typically when <see cref="Trial.ShouldPrune"/> says so).</summary>
public sealed class TrialPruned : Exception
{
    /// <summary>A pruned-trial signal.</summary>
    public TrialPruned() : base("trial pruned") { }

    /// <summary>A pruned-trial signal with a message.</summary>
    /// <param name="message">Why the trial stops.</param>
    public TrialPruned(string message) : base(message) { }

    /// <summary>A pruned-trial signal with a message and its cause.</summary>
    /// <param name="message">Why the trial stops.</param>
    /// <param name="inner">The cause.</param>
    public TrialPruned(string message, Exception inner) : base(message, inner) { }
}

/// <summary>
/// One trial while the objective runs (define-by-run, as in Optuna): each Suggest call adds a parameter to the trial's
/// configuration and returns its value, drawn by the study's sampler over the study's history; a suggestion
/// repeated with the same name returns the same value. A trial run again from the queue (after its worker died or
/// the study was interrupted) returns the queued values.
/// </summary>
public sealed class Trial
{
    private readonly TrialRun _run;

    internal Trial(TrialRun run) => _run = run;

    /// <summary>The trial's number in the study: 0, 1, 2, ... with no gaps.</summary>
    public int Number => _run.Number;

    /// <summary>The parameters suggested so far, by name (double, long, string or bool values).</summary>
    public IReadOnlyDictionary<string, object> Params => _run.Config.ToDictionary(kv => kv.Key, kv => Values.ToObject(kv.Value));

    /// <summary>Cancelled when the study is stopped (Ctrl-C, the caller's token): a long objective should stop and
    /// throw <see cref="OperationCanceledException"/>, and the trial is queued to run again on resume.</summary>
    public CancellationToken CancellationToken => _run.Cancellation;

    /// <summary>A floating-point parameter in [low, high].</summary>
    /// <param name="name">The parameter's name.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound (greater than low).</param>
    /// <param name="log">Draw log x uniformly (low must be positive), as for learning rates.</param>
    /// <param name="step">Only the values low, low + step, ..., up to high (treated as categories; not with log).</param>
    /// <returns>The value.</returns>
    public double SuggestFloat(string name, double low, double high, bool log = false, double? step = null)
    {
        if (step is double s)
        {
            if (log) throw new ArgumentException($"SuggestFloat: parameter '{name}': step and log cannot be combined", nameof(step));
            if (!(s > 0) || !(high > low)) throw new ArgumentException($"SuggestFloat: parameter '{name}': step {s} over [{low}, {high}] needs step > 0 and high > low", nameof(step));
            var n = (long)Math.Floor((high - low) / s + 1e-9);
            if (n > 10_000) throw new ArgumentException($"SuggestFloat: parameter '{name}': step {s} gives {n + 1} values (at most 10001)", nameof(step));
            var values = Enumerable.Range(0, (int)n + 1).Select(k => ParamValue.NewFloat(low + k * s));
            return _run.Suggest(ParamModule.categorical(name, values)).AsFloat;
        }
        return _run.Suggest(log ? ParamModule.logUniform(name, low, high) : ParamModule.uniform(name, low, high)).AsFloat;
    }

    /// <summary>An integer parameter in {low, low + step, ..., high}.</summary>
    /// <param name="name">The parameter's name.</param>
    /// <param name="low">Lower bound.</param>
    /// <param name="high">Upper bound, inclusive.</param>
    /// <param name="step">Spacing of the values.</param>
    /// <param name="log">Draw log x uniformly (step must be 1), as for layer widths.</param>
    /// <returns>The value.</returns>
    public long SuggestInt(string name, long low, long high, long step = 1, bool log = false)
    {
        if (log && step != 1) throw new ArgumentException($"SuggestInt: parameter '{name}': log needs step 1, got {step}", nameof(step));
        return _run.Suggest(new Param(name, Distribution.NewIntRange(low, high, step, log), null, null)).AsInt;
    }

    /// <summary>One of the choices (unordered).</summary>
    /// <typeparam name="T">double, float, long, int, string or bool.</typeparam>
    /// <param name="name">The parameter's name.</param>
    /// <param name="choices">The values to choose from.</param>
    /// <returns>The chosen value.</returns>
    public T SuggestCategorical<T>(string name, IReadOnlyList<T> choices) where T : notnull
    {
        ArgumentNullException.ThrowIfNull(choices);
        var core = choices.Select(c => Values.ToCore(c, name)).ToArray();
        var v = _run.Suggest(ParamModule.categorical(name, core));
        return choices[Array.IndexOf(core, v)];
    }

    /// <summary>Reports the objective's value at a step (an epoch) and asks the study's pruner. A NaN or infinite value
    /// ends the trial as failed ("diverged at step s: value v") and the study goes on.</summary>
    /// <param name="value">The value at this step (e.g. validation accuracy).</param>
    /// <param name="step">The step (e.g. the epoch, from 0 or 1).</param>
    public void Report(double value, long step) => _run.Report(step, value);

    /// <summary>Whether the pruner decided, at the last <see cref="Report"/>, that this trial should stop; if so
    /// throw <see cref="TrialPruned"/>.</summary>
    /// <returns>True to stop the trial.</returns>
    public bool ShouldPrune() => _run.ShouldPrune();

    /// <summary>Stores a user attribute of the trial.</summary>
    /// <param name="key">The attribute's name.</param>
    /// <param name="value">Its value.</param>
    public void SetUserAttr(string key, string value) => _run.SetAttr(key, value);

    internal static FSharpFunc<TrialRun, double> Wrap(Func<Trial, double> objective) =>
        FuncConvert.FromFunc<TrialRun, double>(run =>
        {
            try { return objective(new Trial(run)); }
            catch (TrialPruned e) { throw new TrialPrunedException(e.Message); }
        });
}
