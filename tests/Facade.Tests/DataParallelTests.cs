using System.Diagnostics;
using System.Globalization;
using Hybrid.Nn;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// DistributedDataParallel, ZeroRedundancyOptimizer and the watchdog under a real <c>mpirun</c> on loopback:
/// the ranks run <c>hybrid dist-selftest ddp|mismatch|sleep|kill DIR</c> (src/Cli/DistTrainCases.cs), a float64
/// MLP on fixed global batches of 8, and the tests compare the files they write.
/// </summary>
public class DataParallelTests
{
    /// <summary>mpirun -np N dotnet Hybrid.Cli.dll dist-selftest CASE DIR, waiting at most `limit`.</summary>
    private static (int Exit, string Output, string Dir, bool Ended) Job(int n, string which, TimeSpan limit)
    {
        var dir = Path.Combine(Path.GetTempPath(), "hybrid-ddp-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var (exit, output, ended) = Mpirun(n, limit, "dist-selftest", which, dir);
        return (exit, output, dir, ended);
    }

    /// <summary>mpirun -np N dotnet Hybrid.Cli.dll ARGS, waiting at most `limit`.</summary>
    private static (int Exit, string Output, bool Ended) Mpirun(int n, TimeSpan limit, params string[] args)
    {
        var mpirun = DistributedTests.Mpirun() ?? throw new InvalidOperationException(DistributedTests.NoMpi);
        var psi = new ProcessStartInfo(mpirun) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader", "-np", n.ToString(),
                                  "dotnet", Path.Combine(AppContext.BaseDirectory, "Hybrid.Cli.dll") }.Concat(args))
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"; // containers forbid CMA
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        bool ended = p.WaitForExit(limit);
        if (!ended) p.Kill(true);
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result, ended);
    }

    private static Dictionary<string, string>[] Ranks(string dir, int n) =>
        Enumerable.Range(0, n).Select(r =>
            File.ReadAllLines(Path.Combine(dir, $"rank-{r}.txt")).ToDictionary(l => l.Split(' ')[0], l => l[(l.IndexOf(' ') + 1)..])).ToArray();

    private static double[] Values(string s) => s.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    private static void Close(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1e-3, Math.Abs(expected[i])),
                $"{what}[{i}]: {actual[i]:R} vs {expected[i]:R}");
    }

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void ReplicasStayBitIdenticalAndEqualOneProcessOnTheGlobalBatchesForFourOptimizers(int n)
    {
        var (exit, output, dir, ended) = Job(n, "ddp", TimeSpan.FromSeconds(120));
        Assert.True(ended && exit == 0, $"mpirun exit {exit}: {output}");
        var ranks = Ranks(dir, n);
        var slots = new Dictionary<string, int> { ["sgdm"] = 1, ["adam"] = 2, ["adamw"] = 2, ["rmsprop"] = 2 };
        foreach (var opt in slots.Keys)
        {
            var reference = Values(ranks[0][$"{opt}-ref"]);
            foreach (var run in new[] { "many", "one", "nosync", "zero" })
            {
                // every rank's parameters bit for bit rank 0's
                for (int r = 1; r < n; r++) Assert.Equal(ranks[0][$"{opt}-{run}"], ranks[r][$"{opt}-{run}"]);
                // and one process on the same global batches, to float64 rounding (the sums are ordered differently)
                Close(reference, Values(ranks[0][$"{opt}-{run}"]), $"{opt}-{run} vs one process");
            }
            // one bucket or one per parameter, ZeRO-1 or every rank stepping everything: the same values
            Close(Values(ranks[0][$"{opt}-one"]), Values(ranks[0][$"{opt}-many"]), $"{opt} many buckets vs one");
            Close(Values(ranks[0][$"{opt}-many"]), Values(ranks[0][$"{opt}-zero"]), $"{opt} ZeRO-1 vs DDP");
            // ZeRO-1: rank r keeps ⌈P/N⌉ elements (the last the rest) and only their state
            for (int r = 0; r < n; r++)
            {
                var z = Values(ranks[r][$"{opt}-zero-shard"]);
                int total = (int)z[1], chunk = (total + n - 1) / n;
                Assert.Equal(83, total);
                Assert.Equal(Math.Min(chunk, total - r * chunk), (int)z[0]);
                Assert.Equal(slots[opt] * z[0], z[2]);
            }
        }
        Assert.Equal("4", ranks[0]["buckets-many"]);
        Assert.Equal("1", ranks[0]["buckets-one"]);
        Directory.Delete(dir, true);
    }

    [MpiFact]
    public void MismatchedShapesAcrossRanksFailAtConstructionNamingTheParameterOnEveryRank()
    {
        var (exit, output, dir, ended) = Job(2, "mismatch", TimeSpan.FromSeconds(60));
        Assert.True(ended && exit == 0, $"mpirun exit {exit}: {output}");
        foreach (var k in Ranks(dir, 2))
            Assert.Equal("DistributedDataParallel: parameter '0.weight' is [8,6] float64 on rank 0 but [9,6] float64 on rank 1; every rank must build the same model", k["error"]);
        Directory.Delete(dir, true);
    }

    [MpiFact]
    public void ARankAsleepInsideAStepEndsTheJobThroughTheWatchdogNamingIt()
    {
        // rank 1 sleeps 60 s at step 2; the watchdog's timeout is 3 s: the job must end long before the sleep does
        var (exit, output, dir, ended) = Job(2, "sleep", TimeSpan.FromSeconds(40));
        Assert.True(ended, $"the job was still running after 40 s: {output}");
        Assert.NotEqual(0, exit);
        Assert.Contains("rank 0 of 2 waited", output);
        Assert.Contains("at step 2 (timeout 3.0 s); rank(s) 1 did not arrive; aborting the job", output);
        Assert.Contains("MPI_Iallreduce of gradient bucket", output);
        Directory.Delete(dir, true);
    }

    [MpiFact]
    public void ARankKilledWithSigkillEndsTheJobNamingItAndRankZerosCheckpointLoads()
    {
        var (exit, output, dir, ended) = Job(2, "kill", TimeSpan.FromSeconds(30));
        Assert.True(ended, $"the job was still running after 30 s: {output}");
        Assert.NotEqual(0, exit);
        Assert.Matches("rank 1 with PID \\d+ on node \\S+ exited on signal 9", output.Replace("\n", " "));
        // the last checkpoint (after step 1: rank 0 cannot finish step 2 without rank 1) loads and holds what rank 0 had
        var written = File.ReadAllLines(Path.Combine(dir, "checkpoint.txt")).ToDictionary(l => l.Split(' ')[0], l => l[(l.IndexOf(' ') + 1)..]);
        Assert.Equal("1", written["step"]);
        var model = new Sequential(new Linear(6, 8, dtype: DType.Float64), new Tanh(), new Linear(8, 3, dtype: DType.Float64));
        model.Load(Path.Combine(dir, "checkpoint.safetensors"));
        Assert.Equal(Values(written["params"]), model.Parameters().SelectMany(p => p.ToArray<double>()).ToArray());
        Directory.Delete(dir, true);
    }

    [MpiFact]
    public void TrainDistributedOnTwoRanksLearnsOnlyRankZeroWritesAndAStoppedRunResumesOnTheSameTrajectory()
    {
        var runs = HybridProcess.TempDir("hybrid-ddp-train-");
        var (exit, output, ended) = Mpirun(2, TimeSpan.FromSeconds(180), "train", "--distributed", "--data", HybridProcess.Sample,
            "--runs", runs, "--name", "d", "--epochs", "2", "--log-every", "10", "--seed", "3");
        Assert.True(ended && exit == 0, $"mpirun exit {exit}: {output}");
        // one run folder, written by rank 0 alone; the other rank printed nothing
        Assert.Equal(new[] { "d" }, Directory.GetDirectories(runs).Select(Path.GetFileName).ToArray());
        var run = Path.Combine(runs, "d");
        foreach (var f in new[] { "config.json", "metrics.csv", "model.safetensors", "checkpoints" })
            Assert.True(File.Exists(Path.Combine(run, f)) || Directory.Exists(Path.Combine(run, f)), $"{f} missing in {run}");
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "done in "));
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(output, "distributed: 2 ranks, [0-9.]+ ms per step, waiting on communication [0-9.]+% of the time"));
        Assert.Contains("bytes sent per step per rank", output);
        var last = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Last().Split(',');
        var accuracy = double.Parse(last[4], CultureInfo.InvariantCulture);
        Assert.True(accuracy >= 0.70, $"test accuracy {accuracy} after 2 epochs on 2 ranks (the 2,000-image sample)");

        // stopped after step 20 (mid-epoch; rank 0 commits the checkpoint), then resumed by a new 2-rank job: the
        // epochs' metrics equal the uninterrupted run's (all but the seconds column)
        var (e1, o1, _) = Mpirun(2, TimeSpan.FromSeconds(180), "train", "--distributed", "--data", HybridProcess.Sample,
            "--runs", runs, "--name", "r", "--epochs", "2", "--log-every", "10", "--seed", "3", "--stop-after", "20");
        Assert.True(e1 != 0 && Directory.Exists(Path.Combine(runs, "r", "checkpoints")), $"stopped run: exit {e1}: {o1}");
        var (e2, o2, _) = Mpirun(2, TimeSpan.FromSeconds(180), "train", "--distributed", "--resume", Path.Combine(runs, "r"));
        Assert.True(e2 == 0, $"resumed run: exit {e2}: {o2}");
        Assert.Contains("resumed from", o2);
        static string[] Epochs(string run) => File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1)
            .Where(l => l.Split(',')[3].Length > 0).Select(l => string.Join(",", l.Split(',')[..6])).ToArray();
        var uninterrupted = Epochs(run);
        Assert.Equal(2, uninterrupted.Length);
        Assert.Equal(uninterrupted, Epochs(Path.Combine(runs, "r")));
        Directory.Delete(runs, true);
    }
}
