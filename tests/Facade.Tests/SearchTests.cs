using Hybrid.Search;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The Optuna-shaped search API: studies, define-by-run suggestions, pruning, failures, grid, CSV export.</summary>
public class SearchTests
{
    private static string TempDb()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hybrid-facade-search-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, "study.db");
    }

    private static double Quadratic(Trial trial)
    {
        var x = trial.SuggestFloat("x", -10, 10);
        var lr = trial.SuggestFloat("lr", 1e-5, 1e-1, log: true);
        var opt = trial.SuggestCategorical("optimizer", new[] { "sgd", "adam" });
        var layers = trial.SuggestInt("layers", 1, 4);
        return (x - 2) * (x - 2) + Math.Abs(Math.Log10(lr) + 3) + (opt == "adam" ? 0 : 1) + layers;
    }

    [Fact]
    public void OptimizeRunsTheTrialsAndTheBestIsTheMinimum()
    {
        using var storage = new SqliteStorage(TempDb());
        var study = Study.Create("quad", storage, new RandomSampler(seed: 3), direction: StudyDirection.Minimize);
        study.Optimize(Quadratic, nTrials: 30);
        var trials = study.Trials;
        Assert.Equal(Enumerable.Range(0, 30), trials.Select(t => t.Number));
        Assert.All(trials, t => Assert.Equal(TrialState.Complete, t.State));
        Assert.Equal(trials.Min(t => t.Value!.Value), study.BestValue);
        var best = study.BestParams;
        Assert.InRange((double)best["lr"], 1e-5, 1e-1);
        Assert.InRange((double)best["x"], -10, 10);
        Assert.Contains((string)best["optimizer"], new[] { "sgd", "adam" });
        Assert.InRange((long)best["layers"], 1, 4);
    }

    [Fact]
    public void TheSameSeedGivesTheSameTrials()
    {
        IEnumerable<double?> Run()
        {
            using var storage = new SqliteStorage(TempDb());
            var study = Study.Create("s", storage, new RandomSampler(seed: 11));
            study.Optimize(Quadratic, nTrials: 8);
            return study.Trials.Select(t => t.Value).ToArray();
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void PrunedFailedAndDivergingTrialsAreRecordedAndTheStudyGoesOn()
    {
        using var storage = new SqliteStorage(TempDb());
        var study = Study.Create("s", storage, new RandomSampler(seed: 1), new NopPruner(), StudyDirection.Maximize);
        study.Optimize(trial =>
        {
            var x = trial.SuggestFloat("x", 0, 1);
            switch (trial.Number)
            {
                case 0:
                    trial.Report(0.3, 1);
                    throw new TrialPruned();
                case 1: throw new InvalidOperationException("bad batch");
                case 2: trial.Report(double.PositiveInfinity, 4); return 0;
                default: return x;
            }
        }, nTrials: 4);
        var t = study.Trials;
        Assert.Equal(new[] { TrialState.Pruned, TrialState.Fail, TrialState.Fail, TrialState.Complete }, t.Select(x => x.State));
        Assert.Equal(0.3, t[0].Value);
        Assert.Equal(0.3, t[0].IntermediateValues[1]);
        Assert.Equal("InvalidOperationException: bad batch", t[1].FailReason);
        Assert.Equal("diverged at step 4: value Infinity", t[2].FailReason);
        Assert.Equal(3, study.BestTrial.Number);
    }

    [Fact]
    public void GridRunsExactlyTheProductOnce()
    {
        using var storage = new SqliteStorage(TempDb());
        var grid = new GridSampler(new Dictionary<string, object[]>
        {
            ["lr"] = new object[] { 1e-3, 1e-2, 1e-1 },
            ["batch"] = new object[] { 32L, 64L },
        });
        var study = Study.Create("g", storage, grid);
        study.Optimize(t => t.SuggestFloat("lr", 1e-4, 1) * t.SuggestInt("batch", 16, 128), nTrials: 100);
        var points = study.Trials.Select(t => ((double)t.Params["lr"], (long)t.Params["batch"])).OrderBy(p => p).ToArray();
        Assert.Equal(new[] { (1e-3, 32L), (1e-3, 64L), (1e-2, 32L), (1e-2, 64L), (1e-1, 32L), (1e-1, 64L) }, points);
    }

    [Fact]
    public void ExportCsvWritesOneRowPerTrial()
    {
        var db = TempDb();
        using var storage = new SqliteStorage(db);
        var study = Study.Create("csv", storage, new RandomSampler(seed: 2));
        study.Optimize(t => t.SuggestFloat("x", 0, 1), nTrials: 3);
        var csv = Path.Combine(Path.GetDirectoryName(db)!, "trials.csv");
        study.ExportCsv(csv);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("number,state,value,params_x,fail_reason", lines[0]);
        Assert.Equal(4, lines.Length);
        var cells = lines[1].Split(',');
        Assert.Equal("0", cells[0]);
        Assert.Equal("COMPLETE", cells[1]);
        Assert.Equal(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture), (double)study.Trials[0].Params["x"]);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(db)!, "*.tmp"));
    }

    [Fact]
    public void LoadingContinuesTheStudyAndBadNamesAreNamed()
    {
        using var storage = new SqliteStorage(TempDb());
        var study = Study.Create("a", storage, new RandomSampler(seed: 5));
        study.Optimize(t => t.SuggestFloat("x", 0, 1), nTrials: 2);
        var again = Study.Load("a", storage);
        again.Optimize(t => t.SuggestFloat("x", 0, 1), nTrials: 2);
        Assert.Equal(4, study.Trials.Count);
        Assert.Equal(5UL, again.Seed);
        Assert.Contains("'nope'", Assert.Throws<ArgumentException>(() => Study.Load("nope", storage)).Message);
        Assert.Contains("'a'", Assert.Throws<InvalidOperationException>(() => Study.Create("a", storage)).Message);
        Assert.Contains("'x'", Assert.ThrowsAny<ArgumentException>(() => study.Optimize(t => t.SuggestFloat("x", 1, 0), nTrials: 1)).Message);
    }

    [Fact]
    public void TpeFindsTheBowlsBottomAndStaysInTheSpace()
    {
        using var storage = new SqliteStorage(TempDb());
        var study = Study.Create("tpe", storage, new TpeSampler(seed: 1));
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", -10, 10);
            var y = t.SuggestFloat("y", -10, 10);
            return x * x + y * y;
        }, nTrials: 60);
        Assert.All(study.Trials, t => Assert.InRange((double)t.Params["x"], -10, 10));
        Assert.True(study.BestValue < 1.0, $"TPE's best after 60 trials is {study.BestValue}");
    }

    /// <summary>Trials whose curve is worse stop early; a pruned trial's steps stop at a rung.</summary>
    [Theory]
    [InlineData("median")]
    [InlineData("asha")]
    [InlineData("hyperband")]
    public void PrunersStopTheWorseTrialsEarly(string which)
    {
        Pruner pruner = which switch
        {
            "median" => new MedianPruner(nStartupTrials: 3),
            "asha" => new SuccessiveHalvingPruner(maxResource: 9),
            _ => new HyperbandPruner(maxResource: 9),
        };
        using var storage = new SqliteStorage(TempDb());
        var study = Study.Create("p", storage, new RandomSampler(seed: 4), pruner, StudyDirection.Minimize);
        study.Optimize(t =>
        {
            var x = t.SuggestFloat("x", 0, 1);
            for (long step = 1; step <= 9; step++)
            {
                t.Report(x + 1.0 / step, step);
                if (t.ShouldPrune()) throw new TrialPruned();
            }
            return x;
        }, nTrials: 30);
        var trials = study.Trials;
        var pruned = trials.Where(t => t.State == TrialState.Pruned).ToArray();
        Assert.NotEmpty(pruned);
        Assert.All(pruned, t => Assert.True(t.IntermediateValues.Count < 9));
        Assert.Equal(TrialState.Complete, study.BestTrial.State);
        // the pruned trials are, on the whole, the worse ones
        Assert.True(pruned.Average(t => (double)t.Params["x"]) > trials.Where(t => t.State == TrialState.Complete).Average(t => (double)t.Params["x"]));
    }
}
