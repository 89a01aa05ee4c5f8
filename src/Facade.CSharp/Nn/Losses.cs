using Hybrid.Core;
using Microsoft.FSharp.Core;
using CoreLoss = Hybrid.Core.Loss;

namespace Hybrid.Nn;

/// <summary>How a loss combines its per-element values (PyTorch's <c>reduction=</c>).</summary>
public enum Reduction
{
    /// <summary>The mean (the default).</summary>
    Mean,
    /// <summary>The sum.</summary>
    Sum,
    /// <summary>No reduction: one value per element (or per sample).</summary>
    None,
}

/// <summary>The loss functions of <c>torch.nn.functional</c>, with the same definitions and defaults.</summary>
public static class Losses
{
    private static CoreLoss.Reduction ToCore(Reduction r) => r switch
    {
        Reduction.Mean => CoreLoss.Reduction.Mean,
        Reduction.Sum => CoreLoss.Reduction.Sum,
        Reduction.None => CoreLoss.Reduction.NoReduction,
        _ => throw new ArgumentOutOfRangeException(nameof(r), r, "reduction: expected Mean, Sum or None"),
    };

    private static Tensor Check(Tensor? t, string name) => t ?? throw new ArgumentNullException(name);

    /// <summary>Cross-entropy of logits [N, C] against int64 class indices [N] (or class probabilities [N, C]), with optional label smoothing.</summary>
    /// <param name="input">Unnormalised scores [N, C].</param>
    /// <param name="target">Class indices (int64) [N], or probabilities [N, C].</param>
    /// <param name="labelSmoothing">ε in [0, 1): the target becomes (1 − ε)·onehot + ε/C.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor CrossEntropy(Tensor input, Tensor target, double labelSmoothing = 0.0, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.crossEntropyWith(labelSmoothing, ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Negative log-likelihood of log-probabilities [N, C] against int64 class indices [N].</summary>
    /// <param name="input">Log-probabilities [N, C].</param>
    /// <param name="target">Class indices (int64) [N].</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor Nll(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.nll(ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Mean squared error (x − y)².</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets of the same shape.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor Mse(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.mse(ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Mean absolute error |x − y|.</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets of the same shape.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor L1(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.l1(ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Smooth L1: ½d²/β where |d| &lt; β, else |d| − ½β.</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets of the same shape.</param>
    /// <param name="beta">Threshold between the quadratic and linear parts.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor SmoothL1(Tensor input, Tensor target, double beta = 1.0, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.smoothL1(beta, ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Huber: ½d² where |d| ≤ δ, else δ(|d| − ½δ).</summary>
    /// <param name="input">Predictions.</param>
    /// <param name="target">Targets of the same shape.</param>
    /// <param name="delta">Threshold δ.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor Huber(Tensor input, Tensor target, double delta = 1.0, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.huber(delta, ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));

    /// <summary>Binary cross-entropy on logits, computed stably: max(x, 0) − x·y + log(1 + e^−|x|).</summary>
    /// <param name="input">Logits.</param>
    /// <param name="target">Targets in [0, 1] of the same shape.</param>
    /// <param name="posWeight">Optional weight of positive examples, broadcast over the last dim.</param>
    /// <param name="reduction">Mean, Sum or None.</param>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? posWeight = null, Reduction reduction = Reduction.Mean) =>
        new(CoreLoss.bceWithLogits(posWeight is null ? FSharpOption<Hybrid.Core.Tensor>.None : FSharpOption<Hybrid.Core.Tensor>.Some(posWeight.Core),
                                   ToCore(reduction), Check(input, nameof(input)).Core, Check(target, nameof(target)).Core));
}
