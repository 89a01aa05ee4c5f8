using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Hybrid.Data;

/// <summary>
/// Batches of a dataset (PyTorch's <c>torch.utils.data.DataLoader</c>): each enumeration is one epoch, visiting the
/// samples in order or, with <c>shuffle</c>, in a new permutation drawn from the generator; <c>collate</c> makes one
/// batch from a list of samples; with <c>prefetch</c> &gt; 0 a background thread prepares that many batches ahead.
/// </summary>
/// <typeparam name="TSample">One sample.</typeparam>
/// <typeparam name="TBatch">One batch.</typeparam>
public class DataLoader<TSample, TBatch> : IEnumerable<TBatch>
{
    private readonly Func<IReadOnlyList<TSample>, TBatch> _collate;
    private readonly Func<int[], TBatch?>? _gather;

    /// <summary>A loader of <paramref name="dataset"/> in batches made by <paramref name="collate"/>.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="collate">Makes a batch from the samples of one batch, in order (<c>collate_fn</c>).</param>
    /// <param name="batchSize">Samples per batch (&gt; 0).</param>
    /// <param name="shuffle">Visit the samples in a new random order each epoch.</param>
    /// <param name="generator">Source of the shuffle (null: the global generator that <see cref="Rng.ManualSeed"/> seeds).</param>
    /// <param name="dropLast">Drop the last batch when it holds fewer than <paramref name="batchSize"/> samples.</param>
    /// <param name="prefetch">Batches prepared ahead on a background thread (0: none, each batch is made when asked for).</param>
    public DataLoader(IDataset<TSample> dataset, Func<IReadOnlyList<TSample>, TBatch> collate, int batchSize = 1, bool shuffle = false,
        Generator? generator = null, bool dropLast = false, int prefetch = 0)
        : this(dataset, collate, null, batchSize, shuffle, generator, dropLast, prefetch) { }

    private protected DataLoader(IDataset<TSample> dataset, Func<IReadOnlyList<TSample>, TBatch> collate, Func<int[], TBatch?>? gather,
        int batchSize, bool shuffle, Generator? generator, bool dropLast, int prefetch)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(collate);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "DataLoader: batchSize must be > 0");
        if (prefetch < 0) throw new ArgumentOutOfRangeException(nameof(prefetch), prefetch, "DataLoader: prefetch must be >= 0");
        Dataset = dataset;
        _collate = collate;
        _gather = gather;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Generator = generator;
        DropLast = dropLast;
        Prefetch = prefetch;
    }

    /// <summary>The samples.</summary>
    public IDataset<TSample> Dataset { get; }

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits the samples in a new random order.</summary>
    public bool Shuffle { get; }

    /// <summary>The shuffle's generator (null: the global one).</summary>
    public Generator? Generator { get; }

    /// <summary>Whether a last, smaller batch is dropped.</summary>
    public bool DropLast { get; }

    /// <summary>Batches prepared ahead on a background thread.</summary>
    public int Prefetch { get; }

    /// <summary>Batches per epoch (<c>len(loader)</c>).</summary>
    public int Count => DropLast ? Dataset.Count / BatchSize : (Dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The batches of one epoch; a shuffling loader draws the epoch's order when enumeration starts.</summary>
    /// <returns>The batches.</returns>
    public IEnumerator<TBatch> GetEnumerator()
    {
        int n = Dataset.Count;
        var order = !Shuffle ? Enumerable.Range(0, n).ToArray() : Generator is null ? Rng.Global.Permutation(n) : Generator.Permutation(n);
        int batches = Count;
        return (Prefetch == 0 ? Batches(order, batches) : Prefetched(order, batches)).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private TBatch MakeBatch(int[] order, int b)
    {
        var indices = order.AsSpan(b * BatchSize, Math.Min(BatchSize, order.Length - b * BatchSize)).ToArray();
        if (_gather is not null && _gather(indices) is { } gathered) return gathered;
        var samples = new TSample[indices.Length];
        for (int k = 0; k < indices.Length; k++) samples[k] = Dataset[indices[k]];
        return _collate(samples);
    }

    private IEnumerable<TBatch> Batches(int[] order, int batches)
    {
        for (int b = 0; b < batches; b++) yield return MakeBatch(order, b);
    }

    // one producer thread fills a bounded queue; an exception there is rethrown here, at the batch it broke;
    // leaving the loop early cancels the producer
    private IEnumerable<TBatch> Prefetched(int[] order, int batches)
    {
        using var queue = new BlockingCollection<(TBatch? Batch, ExceptionDispatchInfo? Error)>(Prefetch);
        using var cts = new CancellationTokenSource();
        var producer = new Thread(() =>
        {
            try
            {
                for (int b = 0; b < batches; b++) queue.Add((MakeBatch(order, b), null), cts.Token);
            }
            catch (OperationCanceledException) { }
            catch (Exception e)
            {
                try { queue.Add((default, ExceptionDispatchInfo.Capture(e)), cts.Token); } catch (OperationCanceledException) { }
            }
            finally { queue.CompleteAdding(); }
        }) { IsBackground = true, Name = "hybrid-dataloader-prefetch" };
        producer.Start();
        try
        {
            foreach (var (batch, error) in queue.GetConsumingEnumerable())
            {
                error?.Throw();
                yield return batch!;
            }
        }
        finally
        {
            cts.Cancel();
            producer.Join();
        }
    }
}

/// <summary>
/// A <see cref="DataLoader{TSample, TBatch}"/> whose batches have the samples' type: for <c>Tensor</c> samples a
/// batch is their stack, for <c>Tensor[]</c> samples (e.g. a <see cref="TensorDataset"/>'s (input, target)) the stack of
/// each position, so that <c>foreach (var (x, y) in loader)</c> gives x [B, ...] and y [B].
/// </summary>
/// <typeparam name="T"><c>Tensor</c>, <c>Tensor[]</c>, or any type when a collate function is given.</typeparam>
public class DataLoader<T> : DataLoader<T, T>
{
    /// <summary>A loader of <paramref name="dataset"/> in batches of <paramref name="batchSize"/>.</summary>
    /// <param name="dataset">The samples.</param>
    /// <param name="batchSize">Samples per batch (&gt; 0).</param>
    /// <param name="shuffle">Visit the samples in a new random order each epoch.</param>
    /// <param name="generator">Source of the shuffle (null: the global generator that <see cref="Rng.ManualSeed"/> seeds).</param>
    /// <param name="dropLast">Drop the last batch when it holds fewer than <paramref name="batchSize"/> samples.</param>
    /// <param name="prefetch">Batches prepared ahead on a background thread (0: none).</param>
    /// <param name="collate">Makes a batch from samples (null: <c>Collate.Stack</c> for Tensor and Tensor[] samples).</param>
    public DataLoader(IDataset<T> dataset, int batchSize = 1, bool shuffle = false, Generator? generator = null, bool dropLast = false,
        int prefetch = 0, Func<IReadOnlyList<T>, T>? collate = null)
        : base(dataset, collate ?? DefaultCollate(), collate is null ? FastGather(dataset) : null, batchSize, shuffle, generator, dropLast, prefetch) { }

    private static Func<IReadOnlyList<T>, T> DefaultCollate()
    {
        if (typeof(T) == typeof(Tensor)) return samples => (T)(object)Collate.Stack((IReadOnlyList<Tensor>)samples);
        if (typeof(T) == typeof(Tensor[])) return samples => (T)(object)Collate.Stack((IReadOnlyList<Tensor[]>)samples);
        throw new ArgumentException($"DataLoader: no default collate for samples of type {typeof(T).Name}; pass collate (a function from the list of a batch's samples to the batch)", "collate");
    }

    private static Func<int[], T?>? FastGather(IDataset<T> dataset) =>
        dataset is TensorDataset td ? indices => (T?)(object?)td.TryGatherRows(indices) : null;
}

/// <summary>Collate functions: how a list of samples becomes a batch.</summary>
public static class Collate
{
    /// <summary>The samples stacked along a new dimension 0: n tensors of shape S give one of shape [n, S...].</summary>
    /// <param name="samples">Tensors of one shape and dtype.</param>
    /// <returns>The batch.</returns>
    public static Tensor Stack(IReadOnlyList<Tensor> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("Collate.Stack: no samples", nameof(samples));
        return Tensor.Stack(samples, 0);
    }

    /// <summary>Each position of the samples stacked: n samples [x_i, y_i] give [stack(x), stack(y)].</summary>
    /// <param name="samples">Arrays of tensors, all of the same length.</param>
    /// <returns>The batch, one tensor per position.</returns>
    public static Tensor[] Stack(IReadOnlyList<Tensor[]> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) throw new ArgumentException("Collate.Stack: no samples", nameof(samples));
        int width = samples[0].Length;
        for (int i = 1; i < samples.Count; i++)
            if (samples[i].Length != width)
                throw new ArgumentException($"Collate.Stack: sample {i} holds {samples[i].Length} tensors but sample 0 holds {width}", nameof(samples));
        var batch = new Tensor[width];
        for (int k = 0; k < width; k++) batch[k] = Tensor.Stack(samples.Select(s => s[k]), 0);
        return batch;
    }
}
