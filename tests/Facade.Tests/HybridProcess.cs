using System.Diagnostics;

namespace Hybrid.Facade.Tests;

/// <summary>
/// The `hybrid` command started as a user starts it: a separate `dotnet Hybrid.Cli.dll` process with its output
/// captured, the repository and the embedded Fashion-MNIST sample located, and fresh temporary folders.
/// </summary>
internal static class HybridProcess
{
    /// <summary>The repository root (the folder holding Hybrid.sln above the test binaries).</summary>
    internal static readonly string Repo = FindRepo();

    /// <summary>The embedded 2,000-image Fashion-MNIST sample.</summary>
    internal static readonly string Sample = Path.Combine(Repo, "data", "fashion-mnist-sample");

    private static string FindRepo()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "Hybrid.sln"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("HybridProcess: no Hybrid.sln above " + AppContext.BaseDirectory);
    }

    /// <summary>
    /// Starts `hybrid args` in <paramref name="cwd"/> (the test's own folder when null) with stdout and stderr
    /// redirected; HYBRID_DATA and the checkpoint kill seam are cleared, then <paramref name="env"/> is applied.
    /// </summary>
    internal static Process Start(string? cwd, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (cwd is not null) psi.WorkingDirectory = cwd;
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Hybrid.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("HYBRID_DATA");
        psi.Environment.Remove("HYBRID_TEST_KILL_DURING_CHECKPOINT");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    /// <summary>Waits for a started process (killing it past <paramref name="timeout"/>) and returns its exit code and output.</summary>
    internal static (int Code, string Out, string Err) Finish(Process p, Task<string> stdout, Task<string> stderr, TimeSpan timeout)
    {
        if (!p.WaitForExit(timeout)) { p.Kill(true); throw new TimeoutException("hybrid did not finish within " + timeout); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs `hybrid args` to the end and returns its exit code and output.</summary>
    internal static (int Code, string Out, string Err) Run(string? cwd, IDictionary<string, string>? env, TimeSpan timeout, params string[] args)
    {
        using var p = Start(cwd, env, args);
        return Finish(p, p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync(), timeout);
    }

    /// <summary>A new empty folder under the system's temporary folder, named <paramref name="prefix"/> + a GUID.</summary>
    internal static string TempDir(string prefix)
    {
        var d = Path.Combine(Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
