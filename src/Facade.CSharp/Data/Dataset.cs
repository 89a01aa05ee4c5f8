namespace Hybrid.Data;

/// <summary>A finite collection of samples addressed by index (PyTorch's map-style <c>torch.utils.data.Dataset</c>).</summary>
/// <typeparam name="T">The type of one sample, e.g. <c>Tensor[]</c> (input, target).</typeparam>
public interface IDataset<out T>
{
    /// <summary>Number of samples (<c>len(dataset)</c>).</summary>
    int Count { get; }

    /// <summary>Sample <paramref name="index"/>, 0 ≤ index &lt; <see cref="Count"/>.</summary>
    /// <param name="index">The sample's index.</param>
    T this[int index] { get; }
}

/// <summary>A base class for datasets: implement <see cref="Count"/> and <see cref="GetItem"/>; the indexer checks the index.</summary>
/// <typeparam name="T">The type of one sample.</typeparam>
public abstract class Dataset<T> : IDataset<T>
{
    /// <inheritdoc/>
    public abstract int Count { get; }

    /// <summary>Sample <paramref name="index"/>, already checked to lie in 0..Count-1 (<c>__getitem__</c>).</summary>
    /// <param name="index">The sample's index.</param>
    /// <returns>The sample.</returns>
    protected abstract T GetItem(int index);

    /// <inheritdoc/>
    public T this[int index] => GetItem(Dataset.CheckIndex(index, Count, GetType().Name));
}

/// <summary>Building datasets from others: subsets, random splits, samples from a function.</summary>
public static class Dataset
{
    internal static int CheckIndex(int index, int count, string what) =>
        index < 0 || index >= count
            ? throw new ArgumentOutOfRangeException(nameof(index), index, $"{what}: index {index} is outside 0..{count - 1}")
            : index;

    /// <summary>A dataset of <paramref name="count"/> samples computed by <paramref name="getItem"/>.</summary>
    /// <typeparam name="T">The sample type.</typeparam>
    /// <param name="count">Number of samples.</param>
    /// <param name="getItem">Sample i.</param>
    /// <returns>The dataset.</returns>
    public static IDataset<T> FromFunc<T>(int count, Func<int, T> getItem)
    {
        ArgumentNullException.ThrowIfNull(getItem);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "Dataset.FromFunc: count must be >= 0");
        return new FuncDataset<T>(count, getItem);
    }

    /// <summary>The samples of <paramref name="dataset"/> at <paramref name="indices"/>, in that order (<c>torch.utils.data.Subset</c>).</summary>
    /// <typeparam name="T">The sample type.</typeparam>
    /// <param name="dataset">The dataset.</param>
    /// <param name="indices">Indices into it.</param>
    /// <returns>The subset (it reads <paramref name="dataset"/>; nothing is copied).</returns>
    public static IDataset<T> Subset<T>(IDataset<T> dataset, IReadOnlyList<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(indices);
        var copy = indices.ToArray();
        foreach (var i in copy) CheckIndex(i, dataset.Count, "Subset");
        return new FuncDataset<T>(copy.Length, k => dataset[copy[k]]);
    }

    /// <summary>Splits <paramref name="dataset"/> into non-overlapping random subsets of the given lengths (<c>torch.utils.data.random_split</c>).</summary>
    /// <typeparam name="T">The sample type.</typeparam>
    /// <param name="dataset">The dataset.</param>
    /// <param name="lengths">Lengths of the parts; they must add up to the dataset's Count.</param>
    /// <param name="generator">The source of the permutation.</param>
    /// <returns>One subset per length.</returns>
    public static IReadOnlyList<IDataset<T>> RandomSplit<T>(IDataset<T> dataset, IReadOnlyList<int> lengths, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(lengths);
        ArgumentNullException.ThrowIfNull(generator);
        if (lengths.Any(l => l < 0) || lengths.Sum() != dataset.Count)
            throw new ArgumentException($"RandomSplit: lengths [{string.Join(",", lengths)}] must be >= 0 and add up to the dataset's {dataset.Count} samples", nameof(lengths));
        var order = generator.Permutation(dataset.Count);
        var parts = new List<IDataset<T>>();
        int start = 0;
        foreach (var l in lengths)
        {
            parts.Add(Subset(dataset, new ArraySegment<int>(order, start, l)));
            start += l;
        }
        return parts;
    }

    private sealed class FuncDataset<T>(int count, Func<int, T> getItem) : Dataset<T>
    {
        public override int Count => count;
        protected override T GetItem(int index) => getItem(index);
    }
}

/// <summary>
/// Samples that are rows of tensors sharing their first dimension (<c>torch.utils.data.TensorDataset</c>): sample i is
/// <c>[t0[i], t1[i], ...]</c>, with <see cref="Transform"/> (when given) applied to the first, the input.
/// </summary>
public class TensorDataset : Dataset<Tensor[]>
{
    private readonly Tensor[] _tensors;

    /// <summary>A dataset over the rows of <paramref name="tensors"/>.</summary>
    /// <param name="tensors">One or more tensors with the same size of dimension 0, e.g. inputs [N, ...] and targets [N].</param>
    public TensorDataset(params Tensor[] tensors) : this(tensors, null) { }

    /// <summary>A dataset over the rows of <paramref name="tensors"/>, with a transform of each input row.</summary>
    /// <param name="tensors">One or more tensors with the same size of dimension 0.</param>
    /// <param name="transform">Applied to row i of the first tensor each time sample i is read (null: none).</param>
    public TensorDataset(Tensor[] tensors, Transform? transform)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ArgumentException("TensorDataset: needs at least one tensor", nameof(tensors));
        for (int k = 0; k < tensors.Length; k++)
        {
            ArgumentNullException.ThrowIfNull(tensors[k], $"tensors[{k}]");
            if (tensors[k].Dim == 0) throw new ArgumentException($"TensorDataset: tensor {k} is a scalar (samples are rows of dimension 0)", nameof(tensors));
        }
        var n = tensors[0].Shape[0];
        for (int k = 1; k < tensors.Length; k++)
            if (tensors[k].Shape[0] != n)
                throw new ArgumentException($"TensorDataset: tensor {k} has {tensors[k].Shape[0]} rows but tensor 0 has {n} (shapes [{string.Join(",", tensors[0].Shape)}] and [{string.Join(",", tensors[k].Shape)}])", nameof(tensors));
        _tensors = (Tensor[])tensors.Clone();
        Transform = transform;
    }

    /// <summary>The tensors whose rows are the samples.</summary>
    public IReadOnlyList<Tensor> Tensors => _tensors;

    /// <summary>Applied to each input row as it is read (null: none).</summary>
    public Transform? Transform { get; }

    /// <inheritdoc/>
    public override int Count => (int)_tensors[0].Shape[0];

    /// <inheritdoc/>
    protected override Tensor[] GetItem(int index)
    {
        var sample = new Tensor[_tensors.Length];
        for (int k = 0; k < sample.Length; k++) sample[k] = _tensors[k].Select(0, index);
        if (Transform is not null) sample[0] = Transform.Apply(sample[0]);
        return sample;
    }

    // a whole batch in one gather per tensor when nothing is applied per sample (the DataLoader's fast path)
    internal Tensor[]? TryGatherRows(int[] indices)
    {
        if (Transform is not null) return null;
        var index = Tensor.FromArray(Array.ConvertAll(indices, i => (long)i));
        return Array.ConvertAll(_tensors, t => t.IndexSelect(0, index));
    }
}

/// <summary>Deconstruction of samples and batches held as tensor arrays: <c>foreach (var (x, y) in loader)</c>.</summary>
public static class TensorArrayDeconstruction
{
    /// <summary>The two tensors of a pair (input, target).</summary>
    /// <param name="tensors">An array of exactly two tensors.</param>
    /// <param name="first">Element 0.</param>
    /// <param name="second">Element 1.</param>
    public static void Deconstruct(this Tensor[] tensors, out Tensor first, out Tensor second)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length != 2) throw new ArgumentException($"Deconstruct: the sample holds {tensors.Length} tensors, not 2", nameof(tensors));
        first = tensors[0];
        second = tensors[1];
    }

    /// <summary>The three tensors of a triple.</summary>
    /// <param name="tensors">An array of exactly three tensors.</param>
    /// <param name="first">Element 0.</param>
    /// <param name="second">Element 1.</param>
    /// <param name="third">Element 2.</param>
    public static void Deconstruct(this Tensor[] tensors, out Tensor first, out Tensor second, out Tensor third)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length != 3) throw new ArgumentException($"Deconstruct: the sample holds {tensors.Length} tensors, not 3", nameof(tensors));
        first = tensors[0];
        second = tensors[1];
        third = tensors[2];
    }
}
