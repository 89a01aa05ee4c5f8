using Hybrid;
using Hybrid.Data;
using Xunit;

namespace Hybrid.Facade.Tests;

public class DataTests
{
    // 10 samples: x_i = [i, 10 + i] (float32), y_i = i (int64)
    private static TensorDataset Ten(Transform? transform = null)
    {
        var x = Tensor.FromArray(Enumerable.Range(0, 10).SelectMany(i => new float[] { i, 10 + i }).ToArray(), 10, 2);
        var y = Tensor.FromArray(Enumerable.Range(0, 10).Select(i => (long)i).ToArray());
        return new TensorDataset(new[] { x, y }, transform);
    }

    [Fact]
    public void TensorDatasetSampleIsTheRowOfEachTensor()
    {
        var ds = Ten();
        Assert.Equal(10, ds.Count);
        var (x, y) = ds[3];
        Assert.Equal(new float[] { 3, 13 }, x.ToArray<float>());
        Assert.Equal(new long[] { 3 }, y.ToArray<long>());
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ds[10]);
        Assert.Contains("index 10 is outside 0..9", e.Message);
    }

    [Fact]
    public void TensorDatasetRefusesTensorsOfDifferentLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Zeros(4, 2), Tensor.Zeros(3)));
        Assert.Contains("tensor 1 has 3 rows but tensor 0 has 4", e.Message);
    }

    [Fact]
    public void BatchesInOrderKeepTheLastSmallerBatchUnlessDropLast()
    {
        var loader = new DataLoader<Tensor[]>(Ten(), batchSize: 4);
        Assert.Equal(3, loader.Count);
        var ys = loader.Select(b => b[1].ToArray<long>()).ToList();
        Assert.Equal(new[] { new long[] { 0, 1, 2, 3 }, new long[] { 4, 5, 6, 7 }, new long[] { 8, 9 } }, ys);
        var (x0, _) = loader.First();
        Assert.Equal(new long[] { 4, 2 }, x0.Shape);
        Assert.Equal(new float[] { 0, 10, 1, 11, 2, 12, 3, 13 }, x0.ToArray<float>());

        var dropping = new DataLoader<Tensor[]>(Ten(), batchSize: 4, dropLast: true);
        Assert.Equal(2, dropping.Count);
        Assert.Equal(2, dropping.Count());
    }

    [Fact]
    public void ShuffleIsAPermutationRepeatedBySeedAndNewEachEpoch()
    {
        long[] Epoch(DataLoader<Tensor[]> l) => l.SelectMany(b => b[1].ToArray<long>()).ToArray();
        var a = new DataLoader<Tensor[]>(Ten(), batchSize: 3, shuffle: true, generator: new Generator(7));
        var b = new DataLoader<Tensor[]>(Ten(), batchSize: 3, shuffle: true, generator: new Generator(7));
        var a1 = Epoch(a); var a2 = Epoch(a);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), a1.Order());
        Assert.NotEqual(Enumerable.Range(0, 10).Select(i => (long)i), a1);
        Assert.NotEqual(a1, a2);                 // a new order each epoch
        Assert.Equal(a1, Epoch(b));              // the same seed, the same orders
        Assert.Equal(a2, Epoch(b));
        // each batch's inputs are the rows of its targets
        foreach (var (x, y) in new DataLoader<Tensor[]>(Ten(), batchSize: 3, shuffle: true, generator: new Generator(1)))
            Assert.Equal(y.ToArray<long>().SelectMany(i => new float[] { i, 10 + i }), x.ToArray<float>());
    }

    [Fact]
    public void PrefetchGivesTheSameBatchesAndStopsWhenTheLoopStops()
    {
        long[][] Run(int prefetch) =>
            new DataLoader<Tensor[]>(Ten(), batchSize: 3, shuffle: true, generator: new Generator(3), prefetch: prefetch)
                .Select(b => b[1].ToArray<long>()).ToArray();
        Assert.Equal(Run(0), Run(2));
        var first = new DataLoader<Tensor[]>(Ten(), batchSize: 1, prefetch: 1).Take(2).Count();   // leaving early does not hang
        Assert.Equal(2, first);
    }

    [Fact]
    public void AnErrorWhileMakingABatchInTheBackgroundReachesTheLoop()
    {
        var bad = Dataset.FromFunc<Tensor>(5, i => i == 3 ? throw new InvalidOperationException("sample 3 is broken") : Tensor.Scalar(i));
        var loader = new DataLoader<Tensor>(bad, batchSize: 2, prefetch: 2);
        var e = Assert.Throws<InvalidOperationException>(() => loader.ToList());
        Assert.Equal("sample 3 is broken", e.Message);
    }

    [Fact]
    public void ACollateFunctionMakesBatchesOfAnyType()
    {
        var words = Dataset.FromFunc(5, i => new string('a', i + 1));
        var loader = new DataLoader<string, string>(words, samples => string.Join("+", samples), batchSize: 2);
        Assert.Equal(new[] { "a+aa", "aaa+aaaa", "aaaaa" }, loader.ToArray());
        var e = Assert.Throws<ArgumentException>(() => new DataLoader<string>(words, batchSize: 2));
        Assert.Contains("no default collate for samples of type String", e.Message);
    }

    [Fact]
    public void BadLoaderOptionsAreNamed()
    {
        Assert.Contains("batchSize must be > 0", Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader<Tensor[]>(Ten(), batchSize: 0)).Message);
        Assert.Contains("prefetch must be >= 0", Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader<Tensor[]>(Ten(), prefetch: -1)).Message);
    }

    [Fact]
    public void SubsetAndRandomSplitPartitionTheDataset()
    {
        var parts = Dataset.RandomSplit(Ten(), new[] { 7, 3 }, new Generator(0));
        Assert.Equal(7, parts[0].Count);
        Assert.Equal(3, parts[1].Count);
        var all = parts.SelectMany(p => Enumerable.Range(0, p.Count).Select(i => p[i][1].ToArray<long>()[0])).Order();
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), all);
        Assert.Contains("add up to the dataset's 10", Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(Ten(), new[] { 7, 2 }, new Generator(0))).Message);
        Assert.Equal(new long[] { 4 }, Dataset.Subset(Ten(), new[] { 9, 4 })[1][1].ToArray<long>());
    }

    [Fact]
    public void NormalizeStandardisesEachChannel()
    {
        var x = Tensor.FromArray(new float[] { 1, 2, 3, 4, 10, 20, 30, 40 }, 2, 2, 2);
        var y = new Normalize(new[] { 2.0, 20.0 }, new[] { 2.0, 10.0 }).Apply(x);
        Assert.Equal(new float[] { -0.5f, 0, 0.5f, 1, -1, 0, 1, 2 }, y.ToArray<float>());
        Assert.Contains("2 channel means for a sample of shape [3,2,2]",
            Assert.Throws<ArgumentException>(() => new Normalize(new[] { 0.0, 0 }, new[] { 1.0, 1 }).Apply(Tensor.Zeros(3, 2, 2))).Message);
        // a transform in the dataset is applied as samples are read, and batches stack the transformed samples
        var ds = Ten(Transform.FromFunc(t => t * 2.0));
        Assert.Equal(new float[] { 6, 26 }, ds[3][0].ToArray<float>());
        Assert.Equal(new float[] { 0, 20, 2, 22 }, new DataLoader<Tensor[]>(ds, batchSize: 2).First()[0].ToArray<float>());
    }

    [Fact]
    public void RandomHorizontalFlipMirrorsWithProbabilityP()
    {
        var img = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 1, 2, 3);
        Assert.Equal(new float[] { 3, 2, 1, 6, 5, 4 }, new RandomHorizontalFlip(1.0).Apply(img).ToArray<float>());
        Assert.Equal(img.ToArray<float>(), new RandomHorizontalFlip(0.0).Apply(img).ToArray<float>());
        var flip = new RandomHorizontalFlip(0.5, new Generator(0));
        int flipped = Enumerable.Range(0, 400).Count(_ => flip.Apply(img).ToArray<float>()[0] == 3);
        Assert.InRange(flipped, 160, 240);   // Binomial(400, 0.5): mean 200, sd 10
    }

    [Fact]
    public void RandomCropShiftsThePaddedImageAndIsRepeatedBySeed()
    {
        var img = Tensor.FromArray(Enumerable.Range(1, 9).Select(i => (float)i).ToArray(), 1, 3, 3);
        var crops = Enumerable.Range(0, 50).Select(_ => new RandomCrop(3, padding: 1, generator: new Generator(5)).Apply(img).ToArray<float>()).ToList();
        Assert.All(crops, c => Assert.Equal(crops[0], c));
        var crop = new RandomCrop(3, padding: 1, fill: -1, generator: new Generator(2));
        var seen = new HashSet<string>();
        for (int k = 0; k < 200; k++)
        {
            var c = crop.Apply(img).ToArray<float>();
            // a shift by (dy, dx) in [-1, 1]²: every value is a pixel of the shifted image or the fill
            bool ok = false;
            for (int dy = -1; dy <= 1 && !ok; dy++)
                for (int dx = -1; dx <= 1 && !ok; dx++)
                {
                    var expected = new float[9];
                    for (int i = 0; i < 3; i++)
                        for (int j = 0; j < 3; j++)
                            expected[i * 3 + j] = i + dy is >= 0 and < 3 && j + dx is >= 0 and < 3 ? (i + dy) * 3 + j + dx + 1 : -1;
                    ok = expected.SequenceEqual(c);
                }
            Assert.True(ok, $"[{string.Join(",", c)}] is no shift of the padded image");
            seen.Add(string.Join(",", c));
        }
        Assert.Equal(9, seen.Count);   // all nine shifts occur
        Assert.Contains("only crops back to the image's own size", Assert.Throws<ArgumentException>(() => new RandomCrop(2, 1).Apply(img)).Message);
    }

    [Fact]
    public void FashionMnistReadsTheIdxFilesOfADirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "hybrid-fmnist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            // two 28x28 images per split: image k has every pixel = 51k, label k+3
            var images = new Hybrid.Core.Data.IdxImages(2, 28, 28, Enumerable.Range(0, 2 * 784).Select(i => (byte)(51 * (i / 784))).ToArray());
            foreach (var split in new[] { "train", "t10k" })
            {
                Hybrid.Core.Data.Idx.writeImages(Path.Combine(dir, $"{split}-images-idx3-ubyte.gz"), images);
                Hybrid.Core.Data.Idx.writeLabels(Path.Combine(dir, $"{split}-labels-idx1-ubyte.gz"), new byte[] { 3, 4 });
            }
            var ds = Datasets.FashionMnist(dir, train: false);
            Assert.Equal(2, ds.Count);
            var (x, y) = ds[1];
            Assert.Equal(new long[] { 1, 28, 28 }, x.Shape);
            Assert.All(x.ToArray<float>(), v => Assert.Equal(0.2f, v, 6));
            Assert.Equal(new long[] { 4 }, y.ToArray<long>());
            File.Delete(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"));
            var e = Assert.ThrowsAny<Exception>(() => Datasets.FashionMnist(dir));
            Assert.Contains("t10k-labels-idx1-ubyte", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
