using System.Diagnostics;
using System.Text.Json;
using Hybrid.Core.Data;
using Hybrid.Core.Durability;
using Hybrid.Core.Logging;
using Microsoft.FSharp.Collections;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Microsoft.FSharp.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Cli;

/// <summary>Where a run stands: written with every checkpoint so that --resume continues the same trajectory.</summary>
internal sealed record Progress
{
    public int Epoch { get; init; }
    public int Batch { get; init; }
    public long Step { get; init; }
    public double LossSum { get; init; }
    public long Correct { get; init; }
    public long Seen { get; init; }
    public double BestValLoss { get; init; } = double.PositiveInfinity;
    public int BadEpochs { get; init; }
    public double Seconds { get; init; }
    public List<double> PlateauMetrics { get; init; } = new();
    public bool Finished { get; init; }
    public int SkippedBatches { get; init; }
}

/// <summary>How a training run ended: the process's exit code follows from it (0 only for Finished).</summary>
internal enum RunOutcome { Finished, Interrupted }

/// <summary>Trains a Fashion-MNIST model through the C# facade, logging metrics, TensorBoard events, checkpoints and plots.</summary>
internal sealed class Trainer
{
    private readonly TrainConfig _cfg;
    private readonly Action<string> _log;
    // the claimed run folder, set by Run
    private string _runDirForSave = "";

    public Trainer(TrainConfig cfg, Action<string> log)
    {
        _cfg = cfg;
        _log = log;
    }

    public static Optimizer MakeOptimizer(string name, IEnumerable<Parameter> ps, double lr, double wd) => name switch
    {
        "sgd" => new SGD(ps, lr: lr, weightDecay: wd),
        "momentum" => new SGD(ps, lr: lr, momentum: 0.9, weightDecay: wd),
        "nesterov" => new SGD(ps, lr: lr, momentum: 0.9, nesterov: true, weightDecay: wd),
        "adagrad" => new Adagrad(ps, lr: lr, weightDecay: wd),
        "rmsprop" => new RMSprop(ps, lr: lr, weightDecay: wd),
        "adadelta" => new Adadelta(ps, lr: lr, weightDecay: wd),
        "adam" => new Adam(ps, lr: lr, weightDecay: wd),
        "adamw" => new AdamW(ps, lr: lr, weightDecay: wd),
        "nadam" => new NAdam(ps, lr: lr, weightDecay: wd),
        "adamax" => new Adamax(ps, lr: lr, weightDecay: wd),
        "radam" => new RAdam(ps, lr: lr, weightDecay: wd),
        "asgd" => new ASGD(ps, lr: lr, weightDecay: wd),
        "lion" => new Lion(ps, lr: lr, weightDecay: wd),
        _ => throw new ArgumentException($"train: unknown optimizer '{name}'"),
    };

    private object? MakeScheduler(Optimizer opt, int batchesPerEpoch) => _cfg.Scheduler switch
    {
        "none" => null,
        "step" => new StepLR(opt, stepSize: _cfg.StepSize ?? Math.Max(1, _cfg.Epochs / 3), gamma: _cfg.StepGamma ?? 0.1),
        "exponential" => new ExponentialLR(opt, gamma: _cfg.ExpGamma ?? 0.9),
        "cosine" => new CosineAnnealingLR(opt, tMax: _cfg.Epochs),
        "onecycle" => new OneCycleLR(opt, maxLr: _cfg.EffectiveLr, totalSteps: _cfg.Epochs * batchesPerEpoch, pctStart: _cfg.OneCyclePctStart ?? 0.3),
        "plateau" => new ReduceLROnPlateau(opt, factor: _cfg.PlateauFactor ?? 0.1, patience: 1),
        _ => throw new ArgumentException($"train: unknown scheduler '{_cfg.Scheduler}'"),
    };

    // the best validation loss starts at +Infinity (and is NaN-free only with a validation split)
    private static readonly JsonSerializerOptions ProgressJson = new()
    {
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The columns of steps.csv: the global step, that batch's loss, the learning rate after the step (as metrics.csv).</summary>
    public static readonly string[] StepColumns = { "step", "loss", "lr" };

    /// <summary>The columns of epochs.csv (train_loss: the sample-weighted mean batch loss of the epoch; epoch_seconds: the training loop's time).</summary>
    public static readonly string[] EpochColumns =
        { "epoch", "step", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr", "epoch_seconds" };

    /// <summary>The folder of the run's committed checkpoints (step-numbered subfolders).</summary>
    public static string CheckpointRoot(string runDir) => Path.Combine(runDir, "checkpoints");

    // the data, loaded and checked before anything is created on disk
    private Dataset? _all, _test;
    private int[] _trainIdx = Array.Empty<int>(), _valIdx = Array.Empty<int>();
    // the newest committed checkpoint: named when a run diverges
    private string? _lastGood;

    /// <summary>Data-parallel over MPI (--distributed): the model is wrapped in DistributedDataParallel and each rank reads
    /// its DistributedSampler shard of every epoch, in batches of BatchSize / WorldSize.</summary>
    public bool Distributed { get; init; }

    /// <summary>This process's rank (0 writes checkpoints, the final model and the plots).</summary>
    public int Rank { get; init; }

    /// <summary>Ranks in the job.</summary>
    public int WorldSize { get; init; } = 1;

    /// <summary>The run folder whose checkpoints a resume reads, when Run's folder is a rank's scratch folder.</summary>
    public string? CheckpointSource { get; init; }

    private bool Writer => Rank == 0;

    /// <summary>Why the run is being stopped ("Ctrl-C (SIGINT)", "SIGTERM", "--stop-after"), set before the token is cancelled.</summary>
    public string StopReason { get; set; } = "a stop request";

    /// <summary>
    /// Loads the data and checks it (28×28 images, labels in 0..9, a validation split that leaves training
    /// images), before any run folder exists: a bad --data leaves nothing behind.
    /// </summary>
    public void LoadData()
    {
        var data = FashionMnist.load(_cfg.Data is null ? FSharpOption<string>.None : FSharpOption<string>.Some(_cfg.Data), true);
        foreach (var (split, what) in new[] { (data.Train, "training"), (data.Test, "test") })
        {
            if (split.Rows != 28 || split.Cols != 28)
                throw new InvalidDataException($"train: the {what} images are {split.Rows}x{split.Cols} (the models expect 28x28)");
            if (split.Count == 0) throw new InvalidDataException($"train: the {what} set holds no images");
            for (int i = 0; i < split.Labels.Length; i++)
                if (split.Labels[i] is < 0 or > 9)
                    throw new InvalidDataException($"train: {what} label {split.Labels[i]} at index {i} is out of range (expected 0..9)");
        }
        _log($"data: {data.Source} — {data.Train.Count} train, {data.Test.Count} test images");
        // one copy of the images (188 MB as float32): train and validation are index subsets of it
        _all = Dataset.OfSplit(data.Train);
        (_trainIdx, _valIdx) = Split(data.Train.Count);
        if (_trainIdx.Length == 0)
            throw new ArgumentException($"train: --val-split {_cfg.ValSplit} of {_valIdx.Length} images leaves no training images (lower --val-split or raise --limit)");
        _test = Dataset.OfSplit(data.Test);
        data = null;
        // return the loading buffers (gzip streams, bytes) to the OS before training
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        LogMemory("data loaded");
    }

    /// <summary>
    /// Runs (or continues) training in a claimed run folder. Returns how it ended; throws
    /// <see cref="DivergenceException"/> (nothing saved from the bad step) and one-line I/O errors.
    /// </summary>
    public RunOutcome Run(string runDir, CancellationToken stop, bool resume)
    {
        if (_all is null || _test is null) LoadData();
        _runDirForSave = runDir;
        var all = _all!;
        var test = _test!;
        var (trainIdx, valIdx) = (_trainIdx, _valIdx);
        var sampleShape = _cfg.Model == "mlp" ? new[] { 784 } : new[] { 1, 28, 28 };
        var augment = _cfg.Augment
            ? FSharpOption<FSharpFunc<Hybrid.Core.Generator, FSharpFunc<int[], FSharpFunc<float[], float[]>>>>.Some(
                AugmentModule.flipAndCrop(0.5, 2, -FashionMnist.mean / FashionMnist.std))
            : FSharpOption<FSharpFunc<Hybrid.Core.Generator, FSharpFunc<int[], FSharpFunc<float[], float[]>>>>.None;
        var loader = new DataLoader(all, new DataLoaderOptions(_cfg.BatchSize, true, _cfg.Seed, false, 2,
            FSharpOption<int[]>.Some(sampleShape), augment, FSharpOption<int[]>.Some(trainIdx)));
        // distributed: the epoch's shard of this rank (the sampler shuffles from seed and epoch), in per-rank batches
        Func<int, DataLoader> epochLoader = _ => loader;
        if (Distributed)
        {
            if (_cfg.BatchSize % WorldSize != 0)
                throw new ArgumentException($"train --distributed: --batch-size {_cfg.BatchSize} (the global batch) does not divide among {WorldSize} ranks");
            var sampler = new Hybrid.Distributed.DistributedSampler(trainIdx.Length, WorldSize, Rank, shuffle: true, seed: _cfg.Seed);
            epochLoader = ep => new DataLoader(all, new DataLoaderOptions(_cfg.BatchSize / WorldSize, false, unchecked(_cfg.Seed + ep), false, 2,
                FSharpOption<int[]>.Some(sampleShape), augment, FSharpOption<int[]>.Some(sampler.Indices(ep).Select(i => trainIdx[i]).ToArray())));
            loader = epochLoader(0);
        }

        var model = Models.Build(_cfg);
        if (resume && _cfg.Device != "cpu")
            throw new ArgumentException($"train: --resume of a run on --device {_cfg.Device} is not supported (optimizer checkpoints load on the cpu)");
        // parameters move before the optimizer sees them: its fused step then runs on the device
        model.To(_cfg.Device);
        var optimizer = _cfg.CreateOptimizer(model.Parameters());
        var scheduler = MakeScheduler(optimizer, loader.BatchCount);
        var progress = new Progress();
        if (resume) progress = Restore(runDir, model, optimizer, scheduler);
        // after a resume too: rank 0's parameters and buffers are broadcast to every rank
        using var ddp = Distributed ? new Hybrid.Distributed.DistributedDataParallel(model) : null;
        Module net = ddp is null ? model : ddp;
        long firstStep = progress.Step;
        double trainingSeconds = 0;
        // --resume --epochs N extends a finished run to N epochs
        if (progress.Finished && progress.Epoch < _cfg.Epochs) progress = progress with { Finished = false };

        WarmUp(sampleShape);
        using var events = new SummaryWriter(runDir);
        using var metrics = new MetricsWriter(Path.Combine(runDir, "metrics.csv"));
        // steps.csv: every step's batch loss; epochs.csv: one row per epoch (both cut back to the checkpoint on --resume)
        using var steps = new Hybrid.Logging.CsvLogger(Path.Combine(runDir, "steps.csv"), StepColumns);
        using var epochs = new Hybrid.Logging.CsvLogger(Path.Combine(runDir, "epochs.csv"), EpochColumns);
        var parameters = model.Parameters().ToArray();
        double accuracy = double.NaN;
        var clock = Stopwatch.StartNew();
        for (int epoch = progress.Epoch; epoch < _cfg.Epochs && !progress.Finished; epoch++)
        {
            model.Train();
            var epochClock = Stopwatch.StartNew();
            int b = 0;
            foreach (var batch in epochLoader(epoch).Batches(epoch))
            {
                if (b < progress.Batch) { b++; continue; }
                // dropout masks depend only on (seed, epoch, batch), so a resumed run draws the same ones
                Rng.ManualSeed(unchecked(_cfg.Seed * 1_000_003 + epoch * 10_007 + b));
                var x = new Tensor(batch.Inputs).To(_cfg.Device);
                var y = new Tensor(batch.Targets).To(_cfg.Device);
                optimizer.ZeroGrad();
                var logits = net.Forward(x);
                var loss = Losses.CrossEntropy(logits, y);
                var objective = loss;
                if (_cfg.L2 > 0) objective += new Tensor(Hybrid.Core.Regularization.l2Penalty(_cfg.L2, parameters.Select(p => p.Core).ToArray()));
                if (_cfg.L1 > 0) objective += new Tensor(Hybrid.Core.Regularization.l1Penalty(_cfg.L1, parameters.Select(p => p.Core).ToArray()));
                objective.Backward();
                var lossValue = loss.Item<float>();
                // divergence: a non-finite loss or gradient never reaches the optimizer (nor, then, a checkpoint)
                var gradNorm = float.IsFinite(lossValue) ? DivergenceGuard.GradNorm(parameters) : double.NaN;
                if (!float.IsFinite(lossValue) || !double.IsFinite(gradNorm))
                {
                    if (_cfg.OnNan == "stop") throw Diverged(progress.Step + 1, epoch, b, lossValue, gradNorm);
                    _log($"--on-nan skip-batch: skipping batch {b + 1} of epoch {epoch + 1} (loss {lossValue}, gradient norm {gradNorm})");
                    b++;
                    progress = progress with { Batch = b, SkippedBatches = progress.SkippedBatches + 1 };
                    if (stop.IsCancellationRequested) break;
                    continue;
                }
                optimizer.Step();
                if (scheduler is OneCycleLR oc) oc.Step();
                var predicted = logits.Argmax(1).ToArray<long>();
                var targets = batch.Targets.ToInt64Array();
                long correct = 0;
                for (int i = 0; i < targets.Length; i++) if (predicted[i] == targets[i]) correct++;
                b++;
                progress = progress with
                {
                    Batch = b, Step = progress.Step + 1, LossSum = progress.LossSum + lossValue * targets.Length,
                    Correct = progress.Correct + correct, Seen = progress.Seen + targets.Length,
                };
                steps.Log(progress.Step, lossValue, optimizer.ParamGroups[0].Lr);
                if (progress.Step % _cfg.LogEvery == 0)
                {
                    var lr = optimizer.ParamGroups[0].Lr;
                    // one definition: train_loss (CSV) = train/loss (TensorBoard) = the sample-weighted mean loss of the
                    // epoch's batches so far; the batch's own loss is train/batch_loss (and steps.csv's loss)
                    var runningLoss = progress.LossSum / progress.Seen;
                    events.AddScalars(progress.Step, new[] { Tuple.Create("train/loss", runningLoss), Tuple.Create("train/batch_loss", (double)lossValue) });
                    metrics.Append(new MetricsRow(progress.Step, epoch + 1, runningLoss, double.NaN, double.NaN, lr,
                        progress.Seconds + epochClock.Elapsed.TotalSeconds));
                    OnBatch?.Invoke(epoch, b, loader.BatchCount, runningLoss, (double)progress.Correct / progress.Seen, lr,
                        progress.Seen / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds));
                }
                OnStep?.Invoke(progress.Step);
                if (stop.IsCancellationRequested) break;
            }
            // the epoch's time is the training loop's, as bench/train_torch.py measures PyTorch's (evaluation excluded)
            var trainSeconds = epochClock.Elapsed.TotalSeconds;
            trainingSeconds += trainSeconds;
            progress = progress with { Seconds = progress.Seconds + trainSeconds };
            if (stop.IsCancellationRequested && b < loader.BatchCount)
            {
                var at = SaveCheckpoint(model, optimizer, progress with { Epoch = epoch }, epoch, b);
                Plots.Curves(runDir);
                _log($"interrupted by {StopReason} after batch {b} of epoch {epoch + 1}: checkpoint {at} committed; continue with --resume {runDir}");
                return RunOutcome.Interrupted;
            }
            // --on-nan skip-batch skipped every batch of the epoch: nothing was learnt, the run has diverged
            if (progress.Seen == 0) throw Diverged(progress.Step, epoch, Math.Max(0, b - 1), double.NaN, double.NaN);
            var trainLoss = progress.LossSum / Math.Max(1, progress.Seen);
            var trainAcc = (double)progress.Correct / Math.Max(1, progress.Seen);
            var (valLoss, valAcc) = valIdx.Length == 0 ? (double.NaN, double.NaN) : Evaluate(model, all, valIdx, sampleShape, _cfg.Device);
            var (testLoss, testAcc) = Evaluate(model, test, null, sampleShape, _cfg.Device);
            accuracy = testAcc;
            var lrNow = optimizer.ParamGroups[0].Lr;
            metrics.Append(new MetricsRow(progress.Step, epoch + 1, trainLoss, valLoss, testAcc, lrNow, progress.Seconds));
            epochs.Log(epoch + 1, progress.Step, trainLoss, trainAcc, valLoss, valAcc, testLoss, testAcc, lrNow, trainSeconds);
            events.AddScalars(progress.Step, new[]
            {
                Tuple.Create("epoch/train_loss", trainLoss), Tuple.Create("epoch/train_accuracy", trainAcc),
                Tuple.Create("epoch/val_loss", valLoss), Tuple.Create("epoch/test_loss", testLoss),
                Tuple.Create("epoch/test_accuracy", testAcc), Tuple.Create("epoch/lr", lrNow),
            }.Where(t => !double.IsNaN(t.Item2)));
            OnEpoch?.Invoke(epoch, trainLoss, trainAcc, valLoss, testAcc, lrNow, trainSeconds);
            OnEpochMetrics?.Invoke(epoch, new Dictionary<string, double>
            {
                ["train_loss"] = trainLoss, ["train_accuracy"] = trainAcc, ["val_loss"] = valLoss, ["val_accuracy"] = valAcc,
                ["test_loss"] = testLoss, ["test_accuracy"] = testAcc, ["lr"] = lrNow,
            });
            _log($"evaluation: {epochClock.Elapsed.TotalSeconds - trainSeconds:F2} s");
            LogMemory($"epoch {epoch + 1}");
            // epoch-level schedulers step after the epoch, as in PyTorch's loops
            var plateau = progress.PlateauMetrics;
            switch (scheduler)
            {
                case ReduceLROnPlateau p:
                    var m = double.IsNaN(valLoss) ? trainLoss : valLoss;
                    p.Step(m);
                    plateau = new List<double>(plateau) { m };
                    break;
                case OneCycleLR: break;
                case LRScheduler s: s.Step(); break;
            }
            // early stopping on the validation loss
            var best = progress.BestValLoss;
            var bad = progress.BadEpochs;
            if (!double.IsNaN(valLoss))
            {
                if (valLoss < best) { best = valLoss; bad = 0; } else bad++;
            }
            var stopEarly = _cfg.Patience > 0 && bad >= _cfg.Patience;
            progress = progress with
            {
                Epoch = epoch + 1, Batch = 0, LossSum = 0, Correct = 0, Seen = 0, BestValLoss = best, BadEpochs = bad,
                PlateauMetrics = plateau, Finished = stopEarly || epoch + 1 >= _cfg.Epochs,
            };
            var committed = SaveCheckpoint(model, optimizer, progress, epoch, loader.BatchCount);
            if (stopEarly) _log($"early stopping: validation loss has not improved for {bad} epochs");
            if (stop.IsCancellationRequested && !progress.Finished)
            {
                Plots.Curves(runDir);
                _log($"interrupted by {StopReason} at the end of epoch {epoch + 1}: checkpoint {committed} committed; continue with --resume {runDir}");
                return RunOutcome.Interrupted;
            }
        }
        if (ddp is not null && progress.Step > firstStep)
        {
            var stepCount = progress.Step - firstStep;
            _log($"distributed: {WorldSize} ranks, {1000 * trainingSeconds / stepCount:F2} ms per step, waiting on communication {100 * ddp.WaitSeconds / Math.Max(1e-9, trainingSeconds):F1}% of the time " +
                 $"(allreduce {1000 * ddp.CommunicationSeconds / stepCount:F2} ms per step on the communication thread), {ddp.BytesSentPerStep} bytes sent per step per rank " +
                 $"(ring allreduce 2(N-1)/N of {ddp.GradientBytes} gradient bytes, {ddp.BucketBytes.Length} buckets)");
        }
        if (Writer)
        {
            model.Save(Path.Combine(runDir, "model.safetensors"));
            Plots.Curves(runDir);
        }
        _log($"done in {clock.Elapsed.TotalSeconds:F1} s; run written to {runDir}");
        FinalAccuracy = accuracy;
        return RunOutcome.Finished;
    }

    /// <summary>The last epoch's test accuracy of a finished run (NaN when the run was already finished).</summary>
    public double FinalAccuracy { get; private set; } = double.NaN;

    /// <summary>The one-line error of a diverged run (its inner exception the facade's <see cref="DivergenceException"/>).</summary>
    private InvalidOperationException Diverged(long step, int epoch, int batch, double loss, double gradNorm)
    {
        var last = _lastGood is null ? "no checkpoint was committed yet" : $"the last good checkpoint is {_lastGood}";
        return new InvalidOperationException(
            $"train: diverged at step {step} (epoch {epoch + 1}, batch {batch + 1}): loss {loss}, gradient norm {gradNorm}; nothing was saved from it; {last} (--on-nan skip-batch skips such batches)",
            new DivergenceException(step, loss, gradNorm));
    }

    /// <summary>
    /// Restores model, optimizer and schedulers from the newest committed checkpoint (a damaged newer one is skipped
    /// with a message), and cuts metrics.csv and the TensorBoard files back to its step so no row is logged twice.
    /// </summary>
    private Progress Restore(string runDir, Module model, Optimizer optimizer, object? scheduler)
    {
        var (found, notes) = Hybrid.Core.Durability.Checkpoint.latest(CheckpointRoot(CheckpointSource ?? runDir)).ToValueTuple();
        foreach (var n in notes) _log(n);
        var progress = new Progress();
        if (found is null)
            _log($"no committed checkpoint in {CheckpointRoot(runDir)}: starting from step 0");
        else
        {
            var dir = found.Value.Item1;
            var progressPath = Path.Combine(dir, "progress.json");
            try { progress = JsonSerializer.Deserialize<Progress>(File.ReadAllText(progressPath), ProgressJson) ?? throw new JsonException("null"); }
            catch (JsonException e) { throw new InvalidDataException($"train: {progressPath} is not a valid progress record ({e.Message.Split('.')[0]})"); }
            model.Load(Path.Combine(dir, "model.safetensors"));
            // schedulers are deterministic in their inputs: replay them, then restore the optimizer's exact state
            ReplayScheduler(scheduler, progress);
            optimizer.Load(Path.Combine(dir, "optimizer.safetensors"));
            _lastGood = dir;
            _log($"resumed from {dir} at epoch {progress.Epoch + 1}, batch {progress.Batch}, step {progress.Step}");
        }
        var csv = Path.Combine(runDir, "metrics.csv");
        if (File.Exists(csv)) MetricsPurge.purgeAfter(csv, progress.Step);
        Hybrid.Logging.CsvLogger.TruncateAfter(Path.Combine(runDir, "steps.csv"), "step", progress.Step);
        Hybrid.Logging.CsvLogger.TruncateAfter(Path.Combine(runDir, "epochs.csv"), "step", progress.Step);
        foreach (var ev in Directory.GetFiles(runDir, "events.out.tfevents.*")) TensorBoard.purgeAfter(ev, progress.Step);
        return progress;
    }

    /// <summary>
    /// Runs one training step (forward, loss, backward, optimizer step) of a throwaway copy of the model on a batch of
    /// zeros, before any epoch clock starts: the process compiles the step's code (JIT, ≈ 0.15-0.2 s, which the first
    /// timed step paid before), as PyTorch's import loads its compiled kernels before its clock starts. The run's model,
    /// optimizer, data order and random streams are untouched (the copy and its optimizer are dropped).
    /// </summary>
    private void WarmUp(int[] sampleShape)
    {
        var clock = Stopwatch.StartNew();
        var model = Models.Build(_cfg with { Init = "default" });
        model.To(_cfg.Device);
        var optimizer = _cfg.CreateOptimizer(model.Parameters());
        var shape = new long[] { _cfg.BatchSize }.Concat(sampleShape.Select(d => (long)d)).ToArray();
        var x = Tensor.Zeros(shape).To(_cfg.Device);
        var y = Tensor.Zeros(new long[] { _cfg.BatchSize }, DType.Int64).To(_cfg.Device);
        optimizer.ZeroGrad();
        var logits = model.Forward(x);
        var loss = Losses.CrossEntropy(logits, y);
        loss.Backward();
        optimizer.Step();
        _ = loss.Item<float>();
        _ = logits.Argmax(1).ToArray<long>();
        _log($"warm-up (one step of a throwaway model, compiles the step's code): {clock.Elapsed.TotalSeconds:F2} s");
    }

    /// <summary>Called after every batch with the global step count.</summary>
    public Action<long>? OnStep { get; set; }

    /// <summary>Called every LogEvery batches: epoch, batch, batches, loss, accuracy, lr, samples/s.</summary>
    public Action<int, int, int, double, double, double, double>? OnBatch { get; set; }

    /// <summary>Called after each epoch with its metrics by name (train_loss, train_accuracy, val_loss, val_accuracy, test_loss,
    /// test_accuracy, lr; NaN where there is no validation split). A search's trial reports them to its pruner and, to
    /// stop the run (pruned), cancels the token Run was given: the run then ends after this epoch's checkpoint.</summary>
    public Action<int, IReadOnlyDictionary<string, double>>? OnEpochMetrics { get; set; }

    /// <summary>Called after each epoch: epoch, train loss, train accuracy, val loss, test accuracy, lr, seconds of the training loop (evaluation excluded).</summary>
    public Action<int, double, double, double, double, double, double>? OnEpoch { get; set; }

    private void ReplayScheduler(object? scheduler, Progress progress)
    {
        switch (scheduler)
        {
            case ReduceLROnPlateau p:
                foreach (var m in progress.PlateauMetrics) p.Step(m);
                break;
            case OneCycleLR oc:
                for (long i = 0; i < progress.Step; i++) oc.Step();
                break;
            case LRScheduler s:
                for (int i = 0; i < progress.Epoch; i++) s.Step();
                break;
        }
    }

    private void LogMemory(string when)
    {
        using var me = Process.GetCurrentProcess();
        var gc = GC.GetGCMemoryInfo();
        _log($"memory: {when} working set {me.WorkingSet64 >> 20} MB, peak {me.PeakWorkingSet64 >> 20} MB, managed heap {gc.HeapSizeBytes >> 20} MB, committed {gc.TotalCommittedBytes >> 20} MB");
    }

    /// <summary>
    /// Commits model, optimizer and progress as one checkpoint (each file atomic, the manifest last), keeping the newest
    /// --keep-checkpoints; refuses to save non-finite weights. Returns the committed folder.
    /// </summary>
    private string SaveCheckpoint(Module model, Optimizer optimizer, Progress progress, int epoch, int batch)
    {
        if (!DivergenceGuard.AllFinite(model.Parameters()))
            throw Diverged(progress.Step, epoch, Math.Max(0, batch - 1), double.NaN, double.NaN);
        // distributed: the replicas are identical, rank 0's checkpoint is the job's
        if (!Writer) return CheckpointRoot(CheckpointSource ?? _runDirForSave);
        var json = JsonSerializer.Serialize(progress, ProgressJson);
        var committed = Hybrid.Core.Durability.Checkpoint.commit(CheckpointRoot(_runDirForSave), progress.Step, progress.Epoch, _cfg.KeepCheckpoints,
            FSharpFunc<string, FSharpList<string>>.FromConverter(dir =>
            {
                model.Save(Path.Combine(dir, "model.safetensors"));
                optimizer.Save(Path.Combine(dir, "optimizer.safetensors"));
                AtomicFile.writeAllText("the training progress", Path.Combine(dir, "progress.json"), json);
                return ListModule.OfSeq(new[] { "model.safetensors", "optimizer.safetensors", "progress.json" });
            }));
        _lastGood = committed;
        return committed;
    }

    /// <summary>Training and validation indices: a fixed permutation (independent of the run's seed) of the first Limit images.</summary>
    private (int[] Train, int[] Val) Split(int count)
    {
        var n = _cfg.Limit is int lim ? Math.Min(lim, count) : count;
        var nVal = (int)Math.Round(n * _cfg.ValSplit);
        if (n == count && nVal == 0) return (Enumerable.Range(0, n).ToArray(), Array.Empty<int>());
        var order = new Hybrid.Core.Generator(12345).Permutation(count).Take(n).ToArray();
        return (order.Skip(nVal).ToArray(), order.Take(nVal).ToArray());
    }

    private static (double Loss, double Accuracy) Evaluate(Module model, Dataset data, int[]? subset, int[] sampleShape, string device)
    {
        model.Eval();
        var loader = new DataLoader(data, new DataLoaderOptions(1000, false, 0, false, 1, FSharpOption<int[]>.Some(sampleShape),
            FSharpOption<FSharpFunc<Hybrid.Core.Generator, FSharpFunc<int[], FSharpFunc<float[], float[]>>>>.None,
            subset is null ? FSharpOption<int[]>.None : FSharpOption<int[]>.Some(subset)));
        double lossSum = 0;
        long correct = 0, seen = 0;
        using (Tensor.NoGrad())
        {
            foreach (var batch in loader.Batches(0))
            {
                var logits = model.Forward(new Tensor(batch.Inputs).To(device));
                var targets = batch.Targets.ToInt64Array();
                lossSum += Losses.CrossEntropy(logits, new Tensor(batch.Targets).To(device), reduction: Reduction.Sum).Item<float>();
                var predicted = logits.Argmax(1).ToArray<long>();
                for (int i = 0; i < targets.Length; i++) if (predicted[i] == targets[i]) correct++;
                seen += targets.Length;
            }
        }
        model.Train();
        return (lossSum / seen, (double)correct / seen);
    }
}
