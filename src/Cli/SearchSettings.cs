using System.Text.Json;
using Hybrid.Core.Search;

namespace Hybrid.Cli;

/// <summary>
/// What defines a CLI search, stored with the study (so that <c>hybrid search worker</c> on another process or machine
/// joins it with nothing but --storage and --name): the space file's text, the strategy, the budget, the metric and the
/// base training configuration each trial starts from.
/// </summary>
internal sealed record SearchSettings
{
    public string SpaceText { get; init; } = "";
    public string SpaceSource { get; init; } = "";
    public string Strategy { get; init; } = "random";
    public int Trials { get; init; } = 20;
    public int Epochs { get; init; } = 3;
    public string Metric { get; init; } = "val_accuracy";
    public string Objective { get; init; } = "train";
    /// <summary>Seconds a built-in test objective spends per trial (tests of heartbeats and kills).</summary>
    public double ObjectiveSeconds { get; init; }
    public string RunDir { get; init; } = "";
    public double HeartbeatTimeout { get; init; } = 60;
    public TrainConfig Base { get; init; } = new();

    public static readonly string[] Strategies = { "grid", "random", "asha", "hyperband", "tpe", "tpe-asha" };
    public static readonly string[] Metrics = { "val_accuracy", "val_loss", "test_accuracy", "train_loss" };
    public static readonly string[] Objectives = { "train", "branin" };

    /// <summary>The built-in test objective's space when no --space is given: Branin's box.</summary>
    public const string BraninSpace = """{ "parameters": { "x": { "type": "float", "low": -5, "high": 10 }, "y": { "type": "float", "low": 0, "high": 15 } } }""";

    public Space Space() => SpaceJson.parse(SpaceSource, SpaceText);

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static SearchSettings FromJson(string json, string study) =>
        JsonSerializer.Deserialize<SearchSettings>(json) is { SpaceText.Length: > 0 } s ? s
            : throw new InvalidDataException($"search: study '{study}' was not made by `hybrid search` (it stores no search settings)");

    /// <summary>The sampler and pruner of the strategy: random/grid/tpe sample, asha/hyperband/tpe-asha also prune.</summary>
    public StudyOptions Options(string worker) => new(
        Strategy switch
        {
            "tpe" or "tpe-asha" => Tpe.sampler(Tpe.defaults),
            _ => RandomSampler.sampler,
        },
        Strategy switch
        {
            "asha" or "tpe-asha" => SuccessiveHalving.pruner(AshaOptions.Default(Epochs)),
            "hyperband" => Hyperband.pruner(AshaOptions.Default(Epochs)),
            _ => NopPruner.pruner,
        },
        TimeSpan.FromSeconds(HeartbeatTimeout), worker);

    /// <summary>Maximize accuracies, minimize losses.</summary>
    public static string DefaultDirection(string metric) => metric.EndsWith("accuracy", StringComparison.Ordinal) ? "maximize" : "minimize";
}
