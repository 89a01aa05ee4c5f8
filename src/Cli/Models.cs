using Hybrid.Nn;

namespace Hybrid.Cli;

/// <summary>The two Fashion-MNIST models of the training command and the initialisation strategies.</summary>
internal static partial class Models
{
    public static readonly string[] Names = { "mlp", "cnn" };
    public static readonly string[] Inits = { "default", "xavier", "kaiming", "orthogonal" };

    /// <summary>mlp: 784-256-128-10 with ReLU; cnn: two 3×3 conv (16, 32 channels, padding 1) + ReLU + 2×2 max-pool, then linear.</summary>
    public static Sequential Build(string name, double dropout, string init, int seed)
    {
        Rng.ManualSeed(seed);
        var layers = new List<Module>();
        switch (name)
        {
            case "mlp":
                layers.AddRange(new Module[] { new Flatten(), new Linear(784, 256), new ReLU() });
                if (dropout > 0) layers.Add(new Dropout(dropout));
                layers.AddRange(new Module[] { new Linear(256, 128), new ReLU() });
                if (dropout > 0) layers.Add(new Dropout(dropout));
                layers.Add(new Linear(128, 10));
                break;
            case "cnn":
                layers.AddRange(new Module[]
                {
                    new Conv2d(1, 16, 3, padding: 1), new ReLU(), new MaxPool2d(2),
                    new Conv2d(16, 32, 3, padding: 1), new ReLU(), new MaxPool2d(2),
                    new Flatten(),
                });
                if (dropout > 0) layers.Add(new Dropout(dropout));
                layers.Add(new Linear(32 * 7 * 7, 10));
                break;
            default:
                throw new ArgumentException($"train: unknown model '{name}' (expected {string.Join(", ", Names)})", nameof(name));
        }
        var model = new Sequential(layers.ToArray());
        Initialise(model, init, seed);
        return model;
    }

    /// <summary>Re-initialise weights (rank ≥ 2) with a strategy and zero the biases; "default" keeps PyTorch's defaults.</summary>
    public static void Initialise(Module model, string init, int seed)
    {
        if (init == "default") return;
        int k = 0;
        foreach (var (name, p) in model.NamedParameters())
        {
            var s = seed * 1000 + k++;
            if (p.Dim < 2) { Init.Zeros(p); continue; }
            switch (init)
            {
                case "xavier": Init.XavierUniform(p, seed: s); break;
                case "kaiming": Init.KaimingNormal(p, mode: FanMode.FanIn, nonlinearity: "relu", seed: s); break;
                case "orthogonal": Init.Orthogonal(p, gain: Init.CalculateGain("relu"), seed: s); break;
                default: throw new ArgumentException($"train: unknown init '{init}' (expected {string.Join(", ", Inits)})", nameof(init));
            }
        }
    }
}
