using System.Diagnostics;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The `hybrid` command as a user runs it: a separate process on the embedded Fashion-MNIST sample.</summary>
public class CliTests
{
    private static readonly string Sample = HybridProcess.Sample;

    private static (int Code, string Out, string Err) RunHybrid(params string[] args) =>
        HybridProcess.Run(null, null, TimeSpan.FromMinutes(5), args);

    private static string TempDir() => HybridProcess.TempDir("hybrid-cli-");

    private static string[] Quick(string runs, string name, params string[] more) =>
        new[] { "train", "--data", Sample, "--runs", runs, "--name", name, "--log-every", "10", "--seed", "3" }
            .Concat(more.Contains("--epochs") ? more : more.Concat(new[] { "--epochs", "2" })).ToArray();

    [Fact]
    public void HelpListsTheCommands()
    {
        var (code, output, _) = RunHybrid("--help");
        Assert.Equal(0, code);
        foreach (var cmd in new[] { "train", "optimize", "compare" }) Assert.Contains(cmd, output);
        var (code2, output2, _) = RunHybrid("train", "--help");
        Assert.Equal(0, code2);
        Assert.Contains("--optimizer", output2);
        Assert.Contains("--scheduler", output2);
    }

    [Fact]
    public void AnUnknownOrAbsentDeviceExitsWithTwoAndSaysWhy()
    {
        var (code, _, err) = RunHybrid("train", "--device", "tpu");
        Assert.Equal(2, code);
        Assert.Contains("--device tpu is invalid (expected cpu|cuda|cuda:N|ilgpu-cpu)", err);
        // without a CUDA device (this machine), asking for one is refused before anything is loaded
        if (!Hybrid.Core.Devices.isCudaAvailable())
        {
            var (code2, _, err2) = RunHybrid("train", "--device", "cuda");
            Assert.Equal(2, code2);
            Assert.Contains("train: --device cuda: no CUDA device found", err2);
        }
    }

    [Theory]
    [InlineData(new[] { "--optimizer", "sgdx" }, "--optimizer sgdx")]
    [InlineData(new[] { "--lr", "-0.1" }, "--lr -0.1")]
    [InlineData(new[] { "--batch-size", "0" }, "--batch-size 0")]
    [InlineData(new[] { "--model", "resnet" }, "--model resnet")]
    public void BadArgumentsExitWithTwoAndNameTheOption(string[] args, string named)
    {
        var (code, _, err) = RunHybrid(new[] { "train", "--data", Sample, "--runs", TempDir() }.Concat(args).ToArray());
        Assert.Equal(2, code);
        Assert.Contains(named, err);
    }

    [Fact]
    public void ACorruptedIdxFileIsNamedWithWhatWasWrong()
    {
        var dir = TempDir();
        foreach (var f in Directory.GetFiles(Sample)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var bad = Directory.GetFiles(dir, "train-images*").Single();
        File.WriteAllBytes(bad, new byte[] { 0, 0, 8, 1, 0, 0, 0, 1, 7 });
        var (code, _, err) = RunHybrid("train", "--data", dir, "--runs", TempDir(), "--epochs", "1");
        Assert.Equal(1, code);
        Assert.Contains(Path.GetFileName(bad), err);
        Assert.Contains("magic", err);
    }

    [Fact]
    public void AShortRunLearnsAndWritesItsLogs()
    {
        var runs = TempDir();
        var (code, output, err) = RunHybrid(Quick(runs, "mlp", "--epochs", "3"));
        Assert.True(code == 0, err + output);
        var run = Path.Combine(runs, "mlp");
        var rows = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.StartsWith("step,epoch,train_loss,val_loss,accuracy,lr,seconds", rows[0]);
        var last = rows.Last().Split(',');
        var accuracy = double.Parse(last[4], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(accuracy >= 0.70, $"test accuracy {accuracy} after 3 epochs on the 2,000-image sample");
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(Path.Combine(run, "curves.png")).Take(4));
        Assert.Contains("<svg", File.ReadAllText(Path.Combine(run, "curves.svg")));
        var events = Directory.GetFiles(run, "events.out.tfevents.*").Single();
        var read = Hybrid.Core.Logging.TensorBoard.readEvents(events).ToArray();
        Assert.Contains(read, e => e.Scalars.Any(s => s.Item1 == "epoch/test_accuracy"));
        // memory: no growth from epoch to epoch, and well under the 500 MB budget
        var mem = output.Split('\n').Where(l => l.StartsWith("memory: epoch")).ToArray();
        Assert.Equal(3, mem.Length);
        long Ws(string l) => long.Parse(l.Split("working set ")[1].Split(' ')[0]);
        long Peak(string l) => long.Parse(l.Split("peak ")[1].Split(' ')[0]);
        Assert.True(Peak(mem[2]) < 500, mem[2]);
        Assert.True(Ws(mem[2]) <= Ws(mem[0]) * 1.25 + 20, string.Join(" / ", mem));
    }

    [Fact]
    public void ResumingAfterAStopGivesTheSameWeightsAsAnUninterruptedRun()
    {
        var runs = TempDir();
        var (c1, o1, e1) = RunHybrid(Quick(runs, "straight", "--dropout", "0.2"));
        Assert.True(c1 == 0, e1 + o1);
        var (c2, o2, e2) = RunHybrid(Quick(runs, "stopped", "--dropout", "0.2", "--stop-after", "37"));
        // an interrupted run is not a finished one: 130, as Ctrl-C
        Assert.True(c2 == 130, e2 + o2);
        Assert.Contains("interrupted by --stop-after after batch", o2);
        var (c3, o3, e3) = RunHybrid("train", "--resume", Path.Combine(runs, "stopped"));
        Assert.True(c3 == 0, e3 + o3);
        Assert.Equal(File.ReadAllBytes(Path.Combine(runs, "straight", "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(runs, "stopped", "model.safetensors")));
    }

    [Fact]
    public void ARunWithoutValidationSplitResumesToo()
    {
        var runs = TempDir();
        var (c1, o1, e1) = RunHybrid(Quick(runs, "noval", "--val-split", "0", "--stop-after", "20"));
        Assert.True(c1 == 130, e1 + o1);
        var (c2, o2, e2) = RunHybrid("train", "--resume", Path.Combine(runs, "noval"));
        Assert.True(c2 == 0, e2 + o2);
        Assert.Contains("epoch   2/2", o2);
    }

    [Fact]
    public void OptimizeMinimisesRosenbrockWithBfgs()
    {
        var (code, output, err) = RunHybrid("optimize", "--function", "rosenbrock", "--optimizer", "bfgs", "--steps", "100");
        Assert.True(code == 0, err);
        var distance = double.Parse(output.Split("distance to the minimiser: ")[1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(distance < 1e-6, output);
    }

    [Fact]
    public void CompareDrawsSeveralRuns()
    {
        var runs = TempDir();
        Assert.Equal(0, RunHybrid(Quick(runs, "a", "--epochs", "1")).Code);
        Assert.Equal(0, RunHybrid(Quick(runs, "b", "--epochs", "1", "--optimizer", "sgd")).Code);
        var stem = Path.Combine(runs, "cmp");
        var (code, _, err) = RunHybrid("compare", Path.Combine(runs, "a"), Path.Combine(runs, "b"), "--output", stem);
        Assert.True(code == 0, err);
        Assert.True(new FileInfo(stem + ".png").Length > 1000);
        var (bad, _, err2) = RunHybrid("compare", Path.Combine(runs, "nope"));
        Assert.Equal(2, bad);
        Assert.Contains("nope", err2);
    }
}
