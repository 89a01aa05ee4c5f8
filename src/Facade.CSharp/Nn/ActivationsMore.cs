using Hybrid.Core;

namespace Hybrid.Nn;

/// <summary>x·σ(x), the sigmoid-weighted linear unit (<c>torch.nn.SiLU</c>).</summary>
public sealed class SiLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.silu(input.Core));
}

/// <summary>x·tanh(softplus(x)) (<c>torch.nn.Mish</c>).</summary>
public sealed class Mish : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.mish(input.Core));
}

/// <summary>λ·elu(x, α) with the self-normalising constants α ≈ 1.6733, λ ≈ 1.0507 (<c>torch.nn.SELU</c>).</summary>
public sealed class SELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.selu(input.Core));
}

/// <summary>x for x &gt; 0, α(e^(x/α) − 1) otherwise (<c>torch.nn.CELU</c>).</summary>
public sealed class CELU : Module
{
    /// <summary>Create the layer.</summary>
    /// <param name="alpha">α (nonzero; PyTorch's default 1).</param>
    /// <exception cref="ArgumentException">α is zero or NaN.</exception>
    public CELU(double alpha = 1.0)
    {
        if (alpha == 0.0 || double.IsNaN(alpha))
            throw new ArgumentException($"CELU: alpha={alpha} is not allowed (expected a nonzero number)", nameof(alpha));
        Alpha = alpha;
    }

    /// <summary>α.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.celu(Alpha, input.Core));
}

/// <summary>log σ(x), stable for large |x| (<c>torch.nn.LogSigmoid</c>).</summary>
public sealed class LogSigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.logSigmoid(input.Core));
}

/// <summary>x / (1 + |x|) (<c>torch.nn.Softsign</c>).</summary>
public sealed class Softsign : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.softsign(input.Core));
}

/// <summary>Clamp into [minVal, maxVal]; the gradient is 1 strictly inside and 0 at the bounds (<c>torch.nn.Hardtanh</c>).</summary>
public sealed class Hardtanh : Module
{
    /// <summary>Create the layer.</summary>
    /// <param name="minVal">Lower bound (PyTorch's default −1).</param>
    /// <param name="maxVal">Upper bound (PyTorch's default 1).</param>
    /// <exception cref="ArgumentException">The bounds are out of order or NaN.</exception>
    public Hardtanh(double minVal = -1.0, double maxVal = 1.0)
    {
        if (!(minVal <= maxVal))
            throw new ArgumentException($"Hardtanh: minVal={minVal} and maxVal={maxVal} are not ordered (expected minVal <= maxVal)", nameof(minVal));
        MinVal = minVal;
        MaxVal = maxVal;
    }

    /// <summary>Lower bound.</summary>
    public double MinVal { get; }
    /// <summary>Upper bound.</summary>
    public double MaxVal { get; }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.hardtanh(MinVal, MaxVal, input.Core));
}

/// <summary>x·relu6(x + 3)/6 (<c>torch.nn.Hardswish</c>).</summary>
public sealed class Hardswish : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.hardswish(input.Core));
}

/// <summary>softmax(−x) along a dim (<c>torch.nn.Softmin</c>).</summary>
/// <param name="dim">The dim whose entries sum to one.</param>
public sealed class Softmin(int dim = -1) : Module
{
    /// <summary>The dim whose entries sum to one.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Activation.softmin(Dim, input.Core));
}
