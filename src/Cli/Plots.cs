using System.Globalization;
using Hybrid.Core.Logging;

namespace Hybrid.Cli;

/// <summary>Loss, accuracy and learning-rate curves of runs (ScottPlot), as PNG and SVG.</summary>
internal static class Plots
{
    private sealed record Series(string Label, double[] X, double[] Y);

    private static ScottPlot.Plot Panel(string title, string yLabel, IEnumerable<Series> series, bool logY = false)
    {
        var plt = new ScottPlot.Plot();
        plt.Title(title);
        plt.XLabel("epoch");
        plt.YLabel(yLabel);
        foreach (var s in series.Where(s => s.X.Length > 0))
        {
            var sc = plt.Add.Scatter(s.X, logY ? s.Y.Select(v => Math.Log10(Math.Max(v, 1e-12))).ToArray() : s.Y);
            sc.LegendText = s.Label;
        }
        if (logY) plt.YLabel(yLabel + " (log10)");
        plt.ShowLegend();
        return plt;
    }

    /// <summary>Epoch rows of a metrics file (the rows that carry an accuracy).</summary>
    private static MetricsRow[] EpochRows(string runDir) =>
        Hybrid.Core.Logging.Metrics.read(Path.Combine(runDir, "metrics.csv")).Where(r => !double.IsNaN(r.Accuracy)).ToArray();

    /// <summary>Writes curves.png and curves.svg into a run directory: loss, accuracy, lr.</summary>
    public static void Curves(string runDir) => Compare(new[] { runDir }, Path.Combine(runDir, "curves"));

    /// <summary>Draws several runs' curves on shared panels, written to <paramref name="outStem"/>.png/.svg.</summary>
    public static void Compare(IReadOnlyList<string> runDirs, string outStem)
    {
        var runs = runDirs.Select(d => (Name: Path.GetFileName(Path.TrimEndingDirectorySeparator(d)), Rows: EpochRows(d))).ToArray();
        double[] X(MetricsRow[] rows) => rows.Select(r => (double)r.Epoch).ToArray();
        var single = runs.Length == 1;
        var loss = Panel("loss", "cross-entropy", runs.SelectMany(r => new[]
        {
            new Series(single ? "train" : $"{r.Name} train", X(r.Rows), r.Rows.Select(x => x.TrainLoss).ToArray()),
            new Series(single ? "validation" : $"{r.Name} val", X(r.Rows.Where(x => !double.IsNaN(x.ValLoss)).ToArray()),
                       r.Rows.Where(x => !double.IsNaN(x.ValLoss)).Select(x => x.ValLoss).ToArray()),
        }));
        var acc = Panel("test accuracy", "accuracy", runs.Select(r => new Series(r.Name, X(r.Rows), r.Rows.Select(x => x.Accuracy).ToArray())));
        var lr = Panel("learning rate", "lr", runs.Select(r => new Series(r.Name, X(r.Rows), r.Rows.Select(x => x.Lr).ToArray())), logY: true);
        var panels = new[] { loss, acc, lr };
        const int w = 900, h = 320;
        var dir = Path.GetDirectoryName(Path.GetFullPath(outStem));
        if (dir is not null) Directory.CreateDirectory(dir);
        // PNG: the panels stacked vertically
        using (var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(w, h * panels.Length)))
        {
            for (int i = 0; i < panels.Length; i++)
            {
                var bytes = panels[i].GetImageBytes(w, h, ScottPlot.ImageFormat.Png);
                using var img = SkiaSharp.SKImage.FromEncodedData(bytes);
                surface.Canvas.DrawImage(img, 0, i * h);
            }
            using var snap = surface.Snapshot();
            using var data = snap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(outStem + ".png", data.ToArray());
        }
        // SVG: each panel's SVG nested at its offset in one document
        var parts = panels.Select((p, i) =>
        {
            var svg = p.GetSvgXml(w, h);
            var start = svg.IndexOf("<svg", StringComparison.Ordinal);
            return svg[start..].Replace("<svg", $"<svg y=\"{(i * h).ToString(CultureInfo.InvariantCulture)}\"");
        });
        File.WriteAllText(outStem + ".svg",
            $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h * panels.Length}\">\n{string.Join("\n", parts)}\n</svg>\n");
    }
}
