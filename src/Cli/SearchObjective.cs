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
        { "model", "optimizer", "lr", "batch_size", "scheduler", "weight_decay", "dropout", "init", "l1", "l2", "augment", "seed",
          "momentum", "nesterov", "beta1", "beta2", "rmsprop_alpha", "step_size", "step_gamma", "exp_gamma", "onecycle_pct_start",
          "plateau_factor", "kernel_size", "dense_width", "depth", "conv_layers", "width_<i>", "dropout_<i>", "channels_<i>" };

    /// <summary>The per-layer parameters: width_i and dropout_i (MLP hidden layer i, from 0), channels_i (CNN block i).</summary>
    private static readonly System.Text.RegularExpressions.Regex PerLayer = new("^(width|dropout|channels)_([0-9]+)$");

    /// <summary>Fails, naming it, on a space parameter that is no train option (before anything is created).</summary>
    public static void CheckSpace(Space space, string source)
    {
        foreach (var p in space.Params)
            if (!TrainParams.Contains(Key(p.Name)) && !PerLayer.IsMatch(Key(p.Name)))
                throw new ArgumentException($"search: --space {source}: parameter '{p.Name}' is not a train option the trials can set (expected {string.Join("|", TrainParams)})");
    }

    /// <summary>A parameter's train option: batch-size and batch_size both name --batch-size.</summary>
    private static string Key(string name) => name.Replace('-', '_');

    /// <summary>The base configuration with the trial's parameters applied.</summary>
    public static TrainConfig Apply(TrainConfig b, IEnumerable<KeyValuePair<string, ParamValue>> config)
    {
        var c = b;
        var widths = new SortedDictionary<int, int>();
        var dropouts = new SortedDictionary<int, double>();
        var channels = new SortedDictionary<int, int>();
        int? depth = null, convLayers = null;
        foreach (var (name, v) in config)
        {
            if (PerLayer.Match(Key(name)) is { Success: true } m)
            {
                var i = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                switch (m.Groups[1].Value)
                {
                    case "width": widths[i] = checked((int)v.AsInt); break;
                    case "dropout": dropouts[i] = v.AsFloat; break;
                    default: channels[i] = checked((int)v.AsInt); break;
                }
                continue;
            }
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
                "momentum" => c with { Momentum = v.AsFloat },
                "nesterov" => c with { Nesterov = v.AsFloat != 0 },
                "beta1" => c with { Beta1 = v.AsFloat },
                "beta2" => c with { Beta2 = v.AsFloat },
                "rmsprop_alpha" => c with { RmspropAlpha = v.AsFloat },
                "step_size" => c with { StepSize = checked((int)v.AsInt) },
                "step_gamma" => c with { StepGamma = v.AsFloat },
                "exp_gamma" => c with { ExpGamma = v.AsFloat },
                "onecycle_pct_start" => c with { OneCyclePctStart = v.AsFloat },
                "plateau_factor" => c with { PlateauFactor = v.AsFloat },
                "kernel_size" => c with { KernelSize = checked((int)v.AsInt) },
                "dense_width" => c with { DenseWidth = checked((int)v.AsInt) },
                "depth" => Set(c, () => depth = checked((int)v.AsInt)),
                "conv_layers" => Set(c, () => convLayers = checked((int)v.AsInt)),
                _ => throw new ArgumentException($"search: parameter '{name}' is not a train option"),
            };
        }
        // depth d: hidden layers 0..d-1, each width_i (else the default width of that layer, the last default beyond)
        // and dropout_i (else --dropout); without depth, as many layers as the highest width_i/dropout_i names
        int Layers(int? given, params IEnumerable<int>[] keys) => given ?? keys.SelectMany(k => k).DefaultIfEmpty(-1).Max() + 1;
        int At(int[] defaults, int i) => defaults[Math.Min(i, defaults.Length - 1)];
        var nHidden = Layers(depth, widths.Keys, dropouts.Keys);
        if (nHidden > 0)
        {
            var w = Enumerable.Range(0, nHidden).Select(i => widths.TryGetValue(i, out var x) ? x : At(c.Widths ?? Models.DefaultWidths, i)).ToArray();
            c = c with { Widths = w };
            if (dropouts.Count > 0)
                c = c with { Dropouts = Enumerable.Range(0, nHidden).Select(i => dropouts.TryGetValue(i, out var x) ? x : c.Dropout).ToArray() };
        }
        var nConv = Layers(convLayers, channels.Keys);
        if (nConv > 0)
            c = c with { Channels = Enumerable.Range(0, nConv).Select(i => channels.TryGetValue(i, out var x) ? x : At(c.Channels ?? Models.DefaultChannels, i)).ToArray() };
        return c;
    }

    private static TrainConfig Set(TrainConfig c, Action set)
    {
        set();
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
