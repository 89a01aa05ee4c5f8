using Hybrid.Core;
using CoreLinalg = Hybrid.Core.Linalg;
using CoreEinsum = Hybrid.Core.Einsum;

namespace Hybrid;

public partial class Tensor
{
    private static int[] Ints(long[] values, string name) =>
        Array.ConvertAll(values ?? throw new ArgumentNullException(name), v => checked((int)v));

    // ---------------------------------------------------------------- structure

    /// <summary>The elements in reverse order along each of <paramref name="dims"/> (<c>torch.flip</c>).</summary>
    /// <param name="dims">Dims to reverse (negative counts from the end; no dim twice).</param>
    public Tensor Flip(params int[] dims) => new(Structure.flip(Dims(dims), Core));

    /// <summary>The tensor flattened, shifted by <paramref name="shifts"/> places (elements pushed off the end come
    /// back at the start), and given its shape back (<c>torch.roll</c> without dims).</summary>
    /// <param name="shifts">Places to shift (negative shifts toward the start).</param>
    public Tensor Roll(int shifts) => new(Structure.roll(new[] { shifts }, Array.Empty<int>(), Core));

    /// <summary>Elements shifted by <paramref name="shifts"/> places along <paramref name="dim"/>, wrapping around (<c>torch.roll</c>).</summary>
    /// <param name="shifts">Places to shift.</param>
    /// <param name="dim">The dim.</param>
    public Tensor Roll(int shifts, int dim) => new(Structure.roll(new[] { shifts }, new[] { dim }, Core));

    /// <summary>Elements shifted along several dims at once, <c>shifts[i]</c> places along <c>dims[i]</c> (<c>torch.roll</c>).</summary>
    /// <param name="shifts">Places to shift, one per dim.</param>
    /// <param name="dims">The dims, as many as shifts.</param>
    public Tensor Roll(int[] shifts, int[] dims) => new(Structure.roll(Dims(shifts), Dims(dims), Core));

    /// <summary>Elements <paramref name="start"/>..start+length−1 along <paramref name="dim"/> (<c>torch.narrow</c>; a negative start counts from the end, no clamping).</summary>
    /// <param name="dim">The dim.</param>
    /// <param name="start">First index.</param>
    /// <param name="length">Number of elements kept.</param>
    public Tensor Narrow(int dim, long start, long length) => new(Reshaping.narrow(dim, checked((int)start), checked((int)length), Core));

    /// <summary>The tensor copied <c>repeats[i]</c> times along dim i (<c>torch.Tensor.repeat</c>); more repeats than dims
    /// add leading dims, fewer are an error.</summary>
    /// <param name="repeats">Copies per dim.</param>
    public Tensor Repeat(params long[] repeats) => new(Structure.repeat(Ints(repeats, nameof(repeats)), Core));

    /// <summary>As <see cref="Repeat"/>, but fewer reps than dims are padded with leading 1s (<c>torch.tile</c>).</summary>
    /// <param name="reps">Copies per dim, aligned to the last dims.</param>
    public Tensor Tile(params long[] reps) => new(Structure.tile(Ints(reps, nameof(reps)), Core));

    /// <summary>The lower triangle of the last two dims, on and below the <paramref name="diagonal"/>-th diagonal; zeros elsewhere (<c>torch.tril</c>).</summary>
    /// <param name="diagonal">0 the main diagonal, &gt; 0 above it, &lt; 0 below it.</param>
    public Tensor Tril(int diagonal = 0) => new(Structure.tril(diagonal, Core));

    /// <summary>The upper triangle of the last two dims, on and above the <paramref name="diagonal"/>-th diagonal; zeros elsewhere (<c>torch.triu</c>).</summary>
    /// <param name="diagonal">0 the main diagonal, &gt; 0 above it, &lt; 0 below it.</param>
    public Tensor Triu(int diagonal = 0) => new(Structure.triu(diagonal, Core));

    /// <summary>Of a vector, the square matrix with it on the <paramref name="diagonal"/>-th diagonal; of a matrix, that diagonal as a vector (<c>torch.diag</c>).</summary>
    /// <param name="diagonal">0 the main diagonal, &gt; 0 above it, &lt; 0 below it.</param>
    public Tensor Diag(int diagonal = 0) => new(Structure.diag(diagonal, Core));

    /// <summary>The <paramref name="offset"/>-th diagonal of the planes spanned by two dims, which are removed; the diagonal becomes the last dim (<c>torch.diagonal</c>).</summary>
    /// <param name="offset">0 the main diagonal, &gt; 0 above it, &lt; 0 below it.</param>
    /// <param name="dim1">First dim of the planes.</param>
    /// <param name="dim2">Second dim of the planes.</param>
    public Tensor Diagonal(int offset = 0, int dim1 = 0, int dim2 = 1) => new(Structure.diagonal(offset, dim1, dim2, Core));

    /// <summary>The sum of the main diagonal of a matrix, a scalar (<c>torch.trace</c>).</summary>
    public Tensor Trace() => new(Structure.trace(Core));

    // ---------------------------------------------------------------- products

    /// <summary>The outer product u vᵀ of two vectors [m] and [n], shape [m, n] (<c>torch.outer</c>).</summary>
    /// <param name="other">The vector v.</param>
    public Tensor Outer(Tensor other) => new(CoreLinalg.outer(Core, other.Core));

    /// <summary>The product of two matrices [m, k]·[k, n] without broadcasting (<c>torch.mm</c>).</summary>
    /// <param name="other">The right matrix.</param>
    public Tensor Mm(Tensor other) => new(CoreLinalg.mm(Core, other.Core));

    /// <summary>Batched matrix products [b, m, k]·[b, k, n] with equal batch sizes (<c>torch.bmm</c>).</summary>
    /// <param name="other">The right batch of matrices.</param>
    public Tensor Bmm(Tensor other) => new(CoreLinalg.bmm(Core, other.Core));

    /// <summary>Einstein summation with torch's equation syntax (<c>torch.einsum</c>): letters, one <c>...</c> per operand,
    /// an optional <c>-&gt;</c> output (implicit: the letters appearing once, alphabetically). Pairs of operands become
    /// batched matrix products.</summary>
    /// <param name="equation">For example <c>"bij,bjk-&gt;bik"</c>, <c>"ii"</c>, <c>"i,j-&gt;ij"</c>.</param>
    /// <param name="operands">One tensor per comma-separated term.</param>
    public static Tensor Einsum(string equation, params Tensor[] operands) =>
        new(CoreEinsum.einsum(equation, Array.ConvertAll(operands ?? throw new ArgumentNullException(nameof(operands)), t => t.Core)));

    // ---------------------------------------------------------------- distances

    /// <summary>The p-norm distances between the rows of <paramref name="x1"/> [..., P, M] and <paramref name="x2"/> [..., R, M],
    /// shape [..., P, R] (<c>torch.cdist</c>, computed from the differences; a zero distance has a zero gradient).</summary>
    /// <param name="x1">First set of rows.</param>
    /// <param name="x2">Second set of rows.</param>
    /// <param name="p">The norm's order, p ≥ 0 or +∞.</param>
    public static Tensor Cdist(Tensor x1, Tensor x2, double p = 2.0) => new(Distance.cdist(p, x1.Core, x2.Core));

    /// <summary>Cosine similarity along a dim of the broadcast inputs, x1·x2 / √(max(‖x1‖², ε²)·max(‖x2‖², ε²))
    /// (<c>torch.cosine_similarity</c>).</summary>
    /// <param name="x1">First input.</param>
    /// <param name="x2">Second input (broadcast with the first).</param>
    /// <param name="dim">The dim of the vectors.</param>
    /// <param name="eps">Lower bound of each norm.</param>
    public static Tensor CosineSimilarity(Tensor x1, Tensor x2, int dim = 1, double eps = 1e-8) =>
        new(Distance.cosineSimilarity(dim, eps, x1.Core, x2.Core));
}
