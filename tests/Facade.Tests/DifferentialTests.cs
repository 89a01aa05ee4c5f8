using System.Text;
using System.Text.Json;
using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;
using Xunit.Abstractions;

namespace Hybrid.Facade.Tests;

/// <summary>
/// The differential test against PyTorch 1.13 (issue 17): replays every case that differential/differential.py wrote
/// (random optimizer option sets, schedules, autodiff graphs with gradients and Hessian-vector products, ties and kinks)
/// through the public facade and compares with torch's answers: optimizers (loss and parameters at every step) and
/// schedules (lr and momentum at every step) to 1e-9 relative in float64, values, gradients and Hessian-vector products
/// to 1e-8. "Relative" is |got − torch| ≤ tol·max(|torch|, 1e-3·max|torch over the array|, 1e-6), so that an element
/// that cancels to about zero is held to the array's scale (and an array that is all rounding noise, such as the gradient of
/// a softmax's sum, to 1e-6).
/// </summary>
/// <remarks>
/// The checked-in cases come from <c>/usr/bin/python3 tests/Facade.Tests/differential/differential.py</c> (seed 17). To
/// run against fresh ones: <c>/usr/bin/python3 tests/Facade.Tests/differential/differential.py --seed 4242 --out
/// /tmp/cases.json</c>, then <c>HYBRID_DIFFERENTIAL_CASES=/tmp/cases.json dotnet test tests/Facade.Tests --filter
/// FullyQualifiedName~DifferentialTests</c>. Each test reports every failing case (not only the first) and prints the
/// largest relative difference per kind.
/// </remarks>
public class DifferentialTests
{
    private readonly ITestOutputHelper _out;

    /// <summary>The test's output.</summary>
    public DifferentialTests(ITestOutputHelper output) => _out = output;

    private static readonly Lazy<JsonDocument> Doc = new(() =>
    {
        var path = Environment.GetEnvironmentVariable("HYBRID_DIFFERENTIAL_CASES") is { Length: > 0 } p
            ? p : Path.Combine(AppContext.BaseDirectory, "differential", "cases.json");
        return JsonDocument.Parse(File.ReadAllText(path));
    });

    private static IEnumerable<JsonElement> Cases(string kind) => Doc.Value.RootElement.GetProperty(kind).EnumerateArray();

    // ------------------------------------------------------------------------------------------------ helpers

    private static double[] Flat(JsonElement e) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray().SelectMany(Flat).ToArray() : new[] { e.GetDouble() };

    private static long[] ShapeOf(JsonElement e)
    {
        var s = new List<long>();
        while (e.ValueKind == JsonValueKind.Array) { s.Add(e.GetArrayLength()); if (e.GetArrayLength() == 0) break; e = e[0]; }
        return s.ToArray();
    }

    private static Tensor T(JsonElement e) => Tensor.FromArray(Flat(e), ShapeOf(e));

    private static bool Has(JsonElement o, string k) => o.TryGetProperty(k, out var v) && v.ValueKind != JsonValueKind.Null;

    private static double D(JsonElement o, string k, double def) => Has(o, k) ? o.GetProperty(k).GetDouble() : def;

    private static int I(JsonElement o, string k, int def) => Has(o, k) ? o.GetProperty(k).GetInt32() : def;

    private static bool B(JsonElement o, string k, bool def = false) => Has(o, k) ? o.GetProperty(k).GetBoolean() : def;

    private static (double, double) Pair(JsonElement o, string k, (double, double) def) =>
        Has(o, k) ? (o.GetProperty(k)[0].GetDouble(), o.GetProperty(k)[1].GetDouble()) : def;

    /// <summary>The largest relative difference (see the class comment) of <paramref name="got"/> from <paramref name="want"/>.</summary>
    private static double RelErr(double[] got, double[] want)
    {
        if (got.Length != want.Length) return double.PositiveInfinity;
        double scale = want.Length == 0 ? 0 : want.Max(Math.Abs), worst = 0;
        for (int i = 0; i < want.Length; i++)
        {
            var d = Math.Abs(got[i] - want[i]);
            if (double.IsNaN(got[i]) != double.IsNaN(want[i])) return double.PositiveInfinity;
            if (double.IsNaN(want[i])) continue;
            worst = Math.Max(worst, d / Math.Max(Math.Abs(want[i]), Math.Max(1e-3 * scale, 1e-6)));
        }
        return worst;
    }

    private void Report(string kind, List<string> failures, Dictionary<string, double> worst, int count)
    {
        _out.WriteLine($"{kind}: {count} cases, {failures.Count} failing");
        foreach (var (k, v) in worst.OrderBy(kv => kv.Key)) _out.WriteLine($"  {k}: largest relative difference {v:E2}");
        foreach (var f in failures) _out.WriteLine("  FAIL " + f);
        Assert.True(count > 0, $"{kind}: no cases");
        Assert.True(failures.Count == 0, $"{kind}: {failures.Count} of {count} cases differ from torch:\n" + string.Join("\n", failures));
    }

    // ------------------------------------------------------------------------------------------------ optimizers

    private static Optimizer Make(string name, JsonElement o, Parameter[] ps) => name switch
    {
        "SGD" => new SGD(ps, lr: D(o, "lr", 1e-3), momentum: D(o, "momentum", 0), dampening: D(o, "dampening", 0), weightDecay: D(o, "weight_decay", 0),
                         nesterov: B(o, "nesterov"), maximize: B(o, "maximize")),
        "Adam" => new Adam(ps, lr: D(o, "lr", 1e-3), betas: Pair(o, "betas", (0.9, 0.999)), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 0),
                           amsgrad: B(o, "amsgrad"), maximize: B(o, "maximize")),
        "AdamW" => new AdamW(ps, lr: D(o, "lr", 1e-3), betas: Pair(o, "betas", (0.9, 0.999)), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 1e-2),
                             amsgrad: B(o, "amsgrad"), maximize: B(o, "maximize")),
        "Adagrad" => new Adagrad(ps, lr: D(o, "lr", 1e-2), lrDecay: D(o, "lr_decay", 0), weightDecay: D(o, "weight_decay", 0),
                                 initialAccumulatorValue: D(o, "initial_accumulator_value", 0), eps: D(o, "eps", 1e-10), maximize: B(o, "maximize")),
        "Adadelta" => new Adadelta(ps, lr: D(o, "lr", 1.0), rho: D(o, "rho", 0.9), eps: D(o, "eps", 1e-6), weightDecay: D(o, "weight_decay", 0), maximize: B(o, "maximize")),
        "Adamax" => new Adamax(ps, lr: D(o, "lr", 2e-3), betas: Pair(o, "betas", (0.9, 0.999)), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 0), maximize: B(o, "maximize")),
        "NAdam" => new NAdam(ps, lr: D(o, "lr", 2e-3), betas: Pair(o, "betas", (0.9, 0.999)), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 0),
                             momentumDecay: D(o, "momentum_decay", 4e-3)),
        "RAdam" => new RAdam(ps, lr: D(o, "lr", 1e-3), betas: Pair(o, "betas", (0.9, 0.999)), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 0)),
        "ASGD" => new ASGD(ps, lr: D(o, "lr", 1e-2), lambd: D(o, "lambd", 1e-4), alpha: D(o, "alpha", 0.75), t0: D(o, "t0", 1e6), weightDecay: D(o, "weight_decay", 0),
                           maximize: B(o, "maximize")),
        "Rprop" => new Rprop(ps, lr: D(o, "lr", 1e-2), etas: Pair(o, "etas", (0.5, 1.2)), stepSizes: Pair(o, "step_sizes", (1e-6, 50)), maximize: B(o, "maximize")),
        "RMSprop" => new RMSprop(ps, lr: D(o, "lr", 1e-2), alpha: D(o, "alpha", 0.99), eps: D(o, "eps", 1e-8), weightDecay: D(o, "weight_decay", 0),
                                 momentum: D(o, "momentum", 0), centered: B(o, "centered"), maximize: B(o, "maximize")),
        "LBFGS" => new LBFGS(ps, lr: D(o, "lr", 1), maxIter: I(o, "max_iter", 20), historySize: I(o, "history_size", 100),
                             lineSearchFn: Has(o, "line_search_fn") ? o.GetProperty("line_search_fn").GetString() : null),
        _ => throw new ArgumentException($"unknown optimizer {name}"),
    };

    [Fact]
    public void EveryOptimizerCaseFollowsTorchsTrajectory()
    {
        var failures = new List<string>();
        var worst = new Dictionary<string, double>();
        int n = 0;
        foreach (var c in Cases("optimizers"))
        {
            n++;
            var name = c.GetProperty("name").GetString()!;
            var kind = c.GetProperty("optimizer").GetString()!;
            var x = T(c.GetProperty("x"));
            var y = T(c.GetProperty("y"));
            var w = new Parameter(T(c.GetProperty("w0")));
            var b = new Parameter(T(c.GetProperty("b0")));
            var opt = Make(kind, c.GetProperty("options"), new[] { w, b });
            Tensor Closure()
            {
                opt.ZeroGrad();
                var l = ((x.Matmul(w.Transpose(0, 1)) + b).Tanh() - y).Square().Mean();
                l.Backward();
                return l;
            }
            var losses = Flat(c.GetProperty("losses"));
            var traj = c.GetProperty("trajectory").EnumerateArray().Select(Flat).ToArray();
            double e = 0;
            for (int s = 0; s < c.GetProperty("steps").GetInt32(); s++)
            {
                var loss = opt.Step(Closure)!;
                e = Math.Max(e, RelErr(new[] { loss.Item<double>() }, new[] { losses[s] }));
                e = Math.Max(e, RelErr(w.ToArray<double>().Concat(b.ToArray<double>()).ToArray(), traj[s]));
                if (!(e <= 1e-9)) { failures.Add($"{name} {c.GetProperty("options")}: step {s + 1} differs by {e:E2} relative"); break; }
            }
            worst[kind] = Math.Max(worst.GetValueOrDefault(kind), e);
        }
        Report("optimizers", failures, worst, n);
    }

    /// <summary>
    /// Each first-order rule alone, fed torch's fixed gradient sequence: no model, so no gradient rounding; what is left
    /// is the rule's own arithmetic, held to 1e-12 relative over 36 steps. Not to the bit: torch's CPU kernels are built
    /// with FMA, and the compiler may contract a·b + c into one rounding (differences of about 1e-14 remain with the
    /// operations in torch's order), so the check is that no rule drifts beyond rounding.
    /// </summary>
    [Fact]
    public void EveryUpdateRuleFollowsTorchsOperationOrder()
    {
        var failures = new List<string>();
        var worst = new Dictionary<string, double>();
        int n = 0;
        foreach (var c in Cases("rules"))
        {
            n++;
            var name = c.GetProperty("name").GetString()!;
            var kind = c.GetProperty("optimizer").GetString()!;
            var p = new Parameter(T(c.GetProperty("p0")));
            var opt = Make(kind, c.GetProperty("options"), new[] { p });
            var grads = c.GetProperty("grads").EnumerateArray().Select(Flat).ToArray();
            var traj = c.GetProperty("trajectory").EnumerateArray().Select(Flat).ToArray();
            double e = 0;
            for (int s = 0; s < traj.Length; s++)
            {
                p.Grad = Tensor.FromArray(grads[s], p.Shape);
                opt.Step();
                e = Math.Max(e, RelErr(p.ToArray<double>(), traj[s]));
                if (!(e <= 1e-12)) { failures.Add($"{name} {c.GetProperty("options")}: step {s + 1} differs by {e:E2} relative"); break; }
            }
            worst[kind] = Math.Max(worst.GetValueOrDefault(kind), e);
        }
        Report("rules", failures, worst, n);
    }

    // ------------------------------------------------------------------------------------------------ schedules

    private static readonly Dictionary<string, Func<int, double>> Lambdas = new()
    {
        ["inv_sqrt"] = e => 1.0 / Math.Sqrt(1.0 + e),
        ["decay095"] = e => Math.Pow(0.95, e),
        ["wave"] = e => 0.9 + 0.1 * Math.Sin(e),
    };

    private static readonly Dictionary<string, Func<double, double>> ScaleFns = new()
    {
        ["inverse"] = x => 1.0 / (1.0 + x),
        ["half_power"] = x => Math.Pow(0.5, x),
        ["cosine"] = x => 0.5 * (1.0 + Math.Cos(x / 7.0)),
    };

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static LRScheduler MakeScheduler(string kind, Optimizer o, JsonElement a, int last) => kind switch
    {
        "StepLR" => new StepLR(o, I(a, "step_size", 1), D(a, "gamma", 0.1), last),
        "MultiStepLR" => new MultiStepLR(o, Ints(a.GetProperty("milestones")), D(a, "gamma", 0.1), last),
        "ExponentialLR" => new ExponentialLR(o, D(a, "gamma", 0.1), last),
        "CosineAnnealingLR" => new CosineAnnealingLR(o, I(a, "T_max", 1), D(a, "eta_min", 0), last),
        "CosineAnnealingWarmRestarts" => new CosineAnnealingWarmRestarts(o, I(a, "T_0", 1), I(a, "T_mult", 1), D(a, "eta_min", 0), last),
        "LinearLR" => new LinearLR(o, D(a, "start_factor", 1.0 / 3), D(a, "end_factor", 1.0), I(a, "total_iters", 5), last),
        "ConstantLR" => new ConstantLR(o, D(a, "factor", 1.0 / 3), I(a, "total_iters", 5), last),
        "PolynomialLR" => new PolynomialLR(o, I(a, "total_iters", 5), D(a, "power", 1.0), last),
        "LambdaLR" => new LambdaLR(o, Lambdas[a.GetProperty("lr_lambda").GetString()!], last),
        "MultiplicativeLR" => new MultiplicativeLR(o, Lambdas[a.GetProperty("lr_lambda").GetString()!], last),
        "OneCycleLR" => new OneCycleLR(o, D(a, "max_lr", 0.1), totalSteps: I(a, "total_steps", 1), pctStart: D(a, "pct_start", 0.3),
            annealStrategy: a.GetProperty("anneal_strategy").GetString() == "linear" ? AnnealStrategy.Linear : AnnealStrategy.Cos,
            divFactor: D(a, "div_factor", 25), finalDivFactor: D(a, "final_div_factor", 1e4), threePhase: B(a, "three_phase"), lastEpoch: last),
        "CyclicLR" => new CyclicLR(o, D(a, "base_lr", 0), D(a, "max_lr", 0), stepSizeUp: I(a, "step_size_up", 2000),
            stepSizeDown: Has(a, "step_size_down") ? a.GetProperty("step_size_down").GetInt32() : null,
            mode: a.GetProperty("mode").GetString() switch { "triangular2" => CyclicMode.Triangular2, "exp_range" => CyclicMode.ExpRange, _ => CyclicMode.Triangular },
            gamma: D(a, "gamma", 1.0), cycleMomentum: B(a, "cycle_momentum", true),
            scaleFn: Has(a, "scale_fn") ? ScaleFns[a.GetProperty("scale_fn").GetString()!] : null,
            scaleMode: Has(a, "scale_mode") ? a.GetProperty("scale_mode").GetString()! : "cycle", lastEpoch: last),
        _ => throw new ArgumentException($"unknown scheduler {kind}"),
    };

    private static double MomentumOf(ParamGroup g) =>
        g.Has("betas") ? g["betas"] switch { ValueTuple<double, double> t => t.Item1, var v => throw new InvalidOperationException($"betas {v}") }
                       : Convert.ToDouble(g["momentum"]);

    [Fact]
    public void EveryScheduleCaseGivesTorchsLrsAndMomenta()
    {
        var failures = new List<string>();
        var worst = new Dictionary<string, double>();
        int n = 0;
        foreach (var c in Cases("schedules"))
        {
            n++;
            var name = c.GetProperty("name").GetString()!;
            var kind = c.GetProperty("scheduler").GetString()!;
            try
            {
                var p = new Parameter(Tensor.Zeros(new long[] { 1 }, DType.Float64));
                var lr0 = c.GetProperty("lr0").GetDouble();
                Optimizer opt = c.GetProperty("optimizer").GetString() == "Adam" ? new Adam(new[] { p }, lr: lr0) : new SGD(new[] { p }, lr: lr0, momentum: 0.9);
                var last = c.GetProperty("last_epoch").GetInt32();
                if (Has(c, "initial_lr")) opt.ParamGroups[0].InitialLr = c.GetProperty("initial_lr").GetDouble();
                LRScheduler sch;
                if (kind is "SequentialLR" or "ChainedScheduler")
                {
                    var inner = c.GetProperty("inner").EnumerateArray()
                        .Select(i => MakeScheduler(i.GetProperty("scheduler").GetString()!, opt, i.GetProperty("args"), -1)).ToArray();
                    sch = kind == "SequentialLR" ? new SequentialLR(opt, inner, Ints(c.GetProperty("milestones"))) : new ChainedScheduler(inner);
                }
                else sch = MakeScheduler(kind, opt, c.GetProperty("args"), last);
                var lrs = new List<double> { opt.ParamGroups[0].Lr };
                var moms = new List<double> { MomentumOf(opt.ParamGroups[0]) };
                for (int s = 1; s < c.GetProperty("steps").GetInt32(); s++)
                {
                    sch.Step();
                    lrs.Add(opt.ParamGroups[0].Lr);
                    moms.Add(MomentumOf(opt.ParamGroups[0]));
                }
                var e = Math.Max(RelErr(lrs.ToArray(), Flat(c.GetProperty("lrs"))), RelErr(moms.ToArray(), Flat(c.GetProperty("momenta"))));
                worst[kind] = Math.Max(worst.GetValueOrDefault(kind), e);
                if (!(e <= 1e-9))
                {
                    var want = Flat(c.GetProperty("lrs"));
                    int at = Enumerable.Range(0, want.Length).FirstOrDefault(i => RelErr(new[] { lrs[i] }, new[] { want[i] }) > 1e-9);
                    failures.Add($"{name} (last_epoch {last}) {c.GetProperty(Has(c, "args") ? "args" : "inner")}: differs by {e:E2} relative (lr at step {at}: {lrs[at]:R}, torch {want[at]:R})");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                failures.Add($"{name}: {ex.GetType().Name}: {ex.Message}");
            }
        }
        Report("schedules", failures, worst, n);
    }

    // ------------------------------------------------------------------------------------------------ autodiff

    private static Tensor Apply(string op, Tensor[] a, Tensor c) => op switch
    {
        "tanh" => a[0].Tanh(),
        "sigmoid" => a[0].Sigmoid(),
        "sin" => a[0].Sin(),
        "cos" => a[0].Cos(),
        "square" => a[0].Square(),
        "softplus" => a[0].Softplus(),
        "gelu" => a[0].Gelu(),
        "erf" => a[0].Erf(),
        "elu" => a[0].Elu(),
        "leaky_relu" => a[0].LeakyRelu(0.1),
        "relu" => a[0].Relu(),
        "abs" => a[0].Abs(),
        "exp_tanh" => a[0].Tanh().Exp(),
        "log_sq1" => (a[0].Square() + 1.0).Log(),
        "sqrt_sq1" => (a[0].Square() + 1.0).Sqrt(),
        "pow3" => a[0].Pow(3.0),
        "softmax1" => a[0].Softmax(1),
        "log_softmax1" => a[0].LogSoftmax(1),
        "sum_keep1" => a[0].Sum(1, keepDim: true),
        "mean_keep0" => a[0].Mean(0, keepDim: true),
        "lse_keep1" => a[0].LogSumExp(new[] { 1 }, keepDim: true),
        "max_keep1" => a[0].Max(1, keepDim: true).Values,
        "matmul_c" => a[0].Matmul(c),
        "clamp" => a[0].Clamp(-0.5, 0.5),
        "add" => a[0] + a[1],
        "sub" => a[0] - a[1],
        "mul" => a[0] * a[1],
        "div_sq1" => a[0] / (a[1].Square() + 1.0),
        "maximum" => a[0].Maximum(a[1]),
        "minimum" => a[0].Minimum(a[1]),
        _ => throw new ArgumentException($"unknown op {op}"),
    };

    private static Tensor Final(string op, Tensor a, Tensor w) => op switch
    {
        "sum" => a.Sum(),
        "mean" => a.Mean(),
        "max" => a.Max(),
        "min" => a.Min(),
        "norm" => a.Norm(2.0),
        "wsum" => (a * w.Slice(0, 0, (int)a.Shape[0]).Slice(1, 0, (int)a.Shape[1])).Sum(),
        "var" => a.Numel > 1 ? a.Var(new[] { 0, 1 }, 1) : a.Sum(),
        "std" => a.Numel > 1 ? a.Std(new[] { 0, 1 }, 1) : a.Sum(),
        _ => throw new ArgumentException($"unknown final op {op}"),
    };

    private static Tensor Evaluate(JsonElement program, Tensor x, Tensor k, Tensor c, Tensor w)
    {
        var regs = new List<Tensor> { x, k };
        foreach (var ins in program.GetProperty("ops").EnumerateArray())
        {
            var parts = ins.EnumerateArray().ToArray();
            regs.Add(Apply(parts[0].GetString()!, parts.Skip(1).Select(i => regs[i.GetInt32()]).ToArray(), c));
        }
        return Final(program.GetProperty("final").GetString()!, regs[^1], w);
    }

    [Fact]
    public void EveryAutodiffCaseGivesTorchsValueGradientAndHessianVectorProduct()
    {
        var failures = new List<string>();
        var worst = new Dictionary<string, double>();
        int n = 0;
        foreach (var c in Cases("autodiff"))
        {
            n++;
            var name = c.GetProperty("name").GetString()!;
            var program = c.GetProperty("program");
            try
            {
                var k = T(c.GetProperty("k"));
                var cm = T(c.GetProperty("c"));
                var w = T(c.GetProperty("w"));
                var x = T(c.GetProperty("x")).RequiresGrad_();
                var v = T(c.GetProperty("v"));
                var y = Evaluate(program, x, k, cm, w);
                var shape = x.Shape;
                double[] zeros = new double[x.Numel];
                double[] grad = zeros, hvp = zeros;
                if (y.RequiresGrad)
                {
                    // double backward through the public facade: g = ∇f(x) recorded, then H·v = ∇ₓ(g·v);
                    // where g does not depend on x, H·v is zero (torch's strict=False)
                    y.Backward(createGraph: true);
                    var g = x.Grad!;
                    grad = g.ToArray<double>();
                    if (g.RequiresGrad)
                    {
                        x.Grad = null;
                        (g * v).Sum().Backward();
                        hvp = x.Grad?.ToArray<double>() ?? zeros;
                    }
                }
                var ev = RelErr(new[] { y.Item<double>() }, new[] { c.GetProperty("value").GetDouble() });
                var eg = RelErr(grad, Flat(c.GetProperty("grad")));
                var eh = RelErr(hvp, Flat(c.GetProperty("hvp")));
                var e = Math.Max(ev, Math.Max(eg, eh));
                var kind = name.StartsWith("graph_") ? "random graphs" : "ties and kinks";
                worst[kind] = Math.Max(worst.GetValueOrDefault(kind), e);
                if (!(e <= 1e-8))
                    failures.Add($"{name} {program}: value {ev:E2}, grad {eg:E2}, hvp {eh:E2} relative (grad [{string.Join(", ", grad.Select(d => d.ToString("G6")))}], hvp [{string.Join(", ", hvp.Select(d => d.ToString("G6")))}])");
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
            {
                failures.Add($"{name} {program}: {ex.GetType().Name}: {ex.Message}");
            }
        }
        Report("autodiff", failures, worst, n);
    }
}
