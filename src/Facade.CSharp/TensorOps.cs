using Hybrid.Core;
using CoreTensor = Hybrid.Core.Tensor;
using CoreSoftmax = Hybrid.Core.Softmax;

namespace Hybrid;

public partial class Tensor
{
    private static int[] Dims(int[] dims) => dims ?? throw new ArgumentNullException(nameof(dims));
    private static int[] Shape32(long[] shape) => Array.ConvertAll(shape ?? throw new ArgumentNullException(nameof(shape)), d => checked((int)d));

    // ---------------------------------------------------------------- pointwise

    /// <summary>eˣ.</summary>
    public Tensor Exp() => new(Pointwise.exp(Core));
    /// <summary>Natural logarithm.</summary>
    public Tensor Log() => new(Pointwise.log(Core));
    /// <summary>Square root.</summary>
    public Tensor Sqrt() => new(Pointwise.sqrt(Core));
    /// <summary>x².</summary>
    public Tensor Square() => new(Pointwise.square(Core));
    /// <summary>|x|.</summary>
    public Tensor Abs() => new(Pointwise.abs(Core));
    /// <summary>Sine.</summary>
    public Tensor Sin() => new(Pointwise.sin(Core));
    /// <summary>Cosine.</summary>
    public Tensor Cos() => new(Pointwise.cos(Core));
    /// <summary>Hyperbolic tangent.</summary>
    public Tensor Tanh() => new(Pointwise.tanh(Core));
    /// <summary>Logistic sigmoid 1/(1 + e^−x).</summary>
    public Tensor Sigmoid() => new(Pointwise.sigmoid(Core));
    /// <summary>max(x, 0).</summary>
    public Tensor Relu() => new(Pointwise.relu(Core));
    /// <summary>x for x &gt; 0 else slope·x.</summary>
    /// <param name="negativeSlope">Slope for negative inputs.</param>
    public Tensor LeakyRelu(double negativeSlope = 0.01) => new(Pointwise.leakyRelu(negativeSlope, Core));
    /// <summary>x for x &gt; 0 else α(eˣ − 1).</summary>
    /// <param name="alpha">Scale of the negative part.</param>
    public Tensor Elu(double alpha = 1.0) => new(Pointwise.elu(alpha, Core));
    /// <summary>Exact GELU x·Φ(x).</summary>
    public Tensor Gelu() => new(Pointwise.gelu(Core));
    /// <summary>log(1 + eˣ).</summary>
    public Tensor Softplus() => new(Pointwise.softplus(Core));
    /// <summary>The error function.</summary>
    public Tensor Erf() => new(Pointwise.erf(Core));
    /// <summary>xᵖ for a scalar exponent.</summary>
    /// <param name="exponent">p.</param>
    public Tensor Pow(double exponent) => new(Pointwise.powScalar(exponent, Core));
    /// <summary>xʸ elementwise with broadcasting.</summary>
    /// <param name="exponent">y.</param>
    public Tensor Pow(Tensor exponent) => new(Pointwise.pow(Core, exponent.Core));
    /// <summary>Clamp into [min, max].</summary>
    /// <param name="min">Lower bound.</param>
    /// <param name="max">Upper bound.</param>
    public Tensor Clamp(double min, double max) => new(Pointwise.clamp(min, max, Core));
    /// <summary>Elementwise maximum with broadcasting.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Maximum(Tensor other) => new(Pointwise.maximum(Core, other.Core));
    /// <summary>Elementwise minimum with broadcasting.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Minimum(Tensor other) => new(Pointwise.minimum(Core, other.Core));
    /// <summary>condition ? a : b elementwise (nonzero is true).</summary>
    /// <param name="condition">The condition.</param>
    /// <param name="a">Values where true.</param>
    /// <param name="b">Values where false.</param>
    public static Tensor Where(Tensor condition, Tensor a, Tensor b) => new(Pointwise.where(condition.Core, a.Core, b.Core));
    /// <summary>1 where equal, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Eq(Tensor other) => new(Pointwise.eq(Core, other.Core));
    /// <summary>1 where not equal, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Ne(Tensor other) => new(Pointwise.ne(Core, other.Core));
    /// <summary>1 where less, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Lt(Tensor other) => new(Pointwise.lt(Core, other.Core));
    /// <summary>1 where less or equal, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Le(Tensor other) => new(Pointwise.le(Core, other.Core));
    /// <summary>1 where greater, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Gt(Tensor other) => new(Pointwise.gt(Core, other.Core));
    /// <summary>1 where greater or equal, else 0.</summary>
    /// <param name="other">The other tensor.</param>
    public Tensor Ge(Tensor other) => new(Pointwise.ge(Core, other.Core));
    /// <summary>The values converted to another dtype (differentiable between float types).</summary>
    /// <param name="dtype">Target element type.</param>
    public Tensor To(DType dtype) => new(Pointwise.cast(ToCore(dtype), Core));

    // ---------------------------------------------------------------- reductions

    /// <summary>Sum of all elements.</summary>
    public Tensor Sum() => new(Reduction.sum(Core));
    /// <summary>Sum over dims.</summary>
    /// <param name="dims">Dims to reduce (negative counts from the end).</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Sum(int[] dims, bool keepDim = false) => new(Reduction.sumDims(Dims(dims), keepDim, Core));
    /// <summary>Sum over one dim.</summary>
    /// <param name="dim">Dim to reduce.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Sum(int dim, bool keepDim = false) => Sum(new[] { dim }, keepDim);
    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => new(Reduction.mean(Core));
    /// <summary>Mean over dims.</summary>
    /// <param name="dims">Dims to reduce.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Mean(int[] dims, bool keepDim = false) => new(Reduction.meanDims(Dims(dims), keepDim, Core));
    /// <summary>Mean over one dim.</summary>
    /// <param name="dim">Dim to reduce.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Mean(int dim, bool keepDim = false) => Mean(new[] { dim }, keepDim);
    /// <summary>Largest element.</summary>
    public Tensor Max() => new(Reduction.max(Core));
    /// <summary>Smallest element.</summary>
    public Tensor Min() => new(Reduction.min(Core));
    /// <summary>Largest values along a dim and their int64 indices.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false)
    {
        var r = Reduction.maxDim(dim, keepDim, Core);
        return (new(r.Item1), new(r.Item2));
    }
    /// <summary>Smallest values along a dim and their int64 indices.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public (Tensor Values, Tensor Indices) Min(int dim, bool keepDim = false)
    {
        var r = Reduction.minDim(dim, keepDim, Core);
        return (new(r.Item1), new(r.Item2));
    }
    /// <summary>Index (int64) of the largest value along a dim.</summary>
    /// <param name="dim">The dim.</param>
    public Tensor Argmax(int dim) => new(Reduction.argmax(dim, Core));
    /// <summary>Index (int64) of the smallest value along a dim.</summary>
    /// <param name="dim">The dim.</param>
    public Tensor Argmin(int dim) => new(Reduction.argmin(dim, Core));
    /// <summary>log Σ exp over dims, computed stably.</summary>
    /// <param name="dims">Dims to reduce.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor LogSumExp(int[] dims, bool keepDim = false) => new(Reduction.logsumexp(Dims(dims), keepDim, Core));
    /// <summary>Variance over dims with Bessel's correction (as <c>torch.var</c>).</summary>
    /// <param name="dims">Dims to reduce.</param>
    /// <param name="correction">Subtracted from the count (1 = unbiased).</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Var(int[] dims, int correction = 1, bool keepDim = false) => new(Reduction.var(Dims(dims), correction, keepDim, Core));
    /// <summary>Standard deviation over dims (as <c>torch.std</c>).</summary>
    /// <param name="dims">Dims to reduce.</param>
    /// <param name="correction">Subtracted from the count (1 = unbiased).</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Std(int[] dims, int correction = 1, bool keepDim = false) => new(Reduction.std(Dims(dims), correction, keepDim, Core));
    /// <summary>p-norm of all elements.</summary>
    /// <param name="p">Order (2, 1, ∞ or any p &gt; 0).</param>
    public Tensor Norm(double p = 2.0) => new(Reduction.normAll(p, Core));

    // ---------------------------------------------------------------- softmax and products

    /// <summary>Softmax along a dim.</summary>
    /// <param name="dim">The dim whose entries sum to one.</param>
    public Tensor Softmax(int dim) => new(CoreSoftmax.softmax(dim, Core));
    /// <summary>log-softmax along a dim, computed stably.</summary>
    /// <param name="dim">The dim.</param>
    public Tensor LogSoftmax(int dim) => new(CoreSoftmax.logSoftmax(dim, Core));
    /// <summary>Matrix product with <c>torch.matmul</c>'s rank rules (vectors promoted, batch dims broadcast).</summary>
    /// <param name="other">Right operand.</param>
    public Tensor Matmul(Tensor other) => new(Hybrid.Core.Linalg.matmul(Core, other.Core));
    /// <summary>Dot product of two vectors.</summary>
    /// <param name="other">The other vector.</param>
    public Tensor Dot(Tensor other) => new(Hybrid.Core.Linalg.dot(Core, other.Core));

    // ---------------------------------------------------------------- layout

    /// <summary>The same values in a new shape (one dim may be −1).</summary>
    /// <param name="shape">New dimensions.</param>
    public Tensor Reshape(params long[] shape) => new(Reshaping.reshape(Shape32(shape), Core));
    /// <summary>Same as <see cref="Reshape"/>.</summary>
    /// <param name="shape">New dimensions.</param>
    public Tensor View(params long[] shape) => Reshape(shape);
    /// <summary>Flatten dims startDim..endDim into one.</summary>
    /// <param name="startDim">First dim.</param>
    /// <param name="endDim">Last dim.</param>
    public Tensor Flatten(int startDim = 0, int endDim = -1) => new(Reshaping.flatten(startDim, endDim, Core));
    /// <summary>Swap two dims.</summary>
    /// <param name="dim0">One dim.</param>
    /// <param name="dim1">The other.</param>
    public Tensor Transpose(int dim0, int dim1) => new(Reshaping.transpose(dim0, dim1, Core));
    /// <summary>Reorder dims.</summary>
    /// <param name="dims">The new order.</param>
    public Tensor Permute(params int[] dims) => new(Reshaping.permute(Dims(dims), Core));
    /// <summary>Remove all size-1 dims.</summary>
    public Tensor Squeeze() => new(Reshaping.squeeze(Core));
    /// <summary>Remove one size-1 dim.</summary>
    /// <param name="dim">The dim.</param>
    public Tensor Squeeze(int dim) => new(Reshaping.squeezeDim(dim, Core));
    /// <summary>Insert a size-1 dim.</summary>
    /// <param name="dim">Its position.</param>
    public Tensor Unsqueeze(int dim) => new(Reshaping.unsqueeze(dim, Core));
    /// <summary>Broadcast to a shape (−1 keeps a dim).</summary>
    /// <param name="shape">Target shape.</param>
    public Tensor Expand(params long[] shape) => new(Reshaping.expand(Shape32(shape), Core));
    /// <summary>Elements start..end−1 by step along a dim, with Python's rules for negative bounds and steps.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="start">First index.</param>
    /// <param name="end">Exclusive end.</param>
    /// <param name="step">Stride (nonzero).</param>
    public Tensor Slice(int dim, int start, int end, int step = 1) => new(Reshaping.slice(dim, start, end, step, Core));
    /// <summary>Take one index along a dim, removing that dim.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="index">The index.</param>
    public Tensor Select(int dim, int index) => new(Reshaping.select(dim, index, Core));
    /// <summary>Rows given by int64 indices along a dim.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="index">Int64 indices, rank 1.</param>
    public Tensor IndexSelect(int dim, Tensor index) => new(Indexing.indexSelect(dim, index.Core, Core));
    /// <summary><c>torch.gather</c> along a dim.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="index">Int64 indices.</param>
    public Tensor Gather(int dim, Tensor index) => new(Indexing.gather(dim, index.Core, Core));
    /// <summary>A copy with <paramref name="src"/> added at the positions <paramref name="index"/> names (<c>torch.scatter_add</c>).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="index">Int64 indices.</param>
    /// <param name="src">Values to add.</param>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src) => new(Indexing.scatterAdd(dim, index.Core, src.Core, Core));
    /// <summary>Concatenate along a dim.</summary>
    /// <param name="tensors">Tensors with equal shapes except at dim.</param>
    /// <param name="dim">The dim.</param>
    public static Tensor Cat(IEnumerable<Tensor> tensors, int dim = 0) => new(Reshaping.concat(dim, tensors.Select(t => t.Core).ToArray()));
    /// <summary>Stack along a new dim.</summary>
    /// <param name="tensors">Tensors of equal shape.</param>
    /// <param name="dim">Position of the new dim.</param>
    public static Tensor Stack(IEnumerable<Tensor> tensors, int dim = 0) => new(Reshaping.stack(dim, tensors.Select(t => t.Core).ToArray()));
    /// <summary>A copy that no later change can alias; the gradient passes through.</summary>
    public Tensor Clone() => new(Reshaping.clone(Core));
}
