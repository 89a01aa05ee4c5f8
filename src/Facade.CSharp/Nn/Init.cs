using Hybrid.Core;
using CoreInit = Hybrid.Core.Init;

namespace Hybrid.Nn;

/// <summary>Which pass Kaiming initialisation preserves the variance of.</summary>
public enum FanMode
{
    /// <summary>The forward pass (fan_in, the default).</summary>
    FanIn,
    /// <summary>The backward pass (fan_out).</summary>
    FanOut,
}

/// <summary>
/// Weight initialisation (<c>torch.nn.init</c>): each method overwrites a parameter's values in place, as the
/// trailing-underscore functions of PyTorch do, drawing from a private generator when a seed is given, else the global one (<see cref="Rng"/>).
/// </summary>
public static class Init
{
    private static Generator Gen(int? seed) => seed is int s ? new Generator(s) : Rng.Global;

    private static Parameter Set(Parameter p, Hybrid.Core.Tensor value)
    {
        p.SetData(new Tensor(value));
        return p;
    }

    private static int[] ShapeOf(Parameter p) => (p ?? throw new ArgumentNullException(nameof(p))).Core.Shape;

    /// <summary>The recommended gain for a nonlinearity ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu").</summary>
    /// <param name="nonlinearity">Its name.</param>
    /// <param name="param">The negative slope of leaky_relu.</param>
    public static double CalculateGain(string nonlinearity, double param = 0.01) => CoreInit.gain(nonlinearity, param);

    /// <summary>U(a, b).</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="a">Lower bound.</param>
    /// <param name="b">Upper bound.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter Uniform(Parameter p, double a = 0.0, double b = 1.0, int? seed = null) =>
        Set(p, CoreInit.uniform(Gen(seed), p.Core.DType, ShapeOf(p), a, b));

    /// <summary>N(mean, std²).</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="mean">Mean.</param>
    /// <param name="std">Standard deviation.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter Normal(Parameter p, double mean = 0.0, double std = 1.0, int? seed = null) =>
        Set(p, CoreInit.normal(Gen(seed), p.Core.DType, ShapeOf(p), mean, std));

    /// <summary>Xavier/Glorot uniform: U(−a, a), a = gain·√(6/(fan_in + fan_out)).</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="gain">Scale.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter XavierUniform(Parameter p, double gain = 1.0, int? seed = null) =>
        Set(p, CoreInit.xavierUniform(Gen(seed), p.Core.DType, ShapeOf(p), gain));

    /// <summary>Xavier/Glorot normal: N(0, σ²), σ = gain·√(2/(fan_in + fan_out)).</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="gain">Scale.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter XavierNormal(Parameter p, double gain = 1.0, int? seed = null) =>
        Set(p, CoreInit.xavierNormal(Gen(seed), p.Core.DType, ShapeOf(p), gain));

    private static Hybrid.Core.FanMode Mode(FanMode m) => m == FanMode.FanIn ? Hybrid.Core.FanMode.FanIn : Hybrid.Core.FanMode.FanOut;

    /// <summary>Kaiming/He uniform: U(−b, b), b = gain·√(3/fan).</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="a">Negative slope of the rectifier that follows (leaky_relu).</param>
    /// <param name="mode">Fan in or fan out.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter KaimingUniform(Parameter p, double a = 0.0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", int? seed = null) =>
        Set(p, CoreInit.kaimingUniform(Gen(seed), p.Core.DType, ShapeOf(p), a, Mode(mode), nonlinearity));

    /// <summary>Kaiming/He normal: N(0, σ²), σ = gain/√fan.</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="a">Negative slope of the rectifier that follows (leaky_relu).</param>
    /// <param name="mode">Fan in or fan out.</param>
    /// <param name="nonlinearity">The nonlinearity that follows.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter KaimingNormal(Parameter p, double a = 0.0, FanMode mode = FanMode.FanIn, string nonlinearity = "leaky_relu", int? seed = null) =>
        Set(p, CoreInit.kaimingNormal(Gen(seed), p.Core.DType, ShapeOf(p), a, Mode(mode), nonlinearity));

    /// <summary>A (semi-)orthogonal matrix times gain (Saxe et al. 2013), trailing dims flattened.</summary>
    /// <param name="p">The parameter to fill (rank ≥ 2).</param>
    /// <param name="gain">Scale.</param>
    /// <param name="seed">Optional seed.</param>
    public static Parameter Orthogonal(Parameter p, double gain = 1.0, int? seed = null) =>
        Set(p, CoreInit.orthogonal(Gen(seed), p.Core.DType, ShapeOf(p), gain));

    /// <summary>Fill with one value.</summary>
    /// <param name="p">The parameter to fill.</param>
    /// <param name="value">The value.</param>
    public static Parameter Constant(Parameter p, double value) => Set(p, CoreInit.constant(p.Core.DType, ShapeOf(p), value));

    /// <summary>Fill with zeros.</summary>
    /// <param name="p">The parameter to fill.</param>
    public static Parameter Zeros(Parameter p) => Constant(p, 0.0);

    /// <summary>Fill with ones.</summary>
    /// <param name="p">The parameter to fill.</param>
    public static Parameter Ones(Parameter p) => Constant(p, 1.0);
}
