using CoreClassification = Hybrid.Core.Classification;
using CoreAverage = Hybrid.Core.ClassAverage;

namespace Hybrid;

/// <summary>How per-class precision, recall and F1 are combined (sklearn's <c>average</c>).</summary>
public enum MetricAverage
{
    /// <summary>The unweighted mean over classes.</summary>
    Macro,
    /// <summary>From counts summed over classes (for single-label data this equals the accuracy).</summary>
    Micro,
    /// <summary>The mean over classes weighted by each class's number of true instances.</summary>
    Weighted,
}

/// <summary>
/// Classification metrics (as torchmetrics / sklearn.metrics): accuracy, top-k accuracy, confusion matrix, precision,
/// recall and F1. <c>predictions</c> are scores or logits [N, C] (the predicted class is each row's argmax) or int64
/// class indices [N]; <c>targets</c> are int64 class indices [N]. Results are plain numbers, off the graph. A class
/// never predicted (or never present) has precision (or recall) 0.
/// </summary>
public static class Metrics
{
    private static Hybrid.Core.Tensor C(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        return t.Core;
    }

    /// <summary>The fraction of rows whose predicted class is the target (NaN for no rows).</summary>
    /// <param name="predictions">Scores [N, C] or class indices [N].</param>
    /// <param name="targets">Class indices [N].</param>
    /// <returns>Accuracy in [0, 1].</returns>
    public static double Accuracy(Tensor predictions, Tensor targets) =>
        CoreClassification.accuracy(C(predictions, nameof(predictions)), C(targets, nameof(targets)));

    /// <summary>The fraction of rows whose target is among the <paramref name="k"/> highest scores (ties count as hits).</summary>
    /// <param name="scores">Scores [N, C].</param>
    /// <param name="targets">Class indices [N].</param>
    /// <param name="k">How many top classes count, 1..C.</param>
    /// <returns>Top-k accuracy in [0, 1].</returns>
    public static double TopKAccuracy(Tensor scores, Tensor targets, int k) =>
        CoreClassification.topKAccuracy(k, C(scores, nameof(scores)), C(targets, nameof(targets)));

    /// <summary>The confusion matrix: entry [i, j] counts rows of true class i predicted as class j.</summary>
    /// <param name="predictions">Scores [N, C] or class indices [N].</param>
    /// <param name="targets">Class indices [N].</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <returns>An int64 tensor [numClasses, numClasses].</returns>
    public static Tensor ConfusionMatrix(Tensor predictions, Tensor targets, int numClasses) =>
        Tensor.Wrap(CoreClassification.confusionMatrix(numClasses, C(predictions, nameof(predictions)), C(targets, nameof(targets))));

    /// <summary>Precision TP/(TP + FP), recall TP/(TP + FN) and F1 = 2PR/(P + R), averaged over classes.</summary>
    /// <param name="predictions">Scores [N, C] or class indices [N].</param>
    /// <param name="targets">Class indices [N].</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <param name="average">How the classes are combined.</param>
    /// <returns>The averaged precision, recall and F1.</returns>
    public static (double Precision, double Recall, double F1) PrecisionRecallF1(Tensor predictions, Tensor targets, int numClasses, MetricAverage average = MetricAverage.Macro)
    {
        var avg = average switch
        {
            MetricAverage.Macro => CoreAverage.Macro,
            MetricAverage.Micro => CoreAverage.Micro,
            MetricAverage.Weighted => CoreAverage.Weighted,
            _ => throw new ArgumentOutOfRangeException(nameof(average), average, "PrecisionRecallF1: average must be Macro, Micro or Weighted"),
        };
        var r = CoreClassification.precisionRecallF1(numClasses, avg, C(predictions, nameof(predictions)), C(targets, nameof(targets)));
        return (r.Item1, r.Item2, r.Item3);
    }

    /// <summary>Precision, recall and F1 of each class (no averaging).</summary>
    /// <param name="predictions">Scores [N, C] or class indices [N].</param>
    /// <param name="targets">Class indices [N].</param>
    /// <param name="numClasses">The number of classes.</param>
    /// <returns>Arrays of length numClasses.</returns>
    public static (double[] Precision, double[] Recall, double[] F1) PrecisionRecallF1PerClass(Tensor predictions, Tensor targets, int numClasses)
    {
        var r = CoreClassification.precisionRecallF1PerClass(numClasses, C(predictions, nameof(predictions)), C(targets, nameof(targets)));
        return (r.Item1, r.Item2, r.Item3);
    }
}
