using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Xunit;

namespace Hybrid.Facade.Tests;

public class NewtonExactTests
{
    private static readonly Tensor A = Tensor.FromArray(new double[] { 4, 1, 0, 1, 3, 1, 0, 1, 2 }, 3, 3);
    private static readonly Tensor B = Tensor.FromArray(new double[] { 1, -2, 3 }, 3, 1);

    // L(w) = ½ wᵀAw − bᵀw with A symmetric positive definite: minimised at A⁻¹b
    private static Tensor Quadratic(Parameter w) =>
        (w.Reshape(1, 3).Matmul(A).Matmul(w.Reshape(3, 1)) * 0.5 - w.Reshape(1, 3).Matmul(B)).Sum();

    [Fact]
    public void TheExactHessianStepSolvesAQuadraticInOneStep()
    {
        var w = new Parameter(Tensor.FromArray(new double[] { 5, 5, 5 }));
        var newton = new Newton(new[] { w });
        newton.StepExact(() => Quadratic(w));
        // gradient Aw − b is zero at the new point
        var g = A.Matmul(w.Reshape(3, 1)) - B;
        Assert.All(g.ToArray<double>(), v => Assert.True(Math.Abs(v) < 1e-12, $"gradient component {v}"));
    }

    [Fact]
    public void ExactAndDifferenceHessiansTakeTheSameStepOnASmoothLoss()
    {
        Tensor Loss(Parameter p) => (p.Exp() + p * p * p * 0.1).Sum() + (p.Slice(0, 0, 1) * p.Slice(0, 1, 2)).Sum();
        var p1 = new Parameter(Tensor.FromArray(new double[] { 0.3, -0.2 }));
        var p2 = new Parameter(Tensor.FromArray(new double[] { 0.3, -0.2 }));
        new Newton(new[] { p1 }).StepExact(() => Loss(p1));
        var approx = new Newton(new[] { p2 });
        approx.Step(() => { approx.ZeroGrad(); var l = Loss(p2); l.Backward(); return l; });
        var a = p1.ToArray<double>();
        var b = p2.ToArray<double>();
        for (int i = 0; i < a.Length; i++) Assert.True(Math.Abs(a[i] - b[i]) < 1e-6, $"{a[i]} vs {b[i]}");
    }

    [Fact]
    public void StepExactNeedsALossFunction()
    {
        var w = new Parameter(Tensor.FromArray(new double[] { 1 }));
        var e = Assert.Throws<ArgumentNullException>(() => new Newton(new[] { w }).StepExact(null!));
        Assert.Equal("loss", e.ParamName);
    }
}
