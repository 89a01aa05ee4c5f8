using Hybrid.Core;

namespace Hybrid;

// torch's tensor vocabulary beyond the basics (issue 17): more pointwise functions, activations, reductions, scans
// and order statistics. Each member calls one core op (Special, Activation, Cumulative, Extrema, Sorting, Reduction).
public partial class Tensor
{
    private static Tensor NotNull(Tensor t, string name) => t ?? throw new ArgumentNullException(name);

    // ---------------------------------------------------------------- pointwise

    /// <summary>log(1 + x), accurate for tiny x (<c>torch.log1p</c>).</summary>
    public Tensor Log1p() => new(Special.log1p(Core));
    /// <summary>eˣ − 1, accurate for tiny x (<c>torch.expm1</c>).</summary>
    public Tensor Expm1() => new(Special.expm1(Core));
    /// <summary>1/√x (<c>torch.rsqrt</c>).</summary>
    public Tensor Rsqrt() => new(Special.rsqrt(Core));
    /// <summary>1/x (<c>torch.reciprocal</c>).</summary>
    public Tensor Reciprocal() => new(Special.reciprocal(Core));
    /// <summary>−1, 0 or 1 by the sign of each element (<c>torch.sign</c>); its gradient is zero, as torch's.</summary>
    public Tensor Sign() => new(Special.sign(Core));
    /// <summary>Tangent (<c>torch.tan</c>).</summary>
    public Tensor Tan() => new(Special.tan(Core));
    /// <summary>Arctangent (<c>torch.atan</c>).</summary>
    public Tensor Atan() => new(Special.atan(Core));
    /// <summary>Arcsine, NaN outside [−1, 1] (<c>torch.asin</c>).</summary>
    public Tensor Asin() => new(Special.asin(Core));
    /// <summary>Arccosine, NaN outside [−1, 1] (<c>torch.acos</c>).</summary>
    public Tensor Acos() => new(Special.acos(Core));
    /// <summary>Hyperbolic sine (<c>torch.sinh</c>).</summary>
    public Tensor Sinh() => new(Special.sinh(Core));
    /// <summary>Hyperbolic cosine (<c>torch.cosh</c>).</summary>
    public Tensor Cosh() => new(Special.cosh(Core));
    /// <summary>Inverse hyperbolic sine (<c>torch.asinh</c>).</summary>
    public Tensor Asinh() => new(Special.asinh(Core));
    /// <summary>The angle of the point (other, this) in (−π, π], broadcast (<c>torch.atan2(this, other)</c>).</summary>
    /// <param name="other">The x coordinate; this tensor is the y coordinate.</param>
    public Tensor Atan2(Tensor other) => new(Special.atan2(Core, NotNull(other, nameof(other)).Core));
    /// <summary>√(this² + other²) without overflow, broadcast (<c>torch.hypot</c>); the gradient at the origin is 0.</summary>
    /// <param name="other">The other leg.</param>
    public Tensor Hypot(Tensor other) => new(Special.hypot(Core, NotNull(other, nameof(other)).Core));
    /// <summary>log(eᵗʰⁱˢ + eᵒᵗʰᵉʳ), computed stably, broadcast (<c>torch.logaddexp</c>).</summary>
    /// <param name="other">The other operand.</param>
    public Tensor LogAddExp(Tensor other) => new(Special.logaddexp(Core, NotNull(other, nameof(other)).Core));
    /// <summary>this + weight·(end − this), broadcast, in torch's form that returns <paramref name="end"/> exactly at weight 1 (<c>torch.lerp</c>).</summary>
    /// <param name="end">The end point.</param>
    /// <param name="weight">The interpolation weight per element.</param>
    public Tensor Lerp(Tensor end, Tensor weight) => new(Special.lerp(Core, NotNull(end, nameof(end)).Core, NotNull(weight, nameof(weight)).Core));
    /// <summary>this + weight·(end − this) with a scalar weight (<c>torch.lerp</c>).</summary>
    /// <param name="end">The end point.</param>
    /// <param name="weight">The interpolation weight.</param>
    public Tensor Lerp(Tensor end, double weight) => new(Special.lerpScalar(Core, NotNull(end, nameof(end)).Core, weight));
    /// <summary>this + value·tensor1·tensor2, broadcast (<c>torch.addcmul</c>).</summary>
    /// <param name="tensor1">First factor.</param>
    /// <param name="tensor2">Second factor.</param>
    /// <param name="value">Scale of the product.</param>
    public Tensor Addcmul(Tensor tensor1, Tensor tensor2, double value = 1.0) =>
        new(Special.addcmul(value, NotNull(tensor1, nameof(tensor1)).Core, NotNull(tensor2, nameof(tensor2)).Core, Core));
    /// <summary>this + value·tensor1/tensor2, broadcast (<c>torch.addcdiv</c>).</summary>
    /// <param name="tensor1">Numerator.</param>
    /// <param name="tensor2">Denominator.</param>
    /// <param name="value">Scale of the quotient.</param>
    public Tensor Addcdiv(Tensor tensor1, Tensor tensor2, double value = 1.0) =>
        new(Special.addcdiv(value, NotNull(tensor1, nameof(tensor1)).Core, NotNull(tensor2, nameof(tensor2)).Core, Core));
    /// <summary>A copy with <paramref name="value"/> wherever the mask is nonzero (<c>torch.masked_fill</c>); no gradient reaches the filled elements.</summary>
    /// <param name="mask">Nonzero where to fill; broadcasts to this tensor's shape.</param>
    /// <param name="value">The fill value.</param>
    public Tensor MaskedFill(Tensor mask, double value) => new(Special.maskedFill(NotNull(mask, nameof(mask)).Core, value, Core));
    /// <summary>Clamp from one side or both (<c>torch.clamp(min=..., max=...)</c>): <c>Clamp(0.0)</c> is max(x, 0), <c>Clamp(max: 1.0)</c> is min(x, 1).</summary>
    /// <param name="min">Lower bound, or null for none.</param>
    /// <param name="max">Upper bound, or null for none.</param>
    /// <exception cref="ArgumentException">Both bounds are null.</exception>
    public Tensor Clamp(double? min = null, double? max = null) => (min, max) switch
    {
        (double lo, double hi) => Clamp(lo, hi),
        (double lo, null) => new(Special.clampMin(lo, Core)),
        (null, double hi) => new(Special.clampMax(hi, Core)),
        _ => throw new ArgumentException("clamp: at least one of min and max must be given"),
    };
    /// <summary>max(x, min) (<c>torch.clamp_min</c>).</summary>
    /// <param name="min">Lower bound.</param>
    public Tensor ClampMin(double min) => new(Special.clampMin(min, Core));
    /// <summary>min(x, max) (<c>torch.clamp_max</c>).</summary>
    /// <param name="max">Upper bound.</param>
    public Tensor ClampMax(double max) => new(Special.clampMax(max, Core));

    // ---------------------------------------------------------------- activations

    /// <summary>x·σ(x) (<c>torch.nn.functional.silu</c>).</summary>
    public Tensor Silu() => new(Activation.silu(Core));
    /// <summary>x·tanh(softplus(x)) (<c>torch.nn.functional.mish</c>).</summary>
    public Tensor Mish() => new(Activation.mish(Core));
    /// <summary>λ·elu(x, α) with the self-normalising constants (<c>torch.nn.functional.selu</c>).</summary>
    public Tensor Selu() => new(Activation.selu(Core));
    /// <summary>x for x &gt; 0, α(e^(x/α) − 1) otherwise (<c>torch.nn.functional.celu</c>).</summary>
    /// <param name="alpha">α (nonzero).</param>
    public Tensor Celu(double alpha = 1.0) => new(Activation.celu(alpha, Core));
    /// <summary>log σ(x), stable for large |x| (<c>torch.nn.functional.logsigmoid</c>).</summary>
    public Tensor LogSigmoid() => new(Activation.logSigmoid(Core));
    /// <summary>x / (1 + |x|) (<c>torch.nn.functional.softsign</c>).</summary>
    public Tensor Softsign() => new(Activation.softsign(Core));
    /// <summary>Clamp into [minVal, maxVal] with torch's hardtanh gradient (1 strictly inside, 0 at the bounds) (<c>torch.nn.functional.hardtanh</c>).</summary>
    /// <param name="minVal">Lower bound.</param>
    /// <param name="maxVal">Upper bound.</param>
    public Tensor Hardtanh(double minVal = -1.0, double maxVal = 1.0) => new(Activation.hardtanh(minVal, maxVal, Core));
    /// <summary>x·relu6(x + 3)/6 (<c>torch.nn.functional.hardswish</c>).</summary>
    public Tensor Hardswish() => new(Activation.hardswish(Core));
    /// <summary>softmax(−x) along a dim (<c>torch.nn.functional.softmin</c>).</summary>
    /// <param name="dim">The dim whose entries sum to one.</param>
    public Tensor Softmin(int dim) => new(Activation.softmin(dim, Core));

    // ---------------------------------------------------------------- reductions and scans

    /// <summary>The largest value over dims, all when none are given; ties share the gradient evenly (<c>torch.amax</c>).</summary>
    /// <param name="dims">Dims to reduce (negative counts from the end); empty means all.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Amax(int[] dims, bool keepDim = false) => new(Extrema.amax(Dims(dims), keepDim, Core));
    /// <summary>The largest value over one dim; ties share the gradient evenly (<c>torch.amax</c>).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Amax(int dim, bool keepDim = false) => Amax(new[] { dim }, keepDim);
    /// <summary>The largest element; ties share the gradient evenly (<c>torch.amax</c>).</summary>
    public Tensor Amax() => Amax(Array.Empty<int>());
    /// <summary>The smallest value over dims, all when none are given; ties share the gradient evenly (<c>torch.amin</c>).</summary>
    /// <param name="dims">Dims to reduce (negative counts from the end); empty means all.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Amin(int[] dims, bool keepDim = false) => new(Extrema.amin(Dims(dims), keepDim, Core));
    /// <summary>The smallest value over one dim; ties share the gradient evenly (<c>torch.amin</c>).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Amin(int dim, bool keepDim = false) => Amin(new[] { dim }, keepDim);
    /// <summary>The smallest element; ties share the gradient evenly (<c>torch.amin</c>).</summary>
    public Tensor Amin() => Amin(Array.Empty<int>());
    /// <summary>The product of every element, 1 when empty (<c>torch.prod</c>); the gradient is exact where elements are zero.</summary>
    public Tensor Prod() => new(Cumulative.prod(Core));
    /// <summary>The product over one dim (<c>torch.prod(dim)</c>).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Prod(int dim, bool keepDim = false) => new(Cumulative.prodDim(dim, keepDim, Core));
    /// <summary>Running sum along a dim (<c>torch.cumsum</c>).</summary>
    /// <param name="dim">The dim.</param>
    public Tensor Cumsum(int dim) => new(Cumulative.cumsum(dim, Core));
    /// <summary>Running product along a dim (<c>torch.cumprod</c>); the gradient is exact where elements are zero.</summary>
    /// <param name="dim">The dim.</param>
    public Tensor Cumprod(int dim) => new(Cumulative.cumprod(dim, Core));
    /// <summary>The lower median of every element, NaN if any is (<c>torch.median()</c>); ties share the gradient evenly.</summary>
    public Tensor Median() => new(Sorting.median(Core));
    /// <summary>The lower median along a dim and its int64 index (<c>torch.median(dim)</c>); a line with NaN gives NaN at its first NaN.</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public (Tensor Values, Tensor Indices) Median(int dim, bool keepDim = false)
    {
        var r = Sorting.medianDim(dim, keepDim, Core);
        return (new(r.Item1), new(r.Item2));
    }
    /// <summary>The values sorted along a dim and their int64 indices; stable (ties keep their order), NaN last (<c>torch.sort(stable=True)</c>).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="descending">Largest first.</param>
    public (Tensor Values, Tensor Indices) Sort(int dim = -1, bool descending = false)
    {
        var r = Sorting.sort(dim, descending, Core);
        return (new(r.Item1), new(r.Item2));
    }
    /// <summary>The k largest (or smallest) values along a dim, in sorted order, and their int64 indices (<c>torch.topk</c>).</summary>
    /// <param name="k">How many (0..size of the dim).</param>
    /// <param name="dim">The dim.</param>
    /// <param name="largest">Largest (true) or smallest.</param>
    /// <param name="sorted">Accepted for torch's signature; the values always come sorted (an order torch allows either way).</param>
    public (Tensor Values, Tensor Indices) Topk(int k, int dim = -1, bool largest = true, bool sorted = true)
    {
        _ = sorted;
        var r = Sorting.topk(k, dim, largest, Core);
        return (new(r.Item1), new(r.Item2));
    }
    /// <summary>log Σ exp of every element, computed stably (<c>torch.logsumexp</c> over all dims).</summary>
    public Tensor LogSumExp() => new(Reduction.logsumexp(AllDims(), false, Core));
    /// <summary>Variance of every element with Bessel's correction (<c>torch.var(x)</c>).</summary>
    /// <param name="correction">Subtracted from the count (1 = unbiased).</param>
    public Tensor Var(int correction = 1) => new(Reduction.var(AllDims(), correction, false, Core));
    /// <summary>Standard deviation of every element (<c>torch.std(x)</c>).</summary>
    /// <param name="correction">Subtracted from the count (1 = unbiased).</param>
    public Tensor Std(int correction = 1) => new(Reduction.std(AllDims(), correction, false, Core));
    /// <summary>The p-norm over dims (<c>torch.norm(x, p, dim, keepdim)</c>): p = 2, 1, ±∞ or any p &gt; 0.</summary>
    /// <param name="p">Order.</param>
    /// <param name="dims">Dims to reduce.</param>
    /// <param name="keepDim">Keep reduced dims as size 1.</param>
    public Tensor Norm(double p, int[] dims, bool keepDim = false) => new(Reduction.norm(p, Dims(dims), keepDim, Core));
    /// <summary>The p-norm over one dim.</summary>
    /// <param name="p">Order.</param>
    /// <param name="dim">The dim.</param>
    /// <param name="keepDim">Keep it as size 1.</param>
    public Tensor Norm(double p, int dim, bool keepDim = false) => Norm(p, new[] { dim }, keepDim);

    private int[] AllDims() => Enumerable.Range(0, Core.Rank).ToArray();
}
