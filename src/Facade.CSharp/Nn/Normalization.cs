using Microsoft.FSharp.Core;
using Hybrid.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Nn;

/// <summary>
/// Batch normalisation over [N, C, H, W] inputs (<c>torch.nn.BatchNorm2d</c>): statistics per channel over the batch
/// and both spatial axes; see <see cref="BatchNorm"/>.
/// </summary>
public sealed class BatchNorm2d : BatchNorm
{
    /// <summary>Batch normalisation of <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">C.</param>
    /// <param name="eps">ε.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="affine">Learn γ (ones) and β (zeros).</param>
    /// <param name="dtype">Element type.</param>
    public BatchNorm2d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.Float32)
        : base("BatchNorm2d", numFeatures, eps, momentum, affine, dtype) { }

    private protected override bool AcceptsRank(int dim) => dim == 4;

    private protected override string ExpectedShapes => $"[N, {NumFeatures}, H, W]";
}

/// <summary>
/// Layer normalisation over the trailing <c>normalizedShape</c> axes (<c>torch.nn.LayerNorm</c>, Ba, Kiros &amp; Hinton 2016):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β per sample, biased variance, the same in training and evaluation.
/// </summary>
public sealed class LayerNorm : Module
{
    private readonly int[] _shape;

    /// <summary>The normalised trailing shape.</summary>
    public IReadOnlyList<long> NormalizedShape => Array.ConvertAll(_shape, d => (long)d);

    /// <summary>ε added to the variance.</summary>
    public double Eps { get; }

    /// <summary>γ, of the normalised shape (null without elementwise affine).</summary>
    public Parameter? Weight { get; }

    /// <summary>β, of the normalised shape (null without elementwise affine).</summary>
    public Parameter? Bias { get; }

    /// <summary>Layer normalisation over trailing axes of the given shape.</summary>
    /// <param name="normalizedShape">The trailing shape, e.g. { 512 } or { C, H, W }.</param>
    /// <param name="eps">ε.</param>
    /// <param name="elementwiseAffine">Learn γ (ones) and β (zeros).</param>
    /// <param name="dtype">Element type.</param>
    public LayerNorm(long[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32)
    {
        ArgumentNullException.ThrowIfNull(normalizedShape);
        if (normalizedShape.Length == 0 || normalizedShape.Any(d => d <= 0))
            throw new ArgumentException($"LayerNorm: normalizedShape [{string.Join(",", normalizedShape)}] must be non-empty with positive sizes", nameof(normalizedShape));
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"LayerNorm: eps must be > 0 (got {eps})");
        _shape = Tensor.ToShape(normalizedShape, "LayerNorm");
        Eps = eps;
        if (elementwiseAffine)
        {
            Weight = new Parameter(Tensor.Ones(normalizedShape, dtype));
            Bias = new Parameter(Tensor.Zeros(normalizedShape, dtype));
        }
    }

    /// <summary>Layer normalisation over the last axis of size <paramref name="normalizedShape"/>.</summary>
    /// <param name="normalizedShape">Size of the last axis.</param>
    /// <param name="eps">ε.</param>
    /// <param name="elementwiseAffine">Learn γ and β.</param>
    /// <param name="dtype">Element type.</param>
    public LayerNorm(int normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, DType dtype = DType.Float32)
        : this(new long[] { normalizedShape }, eps, elementwiseAffine, dtype) { }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        static FSharpOption<CoreTensor> Opt(Parameter? p) => p is null ? FSharpOption<CoreTensor>.None : FSharpOption<CoreTensor>.Some(p.Core);
        return new Tensor(Normalization.layerNorm(_shape, Eps, Opt(Weight), Opt(Bias), input.Core));
    }
}
