using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// Regression (issue 17, defect 1): the flat optimizers (L-BFGS, BFGS, Newton, proximal gradient) step parameters of
/// every rank, rank 0 included, and give each back in its own shape. L-BFGS's values are torch 1.13's
/// (torch.optim.LBFGS, float64, max_iter = 3, on L = Σ c(p − t)² + 0.1 Σ p⁴); the others have no torch counterpart, so
/// their law is that a parameter's rank does not change the step (the same values as the rank-1 problem).
/// </summary>
public class FlatOptimizerRankTests
{
    private static readonly long[][] Shapes = { Array.Empty<long>(), new long[] { 3 }, new long[] { 2, 2 }, new long[] { 2, 1, 2 } };
    private static readonly double[] Init = { 2.0, -1.0, 0.25, 1.5 };
    private static readonly double[] Target = { 0.5, 0.3, -0.2, 1.0 };
    private static readonly double[] Weight = { 1.0, 2.0, 3.0, 0.5 };

    private static int Count(long[] shape) => (int)shape.Aggregate(1L, (a, d) => a * d);

    private static Tensor Of(double[] v, long[] shape) =>
        shape.Length == 0 ? Tensor.Scalar(v[0], DType.Float64) : Tensor.FromArray(v.Take(Count(shape)).ToArray(), shape);

    private sealed class Problem
    {
        public readonly Parameter P;
        private readonly Tensor _t, _c;

        public Problem(long[] shape)
        {
            P = new Parameter(Of(Init, shape));
            _t = Of(Target, shape);
            _c = Of(Weight, shape);
        }

        public Tensor Loss() => (_c * (P - _t).Square()).Sum() + P.Square().Square().Sum() * 0.1;

        public Func<Tensor> Closure(Optimizer opt) => () => { opt.ZeroGrad(); var l = Loss(); l.Backward(); return l; };
    }

    public static IEnumerable<object[]> Ranks() => Enumerable.Range(0, Shapes.Length).Select(r => new object[] { r });

    // torch.optim.LBFGS([p], max_iter=3) (with and without line_search_fn="strong_wolfe"; both give these values)
    private static readonly double[][] TorchLbfgs =
    {
        new[] { 0.7083333333333334 },
        new[] { 0.9340157432586956, 0.15997277375234897, -0.19846333702663171 },
        new[] { 0.9482819124271532, 0.158691430538638, -0.20102795376459065, 1.0344328665595652 },
        new[] { 0.9482819124271532, 0.158691430538638, -0.20102795376459065, 1.0344328665595652 },
    };

    private static readonly double[] TorchFirstLoss = { 3.85, 7.9378906250000005, 8.569140625000001, 8.569140625000001 };

    [Theory]
    [MemberData(nameof(Ranks))]
    public void LbfgsStepsAParameterOfEveryRankAsTorch(int rank)
    {
        foreach (var ls in new[] { null, "strong_wolfe" })
        {
            var pr = new Problem(Shapes[rank]);
            var opt = new LBFGS(new[] { pr.P }, maxIter: 3, lineSearchFn: ls);
            var l0 = opt.Step(pr.Closure(opt))!;
            Assert.Equal(Shapes[rank], pr.P.Shape);
            Assert.Equal(TorchFirstLoss[rank], l0.Item<double>(), 12);
            var got = pr.P.ToArray<double>();
            for (int i = 0; i < got.Length; i++) Assert.Equal(TorchLbfgs[rank][i], got[i], 1e-12);
        }
    }

    [Fact]
    public void LbfgsMovesTheIssuesScalarParameterToTheMinimum()
    {
        // the issue's example: torch moves p = 2 to 0.5 with (p − 0.5)² and the defaults
        var p = new Parameter(Tensor.Scalar(2.0, DType.Float64));
        var opt = new LBFGS(new[] { p });
        opt.Step(() => { opt.ZeroGrad(); var l = (p - 0.5).Square(); l.Backward(); return l; });
        Assert.Empty(p.Shape);
        Assert.Equal(0.5, p.Item<double>(), 12);
    }

    private static readonly Func<Parameter, Optimizer>[] Others =
    {
        p => new BFGS(new[] { p }),
        p => new Newton(new[] { p }),
        p => new ProximalGradient(new[] { p }, lr: 0.05, lambda: 0.1),
        p => new ProximalGradient(new[] { p }, lr: 0.05, lambda: 0.1, accelerated: true, backtracking: true),
        p => new LBFGS(new[] { p }, maxIter: 3),
    };

    [Theory]
    [MemberData(nameof(Ranks))]
    public void EveryFlatOptimizerStepsEveryRankAsItStepsTheSameValuesFlat(int rank)
    {
        var shape = Shapes[rank];
        foreach (var make in Others)
        {
            var pr = new Problem(shape);
            var flat = new Problem(new long[] { Count(shape) });
            var opt = make(pr.P);
            var optFlat = make(flat.P);
            for (int s = 0; s < 3; s++)
            {
                opt.Step(pr.Closure(opt));
                optFlat.Step(flat.Closure(optFlat));
            }
            Assert.Equal(shape, pr.P.Shape);
            Assert.Equal(flat.P.ToArray<double>(), pr.P.ToArray<double>());
            // the state dict of a rank-0 (or any-rank) parameter round-trips into a fresh optimizer
            var again = make(new Problem(shape).P);
            again.LoadStateDict(opt.StateDict());
        }
    }

    [Fact]
    public void NewtonsExactStepLandsOnAScalarQuadraticsMinimum()
    {
        var p = new Parameter(Tensor.Scalar(2.0, DType.Float64));
        var opt = new Newton(new[] { p });
        opt.StepExact(() => (p - 0.5).Square() * 3.0);
        Assert.Empty(p.Shape);
        Assert.Equal(0.5, p.Item<double>(), 12);
    }

    [Fact]
    public void NewtonsExactStepTakesAZeroHessianWhereTheGradientIsConstant()
    {
        // issue 17, defect 2: the exact Hessian of a (piecewise) linear loss is 0 (torch's strict=False), not an error;
        // Newton then damps it (H + μI) and its Armijo search still decreases the loss
        var w = Tensor.FromArray(new[] { 0.5, -1.0, 2.0 });
        foreach (Func<Parameter, Tensor> loss in new Func<Parameter, Tensor>[] { p => (p * w).Sum(), p => (p.Relu() * w).Sum() + p.Abs().Sum() })
        {
            var p = new Parameter(Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }));
            var opt = new Newton(new[] { p });
            var before = loss(p).Item<double>();
            Assert.Equal(before, opt.StepExact(() => loss(p)).Item<double>());
            Assert.True(loss(p).Item<double>() < before);
        }
        // with curvature beside the kink the exact step lands on the minimum of the smooth piece: L = Σ relu(p) + Σ (p − 3)²
        var q = new Parameter(Tensor.FromArray(new[] { 1.0, 2.0 }));
        new Newton(new[] { q }).StepExact(() => q.Relu().Sum() + (q - 3.0).Square().Sum());
        Assert.Equal(new[] { 2.5, 2.5 }, q.ToArray<double>());
    }

    [Theory]
    [MemberData(nameof(Ranks))]
    public void FirstOrderStateOfAParameterOfEveryRankKeepsItsShape(int rank)
    {
        // the first-order optimizers' state dict buffers take the parameter's shape (rank 0 included) and load back
        var pr = new Problem(Shapes[rank]);
        var opt = new Adam(new[] { pr.P }, lr: 0.1);
        opt.Step(pr.Closure(opt));
        var sd = opt.StateDict();
        var fresh = new Problem(Shapes[rank]);
        fresh.P.SetData(pr.P);
        var opt2 = new Adam(new[] { fresh.P }, lr: 0.1);
        opt2.LoadStateDict(sd);
        // same state, same point ⇒ the same second step
        opt.Step(pr.Closure(opt));
        opt2.Step(fresh.Closure(opt2));
        Assert.Equal(Shapes[rank], fresh.P.Shape);
        Assert.Equal(pr.P.ToArray<double>(), fresh.P.ToArray<double>());
    }
}
