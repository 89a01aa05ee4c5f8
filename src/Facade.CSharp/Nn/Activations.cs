using Hybrid.Core;

namespace Hybrid.Nn;

/// <summary>max(x, 0) (<c>torch.nn.ReLU</c>).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.relu(input.Core));
}

/// <summary>x for x &gt; 0, slope·x otherwise (<c>torch.nn.LeakyReLU</c>).</summary>
/// <param name="negativeSlope">Slope for negative inputs (PyTorch's default 0.01).</param>
public sealed class LeakyReLU(double negativeSlope = 0.01) : Module
{
    /// <summary>Slope for negative inputs.</summary>
    public double NegativeSlope { get; } = negativeSlope;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.leakyRelu(NegativeSlope, input.Core));
}

/// <summary>Hyperbolic tangent (<c>torch.nn.Tanh</c>).</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.tanh(input.Core));
}

/// <summary>1 / (1 + e^−x) (<c>torch.nn.Sigmoid</c>).</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.sigmoid(input.Core));
}

/// <summary>x·Φ(x), the exact (erf-based) Gaussian error linear unit (<c>torch.nn.GELU</c>).</summary>
public sealed class GELU : Module
{
    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.gelu(input.Core));
}

/// <summary>x for x &gt; 0, α(eˣ − 1) otherwise (<c>torch.nn.ELU</c>).</summary>
/// <param name="alpha">Scale of the negative part.</param>
public sealed class ELU(double alpha = 1.0) : Module
{
    /// <summary>Scale of the negative part.</summary>
    public double Alpha { get; } = alpha;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Pointwise.elu(Alpha, input.Core));
}

/// <summary>Softmax along a dim (<c>torch.nn.Softmax</c>).</summary>
/// <param name="dim">The dim whose entries sum to one.</param>
public sealed class Softmax(int dim = -1) : Module
{
    /// <summary>The dim whose entries sum to one.</summary>
    public int Dim { get; } = dim;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Hybrid.Core.Softmax.softmax(Dim, input.Core));
}
