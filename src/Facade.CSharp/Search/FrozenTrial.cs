using CoreTrial = Hybrid.Core.Search.Trial;

namespace Hybrid.Search;

/// <summary>Where a trial stands: waiting in the queue, running, or finished as complete, pruned or failed.</summary>
public enum TrialState
{
    /// <summary>Queued (enqueued, a grid point, or a configuration to run again).</summary>
    Waiting,
    /// <summary>A worker is running it (its heartbeat says it is alive).</summary>
    Running,
    /// <summary>Finished with a value.</summary>
    Complete,
    /// <summary>Stopped early by the pruner; keeps its last reported value.</summary>
    Pruned,
    /// <summary>Failed: an exception, a NaN or infinite value, a lost heartbeat, or an interruption.</summary>
    Fail,
}

/// <summary>Whether smaller or larger objective values are better.</summary>
public enum StudyDirection
{
    /// <summary>Smaller is better (a loss).</summary>
    Minimize,
    /// <summary>Larger is better (an accuracy).</summary>
    Maximize,
}

/// <summary>A trial as the storage holds it: a snapshot, not updated afterwards.</summary>
public sealed class FrozenTrial
{
    /// <summary>The trial's number in the study.</summary>
    public int Number { get; }
    /// <summary>Its state.</summary>
    public TrialState State { get; }
    /// <summary>The objective's value (complete trials; the last reported value of a pruned one).</summary>
    public double? Value { get; }
    /// <summary>Its parameters, by name (double, long, string or bool values).</summary>
    public IReadOnlyDictionary<string, object> Params { get; }
    /// <summary>The values reported per step.</summary>
    public IReadOnlyDictionary<long, double> IntermediateValues { get; }
    /// <summary>Its user attributes.</summary>
    public IReadOnlyDictionary<string, string> UserAttrs { get; }
    /// <summary>Why a failed trial failed.</summary>
    public string? FailReason { get; }
    /// <summary>When it started running.</summary>
    public DateTimeOffset? Started { get; }
    /// <summary>When it finished.</summary>
    public DateTimeOffset? Ended { get; }

    internal FrozenTrial(CoreTrial t)
    {
        Number = t.Number;
        State = t.State.Tag switch
        {
            Hybrid.Core.Search.TrialState.Tags.Waiting => TrialState.Waiting,
            Hybrid.Core.Search.TrialState.Tags.Running => TrialState.Running,
            Hybrid.Core.Search.TrialState.Tags.Complete => TrialState.Complete,
            Hybrid.Core.Search.TrialState.Tags.Pruned => TrialState.Pruned,
            _ => TrialState.Fail,
        };
        Value = t.Value is null ? null : t.Value.Value;
        Params = t.Config.ToDictionary(kv => kv.Key, kv => Values.ToObject(kv.Value));
        IntermediateValues = t.Intermediate.ToDictionary(kv => kv.Key, kv => kv.Value);
        UserAttrs = t.UserAttrs.ToDictionary(kv => kv.Key, kv => kv.Value);
        FailReason = t.FailReason?.Value;
        Started = t.Started is null ? null : t.Started.Value;
        Ended = t.Ended is null ? null : t.Ended.Value;
    }
}
