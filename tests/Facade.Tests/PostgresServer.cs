using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Hybrid.Facade.Tests;

/// <summary>
/// A throwaway PostgreSQL server for the search CLI tests: Debian's binaries run as the `postgres` user (initdb and
/// postgres refuse root) through runuser, in a temporary data directory, on a free loopback port, trust
/// authentication; stopped and removed when the test process exits.
/// </summary>
internal static class PostgresServer
{
    private static readonly string? Bin = new[] { 15, 16, 17 }.Select(v => $"/usr/lib/postgresql/{v}/bin").FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")));
    private static readonly bool Root = Environment.UserName == "root";
    private static readonly Lazy<(string? Url, string? Why)> Server = new(StartServer);

    /// <summary>The server's URL, or null (then <see cref="Why"/> says why).</summary>
    public static string? Url => Server.Value.Url;

    /// <summary>Why there is no server.</summary>
    public static string? Why => Server.Value.Why;

    private static void Exec(string exe, params string[] args)
    {
        var psi = Root ? new ProcessStartInfo("runuser", new[] { "-u", "postgres", "--", exe }.Concat(args)) : new ProcessStartInfo(exe, args);
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(" ", args)} failed ({p.ExitCode}): {err.Result}");
    }

    private static (string?, string?) StartServer()
    {
        if (Bin is null) return (null, "PostgreSQL binaries (Debian's postgresql package) are not installed: the PostgreSQL storage is untested here");
        try
        {
            // folders of earlier test processes whose exit could not remove them (the host may end first)
            foreach (var old in Directory.GetDirectories(Path.GetTempPath(), "hybrid-pgcli-*"))
                if (int.TryParse(Path.GetFileName(old).Split('-')[2], out var pid) && !File.Exists($"/proc/{pid}/stat"))
                    try { Directory.Delete(old, true); } catch (IOException) { }
            var dir = Path.Combine(Path.GetTempPath(), $"hybrid-pgcli-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
            Directory.CreateDirectory(dir);
            if (Root) Process.Start("chown", new[] { "postgres:postgres", dir })!.WaitForExit();
            var data = Path.Combine(dir, "data");
            Exec(Path.Combine(Bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "--no-sync");
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            var port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            Exec(Path.Combine(Bin, "pg_ctl"), "-D", data, "-l", Path.Combine(dir, "log"), "-w", "-t", "30", "-o", $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try { Exec(Path.Combine(Bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"); Directory.Delete(dir, true); } catch (Exception) { }
            };
            return ($"postgresql://postgres@127.0.0.1:{port}/postgres", null);
        }
        catch (Exception e) { return (null, "could not start PostgreSQL: " + e.Message); }
    }

    /// <summary>A fresh database on the server.</summary>
    public static string Database(string url, string name)
    {
        var port = new Uri(url).Port;
        var db = $"{name}_{Guid.NewGuid():N}"[..20];
        Exec(Path.Combine(Bin!, "createdb"), "-h", "127.0.0.1", "-p", $"{port}", "-U", "postgres", db);
        return $"postgresql://postgres@127.0.0.1:{port}/{db}";
    }
}
