using System.CommandLine;
using System.Runtime.InteropServices;
using Hybrid.Core.Durability;
using Spectre.Console;

namespace Hybrid.Cli;

/// <summary>The options of <c>hybrid train</c>, as declared in Program.cs.</summary>
internal sealed record TrainOptions(
    Option<string> Model, Option<string> Optimizer, Option<double?> Lr, Option<int> BatchSize, Option<int> Epochs,
    Option<string> Scheduler, Option<double> WeightDecay, Option<double> Dropout, Option<string> Init, Option<int> Seed,
    Option<string> Device, Option<string?> Data, Option<string?> Name, Option<string> Runs, Option<string?> Resume,
    Option<double> ValSplit, Option<int> Patience, Option<double> L1, Option<double> L2, Option<bool> Augment,
    Option<int?> Limit, Option<int> LogEvery, Option<long?> StopAfter, Option<bool> Overwrite, Option<int> KeepCheckpoints,
    Option<string> OnNan, Option<string?> Config);

/// <summary>
/// <c>hybrid train</c>: everything is validated (options, data, the run folder) before anything is created; the run
/// folder is claimed exclusively; Ctrl-C and SIGTERM stop after the batch with a committed checkpoint. Returns the
/// exit code: 0 finished, 2 bad option, 130 Ctrl-C, 143 SIGTERM; errors are raised for Program's one-line handler.
/// </summary>
internal static class TrainCommand
{
    public static int Run(ParseResult parse, TrainOptions o, bool distributed = false)
    {
        // --distributed: every rank runs this; only rank 0 claims the run folder, writes and prints
        int rank = 0, worldSize = 1;
        if (distributed)
        {
            Hybrid.Distributed.Distributed.Init();
            (rank, worldSize) = (Hybrid.Distributed.Distributed.Rank, Hybrid.Distributed.Distributed.WorldSize);
        }
        string? scratch = null;
        try { return Train(parse, o, distributed, rank, worldSize, ref scratch); }
        finally
        {
            if (scratch is not null && Directory.Exists(scratch)) Directory.Delete(scratch, true);
            if (distributed) Hybrid.Distributed.Distributed.Shutdown();
        }
    }

    private static int Train(ParseResult parse, TrainOptions o, bool distributed, int rank, int worldSize, ref string? scratch)
    {
        bool writer = rank == 0;
        var resumeDir = parse.GetValue(o.Resume);
        var overwrite = parse.GetValue(o.Overwrite);
        TrainConfig cfg;
        string runDir;
        if (resumeDir is not null)
        {
            if (overwrite) throw new ArgumentException("train: --resume and --overwrite exclude each other (continue the run, or replace it)");
            var cfgPath = Path.Combine(resumeDir, "config.json");
            if (!File.Exists(cfgPath)) throw new ArgumentException($"train: --resume {resumeDir}: no config.json there (not a run directory)");
            cfg = TrainConfig.Load(cfgPath);
            // --epochs given with --resume extends (or shortens) the run to that many epochs
            if (parse.GetResult(o.Epochs) is { Implicit: false }) cfg = cfg with { Epochs = parse.GetValue(o.Epochs) };
            runDir = resumeDir;
        }
        else if (parse.GetValue(o.Config) is string configPath)
        {
            if (!File.Exists(configPath)) throw new ArgumentException($"train: --config {configPath}: no such file");
            cfg = TrainConfig.Load(configPath);
            cfg = cfg with { Name = parse.GetValue(o.Name) ?? RunFolder.uniqueName($"{cfg.Model}-{cfg.Optimizer}"), RunsDir = parse.GetValue(o.Runs)! };
            runDir = Path.Combine(cfg.RunsDir, cfg.Name);
        }
        else
        {
            cfg = new TrainConfig
            {
                Model = parse.GetValue(o.Model)!, Optimizer = parse.GetValue(o.Optimizer)!, Lr = parse.GetValue(o.Lr),
                BatchSize = parse.GetValue(o.BatchSize), Epochs = parse.GetValue(o.Epochs), Scheduler = parse.GetValue(o.Scheduler)!,
                WeightDecay = parse.GetValue(o.WeightDecay), Dropout = parse.GetValue(o.Dropout), Init = parse.GetValue(o.Init)!,
                Seed = parse.GetValue(o.Seed), Device = parse.GetValue(o.Device)!, Data = parse.GetValue(o.Data), RunsDir = parse.GetValue(o.Runs)!,
                ValSplit = parse.GetValue(o.ValSplit), Patience = parse.GetValue(o.Patience), L1 = parse.GetValue(o.L1), L2 = parse.GetValue(o.L2),
                Augment = parse.GetValue(o.Augment), Limit = parse.GetValue(o.Limit), LogEvery = parse.GetValue(o.LogEvery),
                KeepCheckpoints = parse.GetValue(o.KeepCheckpoints), OnNan = parse.GetValue(o.OnNan)!,
            };
            cfg = TrainHyperOptions.Instance.Apply(parse, cfg);
            cfg = cfg with { Name = parse.GetValue(o.Name) ?? RunFolder.uniqueName($"{cfg.Model}-{cfg.Optimizer}") };
            if (cfg.Name.Length == 0 || cfg.Name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || cfg.Name is "." or "..")
                throw new ArgumentException($"train: --name '{cfg.Name}' is invalid (expected a folder name without '/')");
            runDir = Path.Combine(cfg.RunsDir, cfg.Name);
        }
        cfg.Validate();

        // on a terminal the progress bar owns the screen: lines go through Spectre so they print above it
        // under mpirun every rank's stdout is a pseudo-terminal even when mpirun's own output goes to a file, so a
        // distributed run prints progress lines (rank 0 only) instead of drawing the bar
        var live = !distributed && !Console.IsOutputRedirected;
        Action<string> say = !writer ? _ => { } : live ? line => AnsiConsole.WriteLine(line) : Console.WriteLine;
        // the other ranks read rank 0's checkpoints and write only into a scratch folder, deleted at the end
        var trainer = new Trainer(cfg, say) { Distributed = distributed, Rank = rank, WorldSize = worldSize, CheckpointSource = writer ? null : runDir };
        // the data is loaded and checked before a run folder exists: a bad --data leaves nothing behind
        trainer.LoadData();

        if (!writer)
        {
            scratch = Path.Combine(Path.GetTempPath(), $"hybrid-rank-{rank}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(scratch);
        }
        using var claim = writer ? RunFolder.claim(resumeDir is not null ? ClaimMode.Resume : overwrite ? ClaimMode.Overwrite : ClaimMode.New, runDir) : null;
        if (writer && (resumeDir is null || parse.GetResult(o.Epochs) is { Implicit: false })) cfg.Save(Path.Combine(runDir, "config.json"));
        var outDir = scratch ?? runDir;

        using var cts = new CancellationTokenSource();
        int exitOnStop = 130;
        // Ctrl-C and SIGTERM (docker stop, systemd, SLURM) stop after the current batch with a checkpoint; a second
        // signal is let through and ends the process at once (committed checkpoints stay intact: writes are atomic)
        PosixSignalRegistration Handle(PosixSignal signal, string reason, int code) => PosixSignalRegistration.Create(signal, ctx =>
        {
            if (cts.IsCancellationRequested) return;
            ctx.Cancel = true;
            trainer.StopReason = reason;
            exitOnStop = code;
            // a line of its own: the terminal's "^C" echo sits on the progress bar's line
            say($"\n{reason}: stopping after the current batch with a checkpoint (send it again to end at once)");
            cts.Cancel();
        });
        using var sigint = Handle(PosixSignal.SIGINT, "Ctrl-C (SIGINT)", 130);
        using var sigterm = Handle(PosixSignal.SIGTERM, "SIGTERM", 143);
        if (parse.GetValue(o.StopAfter) is long stopAt)
            trainer.OnStep = s => { if (s >= stopAt && !cts.IsCancellationRequested) { trainer.StopReason = "--stop-after"; cts.Cancel(); } };

        if (writer) Console.WriteLine($"run {runDir}: {cfg.Model}, {cfg.Optimizer} lr {cfg.EffectiveLr}, batch {cfg.BatchSize}, {cfg.Epochs} epochs, scheduler {cfg.Scheduler}" + (distributed ? $", {worldSize} ranks" : ""));
        if (writer) trainer.OnEpoch = (ep, trainLoss, trainAcc, valLoss, testAcc, lrNow, secs) =>
            say($"epoch {ep + 1,3}/{cfg.Epochs}  train loss {trainLoss:F4}  train acc {trainAcc:F4}  val loss {valLoss:F4}  test acc {testAcc:F4}  lr {lrNow:G4}  {secs:F2} s");
        RunOutcome outcome;
        if (!live)
        {
            if (writer)
                trainer.OnBatch = (ep, b, nb, loss, acc, lrNow, rate) =>
                    Console.WriteLine($"  epoch {ep + 1} batch {b}/{nb}  loss {loss:F4}  acc {acc:F4}  lr {lrNow:G4}  {rate:F0} samples/s");
            outcome = trainer.Run(outDir, cts.Token, resumeDir is not null);
        }
        else
        {
            outcome = RunOutcome.Interrupted;
            // the bar spans the whole run; the ETA is the remaining batches times a smoothed time per batch
            var eta = new EtaEstimator();
            AnsiConsole.Progress().AutoClear(true).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    ProgressTask? task = null;
                    trainer.OnBatch = (ep, b, nb, loss, acc, lrNow, rate) =>
                    {
                        long done = (long)ep * nb + b, total = (long)cfg.Epochs * nb;
                        task ??= ctx.AddTask("training", maxValue: total);
                        task.MaxValue = total;
                        task.Value = done;
                        var left = eta.Update(done, total, System.Diagnostics.Stopwatch.GetTimestamp() / (double)System.Diagnostics.Stopwatch.Frequency);
                        task.Description = $"epoch {ep + 1} loss {loss:F4} acc {acc:F3} lr {lrNow:G3} {rate:F0}/s ETA {EtaEstimator.Format(left)}";
                    };
                    outcome = trainer.Run(runDir, cts.Token, resumeDir is not null);
                });
        }
        return outcome == RunOutcome.Finished ? 0 : exitOnStop;
    }
}
