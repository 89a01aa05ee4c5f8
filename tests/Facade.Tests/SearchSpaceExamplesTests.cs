using System.Text.Json;
using Hybrid.Core.Search;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// docs/examples/space-mlp.json and space-cnn.json: they parse, their conditional parameters are the documented
/// ones, a short search on each runs every trial to COMPLETE (each sampled configuration is a valid `hybrid train`
/// run), and the trials' config.json files hold the shape the parameters chose. Also the new train options'
/// errors, which name the option and why.
/// </summary>
public class SearchSpaceExamplesTests
{
    private static readonly string Repo = HybridProcess.Repo;
    private static readonly string Sample = HybridProcess.Sample;

    private static (int Code, string Out, string Err) Run(string cwd, params string[] args) =>
        HybridProcess.Run(cwd, null, TimeSpan.FromMinutes(4), args);

    private static string Example(string name) => Path.Combine(Repo, "docs", "examples", name);

    [Theory]
    [InlineData("space-mlp.json", "width_2", "depth")]
    [InlineData("space-cnn.json", "channels_2", "conv-layers")]
    public void TheExampleSpacesParseWithTheirConditions(string file, string perLayer, string parent)
    {
        var space = SpaceJson.parse(file, File.ReadAllText(Example(file)));
        Param P(string n) => space.Params.Single(p => p.Name == n);
        Assert.Equal("optimizer", Assert.IsType<Condition.ParentIn>(P("momentum").Condition!.Value).parent);
        Assert.Equal("optimizer", Assert.IsType<Condition.ParentIn>(P("beta1").Condition!.Value).parent);
        Assert.DoesNotContain(Assert.IsType<Condition.ParentIn>(P("beta2").Condition!.Value).values, v => v.ToString() == "sgd");
        Assert.Equal("scheduler", Assert.IsType<Condition.ParentIn>(P("step-gamma").Condition!.Value).parent);
        var above = Assert.IsType<Condition.ParentAbove>(P(perLayer).Condition!.Value);
        Assert.Equal((parent, 2.0), (above.parent, above.threshold));
    }

    [Theory]
    [InlineData("space-mlp.json", "mlp")]
    [InlineData("space-cnn.json", "cnn")]
    public void AShortRandomSearchOnEachExampleSpaceCompletesEveryTrial(string file, string model)
    {
        var cwd = HybridProcess.TempDir("hybrid-space-examples-");
        var (code, output, err) = Run(cwd, "search", "--space", Example(file), "--strategy", "random", "--trials", "3", "--epochs", "1",
            "--limit", "256", "--data", Sample, "--seed", "4", "--name", "s");
        Assert.True(code == 0, output + err);
        using var storage = StorageUrl.openStorage(Path.Combine(cwd, "runs", "s", "study.db"));
        var trials = StudyModule.trials(StudyModule.load(storage, "s"));
        Assert.Equal(3, trials.Length);
        foreach (var t in trials)
        {
            Assert.True(t.State.IsComplete, $"trial {t.Number}: {t.State} {t.FailReason}");
            using var cfg = JsonDocument.Parse(File.ReadAllText(Path.Combine(cwd, "runs", "s", $"trial-{t.Number}", "config.json")));
            var root = cfg.RootElement;
            Assert.Equal(model, root.GetProperty("Model").GetString());
            Assert.Equal(t.Config["optimizer"].ToString(), root.GetProperty("Optimizer").GetString());
            var shape = root.GetProperty(model == "mlp" ? "Widths" : "Channels").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var layers = t.Config[model == "mlp" ? "depth" : "conv-layers"].AsInt;
            Assert.Equal(layers, shape.Length);
            for (int i = 0; i < shape.Length; i++)
                Assert.Equal(t.Config[(model == "mlp" ? "width_" : "channels_") + i].AsInt, shape[i]);
            if (t.Config.ContainsKey("momentum"))
                Assert.Equal(t.Config["momentum"].AsFloat, root.GetProperty("Momentum").GetDouble());
            else
                Assert.Equal(JsonValueKind.Null, root.GetProperty("Momentum").ValueKind);
            if (t.Config.ContainsKey("beta1"))
                Assert.Equal(t.Config["beta1"].AsFloat, root.GetProperty("Beta1").GetDouble());
        }
    }

    [Theory]
    [InlineData(new[] { "--optimizer", "adam", "--momentum", "0.9" }, "--momentum 0.9 applies only to --optimizer sgd|momentum|nesterov (this run has --optimizer adam)")]
    [InlineData(new[] { "--optimizer", "sgd", "--beta1", "0.8" }, "--beta1 0.8 applies only to --optimizer adam|adamw|nadam|adamax|radam|lion")]
    [InlineData(new[] { "--optimizer", "sgd", "--nesterov", "true" }, "--nesterov True is invalid (expected a momentum > 0")]
    [InlineData(new[] { "--scheduler", "cosine", "--step-gamma", "0.5" }, "--step-gamma 0.5 applies only to --scheduler step")]
    [InlineData(new[] { "--widths", "64,0" }, "--widths 64,0 is invalid")]
    [InlineData(new[] { "--widths", "64,x" }, "--widths 64,x is invalid (expected a comma-separated list of numbers)")]
    [InlineData(new[] { "--widths", "64,32", "--dropouts", "0.1" }, "--dropouts 0.1 is invalid (expected one per hidden layer (2))")]
    [InlineData(new[] { "--model", "cnn", "--channels", "8,8,8,8,8" }, "--channels 8,8,8,8,8 is invalid")]
    [InlineData(new[] { "--model", "mlp", "--channels", "8" }, "--channels 8 applies only to --model cnn")]
    [InlineData(new[] { "--model", "cnn", "--kernel-size", "4" }, "--kernel-size 4 is invalid (expected 3, 5 or 7)")]
    public void BadShapeAndHyperparameterOptionsAreOneLineErrorsNamingTheOption(string[] args, string named)
    {
        var cwd = HybridProcess.TempDir("hybrid-train-options-");
        var (code, _, err) = Run(cwd, new[] { "train", "--data", Sample, "--epochs", "1" }.Concat(args).ToArray());
        Assert.Equal(2, code);
        Assert.Contains(named, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(cwd, "runs")));
    }
}
