using Hybrid;
using Hybrid.Nn;
using Hybrid.Optim;
using Hybrid.Optim.LrScheduler;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>The C# examples of docs/csharp-quickstart.md, docs/optimizers.md and docs/schedules.md, compiled and run (copies; the quick
/// start page itself is compiled and run as written, against the packed packages, by scripts/package-test.sh).</summary>
public class DocsExamplesTests
{
    private static IEnumerable<(Tensor X, Tensor Y)> Batches(int count, int seed)
    {
        for (int b = 0; b < count; b++)
        {
            var x = Tensor.Randn(new long[] { 16, 1, 28, 28 }, DType.Float32, seed + b);
            var labels = Enumerable.Range(0, 16).Select(i => (long)((i + b) % 10)).ToArray();
            yield return (x, Tensor.FromArray(labels));
        }
    }

    [Fact]
    public void QuickStartTrainingLoop()
    {
        var batches = Batches(4, 1).ToList();
        Rng.ManualSeed(0);
        var model = new Sequential(new Flatten(), new Linear(784, 256), new ReLU(), new Linear(256, 10));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3, weightDecay: 1e-4);
        var scheduler = new StepLR(optimizer, stepSize: 30, gamma: 0.1);
        double first = double.NaN, last = double.NaN;
        for (int epoch = 0; epoch < 3; epoch++)
        {
            foreach (var (x, y) in batches)
            {
                optimizer.ZeroGrad();
                var loss = Losses.CrossEntropy(model.Forward(x), y);
                loss.Backward();
                optimizer.Step();
                if (double.IsNaN(first)) first = loss.Item<float>();
                last = loss.Item<float>();
            }
            scheduler.Step();
        }
        Assert.True(last < first, $"loss {first} -> {last}");
        var path = Path.Combine(Path.GetTempPath(), $"quickstart-{Guid.NewGuid():N}.safetensors");
        model.Save(path);
        var again = new Sequential(new Flatten(), new Linear(784, 256), new ReLU(), new Linear(256, 10));
        again.Load(path);
        var probe = batches[0].X;
        Assert.Equal(model.Forward(probe).ToArray<float>(), again.Forward(probe).ToArray<float>());
    }

    [Fact]
    public void QuickStartTensorsAndGradients()
    {
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.Randn(3, 4);
        var c = a.Matmul(b).Relu().Sum(1);
        Assert.Equal(new long[] { 2 }, c.Shape);
        float[] values = c.ToArray<float>();
        Assert.Equal(2, values.Length);
        var labels = Tensor.FromArray(new long[] { 3, 1 });
        Assert.Equal(DType.Int64, labels.DType);

        var w = Tensor.Randn(3).RequiresGrad_();
        var loss = (w * w).Sum();
        loss.Backward();
        Assert.Equal(w.ToArray<float>().Select(v => 2 * v), w.Grad!.ToArray<float>());
        using (Tensor.NoGrad()) { Assert.False((w * 2.0).RequiresGrad); }
        w.Grad = null;
        Assert.Null(w.Grad);
    }

    private sealed class Net : Module
    {
        private readonly Linear fc1 = new(784, 128), fc2 = new(128, 10);
        public override Tensor Forward(Tensor x) => fc2.Forward(fc1.Forward(x.Flatten(1)).Relu());
    }

    [Fact]
    public void QuickStartCustomModuleFindsItsLayers()
    {
        var net = new Net();
        Assert.Equal(new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, net.NamedParameters().Select(p => p.Name));
        Assert.Equal(new long[] { 2, 10 }, net.Forward(Tensor.Randn(2, 1, 28, 28)).Shape);
    }

    [Fact]
    public void OptimizersPageExamples()
    {
        var batches = Batches(2, 7).ToList();
        var model = new Sequential(new Flatten(), new Linear(784, 256), new ReLU(), new Linear(256, 10));
        var optimizer = new Adam(model.Parameters(), lr: 1e-3, weightDecay: 1e-4);
        foreach (var (x, y) in batches)
        {
            optimizer.ZeroGrad();
            var loss = Losses.CrossEntropy(model.Forward(x), y);
            loss.Backward();
            Utils.ClipGradNorm(model.Parameters(), maxNorm: 1.0);
            optimizer.Step();
        }
        optimizer.Save(Path.Combine(Path.GetTempPath(), $"adam-{Guid.NewGuid():N}.safetensors"));

        var sgd = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9, weightDecay: 5e-4, nesterov: true).ParamGroups[0];
        Assert.Equal((0.1, 0.9, 5e-4, true), (sgd.Lr, sgd.GetDouble("momentum"), sgd.GetDouble("weightDecay"), sgd.GetBool("nesterov")));
        var rmsprop = new RMSprop(model.Parameters(), lr: 1e-3, alpha: 0.9, centered: true, momentum: 0.9).ParamGroups[0];
        Assert.Equal((1e-3, 0.9, true, 0.9), (rmsprop.Lr, rmsprop.GetDouble("alpha"), rmsprop.GetBool("centered"), rmsprop.GetDouble("momentum")));
        var adamw = new AdamW(model.Parameters(), lr: 3e-4, betas: (0.9, 0.95), weightDecay: 0.1).ParamGroups[0];
        Assert.Equal((3e-4, (object)(0.9, 0.95), 0.1), (adamw.Lr, adamw["betas"], adamw.GetDouble("weightDecay")));
        var lookahead = new Lookahead(new Adam(model.Parameters(), lr: 1e-3), k: 5, alpha: 0.5);
        Assert.Equal((5, 0.5, 1e-3), (lookahead.K, lookahead.Alpha, lookahead.Inner.ParamGroups[0].Lr));

        var small = new Linear(3, 1, seed: 1);
        var xs = Tensor.Randn(new long[] { 20, 3 }, DType.Float32, 2);
        var ys = xs.Sum(1, keepDim: true);
        var lbfgs = new LBFGS(small.Parameters(), lr: 1, maxIter: 20, lineSearchFn: "strong_wolfe");
        Tensor Closure() { lbfgs.ZeroGrad(); var l = Losses.Mse(small.Forward(xs), ys); l.Backward(); return l; }
        for (int i = 0; i < 10; i++) lbfgs.Step(Closure);
        Assert.True(Losses.Mse(small.Forward(xs), ys).Item<float>() < 1e-6);

        var w = new Parameter(Tensor.FromArray(new double[] { 1, -0.001, 0.5 }));
        var prox = new ProximalGradient(new[] { w }, lr: 0.1, lambda: 0.01, regularizer: ProxRegularizer.L1, accelerated: true);
        prox.Step(() => { prox.ZeroGrad(); var l = (w * w).Sum() * 0.0; l.Backward(); return l; });
        Assert.Equal(0.0, w.ToArray<double>()[1]);
    }

    [Fact]
    public void SchedulesPageExamples()
    {
        var model = new Linear(4, 2);
        var optimizer = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9);
        var optimizer2 = new SGD(new[] { new ParamGroup(new Linear(2, 2).Parameters()), new ParamGroup(new Linear(2, 2).Parameters()) }, lr: 0.1, momentum: 0.9);
        var schedulers = new List<Func<object>>
        {
            () => new CosineAnnealingLR(optimizer, tMax: 100),
            () => new StepLR(optimizer, stepSize: 20, gamma: 0.5),
            () => new MultiStepLR(optimizer, milestones: new[] { 30, 60, 80 }, gamma: 0.3),
            () => new ExponentialLR(optimizer, gamma: 0.96),
            () => new CosineAnnealingLR(optimizer, tMax: 40, etaMin: 0.005),
            () => new CosineAnnealingWarmRestarts(optimizer, t0: 10, tMult: 2, etaMin: 0.001),
            () => new LinearLR(optimizer, startFactor: 0.1, endFactor: 1.0, totalIters: 30),
            () => new ConstantLR(optimizer, factor: 0.25, totalIters: 20),
            () => new PolynomialLR(optimizer, totalIters: 80, power: 2.0),
            () => new LambdaLR(optimizer, t => 1.0 / (1.0 + 0.05 * t)),
            () => new LambdaLR(optimizer2, new Func<int, double>[] { t => Math.Pow(0.97, t), t => 1.0 / (1 + t) }),
            () => new MultiplicativeLR(optimizer, t => t % 10 == 0 ? 0.7 : 1.0),
            () => new CyclicLR(optimizer, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 15, mode: CyclicMode.Triangular2),
            () => new CyclicLR(optimizer2, baseLr: 0.01, maxLr: 0.1, stepSizeUp: 15, scaleFn: x => 1.0 / (1.0 + x), scaleMode: "iterations"),
            () => new OneCycleLR(optimizer, maxLr: 0.1, totalSteps: 100),
            () => new OneCycleLR(optimizer2, maxLr: new[] { 0.5, 0.2 }, epochs: 10, stepsPerEpoch: 469, annealStrategy: AnnealStrategy.Linear),
            () =>
            {
                var warmup = new LinearLR(optimizer, startFactor: 0.1, totalIters: 10);
                var cosine = new CosineAnnealingLR(optimizer, tMax: 90);
                return new SequentialLR(optimizer, new LRScheduler[] { warmup, cosine }, milestones: new[] { 10 });
            },
            () => new ChainedScheduler(new LRScheduler[] { new ConstantLR(optimizer, factor: 0.5, totalIters: 10), new ExponentialLR(optimizer, gamma: 0.97) }),
        };
        foreach (var make in schedulers)
        {
            foreach (var g in optimizer.ParamGroups.Concat(optimizer2.ParamGroups)) { g.Lr = 0.1; g.InitialLr = null; }
            var s = (LRScheduler)make();
            for (int epoch = 0; epoch < 5; epoch++) s.Step();
            Assert.All(s.GetLastLr(), lr => Assert.True(lr > 0 && lr <= 0.5, $"{s.GetType().Name}: lr {lr}"));
        }
        var plateau = new ReduceLROnPlateau(optimizer, factor: 0.5, patience: 5);
        for (int epoch = 0; epoch < 20; epoch++) plateau.Step(1.0);
        Assert.True(optimizer.ParamGroups[0].Lr < 0.1);
    }
}
