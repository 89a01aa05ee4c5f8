using System.Text.Json;

namespace Hybrid.Cli;

/// <summary>Everything that determines a training run; saved as config.json so that --resume continues it exactly.</summary>
internal sealed partial record TrainConfig
{
    public string Model { get; init; } = "mlp";
    public string Optimizer { get; init; } = "adam";
    public double? Lr { get; init; }
    public int BatchSize { get; init; } = 64;
    public int Epochs { get; init; } = 10;
    public string Scheduler { get; init; } = "none";
    public double WeightDecay { get; init; }
    public double Dropout { get; init; }
    public string Init { get; init; } = "default";
    public int Seed { get; init; }
    public string Device { get; init; } = "cpu";
    public string? Data { get; init; }
    public string Name { get; init; } = "";
    public string RunsDir { get; init; } = "runs";
    public double ValSplit { get; init; } = 0.1;
    public int Patience { get; init; }
    public double L1 { get; init; }
    public double L2 { get; init; }
    public bool Augment { get; init; }
    public int? Limit { get; init; }
    public int LogEvery { get; init; } = 100;
    public int KeepCheckpoints { get; init; } = 2;
    public string OnNan { get; init; } = "stop";

    public static readonly string[] Optimizers =
        { "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "adamw", "nadam", "adamax", "radam", "asgd", "lion" };
    public static readonly string[] Schedulers = { "none", "step", "exponential", "cosine", "onecycle", "plateau" };
    public static readonly string[] NanPolicies = { "stop", "skip-batch" };

    /// <summary>The learning rate: the given one, else a conventional default for the optimizer.</summary>
    public double EffectiveLr => Lr ?? Optimizer switch
    {
        "sgd" or "momentum" or "nesterov" or "adagrad" => 0.01,
        "adadelta" => 1.0,
        "lion" => 1e-4,
        _ => 1e-3,
    };

    /// <summary>Checks every option, naming the bad one, before anything is loaded or written.</summary>
    public void Validate()
    {
        void Fail(string option, object value, string expected) =>
            throw new ArgumentException($"train: --{option} {value} is invalid (expected {expected})");
        if (!Models.Names.Contains(Model)) Fail("model", Model, string.Join("|", Models.Names));
        if (!Optimizers.Contains(Optimizer)) Fail("optimizer", Optimizer, string.Join("|", Optimizers));
        if (!Schedulers.Contains(Scheduler)) Fail("scheduler", Scheduler, string.Join("|", Schedulers));
        if (!Models.Inits.Contains(Init)) Fail("init", Init, string.Join("|", Models.Inits));
        if (Lr is double lr && !(lr > 0 && double.IsFinite(lr))) Fail("lr", lr, "a positive number");
        if (BatchSize <= 0) Fail("batch-size", BatchSize, "a positive integer");
        if (Epochs <= 0) Fail("epochs", Epochs, "a positive integer");
        if (!(WeightDecay >= 0)) Fail("weight-decay", WeightDecay, ">= 0");
        if (!(Dropout >= 0 && Dropout < 1)) Fail("dropout", Dropout, "in [0, 1)");
        if (!(ValSplit >= 0 && ValSplit < 1)) Fail("val-split", ValSplit, "in [0, 1)");
        if (Patience < 0) Fail("patience", Patience, ">= 0");
        if (!(L1 >= 0)) Fail("l1", L1, ">= 0");
        if (!(L2 >= 0)) Fail("l2", L2, ">= 0");
        if (Limit is int n && n <= 0) Fail("limit", n, "a positive integer");
        if (LogEvery <= 0) Fail("log-every", LogEvery, "a positive integer");
        if (KeepCheckpoints <= 0) Fail("keep-checkpoints", KeepCheckpoints, "a positive integer");
        if (!NanPolicies.Contains(OnNan)) Fail("on-nan", OnNan, string.Join("|", NanPolicies));
        ValidateShape();
        ValidateDevice();
    }

    /// <summary>cpu, cuda, cuda:N (a present CUDA device) or ilgpu-cpu (ILGPU's CPU emulator: slow, for tests).</summary>
    private void ValidateDevice()
    {
        Hybrid.Core.Device d;
        try { d = Hybrid.Core.Devices.parse(Device); }
        catch (ArgumentException) { throw new ArgumentException($"train: --device {Device} is invalid (expected cpu|cuda|cuda:N|ilgpu-cpu)"); }
        if (d.IsIlgpu && ((Hybrid.Core.Device.Ilgpu)d).kind == "opencl")
            throw new ArgumentException($"train: --device {Device} is invalid (expected cpu|cuda|cuda:N|ilgpu-cpu)");
        if (d.IsIlgpu && ((Hybrid.Core.Device.Ilgpu)d).kind == "cuda")
        {
            var n = Hybrid.Core.Devices.cudaCount();
            var index = ((Hybrid.Core.Device.Ilgpu)d).index;
            if (n == 0) throw new ArgumentException($"train: --device {Device}: no CUDA device found (ILGPU sees none on this machine; use --device cpu)");
            if (index >= n) throw new ArgumentException($"train: --device {Device}: no CUDA device found at index {index} ({n} present: cuda:0..cuda:{n - 1})");
        }
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes config.json atomically (a crash leaves the old file or the new one, never a part).</summary>
    public void Save(string path) => Hybrid.Core.Durability.AtomicFile.writeAllText("the run configuration", path, JsonSerializer.Serialize(this, Json));

    /// <summary>Reads config.json; an empty, truncated or garbled file is one InvalidDataException naming it.</summary>
    public static TrainConfig Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<TrainConfig>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"train: {path} holds no configuration (null)");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"train: {path} is not a valid run configuration ({(e.Message.Split('.')[0])})");
        }
    }
}
