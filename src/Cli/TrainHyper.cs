using System.CommandLine;
using System.Globalization;
using Hybrid.Nn;
using Hybrid.Optim;

namespace Hybrid.Cli;

/// <summary>
/// The training options beyond the first set: each optimizer's own hyperparameters, each scheduler's parameters and
/// the models' shape. Every one is optional; left out (null), the run is exactly what it was before these options
/// existed (same defaults, same random streams), so old config.json files load and resume unchanged.
/// </summary>
internal sealed partial record TrainConfig
{
    /// <summary>SGD's momentum (sgd 0, momentum/nesterov 0.9 when not given).</summary>
    public double? Momentum { get; init; }
    /// <summary>Nesterov momentum for the SGD family (nesterov: on when not given).</summary>
    public bool? Nesterov { get; init; }
    /// <summary>β₁ of the Adam family (adam, adamw, nadam, adamax, radam) and Lion.</summary>
    public double? Beta1 { get; init; }
    /// <summary>β₂ of the Adam family and Lion.</summary>
    public double? Beta2 { get; init; }
    /// <summary>RMSprop's smoothing constant α (0.99 when not given).</summary>
    public double? RmspropAlpha { get; init; }
    /// <summary>The step scheduler's period in epochs (epochs/3 when not given).</summary>
    public int? StepSize { get; init; }
    /// <summary>The step scheduler's factor (0.1 when not given).</summary>
    public double? StepGamma { get; init; }
    /// <summary>The exponential scheduler's per-epoch factor (0.9 when not given).</summary>
    public double? ExpGamma { get; init; }
    /// <summary>The one-cycle scheduler's fraction of steps spent rising (0.3 when not given).</summary>
    public double? OneCyclePctStart { get; init; }
    /// <summary>The plateau scheduler's factor (0.1 when not given).</summary>
    public double? PlateauFactor { get; init; }
    /// <summary>The MLP's hidden widths, one per layer (256, 128 when not given); their count is the depth.</summary>
    public int[]? Widths { get; init; }
    /// <summary>The MLP's dropout per hidden layer (each --dropout when not given).</summary>
    public double[]? Dropouts { get; init; }
    /// <summary>The CNN's channels per conv block (16, 32 when not given; 1 to 4 blocks).</summary>
    public int[]? Channels { get; init; }
    /// <summary>The CNN's (odd) kernel size (3 when not given).</summary>
    public int? KernelSize { get; init; }
    /// <summary>The CNN's hidden dense layer before the classifier (0 or not given: none).</summary>
    public int? DenseWidth { get; init; }

    /// <summary>Optimizers with SGD's momentum and Nesterov option.</summary>
    public static readonly string[] SgdFamily = { "sgd", "momentum", "nesterov" };
    /// <summary>Optimizers with betas (β₁, β₂).</summary>
    public static readonly string[] BetaFamily = { "adam", "adamw", "nadam", "adamax", "radam", "lion" };

    /// <summary>Checks the optimizer, scheduler and shape options, each error naming its option and why.</summary>
    private void ValidateShape()
    {
        static string S(object v) => Convert.ToString(v, CultureInfo.InvariantCulture)!;
        void Fail(string option, object value, string expected) =>
            throw new ArgumentException($"train: --{option} {S(value)} is invalid (expected {expected})");
        void Only(string option, object? value, bool applies, string to, string actual)
        {
            if (value is not null && !applies)
                throw new ArgumentException($"train: --{option} {S(value)} applies only to {to} (this run has {actual})");
        }
        var sgd = SgdFamily.Contains(Optimizer);
        Only("momentum", Momentum, sgd, "--optimizer " + string.Join("|", SgdFamily), "--optimizer " + Optimizer);
        Only("nesterov", Nesterov, sgd, "--optimizer " + string.Join("|", SgdFamily), "--optimizer " + Optimizer);
        Only("beta1", Beta1, BetaFamily.Contains(Optimizer), "--optimizer " + string.Join("|", BetaFamily), "--optimizer " + Optimizer);
        Only("beta2", Beta2, BetaFamily.Contains(Optimizer), "--optimizer " + string.Join("|", BetaFamily), "--optimizer " + Optimizer);
        Only("rmsprop-alpha", RmspropAlpha, Optimizer == "rmsprop", "--optimizer rmsprop", "--optimizer " + Optimizer);
        Only("step-size", StepSize, Scheduler == "step", "--scheduler step", "--scheduler " + Scheduler);
        Only("step-gamma", StepGamma, Scheduler == "step", "--scheduler step", "--scheduler " + Scheduler);
        Only("exp-gamma", ExpGamma, Scheduler == "exponential", "--scheduler exponential", "--scheduler " + Scheduler);
        Only("onecycle-pct-start", OneCyclePctStart, Scheduler == "onecycle", "--scheduler onecycle", "--scheduler " + Scheduler);
        Only("plateau-factor", PlateauFactor, Scheduler == "plateau", "--scheduler plateau", "--scheduler " + Scheduler);
        Only("widths", Widths is null ? null : string.Join(",", Widths), Model == "mlp", "--model mlp", "--model " + Model);
        Only("dropouts", Dropouts is null ? null : string.Join(",", Dropouts), Model == "mlp", "--model mlp", "--model " + Model);
        Only("channels", Channels is null ? null : string.Join(",", Channels), Model == "cnn", "--model cnn", "--model " + Model);
        Only("kernel-size", KernelSize, Model == "cnn", "--model cnn", "--model " + Model);
        Only("dense-width", DenseWidth, Model == "cnn", "--model cnn", "--model " + Model);
        if (Momentum is double m && !(m >= 0 && m < 1)) Fail("momentum", m, "in [0, 1)");
        if (Nesterov == true && EffectiveMomentum <= 0) Fail("nesterov", true, "a momentum > 0 (give --momentum)");
        if (Beta1 is double b1 && !(b1 >= 0 && b1 < 1)) Fail("beta1", b1, "in [0, 1)");
        if (Beta2 is double b2 && !(b2 >= 0 && b2 < 1)) Fail("beta2", b2, "in [0, 1)");
        if (RmspropAlpha is double a && !(a >= 0 && a < 1)) Fail("rmsprop-alpha", a, "in [0, 1)");
        if (StepSize is int ss && ss <= 0) Fail("step-size", ss, "a positive number of epochs");
        if (StepGamma is double sg && !(sg > 0 && sg <= 1)) Fail("step-gamma", sg, "in (0, 1]");
        if (ExpGamma is double eg && !(eg > 0 && eg <= 1)) Fail("exp-gamma", eg, "in (0, 1]");
        if (OneCyclePctStart is double ps && !(ps > 0 && ps < 1)) Fail("onecycle-pct-start", ps, "in (0, 1)");
        if (PlateauFactor is double pf && !(pf > 0 && pf < 1)) Fail("plateau-factor", pf, "in (0, 1)");
        if (Widths is { } w && (w.Length == 0 || w.Any(x => x <= 0))) Fail("widths", string.Join(",", w), "one or more positive widths, e.g. 256,128");
        if (Dropouts is { } d)
        {
            if (d.Any(x => !(x >= 0 && x < 1))) Fail("dropouts", string.Join(",", d), "probabilities in [0, 1)");
            var layers = (Widths ?? Models.DefaultWidths).Length;
            if (d.Length != layers) Fail("dropouts", string.Join(",", d), $"one per hidden layer ({layers})");
        }
        if (Channels is { } c && (c.Length is 0 or > 4 || c.Any(x => x <= 0))) Fail("channels", string.Join(",", c), "1 to 4 positive channel counts, e.g. 16,32");
        if (KernelSize is int k && (k <= 0 || k % 2 == 0 || k > 7)) Fail("kernel-size", k, "3, 5 or 7");
        if (DenseWidth is int dw && dw < 0) Fail("dense-width", dw, ">= 0");
    }

    /// <summary>The SGD family's momentum: the given one, else 0.9 for momentum/nesterov and 0 for sgd.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double EffectiveMomentum => Momentum ?? (Optimizer is "momentum" or "nesterov" ? 0.9 : 0.0);

    /// <summary>Whether the model, optimizer or scheduler uses any option of this file (else the first set's code runs).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool HasShape => Widths is not null || Dropouts is not null || Channels is not null || KernelSize is not null || DenseWidth is not null;

    /// <summary>The run's optimizer with its own hyperparameters (the defaults where they are not given).</summary>
    public Optimizer CreateOptimizer(IEnumerable<Parameter> ps)
    {
        double lr = EffectiveLr, wd = WeightDecay;
        (double, double)? betas = Beta1 is null && Beta2 is null ? null
            : (Beta1 ?? 0.9, Beta2 ?? (Optimizer == "lion" ? 0.99 : 0.999));
        return Optimizer switch
        {
            "sgd" or "momentum" or "nesterov" when Momentum is not null || Nesterov is not null =>
                new SGD(ps, lr: lr, momentum: EffectiveMomentum, nesterov: Nesterov ?? Optimizer == "nesterov", weightDecay: wd),
            "rmsprop" when RmspropAlpha is double a => new RMSprop(ps, lr: lr, alpha: a, weightDecay: wd),
            "adam" when betas is not null => new Adam(ps, lr: lr, betas: betas, weightDecay: wd),
            "adamw" when betas is not null => new AdamW(ps, lr: lr, betas: betas, weightDecay: wd),
            "nadam" when betas is not null => new NAdam(ps, lr: lr, betas: betas, weightDecay: wd),
            "adamax" when betas is not null => new Adamax(ps, lr: lr, betas: betas, weightDecay: wd),
            "radam" when betas is not null => new RAdam(ps, lr: lr, betas: betas, weightDecay: wd),
            "lion" when betas is not null => new Lion(ps, lr: lr, betas: betas, weightDecay: wd),
            _ => Trainer.MakeOptimizer(Optimizer, ps, lr, wd),
        };
    }
}

/// <summary>
/// The <c>hybrid train</c> options of <see cref="TrainConfig"/>'s second set (optimizer hyperparameters, scheduler
/// parameters, model shape), declared once and applied to a configuration built from the command line.
/// </summary>
internal sealed class TrainHyperOptions
{
    private readonly Option<double?> _momentum = new("--momentum") { Description = "SGD momentum (sgd|momentum|nesterov; default 0, 0.9 for momentum/nesterov)" };
    private readonly Option<bool?> _nesterov = new("--nesterov") { Description = "Nesterov momentum (sgd|momentum|nesterov)" };
    private readonly Option<double?> _beta1 = new("--beta1") { Description = "β₁ (adam|adamw|nadam|adamax|radam|lion; default 0.9)" };
    private readonly Option<double?> _beta2 = new("--beta2") { Description = "β₂ (adam|adamw|nadam|adamax|radam: default 0.999; lion 0.99)" };
    private readonly Option<double?> _rmspropAlpha = new("--rmsprop-alpha") { Description = "RMSprop's smoothing constant α (default 0.99)" };
    private readonly Option<int?> _stepSize = new("--step-size") { Description = "--scheduler step: epochs between decays (default epochs/3)" };
    private readonly Option<double?> _stepGamma = new("--step-gamma") { Description = "--scheduler step: decay factor (default 0.1)" };
    private readonly Option<double?> _expGamma = new("--exp-gamma") { Description = "--scheduler exponential: factor per epoch (default 0.9)" };
    private readonly Option<double?> _pctStart = new("--onecycle-pct-start") { Description = "--scheduler onecycle: fraction of steps rising (default 0.3)" };
    private readonly Option<double?> _plateauFactor = new("--plateau-factor") { Description = "--scheduler plateau: decay factor (default 0.1)" };
    private readonly Option<string?> _widths = new("--widths") { Description = "mlp hidden widths, one per layer (default 256,128): the count is the depth" };
    private readonly Option<string?> _dropouts = new("--dropouts") { Description = "mlp dropout per hidden layer, e.g. 0.2,0.1 (default: --dropout for each)" };
    private readonly Option<string?> _channels = new("--channels") { Description = "cnn channels per conv block (1 to 4 blocks; default 16,32)" };
    private readonly Option<int?> _kernelSize = new("--kernel-size") { Description = "cnn kernel size: 3, 5 or 7 (default 3)" };
    private readonly Option<int?> _denseWidth = new("--dense-width") { Description = "cnn hidden dense layer before the classifier (default 0: none)" };

    /// <summary>The one set of these options, shared by Program (which adds them) and TrainCommand (which reads them).</summary>
    public static readonly TrainHyperOptions Instance = new();

    /// <summary>Adds the options to the train command.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _momentum, _nesterov, _beta1, _beta2, _rmspropAlpha, _stepSize, _stepGamma, _expGamma, _pctStart,
                     _plateauFactor, _widths, _dropouts, _channels, _kernelSize, _denseWidth })
            command.Options.Add(o);
    }

    /// <summary>The configuration with the options given on the command line.</summary>
    public TrainConfig Apply(ParseResult parse, TrainConfig c) => c with
    {
        Momentum = parse.GetValue(_momentum), Nesterov = parse.GetValue(_nesterov), Beta1 = parse.GetValue(_beta1), Beta2 = parse.GetValue(_beta2),
        RmspropAlpha = parse.GetValue(_rmspropAlpha), StepSize = parse.GetValue(_stepSize), StepGamma = parse.GetValue(_stepGamma),
        ExpGamma = parse.GetValue(_expGamma), OneCyclePctStart = parse.GetValue(_pctStart), PlateauFactor = parse.GetValue(_plateauFactor),
        Widths = List("widths", parse.GetValue(_widths), int.Parse), Dropouts = List("dropouts", parse.GetValue(_dropouts), double.Parse),
        Channels = List("channels", parse.GetValue(_channels), int.Parse), KernelSize = parse.GetValue(_kernelSize), DenseWidth = parse.GetValue(_denseWidth),
    };

    /// <summary>A comma-separated list, or an error naming the option.</summary>
    private static T[]? List<T>(string option, string? text, Func<string, IFormatProvider, T> parse)
    {
        if (text is null) return null;
        try { return text.Split(',', StringSplitOptions.TrimEntries).Select(x => parse(x, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"train: --{option} {text} is invalid (expected a comma-separated list of numbers)"); }
        catch (OverflowException) { throw new ArgumentException($"train: --{option} {text} is invalid (a number is out of range)"); }
    }
}
