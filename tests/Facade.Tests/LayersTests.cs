using Hybrid;
using Hybrid.Nn;
using Xunit;

namespace Hybrid.Facade.Tests;

// reference values from PyTorch 1.13 (float64), made by the script in the comment of each test
public class LayersTests
{
    private static void Close(double[] expected, Tensor actual, double tol = 1e-6)
    {
        var a = actual.ToArray<double>();
        Assert.Equal(expected.Length, a.Length);
        for (int i = 0; i < a.Length; i++)
            Assert.True(Math.Abs(expected[i] - a[i]) <= tol * (1 + Math.Abs(expected[i])), $"element {i}: expected {expected[i]}, got {a[i]}");
    }

    private static double[] K(int n, Func<int, double> f) => Enumerable.Range(0, n).Select(f).ToArray();

    // k = arange(24); c = cos(k)
    private static Tensor C(params long[] shape) => Tensor.FromArray(K(24, k => Math.Cos(k)), shape);

    private static readonly double[] LnY = { -0.20481143, 0.71360554, 1.4260311, 0.23610149, -2.6304645, -0.74787941, -0.45702768, 1.6106754, 3.4517342, 1.9407631, -0.43206223, -1.8967757, -0.66770048, 0.88726315, 2.7186072, 0.55781807, -0.10621455, -1.58171, -1.7370308, 0.95645724, 1.1699771, 1.8901118, 0.53957604, -2.4709845 };
    private static readonly double[] LnGx = { 0.54347444, 0.33975615, -0.19094948, -0.55765298, -0.35600815, 0.2727055, 0.80393913, 0.66824545, -0.083446832, -0.77886122, -0.73958807, 0.07838605, 0.45155625, 0.44660734, 0.012821106, -0.39318181, -0.5197098, -0.066244914, 0.5743963, 0.76339853, 0.34891241, -0.43861305, -0.81798004, -0.36196232 };
    private static readonly double[] LnGw = { -0.76825312, 1.016654, -0.16146882, -0.30388791, 1.5309745, 0.14730586, -1.2949756, 0.91178415, -0.07211866, -1.1300372, 0.37124619, 0.7613579 };
    private static readonly double[] LnGb = { 1.843854, 1.4477491, -0.27940962, -1.7496804, -1.6113031, 0.0084988474, 1.620487, 1.7426069, 0.26258203, -1.4588595, -1.8390324, -0.52840732 };

    [Fact]
    public void LayerNormMatchesTorchValuesAndGradients()
    {
        // torch: x = (sin(k) * (1 + k % 5)).reshape(2, 3, 4); ln = LayerNorm([3, 4]); weight = 1 + 0.1 j, bias = 0.05 j; (ln(x) * c).sum().backward()
        var x = Tensor.FromArray(K(24, k => Math.Sin(k) * (1 + k % 5)), 2, 3, 4).RequiresGrad_();
        var ln = new LayerNorm(new long[] { 3, 4 }, dtype: DType.Float64);
        ln.Weight!.SetData(Tensor.FromArray(K(12, j => 1 + 0.1 * j), 3, 4));
        ln.Bias!.SetData(Tensor.FromArray(K(12, j => 0.05 * j), 3, 4));
        var y = ln.Forward(x);
        (y * C(2, 3, 4)).Sum().Backward();
        Close(LnY, y);
        Close(LnGx, x.Grad!);
        Close(LnGw, ln.Weight.Grad!);
        Close(LnGb, ln.Bias.Grad!);
        var e = Assert.Throws<ArgumentException>(() => ln.Forward(Tensor.Zeros(new long[] { 2, 4, 3 }, DType.Float64)));
        Assert.Contains("does not end in the normalised shape [3,4]", e.Message);
    }

    private static readonly double[] BnY = { -0.88164751, 0.51848664, 1.3878396, -0.76424183, -0.5613554, -2.0509513, 0.78729994, 2.5284687, 3.0502142, 0.56314634, -0.8965819, -2.7569798, -1.3280527, -0.18252629, 1.5907785, -0.34063645, 0.46341978, -2.0590591, 0.27199191, 1.4201854, 2.8271537, 0.97624133, 0.14490981, -2.3081037 };
    private static readonly double[] BnGx = { 0.58766014, 0.38466843, -0.29962956, -1.0528786, -0.79500256, 0.58894934, 0.64280581, -0.0030587239, 0.10122145, -0.47740679, -0.30964504, 0.63556519, 0.40053723, 0.60026701, 0.18635671, -0.80698133, -1.3746824, -0.019746972, 0.4395812, 0.52115427, 0.65480447, -0.15143324, -0.53586622, 0.082760185 };
    private static readonly double[] BnGw = { -1.2324788, 2.6518695, 1.0999284 };
    private static readonly double[] BnGb = { 1.262513, 1.7602896, -3.5637172 };
    private static readonly double[] BnRm = { 0.10597282, -0.090838151, 0.0038913493 };
    private static readonly double[] BnRv = { 1.0651155, 1.1153446, 1.3828169 };
    private static readonly double[] BnEval = { -0.10268194, 1.5279981, 2.5404985, 0.034055733, -1.9207776, -3.8569058, -0.1678393, 2.0952751, 5.2414, 0.89430126, -1.65713, -4.9088842, -0.62259216, 0.71155645, 2.7768534, 0.5274119, -0.58880819, -3.8674441, -0.83761991, 0.65476463, 4.8515167, 1.6163421, 0.16327359, -4.1243021 };

    [Fact]
    public void BatchNorm2dMatchesTorchInTrainingAndEvaluation()
    {
        // torch: x = (sin(k) * (1 + k % 3)).reshape(2, 3, 2, 2); bn = BatchNorm2d(3); weight = 1 + 0.5 c, bias = 0.1 c; (bn(x) * c).sum().backward(); bn.eval(); bn(x)
        var x = Tensor.FromArray(K(24, k => Math.Sin(k) * (1 + k % 3)), 2, 3, 2, 2).RequiresGrad_();
        var bn = new BatchNorm2d(3, dtype: DType.Float64);
        bn.Weight!.SetData(Tensor.FromArray(K(3, j => 1 + 0.5 * j)));
        bn.Bias!.SetData(Tensor.FromArray(K(3, j => 0.1 * j)));
        var y = bn.Forward(x);
        (y * C(2, 3, 2, 2)).Sum().Backward();
        Close(BnY, y);
        Close(BnGx, x.Grad!);
        Close(BnGw, bn.Weight.Grad!);
        Close(BnGb, bn.Bias.Grad!);
        Close(BnRm, bn.RunningMean);
        Close(BnRv, bn.RunningVar);
        bn.Eval();
        Close(BnEval, bn.Forward(x));
        Assert.Equal(new[] { "weight", "bias", "running_mean", "running_var" }, bn.StateDict().Keys);
        Assert.Contains("expected input [N, 3, H, W], got [2,3,4]", Assert.Throws<ArgumentException>(() => bn.Forward(Tensor.Zeros(2, 3, 4))).Message);
    }

    [Fact]
    public void BatchNorm1dStillMatchesItsDefinitionThroughTheCore()
    {
        // [N, C] = [4, 2]: training output is (x - mean) / sqrt(var_biased + eps); running_var moves by the unbiased variance
        var x = Tensor.FromArray(new double[] { 1, 10, 2, 20, 3, 30, 4, 40 }, 4, 2);
        var bn = new BatchNorm1d(2, dtype: DType.Float64);
        var y = bn.Forward(x).ToArray<double>();
        double s0 = Math.Sqrt(1.25 + 1e-5), s1 = Math.Sqrt(125 + 1e-5);
        Close(new[] { -1.5 / s0, -15 / s1, -0.5 / s0, -5 / s1, 0.5 / s0, 5 / s1, 1.5 / s0, 15 / s1 }, Tensor.FromArray(y));
        Close(new[] { 0.25, 2.5 }, bn.RunningMean);
        Close(new[] { 0.9 + 0.1 * 5.0 / 3, 0.9 + 0.1 * 500.0 / 3 }, bn.RunningVar);
    }

    // central differences of f at every element of x
    private static double[] NumericGrad(Func<Tensor, double> f, double[] x, long[] shape, double h = 1e-6)
    {
        var g = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            var xp = (double[])x.Clone(); xp[i] += h;
            var xm = (double[])x.Clone(); xm[i] -= h;
            g[i] = (f(Tensor.FromArray(xp, shape)) - f(Tensor.FromArray(xm, shape))) / (2 * h);
        }
        return g;
    }

    [Fact]
    public void LayerNormAndBatchNormGradientsMatchCentralDifferences()
    {
        var x0 = K(12, k => Math.Sin(3 * k) + 0.1 * k);
        var c = Tensor.FromArray(K(12, k => Math.Cos(k)), 4, 3);
        var ln = new LayerNorm(3, dtype: DType.Float64);
        var bn = new BatchNorm1d(3, dtype: DType.Float64);
        foreach (Func<Tensor, Tensor> layer in new Func<Tensor, Tensor>[] { ln.Forward, bn.Forward })
        {
            double F(Tensor t) => (layer(t) * c).Sum().Item<double>();
            var x = Tensor.FromArray(x0, 4, 3).RequiresGrad_();
            (layer(x) * c).Sum().Backward();
            Close(NumericGrad(F, x0, new long[] { 4, 3 }), x.Grad!, 1e-6);
        }
    }

    [Fact]
    public void EmbeddingLooksUpRowsAndAddsGradientsIntoThem()
    {
        var emb = Embedding.FromPretrained(Tensor.FromArray(new double[] { 0, 1, 10, 11, 20, 21 }, 3, 2), freeze: false);
        var idx = Tensor.FromArray(new long[] { 2, 0, 2, 1 }, 2, 2);
        var y = emb.Forward(idx);
        Assert.Equal(new long[] { 2, 2, 2 }, y.Shape);
        Assert.Equal(new double[] { 20, 21, 0, 1, 20, 21, 10, 11 }, y.ToArray<double>());
        (y * Tensor.FromArray(new double[] { 1, 2, 3, 4, 5, 6, 7, 8 }, 2, 2, 2)).Sum().Backward();
        // row 2 is used twice: (1,2) + (5,6)
        Assert.Equal(new double[] { 3, 4, 7, 8, 6, 8 }, emb.Weight.Grad!.ToArray<double>());
        Assert.Contains("index 3 is outside 0..2", Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.FromArray(new long[] { 3 }))).Message);
        Assert.Contains("indices must be int64", Assert.Throws<ArgumentException>(() => emb.Forward(Tensor.Zeros(2))).Message);
        var fresh = new Embedding(10, 4);
        Assert.Equal(new long[] { 10, 4 }, fresh.Weight.Shape);
        Assert.False(Embedding.FromPretrained(Tensor.Zeros(3, 2)).Weight.RequiresGrad);
    }

    [Fact]
    public void IdentityReturnsItsInput()
    {
        var x = Tensor.Randn(2, 3);
        Assert.Same(x, new Identity().Forward(x));
        Assert.Empty(new Identity().Parameters());
    }

    private sealed class Tower : Module
    {
        public readonly ModuleList<Linear> Blocks = new(new Linear(4, 4, seed: 1), new Linear(4, 4, seed: 2));
        public readonly ModuleDict Heads = new() { { "cls", new Linear(4, 3, seed: 3) }, { "reg", new Linear(4, 1, seed: 4) } };
        public readonly ParameterList Scales = new(new Parameter(Tensor.Ones(4)));
        public override Tensor Forward(Tensor x)
        {
            foreach (var b in Blocks) x = b.Forward(x).Relu();
            return Heads["cls"].Forward(x * Scales[0]);
        }
    }

    [Fact]
    public void ContainersNameTheirItemsLikeTorch()
    {
        var t = new Tower();
        Assert.Equal(new[]
        {
            "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias",
            "heads.cls.weight", "heads.cls.bias", "heads.reg.weight", "heads.reg.bias", "scales.0",
        }, t.NamedParameters().Select(p => p.Name));
        t.Blocks.Insert(0, new Linear(4, 4, seed: 5));
        Assert.Equal("blocks.2.bias", t.NamedParameters().ElementAt(5).Name);
        Assert.Equal(3, t.Blocks.Count);
        Assert.Equal(new long[] { 2, 3 }, t.Forward(Tensor.Randn(2, 4)).Shape);
        Assert.Throws<InvalidOperationException>(() => t.Blocks.Forward(Tensor.Zeros(1, 4)));
        Assert.Contains("already present", Assert.Throws<ArgumentException>(() => t.Heads.Add("cls", new Identity())).Message);
        Assert.Contains("no module named 'box'", Assert.Throws<KeyNotFoundException>(() => t.Heads["box"]).Message);
        t.Eval();
        Assert.False(t.Blocks[1].Training);
    }

    private sealed class PlainList : Module
    {
        private readonly List<Linear> _layers = new() { new Linear(2, 3, seed: 1), new Linear(3, 1, seed: 2) };
        private readonly Parameter[] _extra = { new Parameter(Tensor.Zeros(2)) };
        public override Tensor Forward(Tensor x) => _layers.Aggregate(x, (h, l) => l.Forward(h)) + _extra[0].Sum();
    }

    [Fact]
    public void APlainListOfModulesInAFieldIsFoundNotIgnored()
    {
        var m = new PlainList();
        Assert.Equal(new[] { "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "extra.0" }, m.NamedParameters().Select(p => p.Name));
        Assert.Equal(2 * 3 + 3 + 3 + 1 + 2, m.Parameters().Sum(p => p.Numel));
        // and Sequential's own array of its layers is not counted twice
        Assert.Equal(4, new Sequential(new Linear(2, 3), new ReLU(), new Linear(3, 1)).NamedParameters().Count());
    }

    private sealed class Wrapper : Module
    {
        private readonly Linear _inner = new(3, 2, seed: 7);
        private readonly Parameter[] _all;
        private readonly Parameter _tied;
        public Wrapper() { _all = _inner.Parameters().ToArray(); _tied = _all[0]; }
        public override Tensor Forward(Tensor x) => _inner.Forward(x);
    }

    [Fact]
    public void AParameterHeldTwiceIsListedOnceUnderItsFirstName()
    {
        // a wrapper keeping an array of its submodule's parameters (as DistributedDataParallel does), and a tied field
        var w = new Wrapper();
        // own parameters come first, as in torch's named_parameters: the tied weight keeps the wrapper's name
        Assert.Equal(new[] { "tied", "inner.bias" }, w.NamedParameters().Select(p => p.Name));
        Assert.Equal(3 * 2 + 2, w.Parameters().Sum(p => p.Numel));
        Assert.Equal(new[] { "inner" }, w.NamedChildren().Select(c => c.Name));
    }

    [Fact]
    public void ToStringPrintsTheModuleTreeLikeTorch()
    {
        var m = new Sequential(new Flatten(), new Linear(784, 10), new Sequential(new ReLU(), new LayerNorm(10)));
        Assert.Equal(
            "Sequential(\n" +
            "  (0): Flatten()\n" +
            "  (1): Linear(InFeatures=784, OutFeatures=10)\n" +
            "  (2): Sequential(\n" +
            "    (0): ReLU()\n" +
            "    (1): LayerNorm(NormalizedShape=[10], Eps=1E-05)\n" +
            "  )\n" +
            ")", m.ToString());
    }

    // a custom model (no Sequential at the top) with nested children, one of them called twice and one never
    private sealed class Encoder : Module
    {
        private readonly Linear _proj = new(8, 6, seed: 1);
        private readonly Block _block = new();
        private readonly Linear _head = new(6, 2, seed: 2);
        private readonly Linear _unused = new(2, 2, seed: 3);
        private readonly Parameter _scale = new(Tensor.Ones(6));
        public override Tensor Forward(Tensor x) => _head.Call(_block.Call(_block.Call(_proj.Call(x))) * _scale);

        internal sealed class Block : Module
        {
            private readonly Linear _fc = new(6, 6, seed: 4);
            private readonly Sequential _act = new(new ReLU(), new LayerNorm(new long[] { 6 }));
            public override Tensor Forward(Tensor x) => _act.Call(_fc.Call(x));
        }
    }

    [Fact]
    public void SummaryGivesOutputShapesForTheChildrenOfAnyModule()
    {
        var m = new Encoder();
        var s = m.Summary(new long[] { 5, 8 });
        var rows = s.Split('\n').Select(l => l.TrimEnd()).ToArray();
        string Row(string name) => rows.Single(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        Assert.Matches(@"^proj +Linear +\[5, 6\] +54$", Row("proj"));
        Assert.Matches(@"^block +Block +\[5, 6\] x2 +0$", Row("block"));
        Assert.Matches(@"^  block\.fc +Linear +\[5, 6\] x2 +42$", Row("  block.fc"));
        Assert.Matches(@"^  block\.act +Sequential +\[5, 6\] x2 +0$", Row("  block.act"));
        Assert.Matches(@"^    block\.act\.1 +LayerNorm +\[5, 6\] x2 +12$", Row("    block.act.1"));
        Assert.Matches(@"^head +Linear +\[5, 2\] +14$", Row("head"));
        Assert.Matches(@"^unused +Linear +- +6$", Row("unused"));   // never called: no shape
        Assert.Contains("Output: [5, 2]", s);
        Assert.Contains("Total params: 134", s);   // 54 + 42 + 12 + 14 + 6 + the 6 scales of the model itself
        // the hooks are gone afterwards, so Sequential's fused path and plain calls are as before
        Assert.Equal(new long[] { 5, 2 }, m.Call(Tensor.Zeros(5, 8)).Shape);
        Assert.DoesNotContain("x3", m.Summary(new long[] { 5, 8 }));
    }

    [Fact]
    public void ForwardHooksSeeEachCallUntilRemoved()
    {
        var lin = new Linear(3, 2, seed: 1);
        var seen = new List<long[]>();
        var handle = lin.RegisterForwardHook((module, input, output) => { Assert.Same(lin, module); seen.Add(input.Shape.Concat(output.Shape).ToArray()); });
        lin.Call(Tensor.Zeros(4, 3));
        lin.Forward(Tensor.Zeros(4, 3));   // a direct Forward runs no hook, as torch's .forward()
        handle.Dispose();
        lin.Call(Tensor.Zeros(4, 3));
        Assert.Equal(new[] { new long[] { 4, 3, 4, 2 } }, seen);
        Assert.Equal("hook", Assert.Throws<ArgumentNullException>(() => lin.RegisterForwardHook(null!)).ParamName);
    }

    [Fact]
    public void SummaryListsLayersOutputShapesAndParameterCounts()
    {
        var m = new Sequential(new Conv2d(1, 4, 3, padding: 1), new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 14 * 14, 10));
        var s = m.Summary(new long[] { 1, 1, 28, 28 });
        var lines = s.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("0 ") && l.Contains("Conv2d") && l.Contains("[1, 4, 28, 28]") && l.TrimEnd().EndsWith(" 40"));
        Assert.Contains(lines, l => l.StartsWith("2 ") && l.Contains("MaxPool2d") && l.Contains("[1, 4, 14, 14]") && l.TrimEnd().EndsWith(" 0"));
        Assert.Contains(lines, l => l.StartsWith("4 ") && l.Contains("Linear") && l.Contains("[1, 10]") && l.TrimEnd().EndsWith(" 7,850"));
        Assert.Contains("Total params: 7,890", s);
        Assert.Contains("Output: [1, 10]", s);
        Assert.True(m.Training);   // restored
        Assert.Contains("does not accept an input [1,3,28,28]", Assert.Throws<ArgumentException>(() => m.Summary(new long[] { 1, 3, 28, 28 })).Message);
    }
}
