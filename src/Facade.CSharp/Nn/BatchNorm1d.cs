using CoreReduction = Hybrid.Core.Reduction;
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
        var x = input.Core;
        if ((x.Rank != 2 && x.Rank != 3) || x.Shape[1] != NumFeatures)
            throw new ArgumentException($"BatchNorm1d: expected input [N, {NumFeatures}] or [N, {NumFeatures}, L], got [{string.Join(",", x.Shape)}]", nameof(input));
        var dims = x.Rank == 2 ? new[] { 0 } : new[] { 0, 2 };
        var bshape = x.Rank == 2 ? new[] { 1, NumFeatures } : new[] { 1, NumFeatures, 1 };
        CoreTensor mean, var;
        if (Training)
        {
            mean = CoreReduction.meanDims(dims, true, x);
            var = CoreReduction.var(dims, 0, true, x);
            int n = x.Numel / NumFeatures;
            if (n < 2) throw new ArgumentException($"BatchNorm1d: expected more than 1 value per channel when training, got input [{string.Join(",", x.Shape)}]", nameof(input));
            using (GradMode.NoGrad())
            {
                var m = Reshaping.reshape(new[] { NumFeatures }, Reshaping.detach(mean));
                var v = Reshaping.reshape(new[] { NumFeatures }, Reshaping.detach(var)) * ((double)n / (n - 1));
                RegisterBuffer("running_mean", new Tensor(RunningMean.Core * (1 - Momentum) + m * Momentum));
                RegisterBuffer("running_var", new Tensor(RunningVar.Core * (1 - Momentum) + v * Momentum));
            }
        }
        else
        {
            mean = Reshaping.reshape(bshape, RunningMean.Core);
            var = Reshaping.reshape(bshape, RunningVar.Core);
        }
        var y = (x - mean) / Pointwise.sqrt(var + Eps);
        if (Weight is not null && Bias is not null)
            y = y * Reshaping.reshape(bshape, Weight.Core) + Reshaping.reshape(bshape, Bias.Core);
        return new Tensor(y);
    }
}
