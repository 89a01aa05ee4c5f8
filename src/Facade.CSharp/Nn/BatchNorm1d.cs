using Microsoft.FSharp.Core;
using Hybrid.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid.Nn;

/// <summary>
/// Batch normalisation over [N, C] or [N, C, L] inputs (<c>torch.nn.BatchNorm1d</c>, Ioffe &amp; Szegedy 2015):
/// y = (x − E[x]) / √(Var[x] + ε) · γ + β, with batch statistics in training mode (biased variance) and running
/// estimates updated as r ← (1 − momentum)·r + momentum·stat (unbiased variance) for evaluation mode.
/// </summary>
public sealed class BatchNorm1d : Module
{
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

    /// <summary>Batch normalisation of <paramref name="numFeatures"/> channels.</summary>
    /// <param name="numFeatures">C.</param>
    /// <param name="eps">ε.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="affine">Learn γ and β.</param>
    /// <param name="dtype">Element type.</param>
    public BatchNorm1d(int numFeatures, double eps = 1e-5, double momentum = 0.1, bool affine = true, DType dtype = DType.Float32)
    {
        if (numFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(numFeatures), numFeatures, $"BatchNorm1d: numFeatures must be positive (got {numFeatures})");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, $"BatchNorm1d: eps must be > 0 (got {eps})");
        NumFeatures = numFeatures; Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = new Parameter(Tensor.Ones(new long[] { numFeatures }, dtype));
            Bias = new Parameter(Tensor.Zeros(new long[] { numFeatures }, dtype));
        }
        RegisterBuffer("running_mean", Tensor.Zeros(new long[] { numFeatures }, dtype));
        RegisterBuffer("running_var", Tensor.Ones(new long[] { numFeatures }, dtype));
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if ((input.Dim != 2 && input.Dim != 3) || input.Shape[1] != NumFeatures)
            throw new ArgumentException($"BatchNorm1d: expected input [N, {NumFeatures}] or [N, {NumFeatures}, L], got [{string.Join(",", input.Shape)}]", nameof(input));
        return BatchNormCore.Apply(this, input, Weight, Bias, RunningMean, RunningVar, Momentum, Eps, RegisterBuffer);
    }
}

// the core's batch norm (Hybrid.Core.Normalization.batchNorm) for BatchNorm1d and BatchNorm2d: the output, and the
// running estimates stored back as buffers in training mode
internal static class BatchNormCore
{
    internal static Tensor Apply(Module m, Tensor input, Parameter? weight, Parameter? bias, Tensor runningMean, Tensor runningVar,
        double momentum, double eps, Action<string, Tensor> setBuffer)
    {
        static FSharpOption<CoreTensor> Opt(Parameter? p) => p is null ? FSharpOption<CoreTensor>.None : FSharpOption<CoreTensor>.Some(p.Core);
        var r = Normalization.batchNorm(m.Training, momentum, eps, runningMean.Core, runningVar.Core, Opt(weight), Opt(bias), input.Core);
        if (m.Training)
        {
            setBuffer("running_mean", new Tensor(r.RunningMean));
            setBuffer("running_var", new Tensor(r.RunningVar));
        }
        return new Tensor(r.Output);
    }
}
