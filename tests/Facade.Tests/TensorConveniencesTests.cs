using Hybrid;
using Xunit;

namespace Hybrid.Facade.Tests;

public class TensorConveniencesTests
{
    [Fact]
    public void IntArraysBecomeInt64Tensors()
    {
        var t = Tensor.FromArray(new[] { 3, 1, 4, 1, 5, 9 }, 2, 3);
        Assert.Equal(DType.Int64, t.DType);
        Assert.Equal(new long[] { 2, 3 }, t.Shape);
        Assert.Equal(new long[] { 3, 1, 4, 1, 5, 9 }, t.ToArray<long>());
    }

    [Fact]
    public void TwoDimensionalArraysKeepRowsAndColumns()
    {
        var f = Tensor.FromArray(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal(new long[] { 2, 3 }, f.Shape);
        Assert.Equal(DType.Float32, f.DType);
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6 }, f.ToArray<float>());
        var d = Tensor.FromArray(new double[,] { { 1.5 }, { 2.5 } });
        Assert.Equal(new long[] { 2, 1 }, d.Shape);
        Assert.Equal(DType.Float64, d.DType);
        Assert.Equal(new double[] { 1.5, 2.5 }, d.ToArray<double>());
        Assert.Equal(new long[] { 7, 8 }, Tensor.FromArray(new long[,] { { 7, 8 } }).ToArray<long>());
    }

    [Fact]
    public void CreationTakesIntShapes()
    {
        Assert.Equal(new long[] { 2, 3 }, Tensor.Zeros(new[] { 2, 3 }).Shape);
        Assert.Equal(DType.Float64, Tensor.Zeros(new[] { 2 }, DType.Float64).DType);
        Assert.Equal(new float[] { 1, 1 }, Tensor.Ones(new[] { 2 }).ToArray<float>());
        Assert.Equal(new float[] { 7, 7, 7 }, Tensor.Full(new[] { 3 }, 7).ToArray<float>());
        Assert.Equal(new long[] { 4, 5 }, Tensor.Randn(new[] { 4, 5 }, seed: 1).Shape);
        Assert.Equal(new long[] { 4, 5 }, Tensor.Rand(new[] { 4, 5 }).Shape);
    }

    [Fact]
    public void ItemReturnsADoubleWhateverTheDtype()
    {
        Assert.Equal(2.5, Tensor.FromArray(new float[] { 2.5f }).Item());
        Assert.Equal(3.0, Tensor.FromArray(new long[] { 3 }).Item());
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.Zeros(2).Item());
        Assert.Contains("has 2 elements (expected 1)", e.Message);
    }

    [Fact]
    public void IndexerSelectsAndSlicesAsTorch()
    {
        var t = Tensor.FromArray(new double[,] { { 0, 1, 2 }, { 10, 11, 12 } });
        Assert.Equal(11.0, t[1, 1].Item());
        Assert.Empty(t[1, 1].Shape);
        Assert.Equal(new double[] { 1, 11 }, t[.., 1].ToArray<double>());            // a column
        Assert.Equal(new long[] { 2 }, t[.., 1].Shape);
        Assert.Equal(new double[] { 10, 11, 12 }, t[1].ToArray<double>());          // a row
        Assert.Equal(new double[] { 10, 11, 12 }, t[^1].ToArray<double>());
        Assert.Equal(new double[] { 2, 12 }, t[.., -1].ToArray<double>());
        Assert.Equal(new long[] { 2, 2 }, t[.., 1..].Shape);                         // a range keeps its dimension
        Assert.Equal(new double[] { 1, 2, 11, 12 }, t[.., 1..].ToArray<double>());
        Assert.Equal(new double[] { 0, 1 }, t[0, ..^1].ToArray<double>());
        Assert.Contains("dimension 1 of [2,3] has size 3", Assert.Throws<ArgumentOutOfRangeException>(() => t[0, 3]).Message);
        Assert.Contains("3 positions for a tensor of shape [2,3]", Assert.Throws<ArgumentException>(() => t[0, 0, 0]).Message);
    }

    [Fact]
    public void IndexingIsDifferentiable()
    {
        var w = Tensor.FromArray(new double[,] { { 1, 2 }, { 3, 4 } }).RequiresGrad_();
        (w[.., 1] * 3.0).Sum().Backward();
        Assert.Equal(new double[] { 0, 3, 0, 3 }, w.Grad!.ToArray<double>());
    }

    [Fact]
    public void ComparisonsReturnZeroOneMasksInTheOperandsDtype()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4 });
        var b = Tensor.FromArray(new float[] { 4, 2, 2, 1 });
        Assert.Equal(new float[] { 0, 0, 1, 1 }, (a > b).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, 0, 0 }, (a < b).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 1, 1 }, (a >= b).ToArray<float>());
        Assert.Equal(new float[] { 1, 1, 0, 0 }, (a <= b).ToArray<float>());
        Assert.Equal(new float[] { 0, 0, 1, 1 }, (a > 2.5).ToArray<float>());
        Assert.Equal(new float[] { 1, 1, 0, 0 }, (a < 2.5).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 1, 1 }, (a >= 2).ToArray<float>());
        Assert.Equal(new float[] { 1, 1, 0, 0 }, (a <= 2).ToArray<float>());
        Assert.Equal(new float[] { 0, 1, 0, 0 }, a.Eq(2).ToArray<float>());
        Assert.Equal(new float[] { 1, 0, 1, 1 }, a.Ne(2).ToArray<float>());
        Assert.Equal(DType.Float32, (a > b).DType);
        Assert.Equal(2.0, (a > 2.5).Sum().Item());                                // a mask sums to a count
        var labels = Tensor.FromArray(new long[] { 3, 1, 3 });
        Assert.Equal(new long[] { 1, 0, 1 }, labels.Eq(3).ToArray<long>());
        Assert.Equal(new long[] { 1, 0 }, (Tensor.FromArray(new long[] { 5, 0 }) > 0).ToArray<long>());
    }

    [Fact]
    public void ToStringShowsDtypeShapeDeviceAndTheFirstValues()
    {
        Assert.Equal("tensor([1, 2.5, 3], dtype=Float32, shape=[3], device=cpu)", Tensor.FromArray(new float[] { 1, 2.5f, 3 }).ToString());
        Assert.Equal("tensor([0, 1, 2, 3, 4, 5, ... (94 more)], dtype=Int64, shape=[10,10], device=cpu)",
            Tensor.FromArray(Enumerable.Range(0, 100).ToArray(), 10, 10).ToString());
        Assert.Equal("tensor([0.5], dtype=Float64, shape=[], device=cpu, requiresGrad)", Tensor.Scalar(0.5, DType.Float64).RequiresGrad_().ToString());
    }
}
