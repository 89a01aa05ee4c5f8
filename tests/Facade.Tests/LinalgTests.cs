using Hybrid;
using Xunit;

namespace Hybrid.Facade.Tests;

// Expected values from torch 1.13 (float64), the cases of tests/Properties/golden/make_linalg.py.
public class LinalgTests
{
    private static readonly double[] AData = { 4.0, 1.0, -0.5, 0.3, 3.0, 0.7, -0.2, 0.4, 2.5 };
    private static readonly double[] SData = { 5.0, 1.0, 0.5, 1.0, 4.0, -0.3, 0.5, -0.3, 3.0 };
    private static readonly double[] TData = { 1.0, 2.0, 3.0, -1.0, 0.5, 0.7, -2.0, 1.5 };

    private static Tensor A() => Tensor.FromArray(AData, 3, 3);
    private static Tensor S() => Tensor.FromArray(SData, 3, 3);
    private static Tensor T() => Tensor.FromArray(TData, 4, 2);

    private static void Close(double[] expected, Tensor actual, double tol = 1e-10)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"at {i}: expected {expected[i]}, got {a[i]}");
    }

    [Fact]
    public void SolveMatchesTorch()
    {
        var b = Tensor.FromArray(new[] { 1.0, -2.0, 0.5, 3.0, -1.0, 0.25 }, 3, 2);
        var x = Linalg.Solve(A(), b);
        Assert.Equal(new long[] { 3, 2 }, x.Shape);
        Close(new[] { 0.1328266377126312, -0.7958740499457111, 0.25370973579442635, 1.1126492942453854, -0.4299674267100977, -0.14169381107491857 }, x);
        // a vector right-hand side gives a vector
        Assert.Equal(new long[] { 3 }, Linalg.Solve(A(), Tensor.FromArray(new[] { 1.0, 2.0, 3.0 })).Shape);
    }

    [Fact]
    public void InvDetAndSlogdetMatchTorch()
    {
        var inv = new[] { 0.2613101701049584, -0.09771986970684039, 0.07962359753890698, -0.03221136445892146, 0.3583061889250814, -0.10676800579080709, 0.026058631921824102, -0.06514657980456026, 0.42345276872964166 };
        Close(inv, Linalg.Inv(A()));
        Close(inv, A().Inverse());
        Close(new[] { 27.63 }, Linalg.Det(A()));
        Close(new[] { 27.63 }, A().Det());
        var (sign, logAbs) = Linalg.Slogdet(A());
        Close(new[] { 1.0 }, sign);
        Close(new[] { 3.318902138935325 }, logAbs);
    }

    [Fact]
    public void TheDeterminantsGradientMatchesTorch()
    {
        var a = A().RequiresGrad_();
        (a.Det() * 0.7).Backward();
        Close(new[] { 5.053999999999999, -0.6229999999999999, 0.5039999999999999, -1.8899999999999997, 6.929999999999999, -1.2599999999999996, 1.5399999999999996, -2.0649999999999995, 8.189999999999998 }, a.Grad!);
    }

    [Fact]
    public void CholeskyMatchesTorchAndItsGradientIsSymmetric()
    {
        var s = S().RequiresGrad_();
        var l = Linalg.Cholesky(s);
        Close(new[] { 2.23606797749979, 0.0, 0.0, 0.4472135954999579, 1.9493588689617927, 0.0, 0.22360679774997896, -0.20519567041703082, 1.7052550357181488 }, l);
        // torch's loss: Σ w ⊙ L with w = 0.1·(i mod 7 + 1)
        var w = Tensor.FromArray(Enumerable.Range(0, 9).Select(i => 0.1 * (i % 7 + 1)).ToArray(), 3, 3);
        (w * l).Sum().Backward();
        Close(new[] { -0.004057143724213733, 0.05994108378563519, 0.14429606742084597, 0.059941083785635174, 0.1315970127169291, 0.03182232770970587, 0.14429606742084594, 0.03182232770970587, 0.058642254621981596 }, s.Grad!);
        Close(l.Transpose(0, 1).ToArray<double>(), Linalg.Cholesky(S(), upper: true));
        Close(Linalg.Solve(S(), Tensor.FromArray(new[] { 1.0, 2.0, 3.0 })).ToArray<double>(), Linalg.CholeskySolve(Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }), l.Detach()));
    }

    [Fact]
    public void EighSvdQrAndLstsqMatchTorch()
    {
        var (values, vectors) = Linalg.Eigh(S());
        Close(new[] { 2.622638683446024, 3.7309975934034747, 5.6463637231504995 }, values);
        Assert.Equal(new long[] { 3, 3 }, vectors.Shape);
        var (u, sv, vh) = Linalg.Svd(T(), fullMatrices: false);
        Close(new[] { 3.9856686605911316, 2.470717573495947 }, sv);
        Assert.Equal(new long[] { 4, 2 }, u.Shape);
        Assert.Equal(new long[] { 2, 2 }, vh.Shape);
        Assert.Equal(new long[] { 4, 4 }, Linalg.Svd(T()).U.Shape);
        var (q, r) = Linalg.Qr(T());
        Assert.Equal(new long[] { 4, 2 }, q.Shape);
        Close(T().ToArray<double>(), q.Matmul(r));
        Assert.Equal(new long[] { 4, 4 }, Linalg.Qr(T(), "complete").Q.Shape);
        var x = Linalg.Lstsq(T(), Tensor.FromArray(new[] { 1.0, 2.0, 0.5, -1.0 }, 4, 1));
        Close(new[] { 0.6950166284255846, 0.1791745082368713 }, x);
    }

    [Fact]
    public void BatchesAndFloat32Work()
    {
        var batch = Tensor.Stack(new[] { A(), S() });
        Close(new[] { 27.63, Linalg.Det(S()).Item<double>() }, Linalg.Det(batch));
        var f = Tensor.FromArray(AData.Select(v => (float)v).ToArray(), 3, 3);
        var d = f.Det();
        Assert.Equal(DType.Float32, d.DType);
        Assert.True(Math.Abs(d.Item<float>() - 27.63f) < 1e-4f);
    }

    [Fact]
    public void BadInputIsRejectedWithAMessage()
    {
        var singular = Tensor.FromArray(new[] { 1.0, 2.0, 2.0, 4.0 }, 2, 2);
        var e = Assert.Throws<InvalidOperationException>(() => Linalg.Inv(singular));
        Assert.Contains("singular", e.Message);
        var c = Assert.Throws<InvalidOperationException>(() => Linalg.Cholesky(Tensor.FromArray(new[] { 1.0, 2.0, 2.0, 1.0 }, 2, 2)));
        Assert.Contains("not positive definite", c.Message);
        Assert.Contains("order 2", c.Message);
        var (_, info) = Linalg.CholeskyEx(Tensor.FromArray(new[] { 1.0, 2.0, 2.0, 1.0 }, 2, 2));
        Assert.Equal(2L, info.Item<long>());
        var s = Assert.Throws<ArgumentException>(() => Linalg.Det(Tensor.FromArray(new[] { 1.0, 2.0, 3.0 })));
        Assert.Contains("at least 2 dimensions", s.Message);
        var m = Assert.Throws<ArgumentException>(() => Linalg.Qr(T(), "r"));
        Assert.Contains("mode 'r'", m.Message);
        Assert.Throws<ArgumentNullException>(() => Linalg.Solve(null!, A()));
    }
}
