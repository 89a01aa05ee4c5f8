using CoreInit = Hybrid.Core.Init;
using Hybrid.Core;

namespace Hybrid.Nn;

/// <summary>y = x Wᵀ + b (<c>torch.nn.Linear</c>), weight [out, in] and bias [out] initialised as PyTorch does: U(−1/√in, 1/√in).</summary>
public sealed class Linear : Module
{
    /// <summary>The weight, shape [outFeatures, inFeatures].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, shape [outFeatures], or null when created with <c>bias: false</c>.</summary>
    public Parameter? Bias { get; }

    /// <summary>Number of input features.</summary>
    public int InFeatures { get; }

    /// <summary>Number of output features.</summary>
    public int OutFeatures { get; }

    /// <summary>A linear layer.</summary>
    /// <param name="inFeatures">Size of each input sample.</param>
    /// <param name="outFeatures">Size of each output sample.</param>
    /// <param name="bias">Whether to learn an additive bias.</param>
    /// <param name="dtype">Parameter element type.</param>
    /// <param name="seed">Optional seed of a private generator for the initial values (else the global one).</param>
    public Linear(int inFeatures, int outFeatures, bool bias = true, DType dtype = DType.Float32, int? seed = null)
    {
        if (inFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(inFeatures), inFeatures, $"Linear: inFeatures must be positive (got {inFeatures})");
        if (outFeatures <= 0) throw new ArgumentOutOfRangeException(nameof(outFeatures), outFeatures, $"Linear: outFeatures must be positive (got {outFeatures})");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var gen = seed is int s ? new Generator(s) : Rng.Global;
        var dt = Tensor.ToCore(dtype);
        Weight = new Parameter(CoreInit.torchDefaultWeight(gen, dt, new[] { outFeatures, inFeatures }), true);
        Bias = bias ? new Parameter(CoreInit.torchDefaultBias(gen, dt, inFeatures, outFeatures), true) : null;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input, nameof(input));
        return new(Hybrid.Core.Linalg.linear(input.Core, Weight.Core, Bias?.Core!));
    }
}

/// <summary>Flattens dims startDim..endDim into one (<c>torch.nn.Flatten</c>, which by default keeps the batch dim).</summary>
public sealed class Flatten : Module
{
    private readonly int _startDim;
    private readonly int _endDim;

    /// <summary>Flatten dims <paramref name="startDim"/> through <paramref name="endDim"/>.</summary>
    /// <param name="startDim">First dim to flatten (default 1, after the batch).</param>
    /// <param name="endDim">Last dim to flatten (default −1, the last).</param>
    public Flatten(int startDim = 1, int endDim = -1)
    {
        _startDim = startDim;
        _endDim = endDim;
    }

    /// <summary>(startDim, endDim) as given (negative counts from the end), for the ONNX export.</summary>
    internal (int Start, int End) Dims => (_startDim, _endDim);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) => new(Reshaping.flatten(_startDim, _endDim, input.Core));
}
