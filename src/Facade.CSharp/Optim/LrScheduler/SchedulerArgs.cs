using System.Globalization;
using CoreOptim = Hybrid.Core.Optim;
using S = Hybrid.Core.Optim.LrSchedule;

namespace Hybrid.Optim.LrScheduler;

/// <summary>
/// A scheduler's arguments under torch's state-dict keys, for <see cref="LRScheduler.StateDict"/> and the check in
/// <see cref="LRScheduler.LoadStateDict"/>: one string per key, the groups' values joined by "; " (doubles in
/// round-trip form, so equal strings mean equal values). Lambdas are not saved (torch saves only callable objects).
/// </summary>
internal static class SchedulerArgs
{
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string F(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string F(bool v) => v ? "true" : "false";

    private static string F(int[] v) => "[" + string.Join(", ", v.Select(F)) + "]";

    /// <summary>The keys and values of one group's schedule, inner schedules under "_schedulers.k.".</summary>
    private static IEnumerable<(string Key, string Value)> Of(CoreOptim.LrSchedule s, string prefix)
    {
        (string, string) A(string k, string v) => (prefix + k, v);
        switch (s)
        {
            case S.StepLr x: yield return A("step_size", F(x.stepSize)); yield return A("gamma", F(x.gamma)); break;
            case S.MultiStepLr x: yield return A("milestones", F(x.milestones)); yield return A("gamma", F(x.gamma)); break;
            case S.ExponentialLr x: yield return A("gamma", F(x.gamma)); break;
            case S.ExponentialDecay x: yield return A("k", F(x.k)); break;
            case S.CosineAnnealingLr x: yield return A("T_max", F(x.tMax)); yield return A("eta_min", F(x.etaMin)); break;
            case S.CosineAnnealingWarmRestarts x:
                yield return A("T_0", F(x.t0)); yield return A("T_mult", F(x.tMult)); yield return A("eta_min", F(x.etaMin)); break;
            case S.LinearLr x:
                yield return A("start_factor", F(x.startFactor)); yield return A("end_factor", F(x.endFactor)); yield return A("total_iters", F(x.totalIters)); break;
            case S.ConstantLr x: yield return A("factor", F(x.factor)); yield return A("total_iters", F(x.totalIters)); break;
            case S.PolynomialLr x: yield return A("total_iters", F(x.totalIters)); yield return A("power", F(x.power)); break;
            case S.OneCycleLr x:
                var o = x.Item;
                yield return A("max_lr", F(o.MaxLr)); yield return A("total_steps", F(o.TotalSteps)); yield return A("pct_start", F(o.PctStart));
                yield return A("anneal_strategy", o.AnnealStrategy.IsAnnealCos ? "cos" : "linear");
                yield return A("div_factor", F(o.DivFactor)); yield return A("final_div_factor", F(o.FinalDivFactor)); yield return A("three_phase", F(o.ThreePhase));
                yield return A("cycle_momentum", F(o.CycleMomentum)); yield return A("base_momentum", F(o.BaseMomentum)); yield return A("max_momentum", F(o.MaxMomentum));
                break;
            case S.CyclicLr x:
                var c = x.Item;
                yield return A("base_lr", F(c.BaseLr)); yield return A("max_lr", F(c.MaxLr)); yield return A("step_size_up", F(c.StepSizeUp));
                yield return A("step_size_down", c.StepSizeDown is null ? F(c.StepSizeUp) : F(c.StepSizeDown.Value));
                yield return A("mode", c.Mode.IsTriangular ? "triangular" : c.Mode.IsTriangular2 ? "triangular2" : c.Mode.IsExpRange ? "exp_range" : "scale_fn");
                if (c.Mode is CoreOptim.CyclicMode.CustomScale cs) yield return A("scale_mode", cs.scaleByCycle ? "cycle" : "iterations");
                yield return A("gamma", F(c.Gamma)); yield return A("cycle_momentum", F(c.CycleMomentum));
                yield return A("base_momentum", F(c.BaseMomentum)); yield return A("max_momentum", F(c.MaxMomentum));
                break;
            case S.SequentialLr x:
                yield return A("_milestones", F(x.milestones));
                for (int k = 0; k < x.schedules.Length; k++)
                    foreach (var kv in Of(x.schedules[k], $"{prefix}_schedulers.{k}.")) yield return kv;
                break;
            case S.ChainedLr x:
                for (int k = 0; k < x.schedules.Length; k++)
                    foreach (var kv in Of(x.schedules[k], $"{prefix}_schedulers.{k}.")) yield return kv;
                break;
            default:
                break; // ConstantSchedule, LambdaLr, MultiplicativeLr: no saved arguments
        }
    }

    /// <summary>The arguments of every group's schedule, each key's values joined by "; " in group order.</summary>
    internal static IReadOnlyDictionary<string, string> Of(CoreOptim.LrSchedule[] schedules)
    {
        var perGroup = schedules.Select(s => Of(s, "").ToList()).ToList();
        var d = new Dictionary<string, string>();
        if (perGroup.Count == 0) return d;
        foreach (var (key, _) in perGroup[0])
            d[key] = string.Join("; ", perGroup.Select(g => g.FirstOrDefault(kv => kv.Key == key).Value ?? ""));
        return d;
    }

    /// <summary>ReduceLROnPlateau's arguments by torch's key, the groups' values joined by "; ".</summary>
    internal static IReadOnlyDictionary<string, string> Of(CoreOptim.PlateauHyper[] hypers)
    {
        string J(Func<CoreOptim.PlateauHyper, string> f) => string.Join("; ", hypers.Select(f));
        return new Dictionary<string, string>
        {
            ["mode"] = J(h => h.Mode.IsMin ? "min" : "max"),
            ["factor"] = J(h => F(h.Factor)),
            ["patience"] = J(h => F(h.Patience)),
            ["threshold"] = J(h => F(h.Threshold)),
            ["threshold_mode"] = J(h => h.ThresholdMode.IsRel ? "rel" : "abs"),
            ["cooldown"] = J(h => F(h.Cooldown)),
            ["min_lrs"] = J(h => F(h.MinLr)),
            ["eps"] = J(h => F(h.Eps)),
        };
    }

    /// <summary>SWALR's arguments by torch's key, the groups' swa lrs joined by "; ".</summary>
    internal static IReadOnlyDictionary<string, string> Of(double[] swaLrs, int annealEpochs, bool linear) => new Dictionary<string, string>
    {
        ["swa_lr"] = string.Join("; ", swaLrs.Select(F)),
        ["anneal_epochs"] = F(annealEpochs),
        ["anneal_strategy"] = linear ? "linear" : "cos",
    };

    /// <summary>Refuse a state whose arguments differ from the scheduler's, naming the first key that differs.</summary>
    internal static void Check(string name, IReadOnlyDictionary<string, string> mine, IReadOnlyDictionary<string, string>? saved)
    {
        if (saved is null)
        {
            if (mine.Count == 0) return;
            throw new ArgumentException($"{name}.LoadStateDict: the state has no arguments (expected key '{mine.Keys.First()}' = {mine.Values.First()})", "state");
        }
        foreach (var (k, v) in mine)
        {
            if (!saved.TryGetValue(k, out var s))
                throw new ArgumentException($"{name}.LoadStateDict: the state lacks key '{k}' (this scheduler has {k} = {v})", "state");
            if (s != v)
                throw new ArgumentException($"{name}.LoadStateDict: key '{k}' is {s} in the state but {v} in this scheduler", "state");
        }
        foreach (var k in saved.Keys)
            if (!mine.ContainsKey(k))
                throw new ArgumentException($"{name}.LoadStateDict: the state has key '{k}', which this scheduler does not", "state");
    }
}
