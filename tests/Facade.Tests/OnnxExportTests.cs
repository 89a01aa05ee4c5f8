using Hybrid.Nn;
using Microsoft.ML.OnnxRuntime;
using Xunit;

namespace Hybrid.Facade.Tests;

/// <summary>
/// <see cref="Onnx.Export"/> round trips: the exported file runs in ONNX Runtime and gives Hybrid's evaluation-mode
/// outputs within 1e-5, at batch sizes other than the traced one (the batch dim is dynamic).
/// </summary>
public sealed class OnnxExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hybrid-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string PathOf(string name) => System.IO.Path.Combine(_dir, name);

    // Hybrid's evaluation-mode output for x, and ONNX Runtime's for the same values, with their shapes
    private static (double[] Expected, long[] ExpectedShape, double[] Actual, long[] ActualShape) Both(Sequential model, string onnxPath, Tensor x)
    {
        model.Eval();
        Tensor y;
        using (Tensor.NoGrad()) y = model.Forward(x);
        using var session = new InferenceSession(onnxPath);
        using var input = x.DType == DType.Float64
            ? OrtValue.CreateTensorValueFromMemory(x.ToArray<double>(), x.Shape)
            : OrtValue.CreateTensorValueFromMemory(x.ToArray<float>(), x.Shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new[] { "input" }, new[] { input }, new[] { "output" });
        var o = outputs[0];
        var actual = x.DType == DType.Float64
            ? o.GetTensorDataAsSpan<double>().ToArray()
            : Array.ConvertAll(o.GetTensorDataAsSpan<float>().ToArray(), v => (double)v);
        var expected = y.DType == DType.Float64 ? y.ToArray<double>() : Array.ConvertAll(y.ToArray<float>(), v => (double)v);
        return (expected, y.Shape, actual, o.GetTensorTypeAndShape().Shape);
    }

    private static void AssertSameOutputs(Sequential model, string onnxPath, long[] inputShape, DType dtype, int seed)
    {
        var x = Tensor.Randn(inputShape, dtype, seed);
        var (expected, expectedShape, actual, actualShape) = Both(model, onnxPath, x);
        Assert.Equal(expectedShape, actualShape);
        Assert.Equal(expected.Length, actual.Length);
        var worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst <= 1e-5, $"max |Hybrid − ONNX Runtime| = {worst:g3} at input [{string.Join(",", inputShape)}] (expected ≤ 1e-5)");
        // the comparison is not between two constant outputs
        Assert.True(expected.Max() - expected.Min() > 1e-3, "the model's outputs do not vary");
    }

    // random γ, β and running statistics (a few training-mode passes), so that the exported BatchNormalization is not the identity
    private static void Randomize(BatchNorm bn, long[] inputShape, int seed)
    {
        var dtype = bn.RunningMean.DType;
        bn.Weight!.SetData(Tensor.Rand(new long[] { bn.NumFeatures }, dtype, seed) + 0.5);
        bn.Bias!.SetData(Tensor.Randn(new long[] { bn.NumFeatures }, dtype, seed + 1));
        bn.Train();
        using (Tensor.NoGrad())
            for (int k = 0; k < 3; k++) bn.Forward(Tensor.Randn(inputShape, dtype, seed + 2 + k) * 2.0 + 1.0);
    }

    [Fact]
    public void MlpMatchesOnnxRuntimeAtBatchOneAndFive()
    {
        var model = new Sequential(new Linear(6, 16, seed: 1), new ReLU(), new Dropout(0.3, seed: 2), new Linear(16, 4, seed: 3), new Softmax(-1));
        var path = PathOf("mlp.onnx");
        Onnx.Export(model, new long[] { 1, 6 }, path);
        AssertSameOutputs(model, path, new long[] { 1, 6 }, DType.Float32, 10);
        AssertSameOutputs(model, path, new long[] { 5, 6 }, DType.Float32, 11);
    }

    [Fact]
    public void CnnMatchesOnnxRuntimeAtBatchOneAndFive()
    {
        var bn = new BatchNorm2d(4);
        var model = new Sequential(new Conv2d(3, 4, 3, padding: 1, seed: 1), bn, new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(4 * 4 * 4, 3, seed: 2));
        Randomize(bn, new long[] { 6, 4, 8, 8 }, 20);
        Assert.NotEqual(0.0, bn.RunningMean.ToArray<float>().Select(Math.Abs).Max());
        var path = PathOf("cnn.onnx");
        Onnx.Export(model, new long[] { 1, 3, 8, 8 }, path);
        AssertSameOutputs(model, path, new long[] { 1, 3, 8, 8 }, DType.Float32, 12);
        AssertSameOutputs(model, path, new long[] { 5, 3, 8, 8 }, DType.Float32, 13);
    }

    [Fact]
    public void Float64MlpIsExportedAsDoubleAndMatches()
    {
        var model = new Sequential(new Linear(6, 8, dtype: DType.Float64, seed: 1), new Tanh(), new Linear(8, 3, dtype: DType.Float64, seed: 2), new Softmax());
        var path = PathOf("mlp64.onnx");
        Onnx.Export(model, new long[] { 2, 6 }, path);
        using (var session = new InferenceSession(path))
        {
            Assert.Equal(Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Double, session.InputMetadata["input"].ElementDataType);
            Assert.Equal(new[] { -1, 6 }, session.InputMetadata["input"].Dimensions);
            Assert.Equal("N", session.InputMetadata["input"].SymbolicDimensions[0]);
            Assert.Equal(new[] { -1, 3 }, session.OutputMetadata["output"].Dimensions);
        }
        AssertSameOutputs(model, path, new long[] { 1, 6 }, DType.Float64, 14);
        AssertSameOutputs(model, path, new long[] { 5, 6 }, DType.Float64, 15);
    }

    [Fact]
    public void Float64BatchNormAndPoolingMatch()
    {
        // no Conv: ONNX Runtime's CPU provider has no float64 Conv kernel (the exported file is valid ONNX all the same)
        var bn = new BatchNorm2d(2, dtype: DType.Float64);
        var model = new Sequential(bn, new ReLU(), new MaxPool2d(2), new Flatten(), new Linear(2 * 3 * 3, 2, dtype: DType.Float64, seed: 2));
        Randomize(bn, new long[] { 4, 2, 6, 6 }, 50);
        var path = PathOf("bnpool64.onnx");
        Onnx.Export(model, new long[] { 1, 2, 6, 6 }, path);
        AssertSameOutputs(model, path, new long[] { 5, 2, 6, 6 }, DType.Float64, 19);
    }

    public static TheoryData<string> Activations => new()
    {
        "ReLU", "LeakyReLU", "Tanh", "Sigmoid", "GELU", "ELU", "SELU", "CELU", "SiLU", "Mish", "LogSigmoid", "Softsign",
        "Hardtanh", "Hardswish", "Softmax", "Softmin", "LayerNorm", "LayerNormNoAffine", "BatchNorm1d", "Identity",
    };

    private static Module Activation(string name) => name switch
    {
        "ReLU" => new ReLU(),
        "LeakyReLU" => new LeakyReLU(0.2),
        "Tanh" => new Tanh(),
        "Sigmoid" => new Sigmoid(),
        "GELU" => new GELU(),
        "ELU" => new ELU(0.7),
        "SELU" => new SELU(),
        "CELU" => new CELU(0.6),
        "SiLU" => new SiLU(),
        "Mish" => new Mish(),
        "LogSigmoid" => new LogSigmoid(),
        "Softsign" => new Softsign(),
        "Hardtanh" => new Hardtanh(-0.4, 0.3),
        "Hardswish" => new Hardswish(),
        "Softmax" => new Softmax(1),
        "Softmin" => new Softmin(-1),
        "LayerNorm" => new LayerNorm(7),
        "LayerNormNoAffine" => new LayerNorm(7, eps: 1e-3, elementwiseAffine: false),
        "BatchNorm1d" => new BatchNorm1d(7),
        "Identity" => new Identity(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void EachActivationAndNormalisationMatchesOnnxRuntime(string name)
    {
        var layer = Activation(name);
        if (layer is BatchNorm bn) Randomize(bn, new long[] { 8, 7 }, 30);
        // inputs scaled by 3 reach both sides of every kink and the saturated tails
        var model = new Sequential(new Linear(5, 7, seed: 4), layer, new Linear(7, 3, seed: 5));
        model[0].Parameters().First().SetData(model[0].Parameters().First() * 3.0);
        var path = PathOf($"{name}.onnx");
        Onnx.Export(model, new long[] { 1, 5 }, path);
        AssertSameOutputs(model, path, new long[] { 5, 5 }, DType.Float32, 16);
    }

    [Fact]
    public void ConvolutionAndPoolingGeometriesMatchOnnxRuntime()
    {
        // rectangular strides, paddings and dilations, groups, no bias; padded max and average pools; a Flatten that
        // keeps a length axis (Reshape), a Linear over rank 3 (MatMul), BatchNorm1d over [N, C, L], then a nested Sequential
        var bn = new BatchNorm1d(6);
        var model = new Sequential(
            new Conv2d(4, 6, (3, 3), (2, 1), (1, 2), (2, 1), groups: 2, bias: false, seed: 1),
            new MaxPool2d(3, stride: 2, padding: 1),
            new AvgPool2d(2, stride: 1, padding: 1, countIncludePad: false),
            new Flatten(2),
            new Linear(28, 5, seed: 2),
            bn,
            new Sequential(new Flatten(), new GELU(), new Linear(30, 4, seed: 3)));
        Randomize(bn, new long[] { 7, 6, 5 }, 40);
        var path = PathOf("geometry.onnx");
        Onnx.Export(model, new long[] { 2, 4, 11, 9 }, path);
        AssertSameOutputs(model, path, new long[] { 1, 4, 11, 9 }, DType.Float32, 17);
        AssertSameOutputs(model, path, new long[] { 5, 4, 11, 9 }, DType.Float32, 18);
    }

    [Fact]
    public void CeilModePoolsMatchOnnxRuntime()
    {
        var model = new Sequential(new MaxPool2d(2, ceilMode: true), new AvgPool2d(3, stride: 2, padding: 1, ceilMode: true), new Flatten(), new Linear(3 * 3 * 3, 2, seed: 1));
        var path = PathOf("ceil.onnx");
        Onnx.Export(model, new long[] { 1, 3, 7, 7 }, path);
        AssertSameOutputs(model, path, new long[] { 5, 3, 7, 7 }, DType.Float32, 21);
    }

    [Fact]
    public void TheDocsExampleRunsAsWritten()
    {
        // docs/onnx.md's example, in a temporary folder
        var path = PathOf("mlp.onnx");
        var model = new Sequential(new Linear(6, 16), new ReLU(), new Dropout(0.3), new Linear(16, 4), new Softmax(-1));
        Onnx.Export(model, new long[] { 1, 6 }, path);
        using var session = new InferenceSession(path);
        using var input = OrtValue.CreateTensorValueFromMemory(new float[5 * 6], new long[] { 5, 6 });
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, new[] { "input" }, new[] { input }, new[] { "output" });
        float[] probabilities = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(new long[] { 5, 4 }, outputs[0].GetTensorTypeAndShape().Shape);
        for (int r = 0; r < 5; r++) Assert.Equal(1.0, probabilities.Skip(4 * r).Take(4).Sum(), 5);
    }

    [Fact]
    public void ExportRestoresEachLayersTrainingMode()
    {
        var dropout = new Dropout(0.5);
        var model = new Sequential(new Linear(3, 3, seed: 1), dropout);
        Assert.True(model.Training);
        Onnx.Export(model, new long[] { 1, 3 }, PathOf("train.onnx"));
        Assert.True(model.Training);
        Assert.True(dropout.Training);
        model.Eval();
        Onnx.Export(model, new long[] { 1, 3 }, PathOf("eval.onnx"));
        Assert.False(dropout.Training);
    }

    private sealed class Doubler : Module
    {
        public override Tensor Forward(Tensor input) => input * 2.0;
    }

    [Fact]
    public void AnUnsupportedLayerIsRefusedByTypeAndIndex()
    {
        var path = PathOf("refused.onnx");
        File.WriteAllText(path, "previous");
        var e = Assert.Throws<NotSupportedException>(() =>
            Onnx.Export(new Sequential(new Linear(3, 4, seed: 1), new ReLU(), new Doubler()), new long[] { 1, 3 }, path));
        Assert.Contains("layer 2 (Doubler) has no ONNX mapping", e.Message);
        Assert.Contains("Conv2d", e.Message);
        var nested = Assert.Throws<NotSupportedException>(() =>
            Onnx.Export(new Sequential(new Linear(3, 4, seed: 1), new Sequential(new ReLU(), new Embedding(4, 2))), new long[] { 1, 3 }, path));
        Assert.Contains("layer 1.1 (Embedding)", nested.Message);
        var flatten0 = Assert.Throws<NotSupportedException>(() =>
            Onnx.Export(new Sequential(new Flatten(0)), new long[] { 2, 3 }, path));
        Assert.Contains("layer 0 (Flatten) merges the batch dim", flatten0.Message);
        Assert.Equal("previous", File.ReadAllText(path));
    }

    [Fact]
    public void ABadInputShapeIsRefusedNamingIt()
    {
        var model = new Sequential(new Linear(6, 4, seed: 1), new ReLU());
        var path = PathOf("bad.onnx");
        var mismatch = Assert.Throws<ArgumentException>(() => Onnx.Export(model, new long[] { 1, 7 }, path));
        Assert.Equal("inputShape", mismatch.ParamName);
        Assert.Contains("inputShape [1,7] does not fit layer 0 (Linear)", mismatch.Message);
        var rank1 = Assert.Throws<ArgumentException>(() => Onnx.Export(model, new long[] { 6 }, path));
        Assert.Contains("inputShape [6] needs a batch dim", rank1.Message);
        var zero = Assert.Throws<ArgumentException>(() => Onnx.Export(model, new long[] { 1, 0 }, path));
        Assert.Contains("inputShape [1,0] has size 0 at dim 1", zero.Message);
        var conv = Assert.Throws<ArgumentException>(() =>
            Onnx.Export(new Sequential(new Conv2d(3, 2, 3, seed: 1)), new long[] { 1, 2, 5, 5 }, path));
        Assert.Contains("does not fit layer 0 (Conv2d), which gets [1,2,5,5]", conv.Message);
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void MixedParameterDtypesAreRefusedNamingTheParameter()
    {
        var model = new Sequential(new Linear(3, 3, seed: 1), new Linear(3, 2, dtype: DType.Float64, seed: 2));
        var e = Assert.Throws<ArgumentException>(() => Onnx.Export(model, new long[] { 1, 3 }, PathOf("mixed.onnx")));
        Assert.Contains("parameter '1.weight' is Float64 but '0.weight' is Float32", e.Message);
    }

    [Fact]
    public void AnUnwritableFolderIsAnIOExceptionNamingThePath()
    {
        var path = System.IO.Path.Combine(_dir, "missing", "m.onnx");
        var e = Assert.Throws<IOException>(() => Onnx.Export(new Sequential(new ReLU()), new long[] { 1, 3 }, path));
        Assert.Contains("could not write ONNX model to " + path, e.Message);
    }

    [Fact]
    public void TheCoreWriterRefusesAGraphReadingAnUndefinedNameOrMiscountedInitializer()
    {
        static Hybrid.Core.Onnx.Model ModelOf(Hybrid.Core.Onnx.Node[] nodes, Hybrid.Core.Onnx.Initializer[] inits)
        {
            var info = new Hybrid.Core.Onnx.ValueInfo("x", Hybrid.Core.Onnx.ElemType.Float32, new[] { Hybrid.Core.Onnx.Dim.NewFixed(2) });
            var y = new Hybrid.Core.Onnx.ValueInfo("y", Hybrid.Core.Onnx.ElemType.Float32, new[] { Hybrid.Core.Onnx.Dim.NewFixed(2) });
            return new(8, 17, "test", "0", new Hybrid.Core.Onnx.Graph("g", nodes, inits, new[] { info }, new[] { y }));
        }
        var add = new Hybrid.Core.Onnx.Node("add", "Add", new[] { "x", "nowhere" }, new[] { "y" }, Array.Empty<Hybrid.Core.Onnx.Attribute>());
        var undefined = Assert.Throws<ArgumentException>(() => Hybrid.Core.Onnx.OnnxWriter.toBytes(ModelOf(new[] { add }, Array.Empty<Hybrid.Core.Onnx.Initializer>())));
        Assert.Contains("node 0 'add' (Add) reads 'nowhere', which no input, initializer or earlier node defines", undefined.Message);
        var w = new Hybrid.Core.Onnx.Initializer("nowhere", new long[] { 2, 2 }, Hybrid.Core.Onnx.InitializerData.NewFloats(new float[] { 1, 2, 3 }));
        var miscounted = Assert.Throws<ArgumentException>(() => Hybrid.Core.Onnx.OnnxWriter.toBytes(ModelOf(new[] { add }, new[] { w })));
        Assert.Contains("initializer 'nowhere' holds 3 values but its dims [2,2] need 4", miscounted.Message);
        var noNode = Assert.Throws<ArgumentException>(() => Hybrid.Core.Onnx.OnnxWriter.toBytes(ModelOf(Array.Empty<Hybrid.Core.Onnx.Node>(), Array.Empty<Hybrid.Core.Onnx.Initializer>())));
        Assert.Contains("output 'y' is not produced by any node", noNode.Message);
    }
}
