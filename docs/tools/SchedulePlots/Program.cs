// Draws the lr curve of every facade scheduler over 100 steps into docs/img/schedules/<Name>.png (600x300).
// Run from the repository root: dotnet run --project docs/tools/SchedulePlots [-- outputDir]
// The examples are the ones shown in docs/schedules.md.
using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;

const int Steps = 100;
var outDir = args.Length > 0 ? args[0] : Path.Combine("docs", "img", "schedules");
Directory.CreateDirectory(outDir);

var examples = new (string Name, string Title, Func<Optimizer, LRScheduler> Make)[]
{
    ("StepLR", "StepLR(stepSize: 20, gamma: 0.5)", o => new StepLR(o, stepSize: 20, gamma: 0.5)),
    ("MultiStepLR", "MultiStepLR(milestones: [30, 60, 80], gamma: 0.3)", o => new MultiStepLR(o, new[] { 30, 60, 80 }, gamma: 0.3)),
    ("ExponentialLR", "ExponentialLR(gamma: 0.96)", o => new ExponentialLR(o, gamma: 0.96)),
    ("CosineAnnealingLR", "CosineAnnealingLR(tMax: 40, etaMin: 0.005)", o => new CosineAnnealingLR(o, tMax: 40, etaMin: 0.005)),
    ("CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts(t0: 10, tMult: 2, etaMin: 0.001)",
        o => new CosineAnnealingWarmRestarts(o, t0: 10, tMult: 2, etaMin: 0.001)),
    ("LinearLR", "LinearLR(startFactor: 0.1, endFactor: 1.0, totalIters: 30)", o => new LinearLR(o, startFactor: 0.1, endFactor: 1.0, totalIters: 30)),
    ("ConstantLR", "ConstantLR(factor: 0.25, totalIters: 20)", o => new ConstantLR(o, factor: 0.25, totalIters: 20)),
    ("PolynomialLR", "PolynomialLR(totalIters: 80, power: 2.0)", o => new PolynomialLR(o, totalIters: 80, power: 2.0)),
    ("LambdaLR", "LambdaLR(t => 1 / (1 + 0.05 t))", o => new LambdaLR(o, t => 1.0 / (1.0 + 0.05 * t))),
    ("MultiplicativeLR", "MultiplicativeLR(t => t % 10 == 0 ? 0.7 : 1.0)", o => new MultiplicativeLR(o, t => t % 10 == 0 ? 0.7 : 1.0)),
    ("CyclicLR", "CyclicLR(baseLr: 0.01, maxLr: 0.1, stepSizeUp: 15, mode: Triangular2)",
        o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 15, mode: CyclicMode.Triangular2)),
    ("OneCycleLR", "OneCycleLR(maxLr: 0.1, totalSteps: 100)", o => new OneCycleLR(o, maxLr: 0.1, totalSteps: Steps)),
    ("SequentialLR", "SequentialLR([LinearLR(0.1, 1, 10), CosineAnnealingLR(90)], [10])",
        o => new SequentialLR(o, new LRScheduler[] { new LinearLR(o, startFactor: 0.1, totalIters: 10), new CosineAnnealingLR(o, tMax: 90) }, new[] { 10 })),
    ("ChainedScheduler", "ChainedScheduler([ConstantLR(0.5, 10), ExponentialLR(0.97)])",
        o => new ChainedScheduler(new LRScheduler[] { new ConstantLR(o, factor: 0.5, totalIters: 10), new ExponentialLR(o, gamma: 0.97) })),
};

foreach (var (name, title, make) in examples)
{
    var opt = PlotOptimizer.Create(lr: 0.1, momentum: 0.9);
    var sched = make(opt);
    var lrs = new List<double> { opt.ParamGroups[0].Lr };
    var moms = new List<double> { opt.ParamGroups[0].GetDouble("momentum") };
    for (int t = 0; t < Steps; t++)
    {
        sched.Step();
        lrs.Add(opt.ParamGroups[0].Lr);
        moms.Add(opt.ParamGroups[0].GetDouble("momentum"));
    }
    var cyclesMomentum = moms.Distinct().Count() > 1;
    Save(Path.Combine(outDir, name + ".png"), title, lrs.ToArray(), cyclesMomentum ? ("momentum", moms.ToArray()) : null);
}

// ReduceLROnPlateau on a scripted validation loss: improves, plateaus, improves, plateaus
{
    var opt = PlotOptimizer.Create(lr: 0.1, momentum: 0.9);
    var plateau = new ReduceLROnPlateau(opt, factor: 0.5, patience: 5);
    var metric = Enumerable.Range(0, Steps + 1).Select(t => t < 30 ? 1.0 / (1 + 0.1 * t) : t < 55 ? 0.25 + 0.002 * (t % 3) : t < 70 ? 0.25 - 0.004 * (t - 55) : 0.19 + 0.001 * (t % 4)).ToArray();
    var lrs = new List<double> { opt.ParamGroups[0].Lr };
    foreach (var m in metric.Skip(1)) { plateau.Step(m); lrs.Add(opt.ParamGroups[0].Lr); }
    Save(Path.Combine(outDir, "ReduceLROnPlateau.png"), "ReduceLROnPlateau(factor: 0.5, patience: 5)", lrs.ToArray(), ("metric", metric));
}
Console.WriteLine($"wrote {examples.Length + 1} plots to {outDir}");

static void Save(string path, string title, double[] lr, (string Label, double[] Values)? right)
{
    var plt = new ScottPlot.Plot();
    plt.Title(title, size: 13);
    plt.XLabel("step");
    plt.YLabel("lr");
    var xs = Enumerable.Range(0, lr.Length).Select(t => (double)t).ToArray();
    var line = plt.Add.Scatter(xs, lr);
    line.MarkerSize = 0;
    line.LineWidth = 2;
    if (right is { } r)
    {
        var second = plt.Add.Scatter(xs, r.Values);
        line.LegendText = "lr";
        second.LegendText = r.Label;
        second.MarkerSize = 0;
        second.LinePattern = ScottPlot.LinePattern.Dashed;
        second.Axes.YAxis = plt.Axes.Right;
        plt.Axes.Right.Label.Text = r.Label;
        plt.ShowLegend(ScottPlot.Alignment.UpperRight);
    }
    plt.SavePng(path, 600, 300);
}

/// <summary>A minimal optimizer for the plots: one group, an lr and a momentum option, no update (only the lr matters here).</summary>
sealed class PlotOptimizer : Optimizer
{
    private PlotOptimizer(IEnumerable<Parameter> ps, IReadOnlyDictionary<string, object> defaults) : base(ps, defaults) { }

    public static PlotOptimizer Create(double lr, double momentum) =>
        new(new[] { new Parameter(Tensor.FromArray(new double[] { 0.0 })) }, new Dictionary<string, object> { ["lr"] = lr, ["momentum"] = momentum });

    public override Tensor? Step(Func<Tensor>? closure) => closure?.Invoke();

    // stateless: only the options matter here
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters) => new Dictionary<int, ParamState>();
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) { }
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) { }
}
