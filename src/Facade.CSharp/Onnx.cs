using Hybrid.Nn;
using OnnxAttribute = Hybrid.Core.Onnx.Attribute;
using OnnxDim = Hybrid.Core.Onnx.Dim;
using OnnxElemType = Hybrid.Core.Onnx.ElemType;
using OnnxGraph = Hybrid.Core.Onnx.Graph;
using OnnxInitializer = Hybrid.Core.Onnx.Initializer;
using OnnxInitializerData = Hybrid.Core.Onnx.InitializerData;
using OnnxModel = Hybrid.Core.Onnx.Model;
using OnnxNode = Hybrid.Core.Onnx.Node;
using OnnxValueInfo = Hybrid.Core.Onnx.ValueInfo;
using OnnxWriter = Hybrid.Core.Onnx.OnnxWriter;

namespace Hybrid;

/// <summary>
/// Export of <see cref="Sequential"/> models to ONNX (<c>torch.onnx.export</c>), for ONNX Runtime and other inference engines:
/// opset 17, IR version 8, one graph input <c>"input"</c> and output <c>"output"</c> whose first dim is the symbolic batch
/// <c>"N"</c>. The graph is the model in evaluation mode: Dropout is the identity and batch normalisation uses the running
/// statistics. The element type is the parameters' (float32 or float64).
/// </summary>
public static class Onnx
{
    // the layer types Map turns into nodes
    private static readonly Type[] Mapped =
    {
        typeof(Linear), typeof(Conv2d), typeof(MaxPool2d), typeof(AvgPool2d), typeof(Flatten), typeof(BatchNorm1d),
        typeof(BatchNorm2d), typeof(LayerNorm), typeof(Dropout), typeof(Identity), typeof(ReLU), typeof(LeakyReLU),
        typeof(Tanh), typeof(Sigmoid), typeof(GELU), typeof(ELU), typeof(SELU), typeof(CELU), typeof(SiLU), typeof(Mish),
        typeof(LogSigmoid), typeof(Softsign), typeof(Hardtanh), typeof(Hardswish), typeof(Softmax), typeof(Softmin),
    };

    /// <summary>The layers <see cref="Export"/> maps to ONNX operators; a nested <see cref="Sequential"/> of them is exported too.</summary>
    public static IReadOnlyList<string> SupportedLayers { get; } = Mapped.Select(t => t.Name).Append(nameof(Sequential)).ToArray();

    /// <summary>
    /// Write <paramref name="model"/> as an ONNX file (to a temporary name, then renamed over <paramref name="path"/>).
    /// The model runs once on zeros of <paramref name="inputShape"/> (in evaluation mode, without gradients) to check the
    /// shape and find each layer's output shape; its training mode is restored afterwards.
    /// </summary>
    /// <param name="model">The model; every layer must be one of <see cref="SupportedLayers"/>.</param>
    /// <param name="inputShape">An input's shape, batch first, e.g. { 1, 3, 32, 32 }; the batch dim is exported as dynamic.</param>
    /// <param name="path">The .onnx file to write.</param>
    /// <exception cref="NotSupportedException">A layer has no ONNX mapping (the message names its type and index).</exception>
    /// <exception cref="ArgumentException">The input shape is malformed or does not fit the model, or the parameters mix dtypes.</exception>
    /// <exception cref="IOException">The file could not be written (the target is left as it was).</exception>
    public static void Export(Sequential model, long[] inputShape, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var shapeText = $"[{string.Join(",", inputShape)}]";
        if (inputShape.Length < 2)
            throw new ArgumentException($"Onnx.Export: inputShape {shapeText} needs a batch dim and at least one more", nameof(inputShape));
        for (int d = 0; d < inputShape.Length; d++)
            if (inputShape[d] <= 0)
                throw new ArgumentException($"Onnx.Export: inputShape {shapeText} has size {inputShape[d]} at dim {d} (sizes must be positive)", nameof(inputShape));

        var parameters = model.NamedParameters().ToArray();
        var dtype = parameters.Length == 0 ? DType.Float32 : parameters[0].Parameter.DType;
        foreach (var (name, p) in parameters)
            if (p.DType != dtype)
                throw new ArgumentException($"Onnx.Export: parameter '{name}' is {p.DType} but '{parameters[0].Name}' is {dtype} (one element type per model)", nameof(model));
        if (dtype == DType.Int64)
            throw new ArgumentException($"Onnx.Export: parameter '{parameters[0].Name}' is Int64 (expected Float32 or Float64)", nameof(model));

        var builder = new GraphBuilder(dtype);
        var modes = new List<(Module, bool)>();
        Remember(model, modes);
        try
        {
            model.Eval();
            using (Tensor.NoGrad())
            {
                var x = Tensor.Zeros(inputShape, dtype);
                if (parameters.Length > 0 && parameters[0].Parameter.Device != x.Device) x = x.To(parameters[0].Parameter.Device);
                Emit(model, "", x, builder, shapeText);
            }
        }
        finally
        {
            foreach (var (m, training) in modes) m.Train(training);
        }
        OnnxWriter.save(path, builder.Build(inputShape));
    }

    // every module's own training flag, parents before children, so that restoring in order leaves each as it was
    private static void Remember(Module m, List<(Module, bool)> modes)
    {
        modes.Add((m, m.Training));
        foreach (var (_, child) in m.NamedChildren()) Remember(child, modes);
    }

    // emit the layers of `seq` in order, each checked against the shape it is given; returns the last output
    private static Tensor Emit(Sequential seq, string prefix, Tensor x, GraphBuilder g, string shapeText)
    {
        for (int i = 0; i < seq.Layers.Count; i++)
        {
            var layer = seq.Layers[i];
            var path = prefix.Length == 0 ? i.ToString() : $"{prefix}.{i}";
            if (layer is Sequential inner)
            {
                x = Emit(inner, path, x, g, shapeText);
                continue;
            }
            if (!Mapped.Contains(layer.GetType())) throw Unsupported(path, layer);
            Tensor y;
            try { y = layer.Forward(x); }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new ArgumentException(
                    $"Onnx.Export: inputShape {shapeText} does not fit layer {path} ({layer.GetType().Name}), which gets [{string.Join(",", x.Shape)}]: {e.Message}",
                    "inputShape", e);
            }
            Map(layer, path, x.Shape, y.Shape, g);
            x = y;
        }
        return x;
    }

    // the ONNX nodes computing `layer` (at `path`) on the builder's current value, of shape `inShape`, giving `outShape`
    private static void Map(Module layer, string path, long[] inShape, long[] outShape, GraphBuilder g)
    {
        var x = g.Current;
        switch (layer)
        {
            case Linear lin when inShape.Length == 2:
                // Gemm: Y = X·Bᵀ + C with transB = 1 takes the [out, in] weight as stored
                g.Node(path, "Gemm", new[] { x, g.Weight($"{path}.weight", lin.Weight), g.OptionalWeight($"{path}.bias", lin.Bias) },
                       OnnxAttribute.NewInt("transB", 1));
                break;
            case Linear lin:
                {
                    // MatMul broadcasts over leading dims where Gemm takes only matrices
                    var wt = g.Node($"{path}/transpose", "Transpose", new[] { g.Weight($"{path}.weight", lin.Weight) }, OnnxAttribute.NewInts("perm", new[] { 1L, 0L }));
                    var xw = g.Node(lin.Bias is null ? path : $"{path}/matmul", "MatMul", new[] { x, wt });
                    if (lin.Bias is not null) g.Node(path, "Add", new[] { xw, g.Weight($"{path}.bias", lin.Bias) });
                    break;
                }
            case Conv2d conv:
                {
                    var (stride, padding, dilation) = conv.Geometry;
                    var w = conv.Weight.Shape;
                    g.Node(path, "Conv", new[] { x, g.Weight($"{path}.weight", conv.Weight), g.OptionalWeight($"{path}.bias", conv.Bias) },
                           OnnxAttribute.NewInts("kernel_shape", new[] { w[2], w[3] }),
                           OnnxAttribute.NewInts("strides", Pair(stride)),
                           OnnxAttribute.NewInts("pads", Pads(padding)),
                           OnnxAttribute.NewInts("dilations", Pair(dilation)),
                           OnnxAttribute.NewInt("group", conv.Groups));
                    break;
                }
            case MaxPool2d pool:
                {
                    var (kernel, stride, padding, dilation, ceil) = pool.Geometry;
                    g.Node(path, "MaxPool", new[] { x },
                           OnnxAttribute.NewInts("kernel_shape", Pair(kernel)),
                           OnnxAttribute.NewInts("strides", Pair(stride)),
                           OnnxAttribute.NewInts("pads", Pads(padding)),
                           OnnxAttribute.NewInts("dilations", Pair(dilation)),
                           OnnxAttribute.NewInt("ceil_mode", ceil ? 1 : 0));
                    break;
                }
            case AvgPool2d pool:
                {
                    var (kernel, stride, padding, ceil, countPad) = pool.Geometry;
                    g.Node(path, "AveragePool", new[] { x },
                           OnnxAttribute.NewInts("kernel_shape", Pair(kernel)),
                           OnnxAttribute.NewInts("strides", Pair(stride)),
                           OnnxAttribute.NewInts("pads", Pads(padding)),
                           OnnxAttribute.NewInt("ceil_mode", ceil ? 1 : 0),
                           OnnxAttribute.NewInt("count_include_pad", countPad ? 1 : 0));
                    break;
                }
            case Flatten flat:
                {
                    var (start, end) = flat.Dims;
                    int s = start < 0 ? start + inShape.Length : start, e = end < 0 ? end + inShape.Length : end;
                    if (s == 0)
                        throw new NotSupportedException($"Onnx.Export: layer {path} (Flatten) merges the batch dim (startDim {start}), which the export keeps dynamic");
                    if (s == 1 && e == inShape.Length - 1) g.Node(path, "Flatten", new[] { x }, OnnxAttribute.NewInt("axis", 1));
                    else
                    {
                        // Reshape to the traced output shape with the batch dim as 0: copy the input's
                        var target = (long[])outShape.Clone();
                        target[0] = 0;
                        g.Node(path, "Reshape", new[] { x, g.Int64s($"{path}.shape", target) });
                    }
                    break;
                }
            case BatchNorm bn:
                g.Node(path, "BatchNormalization",
                       new[] { x, g.AffineWeight($"{path}.weight", bn.Weight, bn.NumFeatures, 1.0), g.AffineWeight($"{path}.bias", bn.Bias, bn.NumFeatures, 0.0),
                               g.Weight($"{path}.running_mean", bn.RunningMean), g.Weight($"{path}.running_var", bn.RunningVar) },
                       OnnxAttribute.NewFloat("epsilon", (float)bn.Eps));
                break;
            case LayerNorm ln:
                {
                    var shape = ln.NormalizedShape.ToArray();
                    // an omitted bias ("") crashes ONNX Runtime 1.32's LayerNormalization, so the identity's zeros stand in
                    var scale = ln.Weight is null ? g.Constant($"{path}.weight", shape, 1.0) : g.Weight($"{path}.weight", ln.Weight);
                    var bias = ln.Bias is null ? g.Constant($"{path}.bias", shape, 0.0) : g.Weight($"{path}.bias", ln.Bias);
                    g.Node(path, "LayerNormalization", new[] { x, scale, bias },
                           OnnxAttribute.NewInt("axis", -shape.Length), OnnxAttribute.NewFloat("epsilon", (float)ln.Eps));
                    break;
                }
            case Dropout or Identity:
                g.Node(path, "Identity", new[] { x });
                break;
            case ReLU:
                g.Node(path, "Relu", new[] { x });
                break;
            case LeakyReLU leaky:
                g.Node(path, "LeakyRelu", new[] { x }, OnnxAttribute.NewFloat("alpha", (float)leaky.NegativeSlope));
                break;
            case Tanh:
                g.Node(path, "Tanh", new[] { x });
                break;
            case Sigmoid:
                g.Node(path, "Sigmoid", new[] { x });
                break;
            case GELU:
                {
                    // x·Φ(x) = x · ½(1 + erf(x/√2)); opset 17 has no Gelu operator
                    var erf = g.Node($"{path}/erf", "Erf", new[] { g.Node($"{path}/div", "Div", new[] { x, g.Scalar($"{path}.sqrt2", Math.Sqrt(2.0)) }) });
                    var onePlus = g.Node($"{path}/add", "Add", new[] { erf, g.Scalar($"{path}.one", 1.0) });
                    var half = g.Node($"{path}/half", "Mul", new[] { x, g.Scalar($"{path}.half", 0.5) });
                    g.Node(path, "Mul", new[] { half, onePlus });
                    break;
                }
            case ELU elu:
                g.Node(path, "Elu", new[] { x }, OnnxAttribute.NewFloat("alpha", (float)elu.Alpha));
                break;
            case SELU:
                // torch's constants (Klambauer et al. 2017), which ONNX's float defaults round differently
                g.Node(path, "Selu", new[] { x }, OnnxAttribute.NewFloat("alpha", 1.6732632423543772f), OnnxAttribute.NewFloat("gamma", 1.0507009873554805f));
                break;
            case CELU celu:
                g.Node(path, "Celu", new[] { x }, OnnxAttribute.NewFloat("alpha", (float)celu.Alpha));
                break;
            case SiLU:
                g.Node(path, "Mul", new[] { x, g.Node($"{path}/sigmoid", "Sigmoid", new[] { x }) });
                break;
            case Mish:
                g.Node(path, "Mul", new[] { x, g.Node($"{path}/tanh", "Tanh", new[] { g.Node($"{path}/softplus", "Softplus", new[] { x }) }) });
                break;
            case LogSigmoid:
                // log σ(x) = −softplus(−x), finite for large |x|
                g.Node(path, "Neg", new[] { g.Node($"{path}/softplus", "Softplus", new[] { g.Node($"{path}/neg", "Neg", new[] { x }) }) });
                break;
            case Softsign:
                g.Node(path, "Softsign", new[] { x });
                break;
            case Hardtanh ht:
                g.Node(path, "Clip", new[] { x, g.Scalar($"{path}.min", ht.MinVal), g.Scalar($"{path}.max", ht.MaxVal) });
                break;
            case Hardswish:
                g.Node(path, "HardSwish", new[] { x });
                break;
            case Softmax sm:
                g.Node(path, "Softmax", new[] { x }, OnnxAttribute.NewInt("axis", sm.Dim));
                break;
            case Softmin smin:
                g.Node(path, "Softmax", new[] { g.Node($"{path}/neg", "Neg", new[] { x }) }, OnnxAttribute.NewInt("axis", smin.Dim));
                break;
            default:
                throw Unsupported(path, layer);
        }
        g.Shape = outShape;
    }

    private static NotSupportedException Unsupported(string path, Module layer) =>
        new($"Onnx.Export: layer {path} ({layer.GetType().Name}) has no ONNX mapping; supported layers: {string.Join(", ", SupportedLayers)}");

    private static long[] Pair((int, int) p) => new long[] { p.Item1, p.Item2 };

    // ONNX pads are [top, left, bottom, right]; torch pads both sides alike
    private static long[] Pads((int, int) p) => new long[] { p.Item1, p.Item2, p.Item1, p.Item2 };

    /// <summary>Collects nodes and initializers; each node's output is named after the layer path that computes it.</summary>
    private sealed class GraphBuilder(DType dtype)
    {
        private const string InputName = "input", OutputName = "output";
        private readonly List<OnnxNode> _nodes = new();
        private readonly List<OnnxInitializer> _initializers = new();

        /// <summary>The value the next layer reads.</summary>
        public string Current { get; private set; } = InputName;

        /// <summary>The traced shape of <see cref="Current"/>.</summary>
        public long[] Shape { get; set; } = Array.Empty<long>();

        /// <summary>Append a node named <paramref name="name"/> whose one output, also named so, becomes <see cref="Current"/>.</summary>
        public string Node(string name, string opType, string[] inputs, params OnnxAttribute[] attributes)
        {
            _nodes.Add(new OnnxNode(name, opType, inputs, new[] { name }, attributes));
            Current = name;
            return name;
        }

        /// <summary>A tensor's values as an initializer of the model's element type.</summary>
        public string Weight(string name, Tensor t)
        {
            var data = dtype == DType.Float64
                ? OnnxInitializerData.NewDoubles(t.ToArray<double>())
                : OnnxInitializerData.NewFloats(t.ToArray<float>());
            _initializers.Add(new OnnxInitializer(name, t.Shape, data));
            return name;
        }

        /// <summary>An optional input: the initializer, or "" (omitted) when absent.</summary>
        public string OptionalWeight(string name, Tensor? t) => t is null ? "" : Weight(name, t);

        /// <summary>γ or β, or the identity's ones or zeros where the layer has no affine part (ONNX requires them).</summary>
        public string AffineWeight(string name, Tensor? t, int features, double identity) =>
            t is null ? Constant(name, new long[] { features }, identity) : Weight(name, t);

        /// <summary>A constant tensor filled with <paramref name="value"/>.</summary>
        public string Constant(string name, long[] shape, double value) => Weight(name, Tensor.Full(shape, value, dtype));

        /// <summary>A rank-0 constant.</summary>
        public string Scalar(string name, double value) => Weight(name, Tensor.Scalar(value, dtype));

        /// <summary>An int64 vector initializer (a shape operand).</summary>
        public string Int64s(string name, long[] values)
        {
            _initializers.Add(new OnnxInitializer(name, new long[] { values.Length }, OnnxInitializerData.NewInt64s(values)));
            return name;
        }

        /// <summary>The model: the last node's output renamed "output" (an Identity when there is no node).</summary>
        public OnnxModel Build(long[] inputShape)
        {
            var nodes = new List<OnnxNode>(_nodes);
            if (nodes.Count == 0) nodes.Add(new OnnxNode("identity", "Identity", new[] { InputName }, new[] { OutputName }, Array.Empty<OnnxAttribute>()));
            else
            {
                var last = nodes[^1];
                nodes[^1] = new OnnxNode(last.Name, last.OpType, last.Inputs, new[] { OutputName }, last.Attributes);
            }
            var outShape = Shape.Length == 0 ? inputShape : Shape;
            var elem = dtype == DType.Float64 ? OnnxElemType.Float64 : OnnxElemType.Float32;
            OnnxValueInfo Info(string name, long[] shape) =>
                new(name, elem, shape.Select((d, i) => i == 0 ? OnnxDim.NewSymbolic("N") : OnnxDim.NewFixed(d)).ToArray());
            var graph = new OnnxGraph("hybrid", nodes.ToArray(), _initializers.ToArray(), new[] { Info(InputName, inputShape) }, new[] { Info(OutputName, outShape) });
            var version = typeof(Onnx).Assembly.GetName().Version?.ToString() ?? "0";
            return new OnnxModel(OnnxWriter.irVersion, OnnxWriter.opset, "Hybrid", version, graph);
        }
    }
}
