using System.Text.Json;
using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The small model of golden/make_optimizers.py: ŷ = tanh(x Wᵀ + b), loss = mean((ŷ − y)²), float64.</summary>
internal sealed class GoldenProblem
{
    private static readonly Lazy<JsonDocument> Doc = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "golden", "optimizers.json"))));

    private static double[] Arr(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();

    public readonly Tensor X = Tensor.FromArray(Arr(Doc.Value.RootElement.GetProperty("x")), 8, 4);
    public readonly Tensor Y = Tensor.FromArray(Arr(Doc.Value.RootElement.GetProperty("y")), 8, 3);
    public readonly Parameter W = new(Tensor.FromArray(Arr(Doc.Value.RootElement.GetProperty("w0")), 3, 4));
    public readonly Parameter B = new(Tensor.FromArray(Arr(Doc.Value.RootElement.GetProperty("b0")), 3));
    public bool Negate;

    public static (int Steps, bool Negate, double[][] Trajectory, double[] Losses) Case(string name)
    {
        var c = Doc.Value.RootElement.GetProperty("cases").EnumerateArray().First(c => c.GetProperty("name").GetString() == name);
        return (c.GetProperty("steps").GetInt32(), c.GetProperty("negate").GetBoolean(),
                c.GetProperty("trajectory").EnumerateArray().Select(Arr).ToArray(), Arr(c.GetProperty("losses")));
    }

    public Parameter[] Params => new[] { W, B };

    public Tensor Loss()
    {
        var l = ((X.Matmul(W.Transpose(0, 1)) + B).Tanh() - Y).Square().Mean();
        return Negate ? -l : l;
    }

    public Func<Tensor> Closure(Optimizer opt) => () =>
    {
        opt.ZeroGrad();
        var l = Loss();
        l.Backward();
        return l;
    };

    public double[] Flat() => W.ToArray<double>().Concat(B.ToArray<double>()).ToArray();
}

public class OptimizerGoldenTests
{
    private static Optimizer Make(string name, GoldenProblem p) => name switch
    {
        "sgd_nesterov_wd" => new SGD(p.Params, lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        "sgd_dampening" => new SGD(p.Params, lr: 0.1, momentum: 0.8, dampening: 0.3),
        "sgd_groups" => new SGD(new[]
        {
            new ParamGroup(new[] { p.W }, new Dictionary<string, object> { ["lr"] = 0.2, ["momentum"] = 0.9 }),
            new ParamGroup(new[] { p.B }),
        }, lr: 0.01),
        "adam_amsgrad_wd" => new Adam(p.Params, lr: 0.01, betas: (0.8, 0.99), weightDecay: 0.1, amsgrad: true),
        "adam_maximize" => new Adam(p.Params, lr: 0.01, maximize: true),
        "adamw" => new AdamW(p.Params, lr: 0.02, weightDecay: 0.1),
        "rmsprop_centered" => new RMSprop(p.Params, lr: 0.01, alpha: 0.9, centered: true, momentum: 0.5, weightDecay: 0.01),
        "adagrad" => new Adagrad(p.Params, lr: 0.1, lrDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1),
        "adadelta" => new Adadelta(p.Params, lr: 1.0, rho: 0.8, weightDecay: 0.01),
        "adamax" => new Adamax(p.Params, lr: 0.01, betas: (0.85, 0.99), weightDecay: 0.01),
        "radam" => new RAdam(p.Params, lr: 0.01, weightDecay: 0.01),
        "asgd" => new ASGD(p.Params, lr: 0.05, lambd: 1e-3, alpha: 0.75, t0: 5, weightDecay: 0.01),
        "rprop" => new Rprop(p.Params, lr: 0.01, etas: (0.4, 1.3), stepSizes: (1e-4, 1.0)),
        "lbfgs_strong_wolfe" => new LBFGS(p.Params, lr: 1, maxIter: 5, historySize: 4, lineSearchFn: "strong_wolfe"),
        "lbfgs_fixed" => new LBFGS(p.Params, lr: 0.5, maxIter: 4),
        _ => throw new ArgumentException(name),
    };

    private static void AssertClose(double[] expected, double[] actual, double rtol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            var tol = rtol * Math.Max(1.0, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tol, $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }

    [Theory]
    [InlineData("sgd_nesterov_wd")]
    [InlineData("sgd_dampening")]
    [InlineData("sgd_groups")]
    [InlineData("adam_amsgrad_wd")]
    [InlineData("adam_maximize")]
    [InlineData("adamw")]
    [InlineData("rmsprop_centered")]
    [InlineData("adagrad")]
    [InlineData("adadelta")]
    [InlineData("adamax")]
    [InlineData("radam")]
    [InlineData("asgd")]
    [InlineData("rprop")]
    [InlineData("lbfgs_strong_wolfe")]
    [InlineData("lbfgs_fixed")]
    public void TrajectoryMatchesTorch(string name)
    {
        var (steps, negate, trajectory, losses) = GoldenProblem.Case(name);
        var p = new GoldenProblem { Negate = negate };
        var opt = Make(name, p);
        for (int t = 0; t < steps; t++)
        {
            var loss = opt.Step(p.Closure(opt));
            AssertClose(new[] { losses[t] }, new[] { loss!.Item<double>() }, 1e-9, $"{name} loss at step {t + 1}");
            AssertClose(trajectory[t], p.Flat(), 1e-9, $"{name} params at step {t + 1}");
        }
    }
}

public class OptimizerStateTests
{
    private static Func<GoldenProblem, Optimizer>[] Makers => new Func<GoldenProblem, Optimizer>[]
    {
        p => new Adam(p.Params, lr: 0.01, amsgrad: true),
        p => new SGD(p.Params, lr: 0.05, momentum: 0.9, nesterov: true),
        p => new RMSprop(p.Params, lr: 0.01, centered: true, momentum: 0.3),
        p => new NAdam(p.Params, lr: 0.01),
        p => new ASGD(p.Params, lr: 0.05, t0: 3),
        p => new Rprop(p.Params),
        p => new Lion(p.Params, lr: 1e-3, weightDecay: 0.1),
        p => new Lookahead(new Adam(p.Params, lr: 0.01), k: 3, alpha: 0.5),
        p => new LBFGS(p.Params, maxIter: 3, historySize: 3, lineSearchFn: "strong_wolfe"),
        p => new BFGS(p.Params),
        p => new ProximalGradient(p.Params, lr: 0.5, lambda: 1e-2, accelerated: true),
        p => new Newton(p.Params),
    };

    public static IEnumerable<object[]> Indices => Enumerable.Range(0, Makers.Length).Select(i => new object[] { i });

    [Theory]
    [MemberData(nameof(Indices))]
    public void SaveLoadAndContinueEqualsAnUninterruptedRunBitForBit(int which)
    {
        const int before = 4, after = 4;
        var straight = new GoldenProblem();
        var o1 = Makers[which](straight);
        for (int t = 0; t < before + after; t++) o1.Step(straight.Closure(o1));

        var first = new GoldenProblem();
        var o2 = Makers[which](first);
        for (int t = 0; t < before; t++) o2.Step(first.Closure(o2));
        var path = Path.Combine(Path.GetTempPath(), $"hybrid-optim-{Guid.NewGuid():N}.safetensors");
        try
        {
            o2.Save(path);
            // a fresh process would rebuild the model and the optimizer, load the weights, then the optimizer
            var resumed = new GoldenProblem();
            resumed.W.SetData(first.W.Detach());
            resumed.B.SetData(first.B.Detach());
            var o3 = Makers[which](resumed);
            o3.Load(path);
            for (int t = 0; t < after; t++) o3.Step(resumed.Closure(o3));
            Assert.Equal(straight.Flat(), resumed.Flat());
            Assert.Equal(o1.GetType(), o3.GetType());
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void StateDictHasTorchsShapePerParameterStateAndGroups()
    {
        var p = new GoldenProblem();
        var opt = new Adam(p.Params, lr: 0.01, betas: (0.8, 0.9));
        opt.Step(p.Closure(opt));
        var sd = opt.StateDict();
        Assert.Equal("Adam", sd.Optimizer);
        Assert.Equal(new[] { 0, 1 }, sd.State.Keys.OrderBy(k => k).ToArray());
        Assert.Equal(1, sd.State[0].Step);
        Assert.Equal(new[] { "exp_avg", "exp_avg_sq" }, sd.State[0].Slots);
        Assert.Equal(new long[] { 3, 4 }, sd.State[0].Buffers["exp_avg"].Shape);
        Assert.Equal(new long[] { 3 }, sd.State[1].Buffers["exp_avg_sq"].Shape);
        Assert.Equal((0.8, 0.9), sd.ParamGroups[0].Options["betas"]);
        Assert.Equal(new[] { 0, 1 }, sd.ParamGroups[0].Params);
        // a copy: later steps do not change it
        var m = sd.State[0].Buffers["exp_avg"].ToArray<double>();
        opt.Step(p.Closure(opt));
        Assert.Equal(m, sd.State[0].Buffers["exp_avg"].ToArray<double>());
    }

    [Fact]
    public void AParameterWithoutAGradientIsSkippedAndKeepsNoState()
    {
        var p = new GoldenProblem();
        var opt = new Adam(p.Params, lr: 0.1);
        var b0 = p.B.ToArray<double>();
        opt.ZeroGrad();
        (p.W.Sum()).Backward();
        opt.Step();
        Assert.Equal(b0, p.B.ToArray<double>());
        Assert.Equal(new[] { 0 }, opt.StateDict().State.Keys.ToArray());
    }

    [Fact]
    public void LoadingAnotherOptimizersStateThrowsAndChangesNothing()
    {
        var p = new GoldenProblem();
        var adam = new Adam(p.Params);
        adam.Step(p.Closure(adam));
        var sgd = new SGD(p.Params, lr: 0.1, momentum: 0.9);
        var e = Assert.ThrowsAny<ArgumentException>(() => sgd.LoadStateDict(adam.StateDict()));
        Assert.Contains("Adam", e.Message);
        Assert.Equal("stateDict", e.ParamName);
        Assert.Equal(0.1, sgd.ParamGroups[0].Lr);
    }

    [Fact]
    public void LoadingAStateOfOtherShapesThrows()
    {
        var p = new GoldenProblem();
        var adam = new Adam(p.Params);
        adam.Step(p.Closure(adam));
        var other = new Adam(new[] { p.B, p.W });
        var e = Assert.ThrowsAny<ArgumentException>(() => other.LoadStateDict(adam.StateDict()));
        Assert.Contains("[3,4]", e.Message);
        var fewer = new Adam(new[] { p.W });
        Assert.ThrowsAny<ArgumentException>(() => fewer.LoadStateDict(adam.StateDict()));
    }
}

public class OptimizerBehaviourTests
{
    [Fact]
    public void TheIssueSnippetTrainsAnMlpWithAdam()
    {
        Rng.ManualSeed(0);
        var model = new Sequential(new Flatten(), new Linear(784, 256), new ReLU(), new Linear(256, 10));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3, weightDecay: 1e-4);
        var x = Tensor.Randn(16, 1, 28, 28);
        var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)(i % 10)).ToArray(), 16);
        var losses = new List<float>();
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            var loss = Losses.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            optimizer.Step();
            losses.Add(loss.Item<float>());
        }
        Assert.True(losses[^1] < losses[0], $"loss went from {losses[0]} to {losses[^1]}");
    }

    [Fact]
    public void SchedulersCanChangeLrAndReadOptionsThroughTheGroups()
    {
        var p = new GoldenProblem();
        var opt = new SGD(p.Params, lr: 0.1, momentum: 0.9);
        opt.ParamGroups[0].Lr = 0.05;
        Assert.Equal(0.05, opt.ParamGroups[0].Lr);
        Assert.Equal(0.9, opt.ParamGroups[0]["momentum"]);
        var adam = new Adam(p.Params);
        Assert.Equal((0.9, 0.999), adam.ParamGroups[0]["betas"]);
        adam.ParamGroups[0]["betas"] = (0.95, 0.999);
        adam.Step(p.Closure(adam));
    }

    [Fact]
    public void LookaheadPullsTheFastWeightsHalfwayBackEveryKSteps()
    {
        var p = new GoldenProblem();
        var start = p.Flat();
        var la = new Lookahead(new SGD(p.Params, lr: 0.1), k: 2, alpha: 0.5);
        la.Step(p.Closure(la));
        la.Step(p.Closure(la));
        // the same two SGD steps without Lookahead
        var q = new GoldenProblem();
        var sgd = new SGD(q.Params, lr: 0.1);
        sgd.Step(q.Closure(sgd));
        sgd.Step(q.Closure(sgd));
        var fast = q.Flat();
        var expected = start.Zip(fast, (s, f) => s + 0.5 * (f - s)).ToArray();
        var got = p.Flat();
        for (int i = 0; i < got.Length; i++) Assert.Equal(expected[i], got[i], 1e-15);
    }

    private static Func<Tensor> Quadratic(Optimizer opt, Parameter x, double[] c)
    {
        var ct = Tensor.FromArray(c);
        var scale = Tensor.FromArray(Enumerable.Range(1, c.Length).Select(i => (double)i).ToArray());
        return () =>
        {
            opt.ZeroGrad();
            var l = ((x - ct).Square() * scale).Sum() * 0.5;
            l.Backward();
            return l;
        };
    }

    [Fact]
    public void NewtonLandsOnTheMinimumOfAQuadraticInOneStep()
    {
        var x = new Parameter(Tensor.FromArray(new double[] { 0, 0, 0 }));
        var opt = new Newton(new[] { x });
        var c = new[] { 1.0, -2.0, 3.0 };
        opt.Step(Quadratic(opt, x, c));
        var got = x.ToArray<double>();
        for (int i = 0; i < 3; i++) Assert.Equal(c[i], got[i], 1e-8);
    }

    [Fact]
    public void BfgsConvergesOnAQuadratic()
    {
        var x = new Parameter(Tensor.FromArray(new double[] { 0, 0, 0, 0 }));
        var opt = new BFGS(new[] { x });
        var c = new[] { 1.0, -2.0, 3.0, 0.5 };
        var closure = Quadratic(opt, x, c);
        for (int i = 0; i < 10; i++) opt.Step(closure);
        var got = x.ToArray<double>();
        for (int i = 0; i < 4; i++) Assert.Equal(c[i], got[i], 1e-8);
    }

    [Fact]
    public void IstaWithUnitStepSoftThresholdsOnASeparableProblem()
    {
        // L = ½‖θ − c‖² (scale 1): θ⁺ = prox_{λ‖·‖₁}(c) = sign(c)·max(|c| − λ, 0)
        var x = new Parameter(Tensor.FromArray(new double[] { 0, 0, 0 }));
        var opt = new ProximalGradient(new[] { x }, lr: 1.0, lambda: 0.5);
        var c = Tensor.FromArray(new[] { 2.0, -0.3, -1.0 });
        opt.Step(() => { opt.ZeroGrad(); var l = (x - c).Square().Sum() * 0.5; l.Backward(); return l; });
        Assert.Equal(new[] { 1.5, 0.0, -0.5 }, x.ToArray<double>());
    }

    [Fact]
    public void ClipGradNormScalesToTheMaxNormAndReturnsTheTotalNorm()
    {
        var a = new Parameter(Tensor.FromArray(new double[] { 0, 0 }));
        var b = new Parameter(Tensor.FromArray(new double[] { 0 }));
        a.Grad = Tensor.FromArray(new double[] { 3, 0 });
        b.Grad = Tensor.FromArray(new double[] { 4 });
        var norm = Utils.ClipGradNorm(new[] { a, b }, 1.0);
        Assert.Equal(5.0, norm);
        var coef = 1.0 / (5.0 + 1e-6);
        Assert.Equal(new[] { 3 * coef, 0 }, a.Grad!.ToArray<double>());
        Assert.Equal(new[] { 4 * coef }, b.Grad!.ToArray<double>());
    }

    [Fact]
    public void ClipGradValueClampsEveryElement()
    {
        var a = new Parameter(Tensor.FromArray(new double[] { 0, 0, 0 }));
        a.Grad = Tensor.FromArray(new double[] { -3, 0.2, 5 });
        Utils.ClipGradValue(new[] { a }, 1.0);
        Assert.Equal(new[] { -1, 0.2, 1 }, a.Grad!.ToArray<double>());
    }
}

public class OptimizerBadInputTests
{
    private static Parameter P() => new(Tensor.FromArray(new double[] { 1, 2 }));

    private static void Names<TEx>(Action act, string argument, string value) where TEx : ArgumentException
    {
        var e = Assert.ThrowsAny<TEx>(act);
        Assert.Contains(argument, e.Message);
        Assert.Contains(value, e.Message);
    }

    [Fact]
    public void NullParametersThrowArgumentNull()
    {
        Assert.Throws<ArgumentNullException>(() => new Adam((IEnumerable<Parameter>)null!));
        Assert.Throws<ArgumentNullException>(() => new SGD((IEnumerable<ParamGroup>)null!));
        Assert.Throws<ArgumentNullException>(() => new LBFGS((IEnumerable<Parameter>)null!));
        Assert.Throws<ArgumentNullException>(() => new Lookahead(null!));
        Assert.Throws<ArgumentNullException>(() => Utils.ClipGradNorm(null!, 1.0));
    }

    [Fact]
    public void AnEmptyParameterListThrows() =>
        Names<ArgumentException>(() => new Adam(Array.Empty<Parameter>()), "empty parameter list", "Adam");

    [Fact]
    public void AParameterInTwoGroupsThrows()
    {
        var p = P();
        Names<ArgumentException>(() => new SGD(new[] { new ParamGroup(new[] { p }), new ParamGroup(new[] { p }) }), "more than one parameter group", "[2]");
    }

    [Fact]
    public void AGroupSteppedInOneCallEqualsEachParameterSteppedAlone()
    {
        // law: the facade's one core call per group (multi-tensor) gives each parameter the trajectory it has alone,
        // also when one parameter has no gradient at first (its state then starts later, at its own step count)
        Parameter Make(double[] v) => new(Tensor.FromArray(v));
        double[][] init = { new double[] { 1, -2, 3 }, new double[] { 0.5, 0.25 }, new double[] { -1, 4, 2, 8 } };
        var together = init.Select(Make).ToArray();
        var alone = init.Select(Make).ToArray();
        var joint = new Adam(together, lr: 0.1, amsgrad: true);
        var single = alone.Select(p => new Adam(new[] { p }, lr: 0.1, amsgrad: true)).ToArray();
        for (int t = 0; t < 5; t++)
        {
            for (int i = 0; i < init.Length; i++)
            {
                var grad = i == 2 && t < 2 ? null : Tensor.FromArray(init[i].Select((x, k) => Math.Sin(t + i + k * x)).ToArray());
                together[i].Grad = grad;
                alone[i].Grad = grad;
            }
            joint.ParamGroups[0].Lr = 0.1 / (1 + t);   // a scheduler's change: the cached core rule is rebuilt
            joint.Step();
            for (int i = 0; i < init.Length; i++)
            {
                single[i].ParamGroups[0].Lr = 0.1 / (1 + t);
                if (alone[i].Grad is not null) single[i].Step();
            }
        }
        for (int i = 0; i < init.Length; i++)
            Assert.Equal(alone[i].ToArray<double>(), together[i].ToArray<double>());
        Assert.Equal(3L, joint.StateDict().State[2].Step);
        Assert.Equal(5L, joint.StateDict().State[0].Step);
    }

    [Fact]
    public void BadOptionsReadTheSameFromCoreAndFacade()
    {
        // one check (the core's Hyper) and one message format for every optimizer and option
        Assert.Contains("Adam: lr must be a finite number >= 0, got -1", Assert.Throws<ArgumentOutOfRangeException>(() => new Adam(new[] { P() }, lr: -1)).Message);
        Assert.Contains("SGD: momentum must be a finite number >= 0, got -0.5", Assert.Throws<ArgumentOutOfRangeException>(() => new SGD(new[] { P() }, momentum: -0.5)).Message);
        Assert.Contains("adam: lr must be a finite number >= 0, got Infinity",
            Assert.Throws<ArgumentOutOfRangeException>(() => Hybrid.Core.Optim.Adam.create(new Hybrid.Core.Optim.AdamHyper(double.PositiveInfinity, 0.9, 0.999, 1e-8, 0, false, false))).Message);
    }

    [Fact]
    public void ANegativeOrNaNLrThrows()
    {
        Names<ArgumentOutOfRangeException>(() => new Adam(new[] { P() }, lr: -1), "lr", "-1");
        Names<ArgumentOutOfRangeException>(() => new SGD(new[] { P() }, lr: double.NaN), "lr", "NaN");
        Names<ArgumentOutOfRangeException>(() => new LBFGS(new[] { P() }, lr: -0.5), "lr", "-0.5");
    }

    [Fact]
    public void BetasOutsideTheUnitIntervalThrow()
    {
        Names<ArgumentOutOfRangeException>(() => new Adam(new[] { P() }, betas: (1.0, 0.999)), "betas", "(1, 0.999)");
        Names<ArgumentOutOfRangeException>(() => new AdamW(new[] { P() }, betas: (0.9, -0.1)), "betas", "-0.1");
        Names<ArgumentOutOfRangeException>(() => new NAdam(new[] { P() }, betas: (1.5, 0.9)), "betas", "1.5");
    }

    [Fact]
    public void ANonPositiveEpsThrows()
    {
        Names<ArgumentOutOfRangeException>(() => new Adam(new[] { P() }, eps: 0), "eps", "0");
        Names<ArgumentOutOfRangeException>(() => new RMSprop(new[] { P() }, eps: -1e-8), "eps", "-1E-08");
    }

    [Fact]
    public void NesterovWithoutMomentumThrows() =>
        Names<ArgumentException>(() => new SGD(new[] { P() }, lr: 0.1, nesterov: true), "nesterov", "momentum = 0");

    [Fact]
    public void ABadOptionSetLaterIsCaughtBeforeAnythingChanges()
    {
        var p = P();
        var opt = new Adam(new[] { p }, lr: 0.1);
        p.Grad = Tensor.FromArray(new double[] { 1, 1 });
        opt.ParamGroups[0].Lr = -3;
        Names<ArgumentOutOfRangeException>(() => opt.Step(), "lr", "-3");
        Assert.Equal(new double[] { 1, 2 }, p.ToArray<double>());
        Assert.Empty(opt.StateDict().State);
    }

    [Fact]
    public void LbfgsNeedsAClosureAndOneGroup()
    {
        var opt = new LBFGS(new[] { P() });
        Assert.Throws<ArgumentNullException>(() => opt.Step());
        Names<ArgumentException>(() => new LBFGS(new[] { new ParamGroup(new[] { P() }), new ParamGroup(new[] { P() }) }), "parameter groups", "second group");
        Names<ArgumentException>(() => new LBFGS(new[] { P() }, lineSearchFn: "armijo"), "lineSearchFn", "armijo");
    }

    [Fact]
    public void LookaheadRejectsBadKAndAlpha()
    {
        Names<ArgumentOutOfRangeException>(() => new Lookahead(new SGD(new[] { P() }), k: 0), "k", "0");
        Names<ArgumentOutOfRangeException>(() => new Lookahead(new SGD(new[] { P() }), alpha: 1.5), "alpha", "1.5");
        Names<ArgumentException>(() => new Lookahead(new LBFGS(new[] { P() })), "inner", "LBFGS");
    }

    [Fact]
    public void ClipRejectsNegativeBounds()
    {
        Names<ArgumentOutOfRangeException>(() => Utils.ClipGradNorm(new[] { P() }, -1), "maxNorm", "-1");
        Names<ArgumentOutOfRangeException>(() => Utils.ClipGradValue(new[] { P() }, -2), "clipValue", "-2");
    }
}
