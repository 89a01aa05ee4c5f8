using Hybrid.Core.Data;

namespace Hybrid.Data;

/// <summary>
/// A change applied to one sample as it is read (torchvision's transforms), e.g. in a
/// <see cref="TensorDataset"/>. Random transforms draw from their own <see cref="Data.Generator"/>, so a seed
/// repeats the augmentation.
/// </summary>
public abstract class Transform
{
    /// <summary>The transformed sample; <paramref name="x"/> itself is not changed.</summary>
    /// <param name="x">One sample, e.g. an image [C, H, W].</param>
    /// <returns>The new sample.</returns>
    public abstract Tensor Apply(Tensor x);

    /// <summary>The transforms applied left to right (<c>transforms.Compose</c>).</summary>
    /// <param name="transforms">The transforms.</param>
    /// <returns>One transform.</returns>
    public static Transform Compose(params Transform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        foreach (var t in transforms) ArgumentNullException.ThrowIfNull(t, nameof(transforms));
        return new Composed((Transform[])transforms.Clone());
    }

    /// <summary>A transform from a function.</summary>
    /// <param name="f">The function.</param>
    /// <returns>The transform.</returns>
    public static Transform FromFunc(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new Lambda(f);
    }

    internal static (int H, int W) ImageSize(Tensor x, string op) =>
        x.Dim < 2
            ? throw new ArgumentException($"{op}: the sample of shape [{string.Join(",", x.Shape)}] needs at least 2 dimensions (height, width)", nameof(x))
            : ((int)x.Shape[^2], (int)x.Shape[^1]);

    // the image's values as float32 for the core's augmentations, and back in the sample's dtype and shape
    internal static float[] Pixels(Tensor x) => x.DType == DType.Float32 ? x.ToArray<float>() : x.To(DType.Float32).ToArray<float>();

    internal static Tensor FromPixels(float[] values, Tensor like)
    {
        var y = Tensor.FromArray(values, like.Shape);
        return like.DType == DType.Float32 ? y : y.To(like.DType);
    }

    private sealed class Composed(Transform[] transforms) : Transform
    {
        public override Tensor Apply(Tensor x) => transforms.Aggregate(x, (acc, t) => t.Apply(acc));
        public override string ToString() => $"Compose({string.Join(", ", transforms.Select(t => t.ToString()))})";
    }

    private sealed class Lambda(Func<Tensor, Tensor> f) : Transform
    {
        public override Tensor Apply(Tensor x) => f(x);
    }
}

/// <summary>Per-channel standardisation of an image [C, H, W]: x' = (x - mean[c]) / std[c] (<c>transforms.Normalize</c>).</summary>
public sealed class Normalize : Transform
{
    private readonly double[] _mean, _std;

    /// <summary>Standardises with one mean and standard deviation per channel (one value each: all channels alike).</summary>
    /// <param name="mean">Means per channel.</param>
    /// <param name="std">Standard deviations per channel (&gt; 0).</param>
    public Normalize(double[] mean, double[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"Normalize: mean has {mean.Length} values and std {std.Length} (expected one per channel, the same number)", nameof(std));
        if (std.Any(s => !(s > 0))) throw new ArgumentException($"Normalize: std [{string.Join(",", std)}] must be > 0", nameof(std));
        _mean = (double[])mean.Clone();
        _std = (double[])std.Clone();
    }

    /// <summary>Standardises every channel with the same mean and standard deviation.</summary>
    /// <param name="mean">The mean.</param>
    /// <param name="std">The standard deviation (&gt; 0).</param>
    public Normalize(double mean, double std) : this(new[] { mean }, new[] { std }) { }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (_mean.Length == 1) return (x - _mean[0]) / _std[0];
        if (x.Dim < 3 || x.Shape[^3] != _mean.Length)
            throw new ArgumentException($"Normalize: {_mean.Length} channel means for a sample of shape [{string.Join(",", x.Shape)}] (expected [..., {_mean.Length}, H, W])", nameof(x));
        var shape = new long[] { _mean.Length, 1, 1 };
        var mean = Tensor.FromArray(_mean, shape).To(x.DType);
        var std = Tensor.FromArray(_std, shape).To(x.DType);
        return (x - mean) / std;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Normalize(mean=[{string.Join(", ", _mean)}], std=[{string.Join(", ", _std)}])";
}

/// <summary>Mirrors an image left-right with probability p (<c>transforms.RandomHorizontalFlip</c>; the CLI's <c>--augment</c>).</summary>
public sealed class RandomHorizontalFlip : Transform
{
    private readonly Generator _generator;

    /// <summary>Flips with probability <paramref name="p"/>, one draw per sample.</summary>
    /// <param name="p">Probability in [0, 1].</param>
    /// <param name="generator">Source of the draws (null: one seeded 0).</param>
    public RandomHorizontalFlip(double p = 0.5, Generator? generator = null)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "RandomHorizontalFlip: p must be in [0, 1]");
        P = p;
        _generator = generator ?? new Generator(0);
    }

    /// <summary>The probability of a flip.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        ImageSize(x, "RandomHorizontalFlip");
        if (!(_generator.Core.NextDouble() < P)) return x;
        var shape = Array.ConvertAll(x.Shape, d => (int)d);
        return FromPixels(AugmentModule.flipHorizontal(shape, Pixels(x)), x);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomHorizontalFlip(p={P})";
}

/// <summary>
/// A random crop of the image after <c>padding</c> pixels of <c>fill</c> on each side, back to its own size
/// (<c>transforms.RandomCrop(size, padding)</c> with size = the image's size; the CLI's <c>--augment</c> uses padding 2):
/// a shift by (dy, dx) drawn uniformly from [-padding, padding]².
/// </summary>
public sealed class RandomCrop : Transform
{
    private readonly Generator _generator;

    /// <summary>Crops <paramref name="size"/> × <paramref name="size"/> out of the padded image.</summary>
    /// <param name="size">Height and width of the crop; must equal the image's (the padded image is cropped back).</param>
    /// <param name="padding">Pixels added on each side before cropping (&gt;= 0).</param>
    /// <param name="fill">Value of the added pixels.</param>
    /// <param name="generator">Source of the draws (null: one seeded 0).</param>
    public RandomCrop(int size, int padding = 0, double fill = 0, Generator? generator = null)
    {
        if (size <= 0) throw new ArgumentOutOfRangeException(nameof(size), size, "RandomCrop: size must be > 0");
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "RandomCrop: padding must be >= 0");
        Size = size;
        Padding = padding;
        Fill = fill;
        _generator = generator ?? new Generator(0);
    }

    /// <summary>Height and width of the crop.</summary>
    public int Size { get; }

    /// <summary>Pixels of padding on each side.</summary>
    public int Padding { get; }

    /// <summary>Value of the padding.</summary>
    public double Fill { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var (h, w) = ImageSize(x, "RandomCrop");
        if (h != Size || w != Size)
            throw new ArgumentException($"RandomCrop: crops of {Size}x{Size} from a padded image of {h}x{w}: only crops back to the image's own size are supported", nameof(x));
        int dy = _generator.Core.NextInt(-Padding, Padding + 1);
        int dx = _generator.Core.NextInt(-Padding, Padding + 1);
        var shape = Array.ConvertAll(x.Shape, d => (int)d);
        return FromPixels(AugmentModule.translate(shape, dy, dx, (float)Fill, Pixels(x)), x);
    }

    /// <inheritdoc/>
    public override string ToString() => $"RandomCrop(size={Size}, padding={Padding})";
}
