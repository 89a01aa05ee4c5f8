using Hybrid;
using Hybrid.Nn;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Issue 17's tensor members and activation modules as a C# user calls them; values from torch 1.13 (float64).</summary>
public class TensorMathTests
{
    private static Tensor F64(params double[] v) => Tensor.FromArray(v);

    private static void Close(double[] expected, double[] actual, double tol = 1e-13)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol * Math.Max(1.0, Math.Abs(expected[i])), $"at {i}: {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void PointwiseMembersMatchTorch()
    {
        var x = F64(-0.9, 1e-10, 2.2);
        // torch.log1p / torch.expm1 / torch.atan / torch.asinh of the same values
        Close(new[] { -2.302585092994046, 9.999999999500001e-11, 1.1631508098056809 }, x.Log1p().ToArray<double>());
        Close(new[] { -0.5934303402594009, 1.00000000005e-10, 8.025013499434122 }, x.Expm1().ToArray<double>());
        Close(new[] { -0.7328151017865066, 1e-10, 1.1441688336680205 }, x.Atan().ToArray<double>());
        Close(new[] { -0.8088669356527824, 1e-10, 1.529660495090404 }, x.Asinh().ToArray<double>());
        Close(new[] { -1.0, 1.0, 1.0 }, x.Sign().ToArray<double>());
        Close(new[] { 0.0, 1e-10, 2.2 }, x.Clamp(0.0).ToArray<double>());
        Close(new[] { -0.9, 1e-10, 1.0 }, x.Clamp(max: 1.0).ToArray<double>());
        Close(new[] { -0.9, 0.0, 0.0 }, x.ClampMax(0.0).ToArray<double>());
        var y = F64(3.0, 4.0, -1.0);
        Close(new[] { 3.132091952673165, 4.0, 2.4166091947189146 }, x.Hypot(y).ToArray<double>());
        Close(new[] { -0.2914567944778671, 2.5e-11, 1.9974238199217726 }, x.Atan2(y).ToArray<double>());
        Assert.Equal(new[] { 3.0, 4.0, -1.0 }, x.Lerp(y, 1.0).ToArray<double>()); // exactly the end point at weight 1
        Close(new[] { -0.9 + 0.5 * 3.0 * 3.0, 1e-10 + 0.5 * 16.0, 2.2 + 0.5 }, x.Addcmul(y, y, 0.5).ToArray<double>());
        Close(new[] { -0.9, 7.0, 7.0 }, x.MaskedFill(F64(0, 1, 1), 7.0).ToArray<double>());
    }

    [Fact]
    public void OneSidedClampNeedsABound()
    {
        var e = Assert.Throws<ArgumentException>(() => F64(1.0).Clamp());
        Assert.Contains("min and max", e.Message);
    }

    [Fact]
    public void SignHasAZeroGradient()
    {
        var x = F64(-2.0, 3.0).RequiresGrad_();
        x.Sign().Sum().Backward();
        Assert.Equal(new double[] { 0, 0 }, x.Grad!.ToArray<double>());
    }

    [Fact]
    public void AmaxSplitsTheGradientOfTies()
    {
        var x = F64(1, 3, 3, -1, 3, 0).RequiresGrad_();
        var m = x.Amax();
        Assert.Equal(3.0, m.Item<double>());
        m.Backward();
        Close(new[] { 0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3, 0 }, x.Grad!.ToArray<double>(), 1e-15);
        Assert.Equal(new double[] { 3, 3 }, Tensor.FromArray(new double[] { 1, 3, 3, -1, 3, 0 }, 2, 3).Amax(1).ToArray<double>());
        Assert.Equal(new double[] { -1 }, Tensor.FromArray(new double[] { 1, 3, 3, -1, 3, 0 }, 2, 3).Amin(new[] { 0, 1 }, keepDim: true).Reshape(1).ToArray<double>());
    }

    [Fact]
    public void ProdSendsTheProductOfTheOthersToASingleZero()
    {
        var x = F64(2.0, 0.0, 3.0, -1.5).RequiresGrad_();
        var p = x.Prod();
        Assert.Equal(0.0, p.Item<double>());
        p.Backward();
        Assert.Equal(new[] { 0.0, -9.0, 0.0, 0.0 }, x.Grad!.ToArray<double>().Select(v => v + 0.0).ToArray());
    }

    [Fact]
    public void ScansSortsAndMedians()
    {
        var x = Tensor.FromArray(new double[] { 3, 1, 3, 2, 1, 0.5 }, 2, 3);
        Assert.Equal(new double[] { 3, 4, 7, 2, 3, 3.5 }, x.Cumsum(1).ToArray<double>());
        Assert.Equal(new double[] { 3, 3, 9, 2, 2, 1 }, x.Cumprod(-1).ToArray<double>());
        Assert.Equal(new double[] { 9, 1 }, x.Prod(1).ToArray<double>());
        var (v, i) = x.Sort(1, descending: true);
        Assert.Equal(new double[] { 3, 3, 1, 2, 1, 0.5 }, v.ToArray<double>());
        Assert.Equal(new long[] { 0, 2, 1, 0, 1, 2 }, i.ToArray<long>());
        var (tv, ti) = x.Topk(2);
        Assert.Equal(new double[] { 3, 3, 2, 1 }, tv.ToArray<double>());
        Assert.Equal(new long[] { 0, 2, 0, 1 }, ti.ToArray<long>());
        var (mv, mi) = x.Median(1);
        Assert.Equal(new double[] { 3, 1 }, mv.ToArray<double>());
        Assert.Equal(new long[] { 0, 1 }, mi.ToArray<long>());
        Assert.Equal(1.0, x.Median().Item<double>());
    }

    [Fact]
    public void ReductionsOverAllElementsMatchTorch()
    {
        var x = Tensor.FromArray(new double[] { -1.7, -0.3, 1e-9, 0.45, 2.2, -1e-12 }, 2, 3);
        // torch.logsumexp(x, (0, 1)), torch.var(x), torch.std(x), torch.norm(x, 3, dim=1)
        Close(new[] { 2.603935385582711 }, x.LogSumExp().ToArray<double>());
        Close(new[] { 1.5904166666233766 }, x.Var().ToArray<double>());
        Close(new[] { 1.2611172295323605 }, x.Std().ToArray<double>());
        Close(new[] { 1.7031084994052677, 2.2062580083544883 }, x.Norm(3, 1).ToArray<double>());
    }

    [Fact]
    public void ActivationModulesMatchTorch()
    {
        var x = F64(-4.0, -3.0, -1.0, 0.0, 0.5, 3.0);
        // torch.nn.SiLU()(x), torch.nn.Hardswish()(x), torch.nn.Hardtanh()(x), torch.nn.CELU(1.3)(x)
        Close(new[] { -0.07194483984836623, -0.14227761953270035, -0.2689414213699951, 0.0, 0.3112296656009273, 2.8577223804672998 }, new SiLU().Forward(x).ToArray<double>());
        Close(new[] { 0.0, 0.0, -0.3333333333333333, 0.0, 0.2916666666666667, 3.0 }, new Hardswish().Forward(x).ToArray<double>());
        Close(new[] { -1.0, -1.0, -1.0, 0.0, 0.5, 1.0 }, new Hardtanh().Forward(x).ToArray<double>());
        Close(new[] { -1.2400688462131502, -1.170662245356684, -0.6976198199994721, 0.0, 0.5, 3.0 }, new CELU(1.3).Forward(x).ToArray<double>());
        foreach (Module m in new Module[] { new Mish(), new SELU(), new LogSigmoid(), new Softsign(), new Softmin(0) })
            Assert.Equal(6, m.Forward(x).ToArray<double>().Length);
        Close(new[] { 1.0 }, new[] { new Softmin(0).Forward(x).Sum().Item<double>() });
        Assert.Throws<ArgumentException>(() => new Hardtanh(1.0, -1.0));
        Assert.Throws<ArgumentException>(() => new CELU(0.0));
    }
}
