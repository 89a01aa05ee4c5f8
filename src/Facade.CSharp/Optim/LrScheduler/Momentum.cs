namespace Hybrid.Optim.LrScheduler;

/// <summary>Reads and writes a group's momentum: its "betas" first entry (Adam-like) or its "momentum" (SGD-like), as torch does.</summary>
internal static class Momentum
{
    internal static bool Has(ParamGroup g) => g.Has("betas") || g.Has("momentum");

    internal static void Set(ParamGroup g, double m)
    {
        if (g.Has("betas"))
            g["betas"] = g["betas"] switch
            {
                ValueTuple<double, double> b => (m, b.Item2),
                Tuple<double, double> b => Tuple.Create(m, b.Item2),
                double[] b => b.Select((v, k) => k == 0 ? m : v).ToArray(),
                var other => throw new InvalidOperationException($"lr scheduler: cannot set beta1 in a 'betas' option of type {other.GetType().Name}"),
            };
        else g["momentum"] = m;
    }
}
