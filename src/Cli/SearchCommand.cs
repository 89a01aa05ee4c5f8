using System.CommandLine;
using System.Diagnostics;
using Hybrid.Core.Search;
using Spectre.Console;

namespace Hybrid.Cli;

/// <summary>
/// <c>hybrid search</c> (start or --resume a search), <c>hybrid search worker</c> (join one from another process or
/// machine) and <c>hybrid search show</c> (its leaderboard). Every option and the space file are checked before
/// anything is created; each bad one is a one-line error naming it (exit 2).
/// </summary>
internal static class SearchCommand
{
    private static Option<T> Opt<T>(string name, string description, T defaultValue) =>
        new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

    private static int Fail(string message)
    {
        Console.Error.WriteLine(message.ReplaceLineEndings(" "));
        return 2;
    }

    public static Command Build()
    {
        var space = new Option<string?>("--space") { Description = "the search space, a JSON file (docs/search.md; docs/examples/space-mlp.json)" };
        var strategy = Opt("--strategy", string.Join(" | ", SearchSettings.Strategies), "random");
        var trials = Opt("--trials", "trials to run in all (grid: the grid's size)", 20);
        var epochs = Opt("--epochs", "the budget: epochs of a trial that is never pruned", 3);
        var workers = Opt("--workers", "worker processes, each running one trial at a time", 1);
        var storage = new Option<string?>("--storage") { Description = "postgresql://user@host:port/db, or a SQLite file (default runs/<name>/study.db)" };
        var seed = Opt("--seed", "the study's seed: a sequential search is reproducible from it", 0L);
        var resume = Opt("--resume", "continue the stopped search of this --name (finished trials are kept, interrupted ones rerun)", false);
        var metric = Opt("--metric", string.Join(" | ", SearchSettings.Metrics), "val_accuracy");
        var direction = new Option<string?>("--direction") { Description = "maximize | minimize (default: maximize accuracies, minimize losses)" };
        var name = Opt("--name", "the search's name: runs/<name>/ holds its trials, study.db, best.json and plots", "search");
        var heartbeat = Opt("--heartbeat-timeout", "seconds without a heartbeat after which a running trial's worker is taken as dead", 60.0);
        var runs = Opt("--runs", "directory of runs", "runs");
        var data = new Option<string?>("--data") { Description = "directory holding Fashion-MNIST (as for train)" };
        var limit = new Option<int?>("--limit") { Description = "use only the first N training images (quick searches)" };
        var device = Opt("--device", "cpu | cuda | cuda:N", "cpu");
        var model = Opt("--model", "mlp | cnn, where the space does not choose it", "mlp");
        var objective = Opt("--objective", "train (Fashion-MNIST) | branin (a built-in test function, for trying the machinery)", "train");
        var objectiveSeconds = new Option<double>("--objective-seconds") { Description = "seconds the branin objective takes per trial (tests)", Hidden = true };

        var search = new Command("search", "hyperparameter search over training runs: a live table of trials, then the best configuration (runs/<name>/best.json) and plots")
        {
            space, strategy, trials, epochs, workers, storage, seed, resume, metric, direction, name, heartbeat, runs, data, limit, device, model, objective, objectiveSeconds,
        };
        search.SetAction(parse =>
        {
            try
            {
                var n = parse.GetValue(name)!;
                var runDir = Path.Combine(parse.GetValue(runs)!, n);
                var storageSpec = parse.GetValue(storage) ?? Path.Combine(runDir, "study.db");
                var w = parse.GetValue(workers);
                if (w < 1) return Fail($"search: --workers {w} is invalid (expected a positive integer)");
                if (parse.GetValue(resume))
                {
                    if (!storageSpec.StartsWith("postgres", StringComparison.Ordinal) && !File.Exists(storageSpec))
                        return Fail($"search: --resume: no search '{n}' to resume ({storageSpec} does not exist)");
                    using var st = StorageUrl.openStorage(storageSpec);
                    var study = StudyModule.load(st, n);
                    return Drive(study, SearchSettings.FromJson(StudyModule.extra(study), n), storageSpec, w);
                }
                var settings = Settings(parse, space, strategy, trials, epochs, metric, objective, objectiveSeconds, runDir, heartbeat, data, limit, device, model);
                var dir = parse.GetValue(direction) ?? SearchSettings.DefaultDirection(settings.Metric);
                if (dir is not ("maximize" or "minimize")) return Fail($"search: --direction {dir} is invalid (expected maximize|minimize)");
                if (settings.Objective == "branin" && parse.GetValue(direction) is null) dir = "minimize";
                var isPg = storageSpec.StartsWith("postgres", StringComparison.Ordinal);
                if (isPg) PostgresStorage.connectionString(storageSpec);
                else if (File.Exists(storageSpec)) return Fail($"search: {storageSpec} exists already: continue that search with --resume, or choose another --name");
                if (Directory.Exists(runDir) && Directory.EnumerateFileSystemEntries(runDir).Any())
                    return Fail($"search: {runDir} exists already and is not empty: continue with --resume, or choose another --name");
                Directory.CreateDirectory(runDir);
                using var storageObj = StorageUrl.openStorage(storageSpec);
                var created = StudyModule.createWith(storageObj, n, StorageText.parseDirection(dir), unchecked((ulong)parse.GetValue(seed)),
                    settings.Options("cli"), settings.ToJson());
                if (settings.Strategy == "grid")
                {
                    var points = Hybrid.Core.Search.Grid.enumerate(settings.Space());
                    foreach (var p in points) StudyModule.enqueue(created, p);
                    settings = settings with { Trials = points.Length };
                }
                return Drive(created, settings, storageSpec, w);
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or InvalidOperationException or FormatException or System.Text.Json.JsonException)
            {
                return Fail(e.Message.StartsWith("search", StringComparison.Ordinal) ? e.Message : $"search: {e.Message}");
            }
        });

        var wStorage = new Option<string>("--storage") { Description = "the search's storage (runs/<name>/study.db or postgresql://...)", Required = true };
        var wName = Opt("--name", "the search's name", "search");
        var wTrials = new Option<int?>("--trials") { Description = "trials this worker runs (default: until the search has all its trials)" };
        var worker = new Command("worker", "join a running search from another process or machine") { wStorage, wName, wTrials };
        worker.SetAction(parse =>
        {
            try
            {
                var spec = parse.GetValue(wStorage)!;
                if (!spec.StartsWith("postgres", StringComparison.Ordinal) && !File.Exists(spec)) return Fail($"search worker: --storage {spec} does not exist");
                using var st = StorageUrl.openStorage(spec);
                var study = StudyModule.load(st, parse.GetValue(wName)!);
                var settings = SearchSettings.FromJson(StudyModule.extra(study), study.Stored.Name);
                return Work(study, settings, parse.GetValue(wTrials));
            }
            catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or FormatException)
            {
                return Fail($"search worker: {e.Message}");
            }
        });
        search.Subcommands.Add(worker);

        var showDir = new Argument<string>("search") { Description = "the search's folder, runs/<name>" };
        var show = new Command("show", "print a search's leaderboard (and redraw its plots)") { showDir };
        show.SetAction(parse =>
        {
            var d = parse.GetValue(showDir)!;
            var db = Path.Combine(d, "study.db");
            if (!File.Exists(db)) return Fail($"search show: {d} holds no study.db (not a search folder)");
            using var st = SqliteStorage.openFile(db);
            var study = StudyModule.load(st, Path.GetFileName(Path.TrimEndingDirectorySeparator(d)));
            var settings = SearchSettings.FromJson(StudyModule.extra(study), study.Stored.Name);
            var ts = StudyModule.trials(study);
            AnsiConsole.Write(SearchView.Table(ts, settings.Epochs, study.Settings.Direction, leaderboard: true));
            SearchView.Plots(d, ts, settings.Metric, study.Settings.Direction, settings.Space());
            return 0;
        });
        search.Subcommands.Add(show);
        return search;
    }

    private static SearchSettings Settings(ParseResult parse, Option<string?> space, Option<string> strategy, Option<int> trials, Option<int> epochs,
        Option<string> metric, Option<string> objective, Option<double> objectiveSeconds, string runDir, Option<double> heartbeat,
        Option<string?> data, Option<int?> limit, Option<string> device, Option<string> model)
    {
        void Bad(string option, object value, string expected) => throw new ArgumentException($"search: --{option} {value} is invalid (expected {expected})");
        var s = parse.GetValue(strategy)!;
        if (!SearchSettings.Strategies.Contains(s)) Bad("strategy", s, string.Join("|", SearchSettings.Strategies));
        var t = parse.GetValue(trials);
        if (t < 1) Bad("trials", t, "a positive integer");
        var e = parse.GetValue(epochs);
        if (e < 1) Bad("epochs", e, "a positive integer");
        var m = parse.GetValue(metric)!;
        if (!SearchSettings.Metrics.Contains(m)) Bad("metric", m, string.Join("|", SearchSettings.Metrics));
        var o = parse.GetValue(objective)!;
        if (!SearchSettings.Objectives.Contains(o)) Bad("objective", o, string.Join("|", SearchSettings.Objectives));
        var hb = parse.GetValue(heartbeat);
        if (!(hb > 0)) Bad("heartbeat-timeout", hb, "a positive number of seconds");
        var path = parse.GetValue(space);
        string text, source;
        if (path is null)
        {
            if (o != "branin") throw new ArgumentException("search: --space is required (a JSON file; see docs/search.md)");
            (text, source) = (SearchSettings.BraninSpace, "branin");
        }
        else if (!File.Exists(path)) throw new ArgumentException($"search: --space {path}: no such file");
        else (text, source) = (File.ReadAllText(path), path);
        var parsed = SpaceJson.parse(source, text);
        if (o == "train") SearchObjective.CheckSpace(parsed, source);
        else if (parsed.TryFind("x") is null || parsed.TryFind("y") is null) throw new ArgumentException($"search: --space {source}: the branin objective needs parameters 'x' and 'y'");
        var b = new TrainConfig { Model = parse.GetValue(model)!, Data = parse.GetValue(data), Limit = parse.GetValue(limit), Device = parse.GetValue(device)!, Epochs = e, LogEvery = 1_000_000 };
        if (o == "train")
        {
            b.Validate();
            if (m.StartsWith("val_", StringComparison.Ordinal) && !(b.ValSplit > 0)) Bad("metric", m, "a metric the run computes (no validation split)");
        }
        return new SearchSettings
        {
            SpaceText = text, SpaceSource = source, Strategy = s, Trials = t, Epochs = e, Metric = o == "branin" ? "branin" : m, Objective = o,
            ObjectiveSeconds = parse.GetValue(objectiveSeconds), RunDir = runDir, HeartbeatTimeout = hb, Base = b,
        };
    }

    /// <summary>Runs this process's share of trials (all that are left when `share` is null), one at a time.</summary>
    private static int Work(Study study, SearchSettings settings, int? share, CancellationToken cancel = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var space = settings.Space();
            var options = settings.Options($"{Environment.MachineName}:{Environment.ProcessId}");
            int ran = 0;
            while (!cts.IsCancellationRequested && (share is int k ? ran < k : StudyModule.counted(StudyModule.trials(study)) < settings.Trials))
            {
                StudyModule.optimize(study, options, Microsoft.FSharp.Core.FuncConvert.FromFunc<TrialRun, double>(t => SearchObjective.Run(t, settings, space)),
                    1, 1, Microsoft.FSharp.Core.FSharpOption<TimeSpan>.None, cts.Token);
                ran++;
            }
            return cts.IsCancellationRequested ? 130 : 0;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }

    /// <summary>The trials left, split over w workers: in this process (w = 1) or in w worker processes; meanwhile the
    /// table of trials, live on a terminal, one line per finished trial otherwise; then the best, best.json and plots.</summary>
    private static int Drive(Study study, SearchSettings settings, string storageSpec, int w)
    {
        // trials of dead workers (a killed search being resumed) fail and are queued again before the count
        study.Storage.ReapStale(study.Stored.Id, TimeSpan.FromSeconds(settings.HeartbeatTimeout), DateTimeOffset.UtcNow);
        var left = Math.Max(0, settings.Trials - StudyModule.counted(StudyModule.trials(study)));
        var shares = Enumerable.Range(0, w).Select(i => left / w + (i < left % w ? 1 : 0)).Where(k => k > 0).ToArray();
        Console.WriteLine($"search {study.Stored.Name}: {settings.Strategy}, {left} of {settings.Trials} trials to run, {settings.Epochs} epochs each at most, {shares.Length} worker(s), storage {storageSpec}");
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        var codes = new int[shares.Length];
        Task work;
        if (shares.Length <= 1)
            work = Task.Factory.StartNew(() => { if (shares.Length == 1) codes[0] = Work(study, settings, null, cts.Token); }, TaskCreationOptions.LongRunning);
        else
        {
            var procs = shares.Select(k => StartWorker(storageSpec, study.Stored.Name, k)).ToArray();
            work = Task.Run(() => { for (int i = 0; i < procs.Length; i++) { procs[i].WaitForExit(); codes[i] = procs[i].ExitCode; } });
        }
        var seen = new HashSet<int>();
        void Lines()
        {
            foreach (var t in StudyModule.trials(study).Where(t => TrialModule.isFinished(t) && seen.Add(t.Number)))
                Console.WriteLine(SearchView.Line(t, settings.Epochs));
        }
        if (Console.IsOutputRedirected)
            while (!work.Wait(300)) Lines();
        else
            AnsiConsole.Live(new Text("")).Start(ctx =>
            {
                while (!work.Wait(500)) { ctx.UpdateTarget(SearchView.Table(StudyModule.trials(study), settings.Epochs, study.Settings.Direction, false)); ctx.Refresh(); }
                ctx.UpdateTarget(SearchView.Table(StudyModule.trials(study), settings.Epochs, study.Settings.Direction, false));
            });
        if (Console.IsOutputRedirected) Lines();
        var trials = StudyModule.trials(study);
        Directory.CreateDirectory(settings.RunDir);
        SearchView.Plots(settings.RunDir, trials, settings.Metric, study.Settings.Direction, settings.Space());
        var best = StudyModule.best(study);
        if (best is not null)
        {
            Console.WriteLine($"best: trial {best.Value.Number}, {settings.Metric} {best.Value.Value!.Value:F4}: " +
                string.Join(" ", best.Value.Config.Select(kv => $"{kv.Key}={SearchObjective.Format(kv.Value)}")));
            if (SearchObjective.WriteBest(settings, best.Value) is string path) Console.WriteLine($"wrote {path} (retrain with: hybrid train --config {path})");
        }
        else Console.WriteLine("no trial completed");
        if (trials.Count(t => t.State.IsRunning) is int running and > 0)
            Console.WriteLine($"{running} trial(s) still RUNNING: other workers, or dead ones whose trials are queued again {settings.HeartbeatTimeout:G} s after their last heartbeat");
        var interrupted = cts.IsCancellationRequested || codes.Any(c => c == 130);
        if (interrupted) Console.WriteLine($"interrupted: continue with hybrid search --name {study.Stored.Name} --resume");
        return interrupted ? 130 : codes.FirstOrDefault(c => c != 0);
    }

    private static Process StartWorker(string storageSpec, string name, int trials)
    {
        // the same program: an apphost (Hybrid.Cli) or `dotnet Hybrid.Cli.dll`
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") psi.ArgumentList.Add(typeof(SearchCommand).Assembly.Location);
        foreach (var a in new[] { "search", "worker", "--storage", storageSpec, "--name", name, "--trials", trials.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }
}
