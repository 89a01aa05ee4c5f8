using System.Diagnostics;
using System.Runtime.InteropServices;
using Hybrid.Core.Durability;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// Issue 18, "nothing lost, ever": each class of fault a user meets — a reused name, a kill -9 mid-checkpoint, a
/// damaged checkpoint, divergence, signals, a full disk, bad input, two runs at once — run against the real `hybrid`
/// process on the embedded Fashion-MNIST sample.
/// </summary>
public class ReliabilityTests
{
    private static readonly string Sample = HybridProcess.Sample;

    private static Process Start(IDictionary<string, string>? env, params string[] args) => HybridProcess.Start(null, env, args);

    private static (int Code, string Out, string Err) Finish(Process p, Task<string> stdout, Task<string> stderr) =>
        HybridProcess.Finish(p, stdout, stderr, TimeSpan.FromMinutes(5));

    private static (int Code, string Out, string Err) Run(IDictionary<string, string>? env, params string[] args) =>
        HybridProcess.Run(null, env, TimeSpan.FromMinutes(5), args);

    private static (int Code, string Out, string Err) Run(params string[] args) => Run(null, args);

    private static string TempDir() => HybridProcess.TempDir("hybrid-rel-");

    /// <summary>A quick run on the sample: defaults (--data, --log-every 10, --seed 3, --epochs 2) that `more` overrides.</summary>
    private static string[] Quick(string runs, string name, params string[] more)
    {
        var defaults = new[] { ("--data", Sample), ("--log-every", "10"), ("--seed", "3"), ("--epochs", "2") };
        return new[] { "train", "--runs", runs, "--name", name }
            .Concat(defaults.Where(d => !more.Contains(d.Item1)).SelectMany(d => new[] { d.Item1, d.Item2 }))
            .Concat(more).ToArray();
    }

    /// <summary>An error is one line on stderr, with no stack trace.</summary>
    private static void OneLine(string err, string mustContain)
    {
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line, got: " + err);
        Assert.Contains(mustContain, err);
        Assert.DoesNotContain("   at ", err);
        Assert.DoesNotContain("Exception", err);
    }

    private static string[] Committed(string run) =>
        Directory.Exists(Path.Combine(run, "checkpoints"))
            ? Directory.GetDirectories(Path.Combine(run, "checkpoints"), "step-*").Where(d => Hybrid.Core.Durability.Checkpoint.verify(d).IsOk).OrderBy(d => d).ToArray()
            : Array.Empty<string>();

    /// <summary>No (step, epoch) row twice in metrics.csv, and every row has 7 fields.</summary>
    private static void NoDuplicateRows(string run)
    {
        var rows = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1).Where(l => l.Length > 0).ToArray();
        Assert.All(rows, r => Assert.Equal(7, r.Split(',').Length));
        var keys = rows.Select(r => string.Join(",", r.Split(',').Take(2)) + (r.Split(',')[4] == "" ? "b" : "e")).ToArray();
        Assert.Equal(keys.Length, keys.Distinct().Count());
        foreach (var ev in Directory.GetFiles(run, "events.out.tfevents.*"))
        {
            var tagged = Hybrid.Core.Logging.TensorBoard.readEvents(ev).SelectMany(e => e.Scalars.Select(s => (s.Item1, e.Step))).ToArray();
            Assert.Equal(tagged.Length, tagged.Distinct().Count());
        }
    }

    [Fact]
    public void AnExistingNameIsRefusedAndTheFinishedRunIsUntouched()
    {
        var runs = TempDir();
        Assert.Equal(0, Run(Quick(runs, "exp1", "--epochs", "1")).Code);
        var run = Path.Combine(runs, "exp1");
        var before = Directory.GetFiles(run, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var (code, _, err) = Run(Quick(runs, "exp1", "--epochs", "1", "--optimizer", "sgd"));
        Assert.NotEqual(0, code);
        OneLine(err, "--resume");
        Assert.Contains("--overwrite", err);
        foreach (var (f, bytes) in before) Assert.Equal(bytes, File.ReadAllBytes(f));
        // asked for by name, the old run is replaced
        var (c2, o2, e2) = Run(Quick(runs, "exp1", "--epochs", "1", "--optimizer", "sgd", "--overwrite"));
        Assert.True(c2 == 0, e2 + o2);
        Assert.Contains("\"sgd\"", File.ReadAllText(Path.Combine(run, "config.json")));
        NoDuplicateRows(run);
    }

    [Theory]
    [InlineData("model.safetensors:2")]
    [InlineData("optimizer.safetensors:2")]
    [InlineData("progress.json:2")]
    [InlineData("manifest.json:2")]
    public void AKillDuringACheckpointWriteLosesNothingAndResumeFinishesTheSameRun(string killAt)
    {
        var runs = TempDir();
        Assert.Equal(0, Run(Quick(runs, "straight", "--epochs", "3")).Code);
        // killed (SIGKILL) halfway through the second checkpoint's file: the first checkpoint must survive whole
        var env = new Dictionary<string, string> { ["HYBRID_TEST_KILL_DURING_CHECKPOINT"] = killAt };
        var (killed, o1, e1) = Run(env, Quick(runs, "killed", "--epochs", "3"));
        Assert.True(killed == 137, $"exit {killed}: {e1}{o1}");
        var run = Path.Combine(runs, "killed");
        Assert.Single(Committed(run));
        var (c2, o2, e2) = Run("train", "--resume", run);
        Assert.True(c2 == 0, e2 + o2);
        Assert.Contains("resumed from", o2);
        Assert.Equal(File.ReadAllBytes(Path.Combine(runs, "straight", "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        NoDuplicateRows(run);
        Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void ADamagedNewestCheckpointFallsBackToThePreviousOneWithAMessage()
    {
        var runs = TempDir();
        Assert.Equal(0, Run(Quick(runs, "straight", "--epochs", "3")).Code);
        var (c1, _, _) = Run(Quick(runs, "hurt", "--epochs", "3", "--stop-after", "40"));
        Assert.Equal(130, c1);
        var run = Path.Combine(runs, "hurt");
        var committed = Committed(run);
        Assert.Equal(2, committed.Length);
        // a flipped byte in the newest model, and a garbled progress record for good measure
        var model = Path.Combine(committed[1], "model.safetensors");
        var bytes = File.ReadAllBytes(model);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(model, bytes);
        var (c2, o2, e2) = Run("train", "--resume", run);
        Assert.True(c2 == 0, e2 + o2);
        Assert.Contains("is damaged (model.safetensors does not match its SHA-256); falling back to the previous one", o2);
        Assert.Equal(File.ReadAllBytes(Path.Combine(runs, "straight", "model.safetensors")), File.ReadAllBytes(Path.Combine(run, "model.safetensors")));
        NoDuplicateRows(run);
    }

    [Fact]
    public void AnEmptyProgressOrConfigIsOneLineNotAJsonException()
    {
        var runs = TempDir();
        Assert.Equal(130, Run(Quick(runs, "r", "--stop-after", "5")).Code);
        var run = Path.Combine(runs, "r");
        // an empty progress.json fails its checksum: the checkpoint does not exist, the run restarts from step 0
        File.WriteAllText(Path.Combine(Committed(run).Single(), "progress.json"), "");
        var (c1, o1, e1) = Run("train", "--resume", run);
        Assert.True(c1 == 0, e1 + o1);
        Assert.Contains("starting from step 0", o1);
        NoDuplicateRows(run);
        File.WriteAllText(Path.Combine(run, "config.json"), "");
        var (c2, _, e2) = Run("train", "--resume", run);
        Assert.NotEqual(0, c2);
        OneLine(e2, "config.json is not a valid run configuration");
    }

    [Fact]
    public void DivergenceStopsTheRunWithNothingSavedFromIt()
    {
        var runs = TempDir();
        var (code, _, err) = Run(Quick(runs, "nan", "--optimizer", "sgd", "--lr", "1e30"));
        Assert.Equal(3, code);
        OneLine(err, "diverged at step");
        Assert.Contains("loss NaN", err);
        Assert.Contains("no checkpoint was committed yet", err);
        Assert.Empty(Committed(Path.Combine(runs, "nan")));
        Assert.False(File.Exists(Path.Combine(runs, "nan", "model.safetensors")));
        // skip-batch: the non-finite batches are skipped, and non-finite weights are still never saved
        var (c2, o2, e2) = Run(Quick(runs, "skip", "--optimizer", "sgd", "--lr", "1e30", "--on-nan", "skip-batch"));
        Assert.Contains("--on-nan skip-batch: skipping batch", o2);
        if (c2 == 0)
            Assert.True(Hybrid.Core.Data.Safetensors.load(Path.Combine(runs, "skip", "model.safetensors"))
                .All(kv => kv.Value.ToFloat32Array().All(float.IsFinite)), "finite weights");
        else { Assert.Equal(3, c2); OneLine(e2, "diverged"); }
    }

    [Fact]
    public void TheFacadeOffersTheSameCheck()
    {
        var ok = Tensor.FromArray(new float[] { 1, 2 }, 2);
        var bad = Tensor.FromArray(new float[] { 1, float.NaN }, 2);
        Assert.True(Hybrid.Nn.DivergenceGuard.IsFinite(ok));
        Assert.False(Hybrid.Nn.DivergenceGuard.IsFinite(bad));
        var p = new Hybrid.Nn.Parameter(ok);
        (p * bad).Sum().Backward();
        var e = Assert.Throws<Hybrid.Nn.DivergenceException>(() => Hybrid.Nn.DivergenceGuard.Check(7, 1.0, new[] { p }));
        Assert.Equal(7, e.Step);
        Assert.True(double.IsNaN(e.GradNorm));
        Assert.Throws<Hybrid.Nn.DivergenceException>(() => Hybrid.Nn.DivergenceGuard.Check(8, double.PositiveInfinity, new[] { p }));
    }

    private static void Signal(int pid, string sig)
    {
        using var k = Process.Start("kill", new[] { "-" + sig, pid.ToString(System.Globalization.CultureInfo.InvariantCulture) })!;
        k.WaitForExit();
    }

    [PosixFact]
    public void SigtermStopsAfterTheBatchCommitsACheckpointAndExits143() =>
        ASignalStopsAfterTheBatchCommitsACheckpointAndExitsWithItsCode("TERM", 143, "SIGTERM");

    [SigintFact]
    public void CtrlCStopsAfterTheBatchCommitsACheckpointAndExits130() =>
        ASignalStopsAfterTheBatchCommitsACheckpointAndExitsWithItsCode("INT", 130, "Ctrl-C (SIGINT)");

    private static void ASignalStopsAfterTheBatchCommitsACheckpointAndExitsWithItsCode(string sig, int expected, string named)
    {
        var runs = TempDir();
        using var p = Start(null, Quick(runs, "sig", "--epochs", "200", "--log-every", "1"));
        var err = p.StandardError.ReadToEndAsync();
        // wait for training to be under way (a batch line), then signal
        string? line;
        while ((line = p.StandardOutput.ReadLine()) is not null && !line.Contains(" batch ")) { }
        Assert.NotNull(line);
        Signal(p.Id, sig);
        var rest = p.StandardOutput.ReadToEndAsync();
        var (code, output, e) = Finish(p, rest, err);
        Assert.True(code == expected, $"exit {code}: {e}{output}");
        Assert.Contains($"interrupted by {named}", output);
        var run = Path.Combine(runs, "sig");
        Assert.Single(Committed(run));
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")), "an interrupted run writes no final model");
    }

    [TmpfsFact]
    public void AFullDiskIsOneLineAndThePreviousCheckpointStaysIntact()
    {
        var mnt = TempDir();
        using (var m = Process.Start("mount", new[] { "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt })!) { m.WaitForExit(); Assert.Equal(0, m.ExitCode); }
        try
        {
            // an Adam checkpoint of the MLP is 2.8 MB: the first fits, the second cannot
            var (code, output, err) = Run(Quick(mnt, "full", "--epochs", "3"));
            Assert.True(code == 1, $"exit {code}: {err}{output}");
            OneLine(err, "no space left on the device");
            Assert.Contains("could not write", err);
            var run = Path.Combine(mnt, "full");
            var committed = Committed(run);
            Assert.Single(committed);
            Assert.All(Directory.GetDirectories(Path.Combine(run, "checkpoints")), d => Assert.True(Hybrid.Core.Durability.Checkpoint.verify(d).IsOk, d));
            Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));
        }
        finally
        {
            using var u = Process.Start("umount", new[] { mnt })!;
            u.WaitForExit();
            Directory.Delete(mnt, true);
        }
    }

    [Fact]
    public void BadInputIsRefusedBeforeAnythingIsCreated()
    {
        var runs = TempDir();
        var (c1, _, e1) = Run(Quick(runs, "nodata", "--data", "/nonexistent"));
        Assert.Equal(1, c1);
        OneLine(e1, "/nonexistent");
        Assert.False(Directory.Exists(Path.Combine(runs, "nodata")));
        foreach (var (args, named) in new[]
        {
            (new[] { "--log-every", "0" }, "--log-every 0"), (new[] { "--log-every", "-1" }, "--log-every -1"),
            (new[] { "--keep-checkpoints", "0" }, "--keep-checkpoints 0"), (new[] { "--on-nan", "ignore" }, "--on-nan ignore"),
            (new[] { "--limit", "1", "--val-split", "0.6" }, "leaves no training images"),
        })
        {
            var (c, _, e) = Run(Quick(runs, "bad", args));
            Assert.Equal(2, c);
            OneLine(e, named);
            Assert.False(Directory.Exists(Path.Combine(runs, "bad")));
        }
        // --runs a regular file
        var file = Path.Combine(runs, "afile");
        File.WriteAllText(file, "x");
        var (c3, _, e3) = Run(Quick(file, "r"));
        Assert.Equal(1, c3);
        OneLine(e3, "is a file");
        // a label out of range is found at load, not after an epoch
        var data = TempDir();
        foreach (var f in Directory.GetFiles(Sample)) File.Copy(f, Path.Combine(data, Path.GetFileName(f)));
        var labels = Directory.GetFiles(data, "train-labels*").Single();
        using (var gz = new System.IO.Compression.GZipStream(File.OpenRead(labels), System.IO.Compression.CompressionMode.Decompress))
        using (var ms = new MemoryStream())
        {
            gz.CopyTo(ms);
            var raw = ms.ToArray();
            raw[8 + 5] = 12;
            File.Delete(labels);
            File.WriteAllBytes(Path.Combine(data, "train-labels-idx1-ubyte"), raw);
        }
        var (c4, _, e4) = Run(Quick(runs, "label", "--data", data));
        Assert.Equal(1, c4);
        OneLine(e4, "label 12 at index 5 is out of range");
        Assert.False(Directory.Exists(Path.Combine(runs, "label")));
    }

    [Fact]
    public void TwoRunsStartedTogetherWithOneNameCannotShareTheFolder()
    {
        var runs = TempDir();
        using var a = Start(null, Quick(runs, "same", "--epochs", "1"));
        using var b = Start(null, Quick(runs, "same", "--epochs", "1"));
        var ra = Finish(a, a.StandardOutput.ReadToEndAsync(), a.StandardError.ReadToEndAsync());
        var rb = Finish(b, b.StandardOutput.ReadToEndAsync(), b.StandardError.ReadToEndAsync());
        var results = new[] { ra, rb };
        Assert.Single(results, r => r.Code == 0);
        var loser = results.Single(r => r.Code != 0);
        Assert.True(loser.Err.Contains("already exists") || loser.Err.Contains("claimed by another run"), loser.Err);
        OneLine(loser.Err, "same");
        var run = Path.Combine(runs, "same");
        NoDuplicateRows(run);
        Assert.Single(Committed(run));
        Assert.Equal(0, Run("train", "--resume", run).Code);
        // a resume while the run lives is refused too
        using var live = Start(null, Quick(runs, "live", "--epochs", "200", "--log-every", "1"));
        string? line;
        while ((line = live.StandardOutput.ReadLine()) is not null && !line.Contains(" batch ")) { }
        var (c, _, e) = Run("train", "--resume", Path.Combine(runs, "live"));
        live.Kill(true);
        live.WaitForExit();
        Assert.Equal(1, c);
        OneLine(e, "in use by another running process");
    }

    [Fact]
    public void DefaultNamesOfRunsStartedTogetherDiffer()
    {
        var runs = TempDir();
        using var a = Start(null, "train", "--data", Sample, "--runs", runs, "--epochs", "1", "--limit", "200");
        using var b = Start(null, "train", "--data", Sample, "--runs", runs, "--epochs", "1", "--limit", "200");
        Assert.Equal(0, Finish(a, a.StandardOutput.ReadToEndAsync(), a.StandardError.ReadToEndAsync()).Code);
        Assert.Equal(0, Finish(b, b.StandardOutput.ReadToEndAsync(), b.StandardError.ReadToEndAsync()).Code);
        Assert.Equal(2, Directory.GetDirectories(runs).Length);
    }
}

/// <summary>A theory that needs POSIX signals (skipped visibly on Windows).</summary>
public sealed class PosixFactAttribute : FactAttribute
{
    /// <summary>Skips on Windows.</summary>
    public PosixFactAttribute()
    {
        if (OperatingSystem.IsWindows()) Skip = "POSIX signals (kill -TERM, kill -INT) do not exist on Windows";
    }
}

/// <summary>
/// A fact that sends SIGINT to a child: it needs POSIX, and a test process that does not ignore SIGINT,
/// because a child inherits an ignored SIGINT (a shell starts background jobs that way) and then never sees Ctrl-C.
/// </summary>
public sealed class SigintFactAttribute : FactAttribute
{
    /// <summary>Skips on Windows, and where this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status).</summary>
    public SigintFactAttribute()
    {
        if (OperatingSystem.IsWindows()) { Skip = "POSIX signals (kill -INT) do not exist on Windows"; return; }
        if (SigintIgnored()) Skip = "this test process ignores SIGINT (started as a background job?), so its children cannot receive Ctrl-C";
    }

    private static bool SigintIgnored()
    {
        if (!File.Exists("/proc/self/status")) return false;
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2UL) != 0;
        return false;
    }
}

/// <summary>A fact that needs a small tmpfs: Linux, root, and a mount that the container permits (tried once).</summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Why = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "a full disk is simulated with a tmpfs, which needs Linux";
        if (Environment.UserName != "root") return "mounting a 4 MB tmpfs to fill needs root (run the suite as root, as CI does)";
        var d = Path.Combine(Path.GetTempPath(), "hybrid-tmpfs-probe-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        try
        {
            using var m = Process.Start(new ProcessStartInfo("mount", new[] { "-t", "tmpfs", "-o", "size=1m", "tmpfs", d }) { RedirectStandardError = true })!;
            var err = m.StandardError.ReadToEnd();
            m.WaitForExit();
            if (m.ExitCode != 0) return "mount -t tmpfs is not permitted here: " + err.Trim();
            using var u = Process.Start("umount", new[] { d })!;
            u.WaitForExit();
            return null;
        }
        catch (System.ComponentModel.Win32Exception e) { return "no mount command: " + e.Message; }
        finally { try { Directory.Delete(d); } catch (IOException) { } }
    });

    /// <summary>Skips, saying why, where no tmpfs can be mounted.</summary>
    public TmpfsFactAttribute()
    {
        if (Why.Value is string why) Skip = why;
    }
}

/// <summary>Checked sizes and disposal in the library (issue 18, items 7 and 11).</summary>
public class CheckedSizeTests
{
    [Fact]
    public void ZerosBeyondAnArrayIsRefusedWithTheCount()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(65537, 65537));
        Assert.Contains("4295098369", e.Message);
    }

    [Fact]
    public void ADisposedCpuTensorThrowsNamingItsShape()
    {
        var t = Tensor.Zeros(2, 3);
        t.Dispose();
        Assert.True(t.IsDisposed);
        var e = Assert.Throws<ObjectDisposedException>(() => t.Sum());
        Assert.Contains("[2,3]", e.Message);
        Assert.Throws<ObjectDisposedException>(() => t.ToArray<float>());
        t.Dispose();
    }

    [Fact]
    public void OptimizerStateWithAnUnexpectedTensorIsRefusedNamingIt()
    {
        var p = new Hybrid.Nn.Parameter(Tensor.FromArray(new float[] { 1, 2 }, 2));
        var opt = new Hybrid.Optim.Adam(new[] { p });
        (p * p).Sum().Backward();
        opt.Step();
        var dir = Path.Combine(Path.GetTempPath(), "hybrid-opt-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "opt.safetensors");
        opt.Save(path);
        var (tensors, meta) = Hybrid.Core.Data.Safetensors.loadWithMetadata(path).ToValueTuple();
        var extra = tensors.Add("state.9.exp_avg", Hybrid.Core.Create.zeros(Hybrid.Core.DType.Float32, new[] { 2 }));
        Hybrid.Core.Data.Safetensors.saveWithMetadata(path, extra, meta);
        var e = Assert.Throws<InvalidDataException>(() => opt.Load(path));
        Assert.Contains("state.9.exp_avg", e.Message);
        Directory.Delete(dir, true);
    }
}
