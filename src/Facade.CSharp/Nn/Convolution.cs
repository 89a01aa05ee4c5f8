using CoreInit = Hybrid.Core.Init;
using Hybrid.Core;

namespace Hybrid.Nn;

/// <summary>
/// 2-D convolution over NCHW batches (<c>torch.nn.Conv2d</c>): weight [out, in/groups, kH, kW] and bias [out],
/// initialised as PyTorch does (U(−1/√fan_in, 1/√fan_in) with fan_in = in/groups·kH·kW).
/// </summary>
public sealed class Conv2d : Module
{
    private readonly (int, int) _stride, _padding, _dilation;

    /// <summary>The filters, [outChannels, inChannels/groups, kH, kW].</summary>
    public Parameter Weight { get; }

    /// <summary>The bias, [outChannels], or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Number of groups the channels are split into.</summary>
    public int Groups { get; }

    /// <summary>A convolution with square kernel, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels (filters).</param>
    /// <param name="kernelSize">Kernel height and width.</param>
    /// <param name="stride">Step between windows.</param>
    /// <param name="padding">Zeros added on each side.</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups (in and out must divide by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="dtype">Parameter element type.</param>
    /// <param name="seed">Optional seed of a private generator (else the global one).</param>
    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
                  int groups = 1, bool bias = true, DType dtype = DType.Float32, int? seed = null)
        : this(inChannels, outChannels, (kernelSize, kernelSize), (stride, stride), (padding, padding), (dilation, dilation), groups, bias, dtype, seed) { }

    /// <summary>A convolution with rectangular kernel, stride, padding and dilation.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="outChannels">Output channels (filters).</param>
    /// <param name="kernelSize">Kernel (height, width).</param>
    /// <param name="stride">Step (vertical, horizontal).</param>
    /// <param name="padding">Zeros added (top/bottom, left/right).</param>
    /// <param name="dilation">Spacing between kernel taps.</param>
    /// <param name="groups">Channel groups (in and out must divide by it).</param>
    /// <param name="bias">Whether to learn a bias.</param>
    /// <param name="dtype">Parameter element type.</param>
    /// <param name="seed">Optional seed of a private generator (else the global one).</param>
    public Conv2d(int inChannels, int outChannels, (int, int) kernelSize, (int, int) stride, (int, int) padding, (int, int) dilation,
                  int groups = 1, bool bias = true, DType dtype = DType.Float32, int? seed = null)
    {
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(inChannels), $"Conv2d: channels must be positive (got in {inChannels}, out {outChannels})");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d: groups {groups} must divide inChannels {inChannels} and outChannels {outChannels}", nameof(groups));
        if (kernelSize.Item1 <= 0 || kernelSize.Item2 <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernelSize), $"Conv2d: kernelSize must be positive (got {kernelSize})");
        _stride = stride; _padding = padding; _dilation = dilation;
        Groups = groups;
        var gen = seed is int s ? new Generator(s) : Rng.Global;
        var dt = Tensor.ToCore(dtype);
        var shape = new[] { outChannels, inChannels / groups, kernelSize.Item1, kernelSize.Item2 };
        Weight = new Parameter(CoreInit.torchDefaultWeight(gen, dt, shape), true);
        Bias = bias ? new Parameter(CoreInit.torchDefaultBias(gen, dt, shape[1] * shape[2] * shape[3], outChannels), true) : null;
    }

    /// <summary>(stride, padding, dilation) as (vertical, horizontal) pairs, for the ONNX export.</summary>
    internal ((int, int) Stride, (int, int) Padding, (int, int) Dilation) Geometry => (_stride, _padding, _dilation);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        new(Hybrid.Core.Convolution.conv2d(input.Core, Weight.Core, Bias?.Core!, _stride.Item1, _stride.Item2, _padding.Item1, _padding.Item2, _dilation.Item1, _dilation.Item2, Groups));

    /// <summary>
    /// <c>MaxPool2d(2)(ReLU(this(input)))</c> as one op (what <see cref="Sequential"/> runs for that run of layers): equal in
    /// value and gradient, without the convolution's and the ReLU's outputs in between.
    /// </summary>
    /// <param name="input">[N, C, H, W].</param>
    /// <returns>[N, out, H'/2, W'/2].</returns>
    public Tensor ForwardReluMaxPool2(Tensor input) =>
        new(Hybrid.Core.Convolution.conv2dReluMaxPool2d(input.Core, Weight.Core, Bias?.Core!, _stride.Item1, _stride.Item2, _padding.Item1, _padding.Item2, _dilation.Item1, _dilation.Item2, Groups));
}

/// <summary>Max over each window (<c>torch.nn.MaxPool2d</c>); stride defaults to the kernel size.</summary>
public sealed class MaxPool2d : Module
{
    private readonly (int, int) _kernel, _stride, _padding, _dilation;
    private readonly bool _ceilMode;

    /// <summary>Square max pooling.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows (default: the kernel size).</param>
    /// <param name="padding">Implicit −∞ padding on each side.</param>
    /// <param name="dilation">Spacing between window taps.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    public MaxPool2d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        _kernel = (kernelSize, kernelSize);
        var st = stride ?? kernelSize;
        _stride = (st, st); _padding = (padding, padding); _dilation = (dilation, dilation);
        _ceilMode = ceilMode;
    }

    /// <summary>Whether this is a plain 2×2 pool at stride 2 (no padding or dilation, floor mode), the one a preceding
    /// Conv2d and ReLU fuse with.</summary>
    /// <summary>(kernel, stride, padding, dilation) as (vertical, horizontal) pairs and the ceil mode, for the ONNX export.</summary>
    internal ((int, int) Kernel, (int, int) Stride, (int, int) Padding, (int, int) Dilation, bool CeilMode) Geometry =>
        (_kernel, _stride, _padding, _dilation, _ceilMode);

    internal bool IsPlain2x2 => _kernel == (2, 2) && _stride == (2, 2) && _padding == (0, 0) && _dilation == (1, 1) && !_ceilMode;

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        new(Hybrid.Core.Convolution.maxPool2d(_kernel.Item1, _kernel.Item2, _stride.Item1, _stride.Item2, _padding.Item1, _padding.Item2, _dilation.Item1, _dilation.Item2, _ceilMode, input.Core));
}

/// <summary>Mean over each window (<c>torch.nn.AvgPool2d</c>); stride defaults to the kernel size.</summary>
public sealed class AvgPool2d : Module
{
    private readonly (int, int) _kernel, _stride, _padding;
    private readonly bool _ceilMode, _countIncludePad;

    /// <summary>Square average pooling.</summary>
    /// <param name="kernelSize">Window size.</param>
    /// <param name="stride">Step between windows (default: the kernel size).</param>
    /// <param name="padding">Implicit zero padding on each side.</param>
    /// <param name="ceilMode">Round the output size up instead of down.</param>
    /// <param name="countIncludePad">Count padded zeros in the divisor.</param>
    public AvgPool2d(int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        _kernel = (kernelSize, kernelSize);
        var st = stride ?? kernelSize;
        _stride = (st, st); _padding = (padding, padding);
        _ceilMode = ceilMode; _countIncludePad = countIncludePad;
    }

    /// <summary>(kernel, stride, padding) as (vertical, horizontal) pairs, the ceil mode and whether padding counts, for the ONNX export.</summary>
    internal ((int, int) Kernel, (int, int) Stride, (int, int) Padding, bool CeilMode, bool CountIncludePad) Geometry =>
        (_kernel, _stride, _padding, _ceilMode, _countIncludePad);

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        new(Hybrid.Core.Convolution.avgPool2d(_kernel.Item1, _kernel.Item2, _stride.Item1, _stride.Item2, _padding.Item1, _padding.Item2, _ceilMode, _countIncludePad, input.Core));
}
