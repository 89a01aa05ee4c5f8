namespace Hybrid.Cli;

/// <summary>
/// Remaining time of a run: the batches left times an exponential moving average of the seconds per batch,
/// each update weighted by the batches it covers (s ← s + (1 − (1 − α)^n)(Δt/n − s)), so the estimate does not
/// jump with one slow batch and does not depend on how often it is asked.
/// </summary>
internal sealed class EtaEstimator
{
    private readonly double _alpha;
    private long _lastDone = -1;
    private double _lastTime;
    private double _secondsPerBatch = double.NaN;

    /// <summary>α: the weight of one batch's time in the average.</summary>
    public EtaEstimator(double alpha = 0.05) => _alpha = alpha;

    /// <summary>Records that <paramref name="done"/> of <paramref name="total"/> batches are done at <paramref name="now"/> (seconds);
    /// returns the estimated seconds left (NaN until two updates have been seen).</summary>
    public double Update(long done, long total, double now)
    {
        if (_lastDone >= 0 && done > _lastDone)
        {
            var n = done - _lastDone;
            var perBatch = (now - _lastTime) / n;
            if (double.IsNaN(_secondsPerBatch)) _secondsPerBatch = perBatch;
            else _secondsPerBatch += (1 - Math.Pow(1 - _alpha, n)) * (perBatch - _secondsPerBatch);
        }
        // a new epoch's evaluation or a resumed start: the next interval restarts from here
        _lastDone = done;
        _lastTime = now;
        return double.IsNaN(_secondsPerBatch) ? double.NaN : Math.Max(0, total - done) * _secondsPerBatch;
    }

    /// <summary>h:mm:ss, or "--:--" while unknown.</summary>
    public static string Format(double seconds) =>
        double.IsFinite(seconds) ? TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss") : "--:--";
}
