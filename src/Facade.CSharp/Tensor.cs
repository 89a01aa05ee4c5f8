using CoreTensor = Hybrid.Core.Tensor;
using CoreDType = Hybrid.Core.DType;
using Hybrid.Core;

namespace Hybrid;

/// <summary>Element type of a tensor.</summary>
public enum DType
{
    /// <summary>32-bit IEEE float (the default, as in PyTorch).</summary>
    Float32,
    /// <summary>64-bit IEEE float.</summary>
    Float64,
    /// <summary>64-bit integer: class labels and indices.</summary>
    Int64,
}

/// <summary>The process-wide random source used when no generator is passed (like <c>torch.manual_seed</c>).</summary>
public static class Rng
{
    private static Generator _global = new(0);

    /// <summary>Reseed the global generator so that creation, initialisation and dropout repeat exactly.</summary>
    /// <param name="seed">The seed.</param>
    public static void ManualSeed(int seed) => _global = new Generator(seed);

    internal static Generator Global => _global;
}

/// <summary>
/// An n-dimensional array of float32, float64 or int64 values that can record the operations applied to it
/// so that <see cref="Backward"/> computes gradients (PyTorch's <c>torch.Tensor</c>).
/// Operations never change a tensor's values; they return new tensors.
/// </summary>
public partial class Tensor
{
    // the core tensor; reading it after Dispose throws (see TensorDispose.cs), so every operation refuses a disposed tensor
    private CoreTensor _core = null!;

    internal CoreTensor Core
    {
        get => _disposed ? throw DisposedError() : _core;
        private protected set => _core = value;
    }

    internal Tensor(CoreTensor core) => Core = core;

    internal static Tensor Wrap(CoreTensor core) => new(core);

    // ---------------------------------------------------------------- conversions

    internal static CoreDType ToCore(DType d) => d switch
    {
        DType.Float32 => CoreDType.Float32,
        DType.Float64 => CoreDType.Float64,
        DType.Int64 => CoreDType.Int64,
        _ => throw new ArgumentOutOfRangeException(nameof(d), d, "dtype: expected Float32, Float64 or Int64"),
    };

    internal static DType FromCore(CoreDType d) =>
        d.IsFloat32 ? DType.Float32 : d.IsFloat64 ? DType.Float64 : DType.Int64;

    internal static int[] ToShape(long[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape, nameof(shape));
        var s = new int[shape.Length];
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0 || shape[i] > int.MaxValue)
                throw new ArgumentException($"{op}: dimension {i} of shape [{string.Join(",", shape)}] is {shape[i]} (expected 0..{int.MaxValue})", nameof(shape));
            s[i] = (int)shape[i];
        }
        return s;
    }

    // ---------------------------------------------------------------- creation

    /// <summary>A float32 tensor holding a copy of <paramref name="data"/> in the given shape (the data's length when no shape is given).</summary>
    /// <param name="data">Values in row-major order.</param>
    /// <param name="shape">Dimensions; their product must equal the data's length.</param>
    public static Tensor FromArray(float[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data, nameof(data));
        return new(Create.ofFloat32(data, shape.Length == 0 ? new[] { data.Length } : ToShape(shape, "FromArray")));
    }

    /// <summary>A float64 tensor holding a copy of <paramref name="data"/> in the given shape (the data's length when no shape is given).</summary>
    /// <param name="data">Values in row-major order.</param>
    /// <param name="shape">Dimensions; their product must equal the data's length.</param>
    public static Tensor FromArray(double[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data, nameof(data));
        return new(Create.ofFloat64(data, shape.Length == 0 ? new[] { data.Length } : ToShape(shape, "FromArray")));
    }

    /// <summary>An int64 tensor (class labels, indices) holding a copy of <paramref name="data"/>.</summary>
    /// <param name="data">Values in row-major order.</param>
    /// <param name="shape">Dimensions; their product must equal the data's length.</param>
    public static Tensor FromArray(long[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data, nameof(data));
        return new(Create.ofInt64(data, shape.Length == 0 ? new[] { data.Length } : ToShape(shape, "FromArray")));
    }

    /// <summary>A scalar (rank-0) tensor.</summary>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Scalar(double value, DType dtype = DType.Float32) => new(Create.scalar(ToCore(dtype), value));

    /// <summary>Zeros of a shape, float32.</summary>
    /// <param name="shape">Dimensions.</param>
    public static Tensor Zeros(params long[] shape) => Zeros(shape, DType.Float32);

    /// <summary>Zeros of a shape and dtype.</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Zeros(long[] shape, DType dtype) => new(Create.zeros(ToCore(dtype), ToShape(shape, "Zeros")));

    /// <summary>Ones of a shape, float32.</summary>
    /// <param name="shape">Dimensions.</param>
    public static Tensor Ones(params long[] shape) => Ones(shape, DType.Float32);

    /// <summary>Ones of a shape and dtype.</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Ones(long[] shape, DType dtype) => new(Create.ones(ToCore(dtype), ToShape(shape, "Ones")));

    /// <summary>A shape filled with one value.</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="value">The fill value.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Full(long[] shape, double value, DType dtype = DType.Float32) => new(Create.full(ToCore(dtype), ToShape(shape, "Full"), value));

    /// <summary>Standard-normal values from the global generator (see <see cref="Rng.ManualSeed"/>), float32.</summary>
    /// <param name="shape">Dimensions.</param>
    public static Tensor Randn(params long[] shape) => Randn(shape, DType.Float32);

    /// <summary>Standard-normal values of a dtype, from <paramref name="seed"/>'s own generator when given, else the global one.</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="seed">Optional seed for a private generator.</param>
    public static Tensor Randn(long[] shape, DType dtype, int? seed = null) =>
        new(Create.randn(seed is int s ? new Generator(s) : Rng.Global, ToCore(dtype), ToShape(shape, "Randn")));

    /// <summary>Uniform values in [0, 1) from the global generator, float32.</summary>
    /// <param name="shape">Dimensions.</param>
    public static Tensor Rand(params long[] shape) => Rand(shape, DType.Float32);

    /// <summary>Uniform values in [0, 1) of a dtype, from <paramref name="seed"/>'s own generator when given.</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="seed">Optional seed for a private generator.</param>
    public static Tensor Rand(long[] shape, DType dtype, int? seed = null) =>
        new(Create.rand(seed is int s ? new Generator(s) : Rng.Global, ToCore(dtype), ToShape(shape, "Rand")));

    /// <summary>start, start + step, ... below end (<c>torch.arange</c>).</summary>
    /// <param name="start">First value.</param>
    /// <param name="end">Exclusive bound.</param>
    /// <param name="step">Increment (nonzero).</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Arange(double start, double end, double step = 1.0, DType dtype = DType.Float32) =>
        new(Create.arange(ToCore(dtype), start, end, step));

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive.</summary>
    /// <param name="start">First value.</param>
    /// <param name="end">Last value.</param>
    /// <param name="steps">Number of values.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Linspace(double start, double end, int steps, DType dtype = DType.Float32) =>
        new(Create.linspace(ToCore(dtype), start, end, steps));

    /// <summary>The n x n identity matrix.</summary>
    /// <param name="n">Size.</param>
    /// <param name="dtype">Element type.</param>
    public static Tensor Eye(int n, DType dtype = DType.Float32) => new(Create.eye(ToCore(dtype), n));

    /// <summary>Zeros with this tensor's shape and dtype.</summary>
    public Tensor ZerosLike() => new(Create.zerosLike(Core));

    /// <summary>Ones with this tensor's shape and dtype.</summary>
    public Tensor OnesLike() => new(Create.onesLike(Core));

    // ---------------------------------------------------------------- properties

    /// <summary>Dimensions, row-major.</summary>
    public long[] Shape => Array.ConvertAll(Core.Shape, d => (long)d);

    /// <summary>Element type.</summary>
    public DType DType => FromCore(Core.DType);

    /// <summary>The device holding the values ("cpu", "cuda:0", "ilgpu-cpu:0").</summary>
    public string Device => Core.Device.ToString();

    /// <summary>A copy on another device (<c>torch.Tensor.to</c>); this tensor itself when it is already there.
    /// Differentiable: the gradient flows back to this tensor's device.</summary>
    /// <param name="device">"cpu", "cuda", "cuda:N", "opencl:N" or "ilgpu-cpu" (ILGPU's CPU emulator: slow, for tests).</param>
    /// <exception cref="ArgumentException">The name is not a device, or the device is absent.</exception>
    public Tensor To(string device)
    {
        ArgumentNullException.ThrowIfNull(device, nameof(device));
        var d = Hybrid.Core.Devices.parse(device);
        return d.Equals(Core.Device) ? this : Wrap(Hybrid.Core.Devices.toDevice(d, Core));
    }

    /// <summary>Number of elements.</summary>
    public long Numel => Core.Numel;

    /// <summary>Rank (number of dimensions).</summary>
    public int Dim => Core.Rank;

    /// <summary>Whether operations on this tensor are recorded so that gradients reach it. Settable on leaves.</summary>
    public bool RequiresGrad
    {
        get => Core.RequiresGrad;
        set => Core.RequiresGrad = value;
    }

    /// <summary>The accumulated gradient (null until a backward pass reaches this tensor), settable as <c>p.grad = ...</c> in PyTorch.</summary>
    public Tensor? Grad
    {
        get => Core.Grad is null ? null : new Tensor(Core.Grad);
        set
        {
            if (value is not null && !value.Core.Shape.AsSpan().SequenceEqual(Core.Shape))
                throw new ArgumentException($"Grad: a gradient of shape [{string.Join(",", value.Shape)}] does not match the tensor's shape [{string.Join(",", Shape)}]", nameof(value));
            Core.Grad = value?.Core;
        }
    }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool IsLeaf => Core.IsLeaf;

    // ---------------------------------------------------------------- values

    /// <summary>A copy of the values as float, double or long.</summary>
    /// <typeparam name="T"><see cref="float"/>, <see cref="double"/> or <see cref="long"/>.</typeparam>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return (T[])(object)Core.ToFloat32Array();
        if (typeof(T) == typeof(double)) return (T[])(object)Core.ToFloat64Array();
        if (typeof(T) == typeof(long)) return (T[])(object)Core.ToInt64Array();
        throw new NotSupportedException($"ToArray: element type {typeof(T).Name} is not supported (expected float, double or long)");
    }

    /// <summary>The value of a one-element tensor.</summary>
    /// <typeparam name="T"><see cref="float"/>, <see cref="double"/> or <see cref="long"/>.</typeparam>
    public T Item<T>() where T : unmanaged
    {
        if (Core.Numel != 1)
            throw new InvalidOperationException($"Item: tensor of shape [{string.Join(",", Shape)}] has {Numel} elements (expected 1)");
        return ToArray<T>()[0];
    }

    // ---------------------------------------------------------------- autograd

    /// <summary>Accumulate the gradient of this tensor into the <see cref="Grad"/> of every leaf that requires grad.</summary>
    /// <param name="gradient">The output gradient; required unless this tensor has one element.</param>
    /// <param name="retainGraph">Keep the graph so that backward can run through it again.</param>
    /// <param name="createGraph">Record the backward pass, so that gradients can be differentiated again.</param>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false) =>
        Tape.backwardWith(Core, gradient?.Core!, retainGraph || createGraph, createGraph);

    /// <summary>A new leaf with the same values and no history.</summary>
    public Tensor Detach() => new(new CoreTensor(Core.Raw));

    /// <summary>Disable recording until the returned scope is disposed (<c>torch.no_grad()</c>).</summary>
    public static IDisposable NoGrad() => GradMode.NoGrad();

    /// <summary>Turn on gradient tracking for this leaf and return it (<c>requires_grad_()</c>).</summary>
    /// <param name="requiresGrad">The new flag.</param>
    public Tensor RequiresGrad_(bool requiresGrad = true)
    {
        RequiresGrad = requiresGrad;
        return this;
    }

    // ---------------------------------------------------------------- arithmetic

    /// <summary>Elementwise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => new(a.Core + b.Core);
    /// <summary>Elementwise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => new(a.Core - b.Core);
    /// <summary>Elementwise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => new(a.Core * b.Core);
    /// <summary>Elementwise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => new(a.Core / b.Core);
    /// <summary>Negation.</summary>
    public static Tensor operator -(Tensor a) => new(-a.Core);
    /// <summary>Add a scalar.</summary>
    public static Tensor operator +(Tensor a, double c) => new(a.Core + c);
    /// <summary>Add a scalar.</summary>
    public static Tensor operator +(double c, Tensor a) => new(c + a.Core);
    /// <summary>Subtract a scalar.</summary>
    public static Tensor operator -(Tensor a, double c) => new(a.Core - c);
    /// <summary>Subtract from a scalar.</summary>
    public static Tensor operator -(double c, Tensor a) => new(c - a.Core);
    /// <summary>Multiply by a scalar.</summary>
    public static Tensor operator *(Tensor a, double c) => new(a.Core * c);
    /// <summary>Multiply by a scalar.</summary>
    public static Tensor operator *(double c, Tensor a) => new(c * a.Core);
    /// <summary>Divide by a scalar.</summary>
    public static Tensor operator /(Tensor a, double c) => new(a.Core / c);
    /// <summary>Divide a scalar.</summary>
    public static Tensor operator /(double c, Tensor a) => new(c / a.Core);
}
