using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// The MPI binding under a real <c>mpirun</c> on loopback (shared memory): each rank runs the hidden
/// <c>hybrid dist-selftest CASE DIR</c>, writes <c>rank-R.txt</c>, and the test compares the ranks' files
/// with the values worked out by hand. Skips, saying so, when Open MPI is not installed (scripts/setup.sh installs it).
/// </summary>
public class DistributedTests
{
    internal static string? Mpirun() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    internal const string NoMpi = "mpirun not found: run scripts/setup.sh (installs openmpi-bin, libopenmpi-dev)";

    /// <summary>mpirun -np N dotnet Hybrid.Cli.dll dist-selftest CASE DIR; returns each rank's lines as key → values.</summary>
    private static Dictionary<string, string>[] RunRanks(int n, string which)
    {
        var mpirun = Mpirun() ?? throw new InvalidOperationException(NoMpi);
        var dir = Path.Combine(Path.GetTempPath(), "hybrid-dist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var psi = new ProcessStartInfo(mpirun) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,vader", "-np", n.ToString(),
                                  "dotnet", Path.Combine(AppContext.BaseDirectory, "Hybrid.Cli.dll"), "dist-selftest", which, dir })
            psi.ArgumentList.Add(a);
        psi.Environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"; // containers forbid CMA
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromSeconds(90))) { p.Kill(true); throw new TimeoutException($"mpirun -np {n} dist-selftest {which}"); }
        Assert.True(p.ExitCode == 0, $"mpirun exit {p.ExitCode}: {stdout.Result} {stderr.Result}");
        var ranks = Enumerable.Range(0, n).Select(r =>
            File.ReadAllLines(Path.Combine(dir, $"rank-{r}.txt")).ToDictionary(l => l.Split(' ')[0], l => l[(l.IndexOf(' ') + 1)..])).ToArray();
        Directory.Delete(dir, true);
        return ranks;
    }

    private static double[] Values(string s) => s.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();

    [MpiTheory]
    [InlineData(2)]
    [InlineData(4)]
    public void CollectivesGiveTheSumsCopiesAndConcatenationsWorkedOutByHand(int n)
    {
        var ranks = RunRanks(n, "collectives");
        double tri = n * (n + 1) / 2.0; // Σ (r+1)
        for (int r = 0; r < n; r++)
        {
            var k = ranks[r];
            Assert.Equal(new double[] { r }, Values(k["rank"]));
            Assert.Equal(new double[] { n }, Values(k["size"]));
            Assert.Equal(Enumerable.Range(1, 5).Select(i => tri * i), Values(k["allreduce-f32"]));
            var f64 = Values(k["allreduce-f64"]);
            for (int i = 0; i < 5; i++) Assert.Equal(0.1 * tri + n * i, f64[i], 12);
            // only elements 2..4 are summed; the rest keep the rank's own values
            double rsum = 10.0 * n * (n - 1) / 2;
            Assert.Equal(new[] { r * 10.0, r * 10.0 + 1, rsum + 2 * n, rsum + 3 * n, rsum + 4 * n, r * 10.0 + 5 }, Values(k["allreduce-slice"]));
            Assert.Equal(new[] { 3.5, -1.25, 7.0 }, Values(k["broadcast"]));
            Assert.Equal(Enumerable.Range(0, n).SelectMany(q => new[] { q, q + 0.5 }), Values(k["allgather"]));
            Assert.Equal(Enumerable.Range(0, n).SelectMany(q => Enumerable.Repeat((double)q, q + 1)), Values(k["allgatherv"]));
            // Σ_q (i + q) over ranks = n·i + n(n-1)/2; rank r receives i = 2r, 2r+1
            Assert.Equal(new[] { 2 * r, 2 * r + 1 }.Select(i => n * i + n * (n - 1) / 2.0), Values(k["reducescatter"]));
            // every rank's values bit-identical to rank 0's
            Assert.Equal(ranks[0]["allreduce-f64"], k["allreduce-f64"]);
        }
    }

    [MpiFact]
    public void AnMpiErrorBecomesAnExceptionNamingTheCallNotAnAbort()
    {
        var ranks = RunRanks(2, "error");
        foreach (var k in ranks) Assert.Equal("MPI_Bcast failed: MPI_ERR_ROOT: invalid root (MPI error 8)", k["error"]);
    }

    [MpiFact]
    public void SamplerShardsOfFourRanksAreDisjointModuloPaddingCoverAndChangeWithTheEpoch()
    {
        var ranks = RunRanks(4, "sampler");
        foreach (var ep in new[] { "epoch0", "epoch1" })
        {
            var shards = ranks.Select(k => Values(k[ep]).Select(v => (int)v).ToArray()).ToArray();
            Assert.All(shards, s => Assert.Equal(3, s.Length)); // ⌈10/4⌉
            var all = shards.SelectMany(s => s).ToArray();
            Assert.Equal(Enumerable.Range(0, 10), all.Distinct().OrderBy(i => i)); // covering
            Assert.Equal(2, all.Length - all.Distinct().Count()); // 12 slots, 10 samples: 2 padded repeats
        }
        Assert.NotEqual(ranks[0]["epoch0"], ranks[0]["epoch1"]);
    }
}

/// <summary>A fact skipped, with the reason shown, when mpirun is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    /// <summary>Skips when mpirun is absent.</summary>
    public MpiFactAttribute() { if (DistributedTests.Mpirun() is null) Skip = DistributedTests.NoMpi; }
}

/// <summary>A theory skipped, with the reason shown, when mpirun is not installed.</summary>
public sealed class MpiTheoryAttribute : TheoryAttribute
{
    /// <summary>Skips when mpirun is absent.</summary>
    public MpiTheoryAttribute() { if (DistributedTests.Mpirun() is null) Skip = DistributedTests.NoMpi; }
}
