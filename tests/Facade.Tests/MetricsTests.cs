using Hybrid;
using Xunit;

namespace Hybrid.Facade.Tests;

// Expected values worked by hand (they agree with sklearn.metrics' definitions, zero_division = 0).
public class MetricsTests
{
    // targets 0,0,0,1,1,2 and predictions 0,1,0,1,2,2: confusion [[2,1,0],[0,1,1],[0,0,1]]
    private static Tensor Targets() => Tensor.FromArray(new long[] { 0, 0, 0, 1, 1, 2 });
    private static Tensor Predicted() => Tensor.FromArray(new long[] { 0, 1, 0, 1, 2, 2 });

    private static void Near(double expected, double actual) => Assert.True(Math.Abs(expected - actual) < 1e-12, $"expected {expected}, got {actual}");

    [Fact]
    public void AccuracyFromLabelsAndFromScores()
    {
        Near(4.0 / 6.0, Metrics.Accuracy(Predicted(), Targets()));
        var scores = Tensor.FromArray(new[] { 0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5 }, 3, 3);
        Near(1.0 / 3.0, Metrics.Accuracy(scores, Tensor.FromArray(new long[] { 1, 1, 0 })));
    }

    [Fact]
    public void TopKAccuracyCountsTargetsAmongTheKBestScores()
    {
        var scores = Tensor.FromArray(new[] { 0.1, 0.7, 0.2, 0.5, 0.3, 0.2, 0.2, 0.3, 0.5 }, 3, 3);
        var targets = Tensor.FromArray(new long[] { 2, 1, 0 });
        Near(0.0, Metrics.TopKAccuracy(scores, targets, 1));
        Near(2.0 / 3.0, Metrics.TopKAccuracy(scores, targets, 2));
        Near(1.0, Metrics.TopKAccuracy(scores, targets, 3));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.TopKAccuracy(scores, targets, 4));
        Assert.Contains("k = 4", e.Message);
    }

    [Fact]
    public void ConfusionMatrixRowsAreTrueClasses()
    {
        var cm = Metrics.ConfusionMatrix(Predicted(), Targets(), 3);
        Assert.Equal(new long[] { 3, 3 }, cm.Shape);
        Assert.Equal(DType.Int64, cm.DType);
        Assert.Equal(new long[] { 2, 1, 0, 0, 1, 1, 0, 0, 1 }, cm.ToArray<long>());
    }

    [Fact]
    public void PrecisionRecallF1PerClassAndAveraged()
    {
        var (p, r, f) = Metrics.PrecisionRecallF1PerClass(Predicted(), Targets(), 3);
        Assert.Equal(new[] { 1.0, 0.5, 0.5 }, p);
        Near(2.0 / 3.0, r[0]); Near(0.5, r[1]); Near(1.0, r[2]);
        Near(0.8, f[0]); Near(0.5, f[1]); Near(2.0 / 3.0, f[2]);

        var macro = Metrics.PrecisionRecallF1(Predicted(), Targets(), 3);
        Near(2.0 / 3.0, macro.Precision); Near((2.0 / 3.0 + 0.5 + 1.0) / 3.0, macro.Recall); Near((0.8 + 0.5 + 2.0 / 3.0) / 3.0, macro.F1);
        var weighted = Metrics.PrecisionRecallF1(Predicted(), Targets(), 3, MetricAverage.Weighted);
        Near(0.75, weighted.Precision); Near(4.0 / 6.0, weighted.Recall); Near((3 * 0.8 + 2 * 0.5 + 2.0 / 3.0) / 6.0, weighted.F1);
        var micro = Metrics.PrecisionRecallF1(Predicted(), Targets(), 3, MetricAverage.Micro);
        Near(4.0 / 6.0, micro.Precision); Near(4.0 / 6.0, micro.Recall); Near(4.0 / 6.0, micro.F1);
    }

    [Fact]
    public void AClassNeverPredictedHasPrecisionZero()
    {
        var (p, r, _) = Metrics.PrecisionRecallF1PerClass(Tensor.FromArray(new long[] { 0, 0 }), Tensor.FromArray(new long[] { 0, 1 }), 2);
        Assert.Equal(new[] { 0.5, 0.0 }, p);
        Assert.Equal(new[] { 1.0, 0.0 }, r);
    }

    [Fact]
    public void BadInputIsRejectedWithAMessage()
    {
        var n = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(Tensor.FromArray(new long[] { 0, 1, 2 }), Targets()));
        Assert.Contains("3 predictions for 6 targets", n.Message);
        var c = Assert.Throws<ArgumentException>(() => Metrics.ConfusionMatrix(Predicted(), Targets(), 2));
        Assert.Contains("not a class in 0..1", c.Message);
        var t = Assert.Throws<ArgumentException>(() => Metrics.Accuracy(Predicted(), Tensor.FromArray(new double[] { 0, 1, 2, 0, 1, 2 })));
        Assert.Contains("int64", t.Message);
    }
}
