using System.Text.Json;
using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// Issue 17's scheduler additions — torch's <c>last_epoch</c>, CyclicLR's <c>scale_fn</c>/<c>scale_mode</c> — and
/// issue 16's scheduler state dicts under torch's keys. Expected values are torch 1.13's (float64); the differential
/// test (DifferentialTests) replays many more random ones.
/// </summary>
public class LrSchedulerResumeTests
{
    private static SGD Sgd(double lr, double? initialLr = null)
    {
        var o = new SGD(new[] { new Parameter(Tensor.Zeros(new long[] { 1 }, DType.Float64)) }, lr: lr, momentum: 0.9);
        o.ParamGroups[0].InitialLr = initialLr;
        return o;
    }

    private static double[] Lrs(Optimizer o, LRScheduler s, int steps)
    {
        var l = new List<double> { o.ParamGroups[0].Lr };
        for (int i = 0; i < steps; i++) { s.Step(); l.Add(o.ParamGroups[0].Lr); }
        return l.ToArray();
    }

    private static void Close(double[] want, double[] got, double rel)
    {
        Assert.Equal(want.Length, got.Length);
        for (int i = 0; i < want.Length; i++) Assert.True(Math.Abs(got[i] - want[i]) <= rel * Math.Abs(want[i]), $"step {i}: {got[i]:R} vs {want[i]:R}");
    }

    [Fact]
    public void StepLRResumedAfterStep29ContinuesAsTorch()
    {
        // torch: group lr 0.025, initial_lr 0.1, StepLR(o, 10, 0.5, last_epoch=29)
        var o = Sgd(0.025, 0.1);
        var s = new StepLR(o, stepSize: 10, gamma: 0.5, lastEpoch: 29);
        Assert.Equal(30, s.LastEpoch);
        Close(new[] { 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.0125, 0.00625, 0.00625 }, Lrs(o, s, 11), 0);
        Assert.Equal(41, s.LastEpoch);
    }

    [Fact]
    public void CosineAnnealingLRResumedTakesTorchsClosedFormOnItsFirstStep()
    {
        // torch: group lr 0.07 (ignored by the closed form), initial_lr 0.1, CosineAnnealingLR(o, 20, 0.001, last_epoch=5)
        var o = Sgd(0.07, 0.1);
        var s = new CosineAnnealingLR(o, tMax: 20, etaMin: 0.001, lastEpoch: 5);
        Close(new[] { 0.07959536998847742, 0.07297252973710756, 0.0657963412215599, 0.05824350601949144, 0.0505, 0.04275649398050859 }, Lrs(o, s, 5), 1e-15);
    }

    public static IEnumerable<object[]> Resumable() => new[]
    {
        new object[] { "StepLR" }, new object[] { "ExponentialLR" }, new object[] { "LinearLR" }, new object[] { "PolynomialLR" },
        new object[] { "MultiStepLR" }, new object[] { "ConstantLR" }, new object[] { "OneCycleLR" }, new object[] { "CyclicLR" },
        new object[] { "CosineAnnealingWarmRestarts" }, new object[] { "LambdaLR" },
    };

    private static LRScheduler Make(string kind, Optimizer o, int last) => kind switch
    {
        "StepLR" => new StepLR(o, 4, 0.7, last),
        "ExponentialLR" => new ExponentialLR(o, 0.93, last),
        "LinearLR" => new LinearLR(o, 0.2, 0.9, 25, last),
        "PolynomialLR" => new PolynomialLR(o, 30, 1.7, last),
        "MultiStepLR" => new MultiStepLR(o, new[] { 3, 11, 17 }, 0.4, last),
        "ConstantLR" => new ConstantLR(o, 0.3, 14, last),
        "OneCycleLR" => new OneCycleLR(o, 0.8, totalSteps: 40, lastEpoch: last),
        "CyclicLR" => new CyclicLR(o, 0.01, 0.2, stepSizeUp: 5, mode: CyclicMode.Triangular2, lastEpoch: last),
        "CosineAnnealingWarmRestarts" => new CosineAnnealingWarmRestarts(o, 12, 1, 0.002, last),
        "LambdaLR" => new LambdaLR(o, e => 1.0 / (1.0 + e), last),
        _ => throw new ArgumentException(kind),
    };

    [Theory]
    [MemberData(nameof(Resumable))]
    public void AScheduleResumedAtStepKContinuesTheUninterruptedRun(string kind)
    {
        // law: a scheduler built with lastEpoch = k on a group holding the lr and initial lr of step k gives the lrs
        // (and momenta) of steps k + 1, k + 2, ... of an uninterrupted run
        var o = Sgd(0.3);
        var full = Make(kind, o, -1);
        var lrs = new List<double> { o.ParamGroups[0].Lr };
        var moms = new List<double> { Convert.ToDouble(o.ParamGroups[0]["momentum"]) };
        for (int t = 0; t < 30; t++) { full.Step(); lrs.Add(o.ParamGroups[0].Lr); moms.Add(Convert.ToDouble(o.ParamGroups[0]["momentum"])); }
        foreach (var k in new[] { 0, 7, 18 })
        {
            var r = Sgd(lrs[k], o.ParamGroups[0].InitialLr);
            var s = Make(kind, r, k);
            Assert.Equal(k + 1, s.LastEpoch);
            for (int t = k + 1; t <= 30; t++)
            {
                Assert.True(Math.Abs(r.ParamGroups[0].Lr - lrs[t]) <= 1e-14 * lrs[t], $"{kind} resumed at {k}: step {t} lr {r.ParamGroups[0].Lr:R} vs {lrs[t]:R}");
                Assert.Equal(moms[t], Convert.ToDouble(r.ParamGroups[0]["momentum"]), 14);
                if (t < 30) s.Step();
            }
        }
    }

    [Fact]
    public void ResumingWithoutAnInitialLrNamesTheGroupAsTorch()
    {
        var e = Assert.Throws<ArgumentException>(() => new StepLR(Sgd(0.1), 3, lastEpoch: 4));
        Assert.Equal("lastEpoch", e.ParamName);
        Assert.Contains("parameter group 0 has no InitialLr", e.Message);
        Assert.Contains("initial_lr", e.Message);
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => new ExponentialLR(Sgd(0.1, 0.1), 0.9, lastEpoch: -2));
        Assert.Equal("lastEpoch", bad.ParamName);
        Assert.Contains("-2", bad.Message);
    }

    [Fact]
    public void CyclicLRScaleFnByCycleAndByIterationAsTorch()
    {
        // torch: CyclicLR(SGD(lr=0.5), 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 1/(1+x), scale_mode=..., cycle_momentum=False)
        var byCycle = Sgd(0.5);
        Close(new[] { 0.01, 0.02125, 0.0325, 0.043750000000000004, 0.05500000000000001, 0.043750000000000004, 0.0325, 0.02125, 0.01, 0.0175, 0.025, 0.0325 },
              Lrs(byCycle, new CyclicLR(byCycle, 0.01, 0.1, stepSizeUp: 4, cycleMomentum: false, scaleFn: x => 1 / (1 + x)), 11), 1e-15);
        var byIter = Sgd(0.5);
        Close(new[] { 0.01, 0.02125, 0.025, 0.026875000000000003, 0.028000000000000004, 0.021249999999999998, 0.01642857142857143, 0.012812500000000001, 0.01, 0.01225, 0.014090909090909091, 0.015625 },
              Lrs(byIter, new CyclicLR(byIter, 0.01, 0.1, stepSizeUp: 4, cycleMomentum: false, scaleFn: x => 1 / (1 + x), scaleMode: "iterations"), 11), 1e-15);
        var e = Assert.Throws<ArgumentException>(() => new CyclicLR(Sgd(0.5), 0.01, 0.1, scaleFn: x => x, scaleMode: "epochs"));
        Assert.Equal("scaleMode", e.ParamName);
        Assert.Contains("epochs", e.Message);
    }

    [Fact]
    public void TheStateDictHasTorchsKeys()
    {
        var o = Sgd(0.1);
        var s = new StepLR(o, stepSize: 3, gamma: 0.5);
        for (int i = 0; i < 4; i++) s.Step();
        var sd = s.StateDict();
        Assert.Equal("3", sd.Args!["step_size"]);
        Assert.Equal("0.5", sd.Args["gamma"]);
        Assert.Equal(new[] { 0.1 }, sd.BaseLrs);
        Assert.Equal(4, sd.LastEpoch);
        Assert.Equal(new[] { 0.05 }, sd.LastLr);
        var seq = new SequentialLR(o, new LRScheduler[] { new ConstantLR(o, 0.5, 2), new ExponentialLR(o, 0.9) }, new[] { 2 }).StateDict();
        Assert.Equal("[2]", seq.Args!["_milestones"]);
        Assert.Equal("0.9", seq.Args["_schedulers.1.gamma"]);
    }

    [Fact]
    public void AStateWithOtherArgumentsIsRefusedNamingTheKey()
    {
        var saved = new StepLR(Sgd(0.1), stepSize: 3, gamma: 0.5).StateDict();
        var e = Assert.Throws<ArgumentException>(() => new StepLR(Sgd(0.1), stepSize: 3, gamma: 0.1).LoadStateDict(saved));
        Assert.Equal("state", e.ParamName);
        Assert.Contains("key 'gamma' is 0.5 in the state but 0.1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new StepLR(Sgd(0.1), stepSize: 4, gamma: 0.5).LoadStateDict(saved));
        Assert.Contains("'step_size'", e.Message);
        e = Assert.Throws<ArgumentException>(() => new ExponentialLR(Sgd(0.1), 0.5).LoadStateDict(saved));
        Assert.Contains("'Scheduler'", e.Message);
        Assert.Contains("StepLR", e.Message);
        // a state with a key this scheduler lacks, or lacking one, through JSON as a checkpoint holds it
        var json = JsonSerializer.Serialize(saved).Replace("\"gamma\"", "\"gama\"");
        e = Assert.Throws<ArgumentException>(() => new StepLR(Sgd(0.1), 3, 0.5).LoadStateDict(JsonSerializer.Deserialize<LRSchedulerState>(json)!));
        Assert.Contains("lacks key 'gamma'", e.Message);
        // the same arguments load, and the lr continues
        var o = Sgd(0.1);
        var s = new StepLR(o, 3, 0.5);
        s.LoadStateDict(JsonSerializer.Deserialize<LRSchedulerState>(JsonSerializer.Serialize(saved))!);
        Assert.Equal(0.1, o.ParamGroups[0].Lr);
    }

    [Fact]
    public void APlateauStateWithOtherArgumentsIsRefusedNamingTheKey()
    {
        var a = new ReduceLROnPlateau(Sgd(0.1), factor: 0.5, patience: 2);
        a.Step(1.0);
        var saved = a.StateDict();
        Assert.Equal("0.5", saved.Args!["factor"]);
        Assert.Equal("min", saved.Args["mode"]);
        var e = Assert.Throws<ArgumentException>(() => new ReduceLROnPlateau(Sgd(0.1), factor: 0.5, patience: 3).LoadStateDict(saved));
        Assert.Contains("key 'patience' is 2 in the state but 3", e.Message);
        var ok = new ReduceLROnPlateau(Sgd(0.1), factor: 0.5, patience: 2);
        ok.LoadStateDict(JsonSerializer.Deserialize<ReduceLROnPlateauState>(JsonSerializer.Serialize(saved))!);
        Assert.Equal(1.0, ok.Best);
    }
}
