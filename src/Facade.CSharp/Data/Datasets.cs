using Hybrid.Core.Data;
using Microsoft.FSharp.Core;

namespace Hybrid.Data;

/// <summary>Ready-made datasets (torchvision.datasets).</summary>
public static class Datasets
{
    /// <summary>Mean of Fashion-MNIST's training pixels in [0, 1] (for <see cref="Normalize"/>).</summary>
    public const double FashionMnistMean = 0.2860;

    /// <summary>Standard deviation of Fashion-MNIST's training pixels in [0, 1].</summary>
    public const double FashionMnistStd = 0.3530;

    /// <summary>The ten class names of Fashion-MNIST, by label.</summary>
    public static IReadOnlyList<string> FashionMnistClasses { get; } = Core.Data.FashionMnist.classNames.ToArray();

    /// <summary>
    /// Fashion-MNIST (Xiao, Rasul, Vollgraf 2017) read from its IDX files (plain or .gz:
    /// <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-...</c>): samples [image float32 [1, 28, 28] in [0, 1], label int64].
    /// Without <paramref name="root"/> the files are looked for in $HYBRID_DATA, then /usr/share/datasets/fashion-mnist
    /// (Debian's dataset-fashion-mnist), and last the 2,000 train / 1,000 test image sample inside Hybrid.Core.
    /// </summary>
    /// <param name="root">The directory holding the four files (null: look as above).</param>
    /// <param name="train">The 60,000 training images (true) or the 10,000 test images (false).</param>
    /// <param name="transform">Applied to each image as it is read (null: none).</param>
    /// <returns>The dataset; a missing or damaged file throws, naming it and what was wrong.</returns>
    public static TensorDataset FashionMnist(string? root = null, bool train = true, Transform? transform = null)
    {
        var source = Core.Data.FashionMnist.locate(root is null ? FSharpOption<string>.None : FSharpOption<string>.Some(root));
        var data = Core.Data.FashionMnist.loadFrom(source, false);
        var split = train ? data.Train : data.Test;
        var images = Tensor.FromArray(split.Images, split.Count, 1, split.Rows, split.Cols);
        var labels = Tensor.FromArray(split.Labels);
        return new TensorDataset(new[] { images, labels }, transform);
    }
}
