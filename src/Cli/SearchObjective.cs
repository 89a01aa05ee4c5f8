using System.Globalization;
using Hybrid.Core.Durability;
using Hybrid.Core.Search;

namespace Hybrid.Cli;

/// <summary>
/// A trial of a CLI search: an ordinary training run in runs/&lt;search&gt;/trial-&lt;n&gt;/ through the trainer, reporting
/// the chosen metric after each epoch to the pruner (a pruned run stops after that epoch's checkpoint), or the
/// built-in Branin test objective.
/// </summary>
internal static class SearchObjective
{
    /// <summary>The space parameters a trial maps onto <c>train</c> options, and how.</summary>
    public static readonly string[] TrainParams =
        { "model", "optimizer", "lr", "batch_size", "scheduler", "weight_decay", "dropout", "init", "l1", "l2", "augment", "seed" };

    /// <summary>Fails, naming it, on a space parameter that is no train option (before anything is created).</summary>
    public static void CheckSpace(Space space, string source)
    {
        foreach (var p in space.Params)
            if (!TrainParams.Contains(Key(p.Name)))
                throw new ArgumentException($"search: --space {source}: parameter '{p.Name}' is not a train option the trials can set (expected {string.Join("|", TrainParams)})");
    }

    /// <summary>A parameter's train option: batch-size and batch_size both name --batch-size.</summary>
    private static string Key(string name) => name.Replace('-', '_');

    /// <summary>The base configuration with the trial's parameters applied.</summary>
    public static TrainConfig Apply(TrainConfig b, IEnumerable<KeyValuePair<string, ParamValue>> config)
    {
        var c = b;
        foreach (var (name, v) in config)
            c = Key(name) switch
            {
                "model" => c with { Model = v.ToString() },
                "optimizer" => c with { Optimizer = v.ToString() },
                "scheduler" => c with { Scheduler = v.ToString() },
                "init" => c with { Init = v.ToString() },
                "lr" => c with { Lr = v.AsFloat },
                "weight_decay" => c with { WeightDecay = v.AsFloat },
                "dropout" => c with { Dropout = v.AsFloat },
                "l1" => c with { L1 = v.AsFloat },
                "l2" => c with { L2 = v.AsFloat },
                "batch_size" => c with { BatchSize = checked((int)v.AsInt) },
                "seed" => c with { Seed = checked((int)v.AsInt) },
                "augment" => c with { Augment = v.AsFloat != 0 },
                _ => throw new ArgumentException($"search: parameter '{name}' is not a train option"),
            };
        return c;
    }

    /// <summary>Branin-Hoo (optimum 0.397887).</summary>
    public static double Branin(double x, double y)
    {
        const double b = 5.1 / (4 * Math.PI * Math.PI), r = 5 / Math.PI, t = 1 / (8 * Math.PI);
        return Math.Pow(y - b * x * x + r * x - 6, 2) + 10 * (1 - t) * Math.Cos(x) + 10;
    }

    /// <summary>Runs one trial and returns its final metric.</summary>
    public static double Run(TrialRun trial, SearchSettings s, Space space)
    {
        var config = trial.Sample(space);
        return s.Objective == "branin" ? RunBranin(trial, s, config) : RunTraining(trial, s, config);
    }

    private static double RunBranin(TrialRun trial, SearchSettings s, Microsoft.FSharp.Collections.FSharpMap<string, ParamValue> config)
    {
        var value = Branin(config["x"].AsFloat, config["y"].AsFloat);
        for (int epoch = 1; epoch <= s.Epochs; epoch++)
        {
            if (s.ObjectiveSeconds > 0) trial.Cancellation.WaitHandle.WaitOne(TimeSpan.FromSeconds(s.ObjectiveSeconds / s.Epochs));
            trial.Cancellation.ThrowIfCancellationRequested();
            // a curve that falls towards the final value, so pruners have something to compare
            if (trial.Report(epoch, value + 10.0 / epoch - 10.0 / s.Epochs)) throw new TrialPrunedException($"pruned after epoch {epoch}");
        }
        return value;
    }

    private static double RunTraining(TrialRun trial, SearchSettings s, Microsoft.FSharp.Collections.FSharpMap<string, ParamValue> config)
    {
        var dir = Path.Combine(s.RunDir, $"trial-{trial.Number}");
        var cfg = Apply(s.Base, config) with { Name = $"trial-{trial.Number}", RunsDir = s.RunDir, Epochs = s.Epochs };
        cfg.Validate();
        trial.SetAttr("run", dir);
        var log = new List<string>();
        var trainer = new Trainer(cfg, line => { lock (log) log.Add(line); });
        trainer.LoadData();
        using var claim = RunFolder.claim(ClaimMode.New, dir);
        cfg.Save(Path.Combine(dir, "config.json"));
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(trial.Cancellation);
        bool pruned = false;
        int prunedAt = 0;
        double last = double.NaN;
        trainer.OnEpochMetrics = (epoch, m) =>
        {
            last = m[s.Metric];
            if (trial.Report(epoch + 1, last)) { pruned = true; prunedAt = epoch + 1; trainer.StopReason = "the pruner"; stop.Cancel(); }
        };
        try
        {
            var outcome = trainer.Run(dir, stop.Token, resume: false);
            if (pruned) throw new TrialPrunedException($"pruned after epoch {prunedAt}");
            if (outcome == RunOutcome.Interrupted) throw new OperationCanceledException(trial.Cancellation);
            return last;
        }
        finally
        {
            lock (log) AtomicFile.writeAllText("the trial's log", Path.Combine(dir, "log.txt"), string.Join("\n", log) + "\n");
        }
    }

    /// <summary>Writes runs/&lt;search&gt;/best.json: the best trial's training configuration, for `hybrid train --config`.</summary>
    public static string? WriteBest(SearchSettings s, Trial? best)
    {
        if (best is null || s.Objective != "train") return null;
        var cfg = Apply(s.Base, best.Config) with { Epochs = s.Epochs, Name = "", RunsDir = "runs" };
        var path = Path.Combine(s.RunDir, "best.json");
        cfg.Save(path);
        return path;
    }

    public static string Format(ParamValue v) => v is ParamValue.Float f ? f.Item.ToString("G4", CultureInfo.InvariantCulture) : v.ToString();
}
