using Hybrid;
using Hybrid.Nn;
using Xunit;

namespace Hybrid.Facade.Tests;

public class TensorTests
{
    [Fact]
    public void FromArrayKeepsValuesAndShape()
    {
        var t = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(DType.Float32, t.DType);
        Assert.Equal("cpu", t.Device);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, t.ToArray<float>());
    }

    [Fact]
    public void FromArrayRejectsAShapeThatDoesNotFit()
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => Tensor.FromArray(new double[] { 1, 2, 3 }, 2, 2));
        Assert.Contains("[2,2]", e.Message);
    }

    [Fact]
    public void BackwardAccumulatesIntoGradUntilCleared()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 3 }).RequiresGrad_();
        var y = x * x * 3.0 + 1.0;
        y.Backward(Tensor.Ones(new long[] { 3 }, DType.Float64));
        Assert.Equal(new double[] { 6, 12, 18 }, x.Grad!.ToArray<double>());
        (x * 2.0).Backward(Tensor.Ones(new long[] { 3 }, DType.Float64));
        Assert.Equal(new double[] { 8, 14, 20 }, x.Grad!.ToArray<double>());
        x.Grad = null;
        Assert.Null(x.Grad);
    }

    [Fact]
    public void NoGradScopeRecordsNothing()
    {
        var x = Tensor.FromArray(new double[] { 1, 2 }).RequiresGrad_();
        Tensor y;
        using (Tensor.NoGrad()) { y = x * 2.0; }
        Assert.False(y.RequiresGrad);
        Assert.True((x * 2.0).RequiresGrad);
    }

    [Fact]
    public void SettingAGradOfAnotherShapeNamesBothShapes()
    {
        var x = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ArgumentException>(() => x.Grad = Tensor.Zeros(3, 2));
        Assert.Contains("[3,2]", e.Message);
        Assert.Contains("[2,3]", e.Message);
    }

    [Fact]
    public void ItemOfAManyElementTensorThrows()
    {
        Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item<float>());
        Assert.Equal(5.0, Tensor.Scalar(5, DType.Float64).Item<double>());
    }

    [Fact]
    public void SequentialRunsConvReluPoolAsOneOpWithTheSameValuesAndGradients()
    {
        // Sequential fuses Conv2d, ReLU, MaxPool2d(2); the same layers applied one by one are the reference
        var model = new Sequential(new Conv2d(2, 4, 3, padding: 1, dtype: DType.Float64, seed: 3), new ReLU(), new MaxPool2d(2),
                                   new Conv2d(4, 3, 3, padding: 1, dtype: DType.Float64, seed: 4), new ReLU(), new MaxPool2d(2), new Flatten());
        var x = Tensor.Randn(new long[] { 3, 2, 9, 8 }, DType.Float64, seed: 5);
        var fused = model.Forward(x);
        var weights = Tensor.Randn(fused.Shape, DType.Float64, seed: 6);
        (fused * weights).Sum().Backward();
        var fusedGrads = model.Parameters().Select(p => p.Grad!.ToArray<double>()).ToArray();
        foreach (var p in model.Parameters()) p.Grad = null;

        var h = x;
        foreach (var layer in model.Layers) h = layer.Forward(h);
        (h * weights).Sum().Backward();
        Assert.Equal(new long[] { 3, 3 * 2 * 2 }, fused.Shape);
        Assert.Equal(h.ToArray<double>(), fused.ToArray<double>());
        var grads = model.Parameters().Select(p => p.Grad!.ToArray<double>()).ToArray();
        Assert.Equal(4, grads.Length);
        for (int i = 0; i < grads.Length; i++)
            for (int j = 0; j < grads[i].Length; j++)
                Assert.Equal(grads[i][j], fusedGrads[i][j], 1e-12);
    }
}
