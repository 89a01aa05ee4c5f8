using CoreEmbedding = Hybrid.Core.Embedding;

namespace Hybrid.Nn;

/// <summary>
/// A table of <c>numEmbeddings</c> learnable vectors of size <c>embeddingDim</c> looked up by int64 index
/// (<c>torch.nn.Embedding</c>): indices of shape S give [S..., embeddingDim]; weights start as N(0, 1), as torch's.
/// </summary>
public sealed class Embedding : Module
{
    /// <summary>The table, shape [numEmbeddings, embeddingDim].</summary>
    public Parameter Weight { get; }

    /// <summary>Number of rows (the largest index + 1).</summary>
    public int NumEmbeddings { get; }

    /// <summary>Size of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>An embedding table drawn from N(0, 1).</summary>
    /// <param name="numEmbeddings">Number of rows.</param>
    /// <param name="embeddingDim">Size of each row.</param>
    /// <param name="dtype">Element type.</param>
    public Embedding(int numEmbeddings, int embeddingDim, DType dtype = DType.Float32)
    {
        if (numEmbeddings <= 0) throw new ArgumentOutOfRangeException(nameof(numEmbeddings), numEmbeddings, $"Embedding: numEmbeddings must be positive (got {numEmbeddings})");
        if (embeddingDim <= 0) throw new ArgumentOutOfRangeException(nameof(embeddingDim), embeddingDim, $"Embedding: embeddingDim must be positive (got {embeddingDim})");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Weight = new Parameter(Tensor.Randn(new long[] { numEmbeddings, embeddingDim }, dtype));
    }

    /// <summary>An embedding table holding <paramref name="weight"/>'s values (<c>Embedding.from_pretrained</c>).</summary>
    /// <param name="weight">The table [numEmbeddings, embeddingDim].</param>
    /// <param name="freeze">Keep the table fixed (no gradient).</param>
    /// <returns>The layer.</returns>
    public static Embedding FromPretrained(Tensor weight, bool freeze = true)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Dim != 2) throw new ArgumentException($"Embedding.FromPretrained: weight must be [numEmbeddings, embeddingDim], got [{string.Join(",", weight.Shape)}]", nameof(weight));
        return new Embedding(weight, !freeze);
    }

    private Embedding(Tensor weight, bool requiresGrad)
    {
        NumEmbeddings = (int)weight.Shape[0];
        EmbeddingDim = (int)weight.Shape[1];
        Weight = new Parameter(weight, requiresGrad);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new Tensor(CoreEmbedding.lookup(Weight.Core, input.Core));
    }
}

/// <summary>Returns its input unchanged (<c>torch.nn.Identity</c>): a placeholder where a layer is optional.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => input ?? throw new ArgumentNullException(nameof(input));
}
