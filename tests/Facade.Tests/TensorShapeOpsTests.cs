using Hybrid;
using Hybrid.Nn;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>Issue 17's shape and linear-algebra members as a C# user calls them, with values worked out by hand
/// (torch 1.13 gives the same; the core's golden tests compare every op and gradient with torch).</summary>
public class TensorShapeOpsTests
{
    private static Tensor M(int rows, int cols) =>
        Tensor.Arange(0, rows * cols, dtype: DType.Float64).Reshape(rows, cols);

    [Fact]
    public void FlipRollNarrowReverseShiftAndCutAsTorch()
    {
        var x = M(2, 3); // [[0,1,2],[3,4,5]]
        Assert.Equal(new double[] { 5, 4, 3, 2, 1, 0 }, x.Flip(0, 1).ToArray<double>());
        Assert.Equal(new double[] { 2, 0, 1, 5, 3, 4 }, x.Roll(1, 1).ToArray<double>());
        Assert.Equal(new double[] { 5, 0, 1, 2, 3, 4 }, x.Roll(1).ToArray<double>());
        Assert.Equal(new double[] { 4, 5, 3, 1, 2, 0 }, x.Roll(new[] { 1, -1 }, new[] { 0, 1 }).ToArray<double>());
        Assert.Equal(new double[] { 1, 2, 4, 5 }, x.Narrow(1, -2, 2).ToArray<double>());
    }

    [Fact]
    public void RepeatTilesEveryDimAndTilePadsTheRepeatsOnTheLeft()
    {
        var v = Tensor.FromArray(new double[] { 1, 2 });
        var r = v.Repeat(2, 2);
        Assert.Equal(new long[] { 2, 4 }, r.Shape);
        Assert.Equal(new double[] { 1, 2, 1, 2, 1, 2, 1, 2 }, r.ToArray<double>());
        var x = M(2, 2);
        Assert.Equal(new long[] { 2, 4 }, x.Tile(2).Shape);
        Assert.Equal(new double[] { 0, 1, 0, 1, 2, 3, 2, 3 }, x.Tile(2).ToArray<double>());
        var e = Assert.ThrowsAny<ArgumentException>(() => x.Repeat(2));
        Assert.Contains("repeat", e.Message);
    }

    [Fact]
    public void TrilTriuDiagDiagonalAndTraceFollowTorchsOffsets()
    {
        var x = M(3, 3); // [[0,1,2],[3,4,5],[6,7,8]]
        Assert.Equal(new double[] { 0, 0, 0, 3, 4, 0, 6, 7, 8 }, x.Tril().ToArray<double>());
        Assert.Equal(new double[] { 0, 1, 2, 0, 0, 5, 0, 0, 0 }, x.Triu(1).ToArray<double>());
        Assert.Equal(new double[] { 1, 5 }, x.Diag(1).ToArray<double>());
        Assert.Equal(new double[] { 3, 7 }, x.Diagonal(-1).ToArray<double>());
        Assert.Equal(12.0, x.Trace().Item<double>());
        var d = Tensor.FromArray(new double[] { 1, 2 }).Diag(-1);
        Assert.Equal(new long[] { 3, 3 }, d.Shape);
        Assert.Equal(new double[] { 0, 0, 0, 1, 0, 0, 0, 2, 0 }, d.ToArray<double>());
    }

    [Fact]
    public void OuterMmBmmAndEinsumAgree()
    {
        var a = M(2, 3);
        var b = M(3, 2);
        var mm = a.Mm(b);
        Assert.Equal(new double[] { 10, 13, 28, 40 }, mm.ToArray<double>());
        Assert.Equal(mm.ToArray<double>(), Tensor.Einsum("ij,jk->ik", a, b).ToArray<double>());
        Assert.Equal(mm.ToArray<double>(), a.Unsqueeze(0).Bmm(b.Unsqueeze(0)).ToArray<double>());
        var u = Tensor.FromArray(new double[] { 1, 2 });
        var v = Tensor.FromArray(new double[] { 3, 4, 5 });
        Assert.Equal(new double[] { 3, 4, 5, 6, 8, 10 }, u.Outer(v).ToArray<double>());
        Assert.Equal(u.Outer(v).ToArray<double>(), Tensor.Einsum("i,j", u, v).ToArray<double>());
        Assert.Equal(12.0, Tensor.Einsum("ii", M(3, 3)).Item<double>());
    }

    [Fact]
    public void EinsumGradientsReachBothOperands()
    {
        var a = M(2, 3).RequiresGrad_();
        var b = M(3, 2).RequiresGrad_();
        Tensor.Einsum("ij,jk->", a, b).Backward();
        // d(Σ_ijk a_ij b_jk)/da_ij = Σ_k b_jk; /db_jk = Σ_i a_ij
        Assert.Equal(new double[] { 1, 5, 9, 1, 5, 9 }, a.Grad!.ToArray<double>());
        Assert.Equal(new double[] { 3, 3, 5, 5, 7, 7 }, b.Grad!.ToArray<double>());
    }

    [Fact]
    public void CdistCosineSimilarityNormalizeAndFunctionalLinear()
    {
        var p = Tensor.FromArray(new double[] { 0, 0, 3, 4 }, 2, 2);
        Assert.Equal(new double[] { 0, 5, 5, 0 }, Tensor.Cdist(p, p).ToArray<double>());
        Assert.Equal(new double[] { 0, 7, 7, 0 }, Tensor.Cdist(p, p, 1.0).ToArray<double>());
        var c = Tensor.CosineSimilarity(Tensor.FromArray(new double[] { 1, 0, 3, 4 }, 2, 2), Tensor.FromArray(new double[] { 2, 0, 4, -3 }, 2, 2));
        Assert.Equal(new double[] { 1, 0 }, c.ToArray<double>());
        Assert.Equal(c.ToArray<double>(), Functional.CosineSimilarity(Tensor.FromArray(new double[] { 1, 0, 3, 4 }, 2, 2), Tensor.FromArray(new double[] { 2, 0, 4, -3 }, 2, 2)).ToArray<double>());
        Assert.Equal(new double[] { 0, 0, 0.6, 0.8 }, Functional.Normalize(p).ToArray<double>());
        var x = Tensor.FromArray(new double[] { 1, 2 }, 1, 2);
        var w = Tensor.FromArray(new double[] { 1, 1, 2, -1 }, 2, 2);
        Assert.Equal(new double[] { 3, 0 }, Functional.Linear(x, w).ToArray<double>());
        Assert.Equal(new double[] { 4, -1 }, Functional.Linear(x, w, Tensor.FromArray(new double[] { 1, -1 })).ToArray<double>());
    }

    [Fact]
    public void CdistHasAZeroGradientAtAZeroDistanceAsTorch()
    {
        var x = Tensor.FromArray(new double[] { 1, 2, 3 }, 1, 3).RequiresGrad_();
        Tensor.Cdist(x, Tensor.FromArray(new double[] { 1, 2, 3 }, 1, 3)).Sum().Backward();
        Assert.Equal(new double[] { 0, 0, 0 }, x.Grad!.ToArray<double>());
    }
}
