using Hybrid;
using Xunit;

namespace Hybrid.Facade.Tests;

// Expected values: analytic where stated, otherwise torch 1.13 (torch.autograd.functional, float64).
public class AutogradTests
{
    private static Tensor D(params double[] v) => Tensor.FromArray(v);

    private static void Close(double[] expected, Tensor actual, double tol = 1e-12)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * Math.Max(1, Math.Abs(expected[i])), $"at {i}: expected {expected[i]}, got {a[i]}");
    }

    // f(x) = Σ sin(x)·eˣ + x₀x₁²
    private static Tensor F(Tensor x) => (x.Sin() * x.Exp()).Sum() + (x.Slice(0, 0, 1) * x.Slice(0, 1, 2).Square()).Sum();

    [Fact]
    public void GradOfACubicIsThreeXSquared()
    {
        var g = Autograd.Grad(x => x.Pow(3).Sum(), D(1, -2, 0.5));
        Close(new[] { 3.0, 12.0, 0.75 }, g);
        Assert.False(g.RequiresGrad);
    }

    [Fact]
    public void GradWithSeveralInputsGivesOneGradientEach()
    {
        // f(a, b) = Σ a·b + Σ a²: ∂f/∂a = b + 2a, ∂f/∂b = a
        var gs = Autograd.Grad(xs => (xs[0] * xs[1]).Sum() + xs[0].Square().Sum(), new[] { D(1, 2), D(3, 4) });
        Close(new[] { 5.0, 8.0 }, gs[0]);
        Close(new[] { 1.0, 2.0 }, gs[1]);
    }

    [Fact]
    public void GradAndValueReturnBoth()
    {
        var (g, v) = Autograd.GradAndValue(x => x.Square().Sum(), D(3, 4));
        Close(new[] { 6.0, 8.0 }, g);
        Assert.Equal(25.0, v.Item<double>());
    }

    [Fact]
    public void HessianMatchesTorch()
    {
        var h = Autograd.Hessian(F, D(0.3, -0.7));
        Assert.Equal(new long[] { 2, 2 }, h.Shape);
        Close(new[] { 2.5791387480898718, -1.4, -1.4, 1.3596187798503077 }, h);
    }

    [Fact]
    public void HessianOfAMatrixFunctionHasShapeXShapeTwice()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 0.5, -1 }, 2, 2);
        var h = Autograd.Hessian(X => X.Matmul(X).Tanh().Sum(), x);
        Assert.Equal(new long[] { 2, 2, 2, 2 }, h.Shape);
        // torch: hessian(...)[0, 1]
        var block = h.Select(0, 0).Select(0, 1);
        Close(new[] { 0.863781312572887, -0.06810934371355648, -0.13113572514789706, 1.136218687427113 }, block);
    }

    [Fact]
    public void HessianBlocksOfSeveralInputsMatchTorch()
    {
        static Tensor K(Tensor[] x) => (x[0].Unsqueeze(1) * x[1].Unsqueeze(0)).Exp().Sum() * 0.01 + x[0].Square().Sum() * x[1].Sum();
        var h = Autograd.Hessian(K, new[] { D(1, 2), D(3, -1, 0.5) });
        Assert.Equal(new long[] { 2, 2 }, h[0][0].Shape);
        Assert.Equal(new long[] { 2, 3 }, h[0][1].Shape);
        Assert.Equal(new long[] { 3, 2 }, h[1][0].Shape);
        Assert.Equal(new long[] { 3, 3 }, h[1][1].Shape);
        Close(new[] { 6.8154989206753545, 0.0, 0.0, 41.316740471749675 }, h[0][0]);
        Close(new[] { 2.8034214769275065, 2.0, 2.024730819060502, 32.240015544491456, 3.998646647167634, 4.054365636569181 }, h[0][1]);
        Close(new[] { 2.8034214769275065, 32.240015544491456, 2.0, 3.998646647167634, 2.024730819060502, 4.054365636569181 }, h[1][0]);
        Close(new[] { 16.338007108941284, 0, 0, 0, 0.009092205741178932, 0, 0, 0, 0.1252184858453631 }, h[1][1]);

        var (value, hv) = Autograd.Hvp(K, new[] { D(1, 2), D(3, -1, 0.5) }, new[] { D(1, 0), D(0, 1, 2) });
        Assert.True(Math.Abs(value.Item<double>() - 16.783845482394902) < 1e-12);
        Close(new[] { 12.864960558796358, 12.107377920305996 }, hv[0]);
        Close(new[] { 2.803421476927507, 2.009092205741179, 2.275167790751228 }, hv[1]);
    }

    [Fact]
    public void HvpMatchesTorch()
    {
        var (value, hv) = Autograd.Hvp(F, D(0.3, -0.7), D(1, 2));
        Assert.True(Math.Abs(value.Item<double>() - 0.226001517853762) < 1e-12);
        Close(new[] { -0.220861251910128, 1.319237559700615 }, hv);
    }

    [Fact]
    public void JacobianMatchesTorch()
    {
        static Tensor G(Tensor x) => Tensor.Stack(new[] { x.Slice(0, 0, 1) * x.Slice(0, 1, 2), x.Slice(0, 0, 1).Sin(), x.Slice(0, 1, 2).Pow(3) }).Reshape(3);
        var j = Autograd.Jacobian(G, D(0.3, -0.7));
        Assert.Equal(new long[] { 3, 2 }, j.Shape);
        Close(new[] { -0.7, 0.3, 0.955336489125606, 0.0, 0.0, 1.4699999999999998 }, j);
    }

    [Fact]
    public void JacobianOfAMatrixProductHasShapeOutTimesIn()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 0.5, -1 }, 2, 2);
        var j = Autograd.Jacobian(X => X.Matmul(X), x);
        Assert.Equal(new long[] { 2, 2, 2, 2 }, j.Shape);
        // ∂(X²)[1,0]/∂X = [[X₁₀, 0], [X₀₀ + X₁₁... ]]: torch gives [0.5, 0, 0, 0.5]
        Close(new[] { 0.5, 0.0, 0.0, 0.5 }, j.Select(0, 1).Select(0, 0));
    }

    [Fact]
    public void VjpIsTheTransposedJacobianTimesV()
    {
        var x = D(1, 2, 3);
        var (y, vjp) = Autograd.Vjp(t => t.Square(), x, D(1, 10, 100));
        Close(new[] { 1.0, 4.0, 9.0 }, y);
        Close(new[] { 2.0, 40.0, 600.0 }, vjp);
    }

    [Fact]
    public void AnInputTheFunctionIgnoresGetsZeros()
    {
        var gs = Autograd.Grad(xs => xs[0].Square().Sum(), new[] { D(1, 2), D(5, 6, 7) });
        Close(new[] { 0.0, 0.0, 0.0 }, gs[1]);
        // a linear function: the Hessian is zero
        Close(new double[4], Autograd.Hessian(x => x.Sum() * 3.0, D(1, 2)));
        Close(new double[2], Autograd.Hvp(x => x.Sum() * 3.0, D(1, 2), D(1, 1)).Hvp);
    }

    [Fact]
    public void CreateGraphLetsTheResultBeDifferentiatedAgain()
    {
        // g(x) = ∇(Σx³) = 3x²; differentiating Σ g again gives 6x
        var x = D(1, 2).RequiresGrad_();
        var g = Autograd.Grad(t => t.Pow(3).Sum(), x, createGraph: true);
        Assert.True(g.RequiresGrad);
        g.Sum().Backward();
        Close(new[] { 6.0, 12.0 }, x.Grad!);
    }

    [Fact]
    public void WithoutCreateGraphTheCallersGraphIsUntouched()
    {
        var w = D(1, 2).RequiresGrad_();
        var x = w * 2.0;
        var h = Autograd.Hessian(t => t.Pow(3).Sum(), x);
        Close(new[] { 12.0, 0, 0, 24.0 }, h);
        Assert.False(h.RequiresGrad);
        // x's graph to w still works afterwards
        x.Sum().Backward();
        Close(new[] { 2.0, 2.0 }, w.Grad!);
    }

    [Fact]
    public void TorchStyleGradOfOutputsWithRespectToInputs()
    {
        var a = D(1, 2).RequiresGrad_();
        var b = D(3, 4).RequiresGrad_();
        var y = (a * b).Sum();
        var gs = Autograd.Grad(y, new[] { a, b });
        Close(new[] { 3.0, 4.0 }, gs[0]);
        Close(new[] { 1.0, 2.0 }, gs[1]);
        Assert.Null(a.Grad);
        // a non-scalar output with gradOutput
        var z = a.Square();
        Close(new[] { 2.0, 40.0 }, Autograd.Grad(z, a, D(1, 10)));
    }

    [Fact]
    public void BadInputIsRejectedWithAMessage()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Autograd.Hessian(x => x.Square(), D(1, 2)));
        Assert.Contains("single value", e.Message);
        var v = Assert.Throws<ArgumentException>(() => Autograd.Hvp(x => x.Sum(), D(1, 2), D(1, 2, 3)));
        Assert.Contains("does not match", v.Message);
        Assert.Throws<ArgumentNullException>(() => Autograd.Grad((Func<Tensor, Tensor>)null!, D(1)));
        var i = Assert.Throws<ArgumentException>(() => Autograd.Grad(x => x.Sum(), Tensor.FromArray(new long[] { 1, 2 })));
        Assert.Contains("float32 or float64", i.Message);
    }
}
