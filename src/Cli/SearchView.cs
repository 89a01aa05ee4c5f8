using System.Globalization;
using Hybrid.Core.Search;
using Spectre.Console;

namespace Hybrid.Cli;

/// <summary>The search's trial table (live and `search show`) and its plots: history, budget, parallel coordinates.</summary>
internal static class SearchView
{
    private static string Score(Trial t) => t.Value is null ? "" : t.Value.Value.ToString("F4", CultureInfo.InvariantCulture);

    private static string Params(Trial t) => string.Join(" ", t.Config.Select(kv => $"{kv.Key}={SearchObjective.Format(kv.Value)}"));

    /// <summary>The trials as a table: number, state, epochs run of the budget, score, parameters; sorted by number or best first.</summary>
    public static Table Table(IReadOnlyList<Trial> trials, int epochs, Direction direction, bool leaderboard, int rows = 25)
    {
        var table = new Table().AddColumns("#", "state", "budget", "score", "params");
        IEnumerable<Trial> shown = trials;
        if (leaderboard)
            shown = trials.Where(t => t.Value is not null)
                .OrderBy(t => direction.IsMaximize ? -t.Value!.Value : t.Value!.Value).Concat(trials.Where(t => t.Value is null));
        else shown = trials.Skip(Math.Max(0, trials.Count - rows));
        foreach (var t in shown.Take(rows))
        {
            var state = StorageText.state(t.State);
            var colour = state switch { "COMPLETE" => "green", "PRUNED" => "grey", "FAIL" => "red", "RUNNING" => "yellow", _ => "default" };
            var why = t.FailReason is null ? "" : $" ({t.FailReason.Value})";
            table.AddRow(t.Number.ToString(CultureInfo.InvariantCulture), $"[{colour}]{state}[/]", $"{t.Intermediate.Count}/{epochs}", Score(t),
                Markup.Escape(Params(t) + why));
        }
        return table;
    }

    /// <summary>importance.png: each parameter's share of the score's variance (the core's correlation ratio η²,
    /// first-order effects only) over the complete trials.</summary>
    private static void Importance(string dir, IReadOnlyList<Trial> trials, Space space)
    {
        var shares = Hybrid.Core.Search.Importance.compute(space, trials.ToArray());
        var plt = new ScottPlot.Plot();
        plt.Title($"parameter importance (share of variance η², {trials.Count(t => t.State.IsComplete)} complete trials)");
        var bars = shares.Select((s, i) => new ScottPlot.Bar { Position = shares.Length - 1 - i, Value = s.Item2 }).ToArray();
        var bp = plt.Add.Bars(bars);
        bp.Horizontal = true;
        plt.Axes.Left.SetTicks(shares.Select((_, i) => (double)(shares.Length - 1 - i)).ToArray(), shares.Select(s => s.Item1).ToArray());
        plt.XLabel("share");
        plt.Axes.SetLimitsX(0, 1);
        Save(plt, Path.Combine(dir, "importance.png"));
    }

    /// <summary>One line per trial (for logs and redirected output).</summary>
    public static string Line(Trial t, int epochs) =>
        $"trial {t.Number,4} {StorageText.state(t.State),-8} {t.Intermediate.Count}/{epochs} epochs  score {Score(t),8}  {Params(t)}" +
        (t.FailReason is null ? "" : $"  ({t.FailReason.Value})");

    private static void Save(ScottPlot.Plot plt, string path, int w = 900, int h = 500)
    {
        var bytes = plt.GetImageBytes(w, h, ScottPlot.ImageFormat.Png);
        Hybrid.Core.Durability.AtomicFile.writeAllBytes("a search plot", path, bytes);
    }

    /// <summary>Writes history.png, budget.png, parallel.png and importance.png into the search folder.</summary>
    public static void Plots(string dir, IReadOnlyList<Trial> trials, string metric, Direction direction, Space space)
    {
        Importance(dir, trials, space);
        bool Better(double a, double b) => direction.IsMaximize ? a > b : a < b;
        // history: each finished trial's score by number, and the best so far
        var h = new ScottPlot.Plot();
        h.Title("search history");
        h.XLabel("trial");
        h.YLabel(metric);
        foreach (var (state, colour) in new[] { (TrialState.Complete, ScottPlot.Colors.Blue), (TrialState.Pruned, ScottPlot.Colors.Gray) })
        {
            var ts = trials.Where(t => t.State.Equals(state) && t.Value is not null).ToArray();
            if (ts.Length == 0) continue;
            var sc = h.Add.ScatterPoints(ts.Select(t => (double)t.Number).ToArray(), ts.Select(t => t.Value!.Value).ToArray(), colour);
            sc.LegendText = StorageText.state(state).ToLowerInvariant();
        }
        var complete = trials.Where(t => t.State.IsComplete && t.Value is not null).OrderBy(t => t.Number).ToArray();
        if (complete.Length > 0)
        {
            var best = double.NaN;
            var bx = new List<double>();
            var by = new List<double>();
            foreach (var t in complete)
            {
                if (double.IsNaN(best) || Better(t.Value!.Value, best)) best = t.Value!.Value;
                bx.Add(t.Number);
                by.Add(best);
            }
            var line = h.Add.ScatterLine(bx.ToArray(), by.ToArray(), ScottPlot.Colors.Red);
            line.ConnectStyle = ScottPlot.ConnectStyle.StepHorizontal;
            line.LegendText = "best so far";
        }
        h.ShowLegend();
        Save(h, Path.Combine(dir, "history.png"));

        // budget: each trial's reported value by epoch; pruned trials grey and dashed, where they stopped is visible
        var b = new ScottPlot.Plot();
        b.Title("score against epochs (grey dashed: pruned)");
        b.XLabel("epoch");
        b.YLabel(metric);
        foreach (var t in trials.Where(t => t.Intermediate.Count > 0))
        {
            var xs = t.Intermediate.Select(kv => (double)kv.Key).ToArray();
            var ys = t.Intermediate.Select(kv => kv.Value).ToArray();
            var prunedTrial = t.State.IsPruned;
            var s = b.Add.Scatter(xs, ys, prunedTrial ? ScottPlot.Colors.Gray : ScottPlot.Colors.Blue);
            if (prunedTrial) s.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        Save(b, Path.Combine(dir, "budget.png"));

        // parallel coordinates of the top trials: each parameter scaled to [0, 1] over them (categories by index,
        // log-spaced values by their logarithm), colour from worst (blue) to best (red)
        var top = complete.OrderBy(t => direction.IsMaximize ? -t.Value!.Value : t.Value!.Value).Take(10).Reverse().ToArray();
        var names = top.SelectMany(t => t.Config.Select(kv => kv.Key)).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray();
        var p = new ScottPlot.Plot();
        p.Title($"parallel coordinates of the top {top.Length} trials (red: best)");
        double Coord(ParamValue v, string name)
        {
            var all = top.Where(t => t.Config.ContainsKey(name)).Select(t => t.Config[name]).ToArray();
            if (v is ParamValue.Str or ParamValue.Bool)
            {
                var cats = all.Select(x => x.ToString()).Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
                return cats.Count <= 1 ? 0.5 : (double)cats.IndexOf(v.ToString()) / (cats.Count - 1);
            }
            var xs = all.Select(x => x.AsFloat).ToArray();
            bool log = xs.All(x => x > 0) && xs.Max() / xs.Min() > 100;
            double F(double x) => log ? Math.Log10(x) : x;
            var (lo, hi) = (xs.Min(F), xs.Max(F));
            return hi > lo ? (F(v.AsFloat) - lo) / (hi - lo) : 0.5;
        }
        for (int i = 0; i < top.Length; i++)
        {
            var t = top[i];
            var idx = Enumerable.Range(0, names.Length).Where(k => t.Config.ContainsKey(names[k])).ToArray();
            var frac = top.Length == 1 ? 1.0 : (double)i / (top.Length - 1);
            var colour = ScottPlot.Color.InterpolateRgb(ScottPlot.Colors.Blue, ScottPlot.Colors.Red, frac);
            var s = p.Add.Scatter(idx.Select(k => (double)k).ToArray(), idx.Select(k => Coord(t.Config[names[k]], names[k])).ToArray(), colour);
            s.LineWidth = 2;
        }
        p.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Length).Select(k => (double)k).ToArray(), names);
        p.YLabel("scaled value");
        Save(p, Path.Combine(dir, "parallel.png"));
    }
}
