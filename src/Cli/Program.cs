using System.CommandLine;
using Hybrid.Cli;
using Spectre.Console;

static Option<T> Opt<T>(string name, string description, T defaultValue) =>
    new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

// named "hybrid" (the tool's command), not after the assembly: a RootCommand takes its name from the executable
// (Hybrid.Cli), so usage, help and errors would say "Hybrid.Cli"
var root = new Command("hybrid", "hybrid: train models, minimize test functions and compare runs with the Hybrid library")
{
    new System.CommandLine.Help.HelpOption(), new VersionOption(),
};

// ---------------------------------------------------------------- train
var model = Opt("--model", "mlp | cnn", "mlp");
var optimizer = Opt("--optimizer", string.Join(" | ", TrainConfig.Optimizers), "adam");
var lr = new Option<double?>("--lr") { Description = "learning rate (default: 1e-3 for Adam-like, 0.01 for SGD/Adagrad, 1 for Adadelta)" };
var batchSize = Opt("--batch-size", "samples per batch", 64);
var epochs = Opt("--epochs", "passes over the training set", 3);
var scheduler = Opt("--scheduler", string.Join(" | ", TrainConfig.Schedulers), "none");
var weightDecay = Opt("--weight-decay", "weight decay passed to the optimizer", 0.0);
var dropout = Opt("--dropout", "dropout probability before hidden linear layers", 0.0);
var init = Opt("--init", string.Join(" | ", Models.Inits), "default");
var seed = Opt("--seed", "seed of initialisation, shuffling, dropout and augmentation", 0);
var device = Opt("--device", "cpu | cuda | cuda:N | ilgpu-cpu (ILGPU's CPU emulator: slow, for tests)", "cpu");
var data = new Option<string?>("--data") { Description = "directory holding Fashion-MNIST (else $HYBRID_DATA, /usr/share/datasets/fashion-mnist, the embedded sample)" };
var name = new Option<string?>("--name") { Description = "run name (default: model-optimizer-time)" };
var runs = Opt("--runs", "directory of runs", "runs");
var resume = new Option<string?>("--resume") { Description = "continue the run in this directory (runs/<name>) with an identical trajectory" };
var valSplit = Opt("--val-split", "fraction of the training set held out for validation", 0.1);
var patience = Opt("--patience", "early stopping: epochs without validation improvement (0 = off)", 0);
var l1 = Opt("--l1", "L1 penalty λ·Σ|θ| added to the loss", 0.0);
var l2 = Opt("--l2", "L2 penalty λ/2·Σθ² added to the loss", 0.0);
var augment = Opt("--augment", "random horizontal flips and 2-pixel crops", false);
var limit = new Option<int?>("--limit") { Description = "use only the first N training images (quick runs)" };
var logEvery = Opt("--log-every", "batches between progress lines and metric rows", 100);
var stopAfter = new Option<long?>("--stop-after") { Description = "stop as Ctrl-C would after this many batches (tests)", Hidden = true };
var overwrite = Opt("--overwrite", "replace an existing run folder of the same --name (its checkpoints and logs are deleted)", false);
var keepCheckpoints = Opt("--keep-checkpoints", "committed checkpoints kept (runs/<name>/checkpoints/step-N); a damaged newest one falls back to the previous", 2);
var onNan = Opt("--on-nan", "non-finite loss or gradient: stop (exit 3, nothing saved from it) | skip-batch", "stop");
var verbose = Opt("--verbose", "print the stack trace of an error", false);
var distributed = Opt("--distributed", "data-parallel training over MPI: start with mpirun -np N; each rank trains on its shard of every batch (--batch-size is the global batch), only rank 0 writes", false);
var configFile = new Option<string?>("--config") { Description = "take the run's options from this config.json (e.g. runs/<search>/best.json); only --name and --runs still apply" };
var train = new Command("train", "train a model on Fashion-MNIST (with no options: an MLP with Adam, 3 epochs). Exit codes: 0 finished, 1 error, 2 bad option, 3 diverged, 130 Ctrl-C, 143 SIGTERM (both stop after the batch and commit a checkpoint)")
{
    model, optimizer, lr, batchSize, epochs, scheduler, weightDecay, dropout, init, seed, device, data, name, runs, resume,
    valSplit, patience, l1, l2, augment, limit, logEvery, stopAfter, overwrite, keepCheckpoints, onNan, verbose, configFile, distributed,
};
TrainHyperOptions.Instance.AddTo(train); // optimizer hyperparameters, scheduler parameters, model shape
train.SetAction(parse =>
{
    try { return TrainCommand.Run(parse, new TrainOptions(model, optimizer, lr, batchSize, epochs, scheduler, weightDecay, dropout, init, seed, device,
        data, name, runs, resume, valSplit, patience, l1, l2, augment, limit, logEvery, stopAfter, overwrite, keepCheckpoints, onNan, configFile),
        parse.GetValue(distributed)); }
    catch (Exception e)
    {
        // every error is one line; --verbose adds the stack trace
        var msg = e.Message.ReplaceLineEndings(" ");
        Console.Error.WriteLine(msg.StartsWith("train:", StringComparison.Ordinal) ? msg : $"train: {msg}");
        if (parse.GetValue(verbose)) Console.Error.WriteLine(e);
        return e.InnerException is Hybrid.Nn.DivergenceException ? 3 : e is ArgumentException ? 2 : 1;
    }
});
root.Subcommands.Add(train);

// ---------------------------------------------------------------- search
root.Subcommands.Add(SearchCommand.Build());

// ---------------------------------------------------------------- optimize
var function = Opt("--function", string.Join(" | ", TestFunctions.Names), "rosenbrock");
var method = Opt("--optimizer", string.Join(" | ", OptimizeCommand.Methods), "bfgs");
var steps = Opt("--steps", "iterations", 100);
var optLr = new Option<double?>("--lr") { Description = "step size (first-order methods and ISTA/FISTA)" };
var dim = Opt("--dim", "dimension (rosenbrock, quadratic, lasso)", 2);
var optimize = new Command("optimize", "minimize a classic test function and print each iterate") { function, method, steps, optLr, dim };
optimize.SetAction(parse =>
{
    try
    {
        return OptimizeCommand.Run(parse.GetValue(function)!, parse.GetValue(method)!, parse.GetValue(steps), parse.GetValue(optLr), parse.GetValue(dim));
    }
    catch (ArgumentException e) { Console.Error.WriteLine(e.Message); return 2; }
});
root.Subcommands.Add(optimize);

// ---------------------------------------------------------------- compare
var runDirs = new Argument<string[]>("runs") { Description = "run directories (runs/a runs/b ...)", Arity = ArgumentArity.OneOrMore };
var output = Opt("--output", "output path without extension (.png and .svg are written)", "runs/compare");
var compare = new Command("compare", "draw several runs' loss, accuracy and lr curves on one plot") { runDirs, output };
compare.SetAction(parse =>
{
    var dirs = parse.GetValue(runDirs)!;
    foreach (var d in dirs)
        if (!File.Exists(Path.Combine(d, "metrics.csv"))) { Console.Error.WriteLine($"compare: {d} has no metrics.csv (not a run directory)"); return 2; }
    var stem = parse.GetValue(output)!;
    Plots.Compare(dirs, stem);
    Console.WriteLine($"wrote {stem}.png and {stem}.svg");
    return 0;
});
root.Subcommands.Add(compare);

// ---------------------------------------------------------------- demo
var demo = new Command("demo", "fit a linear model by gradient descent and print the loss falling");
demo.SetAction(_ => Demo.Run(200, 0.1));
root.Subcommands.Add(demo);
root.Subcommands.Add(DistCommand.Create()); // hidden: what each MPI rank runs in the distributed tests

return root.Parse(args.Length == 0 ? new[] { "train" } : args).Invoke();
