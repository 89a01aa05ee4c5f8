using System.Text.Json;
using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>A test-only optimizer: groups and options, no update.</summary>
internal sealed class DummyOptimizer : Optimizer
{
    public DummyOptimizer(IEnumerable<ParamGroup> groups, IReadOnlyDictionary<string, object> defaults) : base(groups, defaults) { }

    public override Tensor? Step(Func<Tensor>? closure) => closure?.Invoke();

    // stateless: only the options matter here
    protected override IReadOnlyDictionary<int, ParamState> ExportState(IReadOnlyList<Parameter> parameters) => new Dictionary<int, ParamState>();
    protected override void CheckState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) { }
    protected override void ImportState(IReadOnlyDictionary<int, ParamState> state, IReadOnlyList<Parameter> parameters) { }

    static Parameter P() => new(Tensor.FromArray(new double[] { 0.0 }));

    /// <summary>Two groups with lrs 0.1 and 0.05, SGD-like (momentum 0.9), as the golden script's optimizer.</summary>
    public static DummyOptimizer Sgd(params double[] lrs) => Make(new Dictionary<string, object> { ["lr"] = 0.1, ["momentum"] = 0.9 }, lrs);

    /// <summary>Two groups, Adam-like (betas (0.9, 0.999)).</summary>
    public static DummyOptimizer Adam(params double[] lrs) => Make(new Dictionary<string, object> { ["lr"] = 0.1, ["betas"] = (0.9, 0.999) }, lrs);

    /// <summary>Groups with no momentum option at all.</summary>
    public static DummyOptimizer Plain(params double[] lrs) => Make(new Dictionary<string, object> { ["lr"] = 0.1 }, lrs);

    static DummyOptimizer Make(Dictionary<string, object> defaults, double[] lrs)
    {
        if (lrs.Length == 0) lrs = new[] { 0.1, 0.05 };
        return new DummyOptimizer(lrs.Select(lr => new ParamGroup(new[] { P() }, new Dictionary<string, object> { ["lr"] = lr })), defaults);
    }
}

public class LrSchedulerTests
{
    sealed record Case(double[][] lrs, double[][]? momentum, double[]? metrics);
    sealed record Golden(string torch, int steps, Dictionary<string, Case> cases);

    static readonly Golden Gold = JsonSerializer.Deserialize<Golden>(
        File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "schedulers.json")))!;

    /// <summary>Builds the scheduler of each golden case exactly as make_schedulers.py does.</summary>
    static readonly Dictionary<string, (Func<DummyOptimizer> opt, Func<Optimizer, LRScheduler> make)> Builders = new()
    {
        ["StepLR"] = (Sgd, o => new StepLR(o, stepSize: 7, gamma: 0.5)),
        ["MultiStepLR"] = (Sgd, o => new MultiStepLR(o, milestones: new[] { 10, 25, 60 }, gamma: 0.3)),
        ["ExponentialLR"] = (Sgd, o => new ExponentialLR(o, gamma: 0.95)),
        ["CosineAnnealingLR"] = (Sgd, o => new CosineAnnealingLR(o, tMax: 30, etaMin: 0.001)),
        ["CosineAnnealingWarmRestarts"] = (Sgd, o => new CosineAnnealingWarmRestarts(o, t0: 5, tMult: 2, etaMin: 0.001)),
        ["CosineAnnealingWarmRestarts_mult1"] = (Sgd, o => new CosineAnnealingWarmRestarts(o, t0: 13)),
        ["LinearLR"] = (Sgd, o => new LinearLR(o, startFactor: 0.25, endFactor: 1.0, totalIters: 20)),
        ["LinearLR_defaults"] = (Sgd, o => new LinearLR(o)),
        ["ConstantLR"] = (Sgd, o => new ConstantLR(o, factor: 0.5, totalIters: 10)),
        ["PolynomialLR"] = (Sgd, o => new PolynomialLR(o, totalIters: 50, power: 2.0)),
        ["LambdaLR"] = (Sgd, o => new LambdaLR(o, e => 1.0 / (1.0 + 0.1 * e))),
        ["LambdaLR_per_group"] = (Sgd, o => new LambdaLR(o, new Func<int, double>[] { e => Math.Pow(0.97, e), e => 1.0 / (1.0 + e) })),
        ["MultiplicativeLR"] = (Sgd, o => new MultiplicativeLR(o, _ => 0.97)),
        ["OneCycleLR"] = (Sgd, o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 101)),
        ["OneCycleLR_per_group_linear_3phase"] = (Sgd, o => new OneCycleLR(o, maxLr: new[] { 0.5, 0.2 }, epochs: 11, stepsPerEpoch: 11,
            pctStart: 0.25, annealStrategy: AnnealStrategy.Linear, divFactor: 10.0, finalDivFactor: 100.0, threePhase: true)),
        ["OneCycleLR_adam"] = (Adam, o => new OneCycleLR(o, maxLr: 0.01, totalSteps: 120)),
        ["CyclicLR"] = (Sgd, o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 10)),
        ["CyclicLR_triangular2_per_group"] = (Sgd, o => new CyclicLR(o, baseLr: new[] { 0.01, 0.001 }, maxLr: new[] { 0.1, 0.02 },
            stepSizeUp: 8, stepSizeDown: 12, mode: CyclicMode.Triangular2)),
        ["CyclicLR_exp_range_no_momentum"] = (Sgd, o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 5, mode: CyclicMode.ExpRange,
            gamma: 0.98, cycleMomentum: false)),
        ["SequentialLR"] = (Sgd, o => new SequentialLR(o, new LRScheduler[] {
            new LinearLR(o, startFactor: 0.1, endFactor: 1.0, totalIters: 10), new CosineAnnealingLR(o, tMax: 40, etaMin: 0.0) }, new[] { 10 })),
        ["SequentialLR_three"] = (Sgd, o => new SequentialLR(o, new LRScheduler[] {
            new ConstantLR(o, factor: 0.1, totalIters: 5), new ExponentialLR(o, gamma: 0.9), new StepLR(o, stepSize: 10, gamma: 0.5) }, new[] { 5, 30 })),
        ["SequentialLR_warm_restarts"] = (Sgd, o => new SequentialLR(o, new LRScheduler[] {
            new LinearLR(o, startFactor: 0.2, totalIters: 8), new CosineAnnealingWarmRestarts(o, t0: 10, tMult: 2, etaMin: 0.0005) }, new[] { 8 })),
        ["ChainedScheduler"] = (Sgd, o => new ChainedScheduler(new LRScheduler[] {
            new ConstantLR(o, factor: 0.1, totalIters: 4), new ExponentialLR(o, gamma: 0.9) })),
        ["ChainedScheduler_cosine_multistep"] = (Sgd, o => new ChainedScheduler(new LRScheduler[] {
            new CosineAnnealingLR(o, tMax: 20, etaMin: 0.0), new MultiStepLR(o, milestones: new[] { 30, 60 }, gamma: 0.5) })),
        ["ChainedScheduler_linear_lambda"] = (Sgd, o => new ChainedScheduler(new LRScheduler[] {
            new LinearLR(o, startFactor: 0.5, totalIters: 10), new LambdaLR(o, e => Math.Pow(0.99, e)) })),
    };

    static readonly Dictionary<string, Func<Optimizer, ReduceLROnPlateau>> Plateaus = new()
    {
        ["ReduceLROnPlateau"] = o => new ReduceLROnPlateau(o, patience: 3),
        ["ReduceLROnPlateau_cooldown_minlr"] = o => new ReduceLROnPlateau(o, PlateauMode.Min, 0.5, 2, 1e-4, ThresholdMode.Rel, 3, new[] { 0.01, 0.02 }, 1e-8),
        ["ReduceLROnPlateau_max_abs"] = o => new ReduceLROnPlateau(o, mode: PlateauMode.Max, factor: 0.3, patience: 4, threshold: 0.002,
            thresholdMode: ThresholdMode.Abs),
    };

    static DummyOptimizer Sgd() => DummyOptimizer.Sgd();
    static DummyOptimizer Adam() => DummyOptimizer.Adam();

    static double MomentumOf(ParamGroup g) =>
        g.Has("betas") ? (((double, double))g["betas"]).Item1 : g.GetDouble("momentum");

    static void AssertClose(double expected, double actual, string what)
    {
        // 1e-10 relative (an absolute floor for the exact zeros at the end of some schedules)
        if (!(Math.Abs(actual - expected) <= 1e-10 * Math.Abs(expected) + 1e-15))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R}");
    }

    public static IEnumerable<object[]> ScheduleCases() => Builders.Keys.Select(k => new object[] { k });
    public static IEnumerable<object[]> PlateauCases() => Plateaus.Keys.Select(k => new object[] { k });

    /// <summary>Runs a case: lrs[g][t] and momentum[g][t] after construction (t = 0) and after each of the steps.</summary>
    static (double[][] lrs, double[][] moms) Run(string name, int steps)
    {
        var (opt, make) = Builders[name];
        var o = opt();
        var s = make(o);
        var lrs = o.ParamGroups.Select(_ => new List<double>()).ToArray();
        var moms = o.ParamGroups.Select(_ => new List<double>()).ToArray();
        void Record()
        {
            var last = s.GetLastLr();
            for (int g = 0; g < lrs.Length; g++)
            {
                Assert.Equal(last[g], o.ParamGroups[g].Lr);
                lrs[g].Add(o.ParamGroups[g].Lr);
                moms[g].Add(MomentumOf(o.ParamGroups[g]));
            }
        }
        Record();
        for (int t = 0; t < steps; t++) { o.Step(); s.Step(); Record(); }
        return (lrs.Select(l => l.ToArray()).ToArray(), moms.Select(m => m.ToArray()).ToArray());
    }

    [Theory]
    [MemberData(nameof(ScheduleCases))]
    public void EverySchedulerMatchesTorchOver100StepsOnEveryGroup(string name)
    {
        var gold = Gold.cases[name];
        var (lrs, moms) = Run(name, Gold.steps);
        Assert.Equal(gold.lrs.Length, lrs.Length);
        for (int g = 0; g < lrs.Length; g++)
        {
            Assert.Equal(gold.lrs[g].Length, lrs[g].Length);
            for (int t = 0; t < lrs[g].Length; t++) AssertClose(gold.lrs[g][t], lrs[g][t], $"{name} group {g} lr at step {t}");
            if (gold.momentum is not null)
                for (int t = 0; t < moms[g].Length; t++) AssertClose(gold.momentum[g][t], moms[g][t], $"{name} group {g} momentum at step {t}");
        }
    }

    [Fact]
    public void GoldenFileCoversEveryBuilder()
    {
        Assert.StartsWith("1.13", Gold.torch);
        Assert.Equal(Builders.Count + Plateaus.Count, Gold.cases.Count);
    }

    [Theory]
    [MemberData(nameof(PlateauCases))]
    public void ReduceLROnPlateauMatchesTorchOnAScriptedMetric(string name)
    {
        var gold = Gold.cases[name];
        var o = Sgd();
        var s = Plateaus[name](o);
        for (int t = 0; t < gold.metrics!.Length; t++)
        {
            s.Step(gold.metrics[t]);
            for (int g = 0; g < 2; g++)
            {
                AssertClose(gold.lrs[g][t], o.ParamGroups[g].Lr, $"{name} group {g} lr at step {t}");
                Assert.Equal(o.ParamGroups[g].Lr, s.GetLastLr()[g]);
            }
        }
        Assert.Equal(gold.metrics.Length, s.LastEpoch);
    }

    [Theory]
    [InlineData("CosineAnnealingWarmRestarts", 17)]
    [InlineData("OneCycleLR", 40)]
    [InlineData("CyclicLR_triangular2_per_group", 33)]
    [InlineData("SequentialLR_warm_restarts", 12)]
    [InlineData("ChainedScheduler_linear_lambda", 6)]
    [InlineData("LambdaLR_per_group", 50)]
    public void StateDictThenLoadThenContinueEqualsAnUninterruptedRun(string name, int cut)
    {
        var (full, fullMoms) = Run(name, 60);
        var (opt, make) = Builders[name];
        var o1 = opt();
        var s1 = make(o1);
        for (int t = 0; t < cut; t++) s1.Step();
        // round-trip the state through JSON as a checkpoint would
        var json = JsonSerializer.Serialize(s1.StateDict());
        var o2 = opt();
        var s2 = make(o2);
        s2.LoadStateDict(JsonSerializer.Deserialize<LRSchedulerState>(json)!);
        Assert.Equal(s1.LastEpoch, s2.LastEpoch);
        for (int t = cut; t <= 60; t++)
        {
            for (int g = 0; g < 2; g++)
            {
                Assert.Equal(full[g][t], o2.ParamGroups[g].Lr);
                Assert.Equal(fullMoms[g][t], MomentumOf(o2.ParamGroups[g]));
            }
            if (t < 60) s2.Step();
        }
    }

    [Fact]
    public void ReduceLROnPlateauStateRoundTripsAndContinues()
    {
        var gold = Gold.cases["ReduceLROnPlateau_cooldown_minlr"];
        var o1 = Sgd();
        var s1 = Plateaus["ReduceLROnPlateau_cooldown_minlr"](o1);
        for (int t = 0; t < 37; t++) s1.Step(gold.metrics![t]);
        var json = JsonSerializer.Serialize(s1.StateDict());
        var o2 = Sgd();
        var s2 = Plateaus["ReduceLROnPlateau_cooldown_minlr"](o2);
        s2.LoadStateDict(JsonSerializer.Deserialize<ReduceLROnPlateauState>(json)!);
        for (int t = 37; t < gold.metrics!.Length; t++)
        {
            s2.Step(gold.metrics[t]);
            for (int g = 0; g < 2; g++) AssertClose(gold.lrs[g][t], o2.ParamGroups[g].Lr, $"group {g} lr at step {t}");
        }
    }

    [Fact]
    public void ConstructionRecordsInitialLrOnEachGroupAndLastEpochCountsSteps()
    {
        var o = Sgd();
        var s = new StepLR(o, 3);
        Assert.Equal(0.1, o.ParamGroups[0].InitialLr);
        Assert.Equal(0.05, o.ParamGroups[1].InitialLr);
        Assert.Equal(0, s.LastEpoch);
        for (int t = 0; t < 7; t++) s.Step();
        Assert.Equal(7, s.LastEpoch);
        Assert.Equal(new[] { 0.1 * 0.01, 0.05 * 0.01 }, s.GetLastLr().Select(v => Math.Round(v, 15)));
    }

    [Fact]
    public void AnLrChangedByHandIsTheOneTheNextStepStartsFrom()
    {
        // torch reads group['lr'] in its recursive forms: ExponentialLR multiplies whatever the group holds
        var o = Sgd();
        var s = new ExponentialLR(o, 0.5);
        o.ParamGroups[0].Lr = 0.8;
        s.Step();
        Assert.Equal(0.4, o.ParamGroups[0].Lr, 15);
        Assert.Equal(0.025, o.ParamGroups[1].Lr, 15);
    }

    [Fact]
    public void OneCycleThrowsWhenSteppedPastTotalStepsWithoutChangingTheLr()
    {
        var o = Sgd();
        // as torch: construction plus totalSteps steps are allowed, the next one throws
        var s = new OneCycleLR(o, maxLr: 1.0, totalSteps: 5);
        for (int t = 0; t < 5; t++) s.Step();
        var before = s.GetLastLr();
        Assert.Throws<InvalidOperationException>(() => s.Step());
        Assert.Equal(before, s.GetLastLr());
        Assert.Equal(before[0], o.ParamGroups[0].Lr);
    }

    [Fact]
    public void AnInnerSchedulerOfACompositeCannotBeSteppedOnItsOwn()
    {
        var o = Sgd();
        var a = new ConstantLR(o, 0.5, 3);
        var b = new ExponentialLR(o, 0.9);
        var chain = new ChainedScheduler(new LRScheduler[] { a, b });
        var e = Assert.Throws<InvalidOperationException>(() => a.Step());
        Assert.Contains("ChainedScheduler", e.Message);
        chain.Step();
    }

    // ---- bad input: thrown before anything changes, naming the argument ----

    public static IEnumerable<object[]> BadArguments() => new (Func<Optimizer, object> make, string arg, string? value)[]
    {
        (o => new StepLR(o, stepSize: 0), "stepSize", "0"),
        (o => new StepLR(o, stepSize: 3, gamma: 0.0), "gamma", "0"),
        (o => new StepLR(o, stepSize: 3, gamma: -0.5), "gamma", "-0.5"),
        (o => new MultiStepLR(o, new[] { 10, 10, 20 }), "milestones", "10, 10, 20"),
        (o => new MultiStepLR(o, new[] { 30, 20 }), "milestones", "30, 20"),
        (o => new MultiStepLR(o, null!), "milestones", null),
        (o => new ExponentialLR(o, gamma: double.NaN), "gamma", "NaN"),
        (o => new CosineAnnealingLR(o, tMax: 0), "tMax", "0"),
        (o => new CosineAnnealingLR(o, tMax: 10, etaMin: -1.0), "etaMin", "-1"),
        (o => new CosineAnnealingWarmRestarts(o, t0: 0), "t0", "0"),
        (o => new CosineAnnealingWarmRestarts(o, t0: 5, tMult: 0), "tMult", "0"),
        (o => new LinearLR(o, startFactor: 0.0), "startFactor", "0"),
        (o => new LinearLR(o, endFactor: 1.5), "endFactor", "1.5"),
        (o => new LinearLR(o, totalIters: 0), "totalIters", "0"),
        (o => new ConstantLR(o, factor: 2.0), "factor", "2"),
        (o => new ConstantLR(o, totalIters: -1), "totalIters", "-1"),
        (o => new PolynomialLR(o, totalIters: 0), "totalIters", "0"),
        (o => new PolynomialLR(o, power: -1.0), "power", "-1"),
        (o => new LambdaLR(o, (Func<int, double>)null!), "lrLambda", null),
        (o => new LambdaLR(o, new Func<int, double>[] { e => 1.0 }), "lrLambda", "1"),
        (o => new MultiplicativeLR(o, (Func<int, double>)null!), "lrLambda", null),
        (o => new OneCycleLR(o, maxLr: 1.0), "totalSteps", null),
        (o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 0), "totalSteps", "0"),
        (o => new OneCycleLR(o, maxLr: 1.0, epochs: 0, stepsPerEpoch: 10), "epochs", "0"),
        (o => new OneCycleLR(o, maxLr: 0.0, totalSteps: 10), "maxLr", "0"),
        (o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 10, pctStart: 1.5), "pctStart", "1.5"),
        (o => new OneCycleLR(o, maxLr: new[] { 1.0, 2.0, 3.0 }, totalSteps: 10), "maxLr", "3"),
        (o => new OneCycleLR(o, maxLr: 1.0, totalSteps: 10, divFactor: 0.0), "divFactor", "0"),
        (o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 0), "stepSizeUp", "0"),
        (o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, stepSizeDown: 0), "stepSizeDown", "0"),
        (o => new CyclicLR(o, baseLr: -0.01, maxLr: 0.1), "baseLr", "-0.01"),
        (o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, mode: CyclicMode.ExpRange, gamma: 0.0), "gamma", "0"),
        (o => new CyclicLR(o, baseLr: 0.01, maxLr: 0.1, mode: (CyclicMode)7), "mode", "7"),
        (o => new ReduceLROnPlateau(o, factor: 1.0), "factor", "1"),
        (o => new ReduceLROnPlateau(o, patience: -1), "patience", "-1"),
        (o => new ReduceLROnPlateau(o, cooldown: -2), "cooldown", "-2"),
        (o => new ReduceLROnPlateau(o, minLr: -1.0), "minLr", "-1"),
        (o => new ReduceLROnPlateau(o, PlateauMode.Min, 0.1, 10, 1e-4, ThresholdMode.Rel, 0, new[] { 0.0 }, 1e-8), "minLr", "1"),
        (o => new SequentialLR(o, new LRScheduler[] { new StepLR(o, 2), new StepLR(o, 3) }, new[] { 5, 6 }), "milestones", "2"),
        (o => new SequentialLR(o, new LRScheduler[] { new StepLR(o, 2), new StepLR(o, 3), new StepLR(o, 4) }, new[] { 9, 5 }), "milestones", "9, 5"),
        (o => new SequentialLR(o, new LRScheduler[] { new StepLR(o, 2), new StepLR(o, 3) }, new[] { 0 }), "milestones", "0"),
        (o => new SequentialLR(o, Array.Empty<LRScheduler>(), Array.Empty<int>()), "schedulers", null),
        (o => new ChainedScheduler(Array.Empty<LRScheduler>()), "schedulers", null),
        (o => new ChainedScheduler(null!), "schedulers", null),
    }.Select(c => new object[] { c.make, c.arg, c.value! });

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void BadArgumentsThrowNamingTheArgumentAndValueBeforeAnyGroupChanges(Func<Optimizer, object> make, string argument, string? value)
    {
        var o = Sgd();
        var e = Assert.ThrowsAny<ArgumentException>(() => make(o));
        Assert.Equal(argument, e.ParamName);
        Assert.Contains(argument, e.Message);
        if (value is not null) Assert.Contains(value, e.Message);
        // a composite's inner schedulers were built (and set the groups, as in torch) before it was called
        if (!e.StackTrace!.Contains(nameof(SequentialLR)))
        {
            Assert.Equal(new[] { 0.1, 0.05 }, o.ParamGroups.Select(g => g.Lr));
            Assert.All(o.ParamGroups, g => Assert.Null(g.InitialLr));
            Assert.Equal(0.9, o.ParamGroups[0].GetDouble("momentum"));
        }
    }

    [Fact]
    public void ANullOptimizerThrowsArgumentNullExceptionNamingIt()
    {
        var cases = new Func<object>[]
        {
            () => new StepLR(null!, 3), () => new MultiStepLR(null!, new[] { 1 }), () => new ExponentialLR(null!, 0.9),
            () => new CosineAnnealingLR(null!, 10), () => new CosineAnnealingWarmRestarts(null!, 10), () => new LinearLR(null!),
            () => new ConstantLR(null!), () => new PolynomialLR(null!), () => new LambdaLR(null!, e => 1.0),
            () => new MultiplicativeLR(null!, e => 1.0), () => new OneCycleLR(null!, 1.0, 10), () => new CyclicLR(null!, 0.01, 0.1),
            () => new ReduceLROnPlateau(null!), () => new SequentialLR(null!, Array.Empty<LRScheduler>(), Array.Empty<int>()),
        };
        foreach (var make in cases)
            Assert.Equal("optimizer", Assert.Throws<ArgumentNullException>(make).ParamName);
    }

    [Fact]
    public void ASchedulerOnAForeignOptimizerIsRejectedNamingSchedulers()
    {
        var o = Sgd();
        var other = Sgd();
        var e = Assert.ThrowsAny<ArgumentException>(() => new SequentialLR(o, new LRScheduler[] { new StepLR(o, 2), new StepLR(other, 3) }, new[] { 5 }));
        Assert.Equal("schedulers", e.ParamName);
        Assert.Contains("schedulers[1]", e.Message);
        Assert.Contains("foreign optimizer", e.Message);
        var e2 = Assert.ThrowsAny<ArgumentException>(() => new ChainedScheduler(new LRScheduler[] { new StepLR(o, 2), new ExponentialLR(other, 0.9) }));
        Assert.Equal("schedulers", e2.ParamName);
        Assert.Contains("schedulers[1]", e2.Message);
        var e3 = Assert.ThrowsAny<ArgumentException>(() => new SequentialLR(other, new LRScheduler[] { new StepLR(o, 2) }, Array.Empty<int>()));
        Assert.Contains("schedulers[0]", e3.Message);
    }

    [Fact]
    public void CyclingMomentumOnAnOptimizerWithoutMomentumIsRejectedUnlessTurnedOff()
    {
        var o = DummyOptimizer.Plain();
        var e = Assert.ThrowsAny<ArgumentException>(() => new CyclicLR(o, 0.01, 0.1));
        Assert.Equal("cycleMomentum", e.ParamName);
        Assert.Equal(new[] { 0.1, 0.05 }, o.ParamGroups.Select(g => g.Lr));
        Assert.ThrowsAny<ArgumentException>(() => new OneCycleLR(o, 1.0, 10));
        var s = new CyclicLR(o, 0.01, 0.1, stepSizeUp: 4, cycleMomentum: false);
        s.Step();
        Assert.Equal(0.0325, o.ParamGroups[0].Lr, 15);
    }

    [Fact]
    public void CyclicLRCyclesBeta1OfAnAdamLikeGroupAsItCyclesAnSgdMomentum()
    {
        // torch 1.13's CyclicLR only knows "momentum"; like OneCycleLR (and torch 2) the facade also drives beta1
        var sgd = Sgd();
        var adam = Adam();
        var a = new CyclicLR(sgd, 0.01, 0.1, stepSizeUp: 6);
        var b = new CyclicLR(adam, 0.01, 0.1, stepSizeUp: 6);
        for (int t = 0; t < 20; t++)
        {
            Assert.Equal(sgd.ParamGroups[1].GetDouble("momentum"), MomentumOf(adam.ParamGroups[1]));
            Assert.Equal(0.999, (((double, double))adam.ParamGroups[1]["betas"]).Item2);
            Assert.Equal(a.GetLastLr(), b.GetLastLr());
            a.Step(); b.Step();
        }
    }

    [Fact]
    public void LoadingAStateOfAnotherKindOrShapeIsRejected()
    {
        var o = Sgd();
        var step = new StepLR(o, 2);
        var exp = new ExponentialLR(Sgd(), 0.9);
        var e = Assert.ThrowsAny<ArgumentException>(() => step.LoadStateDict(exp.StateDict()));
        Assert.Equal("state", e.ParamName);
        Assert.Contains("ExponentialLR", e.Message);
        var one = new StepLR(DummyOptimizer.Sgd(0.1), 2);
        Assert.ThrowsAny<ArgumentException>(() => step.LoadStateDict(one.StateDict()));
        Assert.Throws<ArgumentNullException>(() => step.LoadStateDict(null!));
    }
}
