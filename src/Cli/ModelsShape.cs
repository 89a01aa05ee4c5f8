using Hybrid.Nn;

namespace Hybrid.Cli;

/// <summary>The models with a chosen shape: MLP widths and dropout per layer; CNN channels, kernel size, dense layer.</summary>
internal static partial class Models
{
    /// <summary>The MLP's hidden widths when --widths is not given.</summary>
    public static readonly int[] DefaultWidths = { 256, 128 };

    /// <summary>The CNN's channels when --channels is not given.</summary>
    public static readonly int[] DefaultChannels = { 16, 32 };

    /// <summary>The run's model: the fixed shapes of <see cref="Build(string, double, string, int)"/> unless a shape option is given.</summary>
    public static Sequential Build(TrainConfig c)
    {
        if (!c.HasShape) return Build(c.Model, c.Dropout, c.Init, c.Seed);
        Rng.ManualSeed(c.Seed);
        var layers = new List<Module> { new Flatten() };
        switch (c.Model)
        {
            case "mlp":
                // 784 → w₁ → … → w_d → 10, each hidden layer Linear, ReLU, then Dropout(p_i) when p_i > 0
                var widths = c.Widths ?? DefaultWidths;
                int fanIn = 784;
                for (int i = 0; i < widths.Length; i++)
                {
                    layers.AddRange(new Module[] { new Linear(fanIn, widths[i]), new ReLU() });
                    var p = c.Dropouts?[i] ?? c.Dropout;
                    if (p > 0) layers.Add(new Dropout(p));
                    fanIn = widths[i];
                }
                layers.Add(new Linear(fanIn, 10));
                break;
            case "cnn":
                // blocks of k×k conv (same padding), ReLU, 2×2 max-pool: 28 → 14 → 7 → 3 → 1 pixels
                layers.Clear();
                var channels = c.Channels ?? DefaultChannels;
                int k = c.KernelSize ?? 3, inC = 1, side = 28;
                foreach (var ch in channels)
                {
                    layers.AddRange(new Module[] { new Conv2d(inC, ch, k, padding: k / 2), new ReLU(), new MaxPool2d(2) });
                    inC = ch;
                    side /= 2;
                }
                layers.Add(new Flatten());
                int features = inC * side * side;
                if (c.DenseWidth is int dw and > 0)
                {
                    layers.AddRange(new Module[] { new Linear(features, dw), new ReLU() });
                    features = dw;
                }
                if (c.Dropout > 0) layers.Add(new Dropout(c.Dropout));
                layers.Add(new Linear(features, 10));
                break;
            default:
                throw new ArgumentException($"train: unknown model '{c.Model}' (expected {string.Join(", ", Names)})");
        }
        var model = new Sequential(layers.ToArray());
        Initialise(model, c.Init, c.Seed);
        return model;
    }
}
