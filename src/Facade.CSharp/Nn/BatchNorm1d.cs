using Microsoft.FSharp.Core;
using Hybrid.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Nn;

/// <summary>
/// What <see cref="BatchNorm1d"/> and <see cref="BatchNorm2d"/> share (torch's <c>_BatchNorm</c>, Ioffe &amp; Szegedy 2015):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β per channel (axis 1), with batch statistics in training mode (biased variance)
/// and running estimates updated as r ← (1 − momentum)·r + momentum·stat (unbiased variance) for evaluation mode.
/// The arithmetic is the core's <c>Normalization.batchNorm</c>; a subclass states only which input ranks it takes.
/// </summary>
public abstract class BatchNorm : Module
{
    private readonly string _name;

    /// <summary>Number of features (channels) C.</summary>
    public int NumFeatures { get; }

    /// <summary>ε added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Weight of the newest batch in the running statistics.</summary>
    public double Momentum { get; }

    /// <summary>γ, shape [C] (null without affine).</summary>
    public Parameter? Weight { get; }

    /// <summary>β, shape [C] (null without affine).</summary>
    public Parameter? Bias { get; }

    /// <summary>Running mean, shape [C].</summary>
    public Tensor RunningMean => GetBuffer("running_mean");

    /// <summary>Running variance, shape [C].</summary>
    public Tensor RunningVar => GetBuffer("running_var");

    /// <summary>Batch normalisation of <paramref name="numFeatures"/> channels, named <paramref name="name"/> in errors.</summary>
    /// <param name="name">The layer's name for error messages ("BatchNorm1d").</param>
    /// <param name="numFeatures">C.</param>
    /// <param name="eps">ε.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="affine">Learn γ (ones) and β (zeros).</param>
    /// <param name="dtype">Element type.</param>
    private protected BatchNorm(string name, int numFeatures, double eps, double momentum, bool affine, DType dtype)
    {
        _name = name;
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, $"{name}: numFeatures must be positive (got {numFeatures})");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{name}: eps must be > 0 (got {eps})");
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = new Parameter(Tensor.Ones(new long[] { numFeatures }, dtype));
            Bias = new Parameter(Tensor.Zeros(new long[] { numFeatures }, dtype));
        }
        RegisterBuffer("running_mean", Tensor.Zeros(new long[] { numFeatures }, dtype));
        RegisterBuffer("running_var", Tensor.Ones(new long[] { numFeatures }, dtype));
    }

    /// <summary>Whether an input of rank <paramref name="dim"/> is accepted.</summary>
    private protected abstract bool AcceptsRank(int dim);

    /// <summary>The accepted input shapes, for the error message ("[N, 4] or [N, 4, L]").</summary>
    private protected abstract string ExpectedShapes { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!AcceptsRank(input.Dim) || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"{_name}: expected input {ExpectedShapes}, got [{string.Join(",", input.Shape)}]", nameof(input));
        static FSharpOption<CoreTensor> Opt(Parameter? p) => p is null ? FSharpOption<CoreTensor>.None : FSharpOption<CoreTensor>.Some(p.Core);
        var r = Normalization.batchNorm(Training, Momentum, Eps, RunningMean.Core, RunningVar.Core, Opt(Weight), Opt(Bias), input.Core);
        if (Training)
        {
            RegisterBuffer("running_mean", new Tensor(r.RunningMean));
            RegisterBuffer("running_var", new Tensor(r.RunningVar));
        }
        return new Tensor(r.Output);
    }
}

/// <summary>
/// Batch normalisation over [N, C] or [N, C, L] inputs (<c>torch.nn.BatchNorm1d</c>): statistics per channel over the
/// batch (and the length axis); see <see cref="BatchNorm"/>.
/// </summary>
public sealed class BatchNorm1d : BatchNorm
{
    /// <summary>Batch normalisation of <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">C.</param>
    /// <param name="eps">ε.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="affine">Learn γ and β.</param>
    /// <param name="dtype">Element type.</param>
    public BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.Float32)
        : base("BatchNorm1d", numFeatures, eps, momentum, affine, dtype) { }

    private protected override bool AcceptsRank(int dim) => dim == 2 || dim == 3;

    private protected override string ExpectedShapes => $"[N, {NumFeatures}] or [N, {NumFeatures}, L]";
}
