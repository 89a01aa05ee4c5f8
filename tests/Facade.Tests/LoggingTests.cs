using System.Globalization;
using Hybrid.Logging;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The facade's SummaryWriter and CsvLogger, and the CLI's logs agreeing with each other.</summary>
public class LoggingTests
{
    private static string TempDir() => HybridProcess.TempDir("hybrid-logging-");

    private static double[] Floats(string line) =>
        line.Split(',').Select(f => f.Length == 0 ? double.NaN : double.Parse(f, CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public void CsvLoggerWritesTheHeaderRoundTrippableNumbersAndEmptyFieldsForNaN()
    {
        var path = Path.Combine(TempDir(), "sub", "log.csv");
        using (var log = new CsvLogger(path, "step", "loss", "lr"))
        {
            log.Log(1, 0.1 + 0.2, 1e-3);
            log.Log(new Dictionary<string, double> { ["step"] = 2, ["lr"] = 5e-4 });
            log.Log(3, double.NaN, 2.5e-4);
        }
        var lines = File.ReadAllLines(path);
        Assert.Equal(new[] { "step,loss,lr", "1,0.30000000000000004,0.001", "2,,0.0005", "3,,0.00025" }, lines);
        Assert.Equal(0.1 + 0.2, Floats(lines[1])[1]);
        // appending to the same columns continues the file (one header)
        using (var again = new CsvLogger(path, "step", "loss", "lr")) again.Log(4, 0.5, 1e-4);
        Assert.Equal(5, File.ReadAllLines(path).Length);
    }

    [Fact]
    public void CsvLoggerRefusesBadRowsAndAForeignHeaderNamingWhatWasWrong()
    {
        var path = Path.Combine(TempDir(), "log.csv");
        using (var log = new CsvLogger(path, "step", "loss"))
        {
            Assert.Contains("3 values for 2 columns (step,loss)", Assert.Throws<ArgumentException>(() => log.Log(1, 2, 3)).Message);
            Assert.Contains("'acc' is not a column (step,loss)",
                Assert.Throws<ArgumentException>(() => log.Log(new Dictionary<string, double> { ["acc"] = 1 })).Message);
        }
        Assert.Contains("has the header 'step,loss', not 'step,lr'", Assert.Throws<InvalidDataException>(() => new CsvLogger(path, "step", "lr")).Message);
        Assert.Contains("column 'a' is given twice", Assert.Throws<ArgumentException>(() => new CsvLogger(path + "2", "a", "a")).Message);
        Assert.Contains("'a,b' is empty or holds a comma", Assert.Throws<ArgumentException>(() => new CsvLogger(path + "3", "a,b")).Message);
    }

    [Fact]
    public void TruncateAfterKeepsTheRowsUpToTheStepAndDropsATornLine()
    {
        var path = Path.Combine(TempDir(), "log.csv");
        using (var log = new CsvLogger(path, "step", "loss"))
            for (int s = 1; s <= 5; s++) log.Log(s, s / 10.0);
        File.AppendAllText(path, "6,0.");
        CsvLogger.TruncateAfter(path, "step", 3);
        Assert.Equal(new[] { "step,loss", "1,0.1", "2,0.2", "3,0.3" }, File.ReadAllLines(path));
        Assert.Contains("no column 'epoch'", Assert.Throws<InvalidDataException>(() => CsvLogger.TruncateAfter(path, "epoch", 1)).Message);
    }

    [Fact]
    public void SummaryWriterScalarsReadBackWithTheCoreReader()
    {
        var dir = TempDir();
        string file;
        using (var w = new SummaryWriter(dir))
        {
            w.AddScalar("train/loss", 0.75, 10);
            w.AddScalars(20, new Dictionary<string, double> { ["val/loss"] = 0.5, ["val/accuracy"] = 0.875 });
            file = w.Path;
            Assert.Contains("step -1 is negative", Assert.Throws<ArgumentException>(() => w.AddScalar("x", 1, -1)).Message);
        }
        Assert.StartsWith(Path.Combine(dir, "events.out.tfevents."), file);
        var events = Hybrid.Core.Logging.TensorBoard.readEvents(file).ToArray();
        Assert.Equal("brain.Event:2", events[0].FileVersion.Value);
        Assert.Equal(10L, events[1].Step);
        Assert.Equal(("train/loss", 0.75f), (events[1].Scalars.Single().Item1, events[1].Scalars.Single().Item2));
        Assert.Equal(20L, events[2].Step);
        Assert.Equal(new[] { ("val/loss", 0.5f), ("val/accuracy", 0.875f) }, events[2].Scalars.Select(s => (s.Item1, s.Item2)).ToArray());
    }

    [Fact]
    public void SummaryWriterHistogramsReadBackWithTheIndependentPythonReader()
    {
        var dir = TempDir();
        string file;
        using (var w = new SummaryWriter(dir))
        {
            w.AddHistogram("weights/fc1", Tensor.FromArray(new float[] { 0, 1, 1, 2, 3, 4 }), 5, bins: 4);
            w.AddScalar("train/loss", 0.25, 5);
            file = w.Path;
            Assert.Contains("value 1 is nan (only finite values can be binned)", Assert.Throws<ArgumentException>(() => w.AddHistogram("bad", new[] { 1.0, double.NaN }, 6)).Message.ToLowerInvariant());
        }
        var script = Path.Combine(HybridProcess.Repo, "tests", "Properties", "golden", "check_tfevents.py");
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", new[] { script, file }) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        var json = p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 2 && err.Contains("google.protobuf is missing")) return; // no reader on this machine (scripts/setup.sh installs it)
        Assert.True(p.ExitCode == 0, err);
        var events = System.Text.Json.JsonDocument.Parse(json).RootElement;
        var h = events[1].GetProperty("histograms").GetProperty("weights/fc1");
        Assert.Equal(5, events[1].GetProperty("step").GetInt64());
        Assert.Equal(0.0, h.GetProperty("min").GetDouble());
        Assert.Equal(4.0, h.GetProperty("max").GetDouble());
        Assert.Equal(6.0, h.GetProperty("num").GetDouble());
        Assert.Equal(11.0, h.GetProperty("sum").GetDouble());
        Assert.Equal(31.0, h.GetProperty("sum_squares").GetDouble());
        Assert.Equal(new[] { 1.0, 2.0, 3.0, 4.0 }, h.GetProperty("bucket_limit").EnumerateArray().Select(e => e.GetDouble()));
        // [0,1) holds 0; [1,2) holds 1, 1; [2,3) holds 2; [3,4] holds 3 and 4
        Assert.Equal(new[] { 1.0, 2.0, 1.0, 2.0 }, h.GetProperty("bucket").EnumerateArray().Select(e => e.GetDouble()));
        Assert.Equal(0.25, events[2].GetProperty("scalars").GetProperty("train/loss").GetDouble());
    }

    [Fact]
    public void SummaryWriterHparamsWriteThePluginEventsAndTheMetrics()
    {
        var dir = TempDir();
        string file;
        using (var w = new SummaryWriter(dir))
        {
            w.AddHparams(new Dictionary<string, object> { ["lr"] = 0.01, ["optimizer"] = "adam", ["augment"] = true },
                new Dictionary<string, double> { ["hparam/accuracy"] = 0.5 });
            file = w.Path;
            Assert.Contains("hyperparameter 'when' is a DateTime (expected a number, string or bool)",
                Assert.Throws<ArgumentException>(() => w.AddHparams(new Dictionary<string, object> { ["when"] = DateTime.Now }, new Dictionary<string, double>())).Message);
        }
        var events = Hybrid.Core.Logging.TensorBoard.readEvents(file).ToArray();
        // the file version, the three plugin events, the metric
        Assert.Equal(5, events.Length);
        Assert.Equal(new[] { "_hparams_/experiment", "_hparams_/session_start_info", "_hparams_/session_end_info" },
            events.Skip(1).Take(3).Select(e => e.Scalars.Single().Item1));
        Assert.Equal(("hparam/accuracy", 0.5f), (events[4].Scalars.Single().Item1, events[4].Scalars.Single().Item2));
        var text = System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(file));
        foreach (var s in new[] { "hparams", "lr", "optimizer", "adam", "augment" }) Assert.Contains(s, text);
        var script = Path.Combine(HybridProcess.Repo, "tests", "Properties", "golden", "check_tfevents.py");
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/python3", new[] { script, file }) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = System.Diagnostics.Process.Start(psi)!;
        p.StandardOutput.ReadToEnd();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode == 2 && err.Contains("google.protobuf is missing")) return;
        // the independent reader parses every event (no unknown field in Summary.Value or its metadata)
        Assert.True(p.ExitCode == 0, err);
    }

    private static (int Code, string Out, string Err) RunHybrid(params string[] args) =>
        HybridProcess.Run(null, null, TimeSpan.FromMinutes(5), args);

    private static string[] Quick(string runs, string name, params string[] more) =>
        new[] { "train", "--data", HybridProcess.Sample, "--runs", runs, "--name", name, "--seed", "3" }.Concat(more).ToArray();

    [Fact]
    public void TheCsvTrainLossAndTensorBoardsTrainLossAreTheSameNumberAtEveryStep()
    {
        var runs = TempDir();
        var (code, output, err) = RunHybrid(Quick(runs, "agree", "--epochs", "2", "--log-every", "7"));
        Assert.True(code == 0, err + output);
        var run = Path.Combine(runs, "agree");
        // metrics.csv's per-step rows: those without a validation loss
        var csv = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1).Select(Floats)
            .Where(r => double.IsNaN(r[3])).ToDictionary(r => (long)r[0], r => r[2]);
        var tb = Hybrid.Core.Logging.TensorBoard.readEvents(Directory.GetFiles(run, "events.out.tfevents.*").Single())
            .SelectMany(e => e.Scalars.Where(s => s.Item1 == "train/loss").Select(s => (e.Step, s.Item2)))
            .ToDictionary(p => p.Step, p => p.Item2);
        Assert.True(csv.Count >= 4, $"{csv.Count} per-step rows");
        Assert.Equal(csv.Keys.OrderBy(k => k), tb.Keys.OrderBy(k => k));
        foreach (var (step, loss) in csv) Assert.Equal((float)loss, tb[step]);
        // steps.csv: every step once, in order; epochs.csv: one row per epoch whose train_loss is metrics.csv's epoch row
        var steps = File.ReadAllLines(Path.Combine(run, "steps.csv"));
        Assert.Equal("step,loss,lr", steps[0]);
        var stepNumbers = steps.Skip(1).Select(l => (long)Floats(l)[0]).ToArray();
        Assert.Equal(Enumerable.Range(1, stepNumbers.Length).Select(i => (long)i), stepNumbers);
        var epochs = File.ReadAllLines(Path.Combine(run, "epochs.csv"));
        Assert.Equal("epoch,step,train_loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,epoch_seconds", epochs[0]);
        Assert.Equal(3, epochs.Length);
        var last = Floats(epochs[2]);
        Assert.Equal(stepNumbers.Length, (long)last[1]);
        var epochRow = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Select(l => l.Split(',')).Last();
        Assert.Equal(double.Parse(epochRow[2], CultureInfo.InvariantCulture), last[2]);
        Assert.All(last.Skip(2), v => Assert.True(double.IsFinite(v), epochs[2]));
        Assert.InRange(last[3], 0.0, 1.0);
        Assert.InRange(last[7], 0.0, 1.0);
    }

    [Fact]
    public void ResumeWithEpochsExtendsAFinishedRun()
    {
        var runs = TempDir();
        var (c1, o1, e1) = RunHybrid(Quick(runs, "short", "--epochs", "1"));
        Assert.True(c1 == 0, e1 + o1);
        var run = Path.Combine(runs, "short");
        var (c2, o2, e2) = RunHybrid("train", "--resume", run, "--epochs", "3");
        Assert.True(c2 == 0, e2 + o2);
        Assert.Contains("epoch   2/3", o2);
        Assert.Contains("epoch   3/3", o2);
        Assert.DoesNotContain("epoch   1/3", o2);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(run, "epochs.csv")).Length);
        Assert.Contains("\"Epochs\": 3", File.ReadAllText(Path.Combine(run, "config.json")));
    }
}
