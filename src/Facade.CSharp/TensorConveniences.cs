using System.Globalization;
using System.Text;
using Hybrid.Core;

namespace Hybrid;

/// <summary>
/// One position of a tensor indexer <c>t[i, j]</c>, <c>t[.., 1]</c>, <c>t[^1]</c>, <c>t[1..3, ..]</c>: an integer or
/// <see cref="System.Index"/> selects one entry and removes the dimension (torch's <c>t[i]</c>), a
/// <see cref="System.Range"/> keeps the dimension and slices it (<c>t[a:b]</c>). Made implicitly from int, Index and Range.
/// </summary>
public readonly struct TensorIndex
{
    private TensorIndex(Index? index, Range? range) { At = index; Span = range; }

    /// <summary>The entry selected, when this position selects one.</summary>
    public Index? At { get; }

    /// <summary>The range sliced, when this position slices.</summary>
    public Range? Span { get; }

    /// <summary>Selects entry <paramref name="i"/> (negative counts from the end, as in torch).</summary>
    /// <param name="i">The entry.</param>
    public static implicit operator TensorIndex(int i) => new(i < 0 ? Index.FromEnd(-i) : Index.FromStart(i), null);

    /// <summary>Selects an entry given as an <see cref="System.Index"/> (<c>^1</c> is the last).</summary>
    /// <param name="i">The entry.</param>
    public static implicit operator TensorIndex(Index i) => new(i, null);

    /// <summary>Slices a <see cref="System.Range"/> (<c>..</c> is all of the dimension).</summary>
    /// <param name="r">The range.</param>
    public static implicit operator TensorIndex(Range r) => new(null, r);
}

public partial class Tensor
{
    // ---------------------------------------------------------------- creation from .NET arrays

    /// <summary>An int64 tensor (class labels, indices) holding <paramref name="data"/> as 64-bit integers (torch.tensor of Python ints).</summary>
    /// <param name="data">Values in row-major order.</param>
    /// <param name="shape">Dimensions; their product must equal the data's length (the length when none is given).</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromArray(int[] data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromArray(Array.ConvertAll(data, v => (long)v), shape);
    }

    /// <summary>A float32 matrix [rows, cols] holding a copy of a 2-D array (<c>new float[,] { { 1, 2 }, { 3, 4 } }</c>).</summary>
    /// <param name="data">The values.</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromArray(float[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromArray(Flatten2(data), data.GetLength(0), data.GetLength(1));
    }

    /// <summary>A float64 matrix [rows, cols] holding a copy of a 2-D array.</summary>
    /// <param name="data">The values.</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromArray(double[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromArray(Flatten2(data), data.GetLength(0), data.GetLength(1));
    }

    /// <summary>An int64 matrix [rows, cols] holding a copy of a 2-D array.</summary>
    /// <param name="data">The values.</param>
    /// <returns>The tensor.</returns>
    public static Tensor FromArray(long[,] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return FromArray(Flatten2(data), data.GetLength(0), data.GetLength(1));
    }

    private static T[] Flatten2<T>(T[,] data)
    {
        var flat = new T[data.Length];
        int k = 0;
        foreach (var v in data) flat[k++] = v;   // a 2-D array enumerates row-major
        return flat;
    }

    private static long[] Longs(int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return Array.ConvertAll(shape, d => (long)d);
    }

    /// <summary>Zeros of a shape given as int[] (<c>Tensor.Zeros(x.Shape32)</c>, or a shape built in code).</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Zeros(int[] shape, DType dtype = DType.Float32) => Zeros(Longs(shape), dtype);

    /// <summary>Ones of a shape given as int[].</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Ones(int[] shape, DType dtype = DType.Float32) => Ones(Longs(shape), dtype);

    /// <summary>A tensor of one value, shape given as int[].</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="value">The value.</param>
    /// <param name="dtype">Element type.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32) => Full(Longs(shape), value, dtype);

    /// <summary>Standard normal values from the global generator, shape given as int[].</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="seed">Optional seed of a private generator.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Randn(int[] shape, DType dtype = DType.Float32, int? seed = null) => Randn(Longs(shape), dtype, seed);

    /// <summary>Uniform values in [0, 1) from the global generator, shape given as int[].</summary>
    /// <param name="shape">Dimensions.</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="seed">Optional seed of a private generator.</param>
    /// <returns>The tensor.</returns>
    public static Tensor Rand(int[] shape, DType dtype = DType.Float32, int? seed = null) => Rand(Longs(shape), dtype, seed);

    // ---------------------------------------------------------------- values

    /// <summary>The value of a one-element tensor as a double, whatever its dtype (<c>t.item()</c>).</summary>
    /// <returns>The value.</returns>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element.</exception>
    public double Item() => Item<double>();

    // ---------------------------------------------------------------- indexing

    /// <summary>
    /// <c>t[i, j]</c>, <c>t[.., 1]</c>, <c>t[^1]</c>, <c>t[1..3, ..]</c> as in torch: an integer selects and removes its
    /// dimension, a range slices and keeps it, dimensions not named are kept whole. The result is differentiable
    /// (the gradient flows back into the selected positions). <c>t[i, j]</c> on a matrix is a scalar tensor: read it with
    /// <see cref="Item()"/>.
    /// </summary>
    /// <param name="indices">One position per leading dimension.</param>
    /// <exception cref="ArgumentException">More positions than dimensions, or a position out of range (named).</exception>
    // named "At" in IL: the default name "Item" would clash with the Item() methods
    [System.Runtime.CompilerServices.IndexerName("At")]
    public Tensor this[params TensorIndex[] indices]
    {
        get
        {
            ArgumentNullException.ThrowIfNull(indices);
            var shape = Core.Shape;
            if (indices.Length > shape.Length)
                throw new ArgumentException($"index: {indices.Length} positions for a tensor of shape [{string.Join(",", shape)}] (at most {shape.Length})", nameof(indices));
            var x = Core;
            int dim = 0;   // the dimension of x that position k addresses (selected ones are gone)
            for (int k = 0; k < indices.Length; k++)
            {
                int n = shape[k];
                if (indices[k].At is Index at)
                {
                    int i = at.IsFromEnd ? n - at.Value : at.Value;
                    if (i < 0 || i >= n)
                        throw new ArgumentOutOfRangeException(nameof(indices), $"index: position {k} is {at} but dimension {k} of [{string.Join(",", shape)}] has size {n}");
                    x = Reshaping.select(dim, i, x);
                }
                else
                {
                    var (start, length) = indices[k].Span!.Value.GetOffsetAndLength(n);
                    x = Reshaping.slice(dim, start, start + length, 1, x);
                    dim++;
                }
            }
            return new Tensor(x);
        }
    }

    // ---------------------------------------------------------------- comparisons

    /// <summary>1 where a &gt; b, else 0 (broadcast), in the operands' dtype: Hybrid has no bool dtype, so masks are 0/1
    /// numbers that multiply, sum (a count) and feed <see cref="Where"/>. Not differentiable.</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator >(Tensor a, Tensor b) => a.Gt(b);

    /// <summary>1 where a &lt; b, else 0 (a 0/1 mask in the operands' dtype; see <c>operator &gt;</c>).</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator <(Tensor a, Tensor b) => a.Lt(b);

    /// <summary>1 where a ≥ b, else 0 (a 0/1 mask in the operands' dtype).</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator >=(Tensor a, Tensor b) => a.Ge(b);

    /// <summary>1 where a ≤ b, else 0 (a 0/1 mask in the operands' dtype).</summary>
    /// <param name="a">Left operand.</param>
    /// <param name="b">Right operand.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator <=(Tensor a, Tensor b) => a.Le(b);

    /// <summary>1 where a &gt; c, else 0 (a 0/1 mask in a's dtype).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator >(Tensor a, double c) => a.Gt(a.ScalarLike(c));

    /// <summary>1 where a &lt; c, else 0 (a 0/1 mask in a's dtype).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator <(Tensor a, double c) => a.Lt(a.ScalarLike(c));

    /// <summary>1 where a ≥ c, else 0 (a 0/1 mask in a's dtype).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator >=(Tensor a, double c) => a.Ge(a.ScalarLike(c));

    /// <summary>1 where a ≤ c, else 0 (a 0/1 mask in a's dtype).</summary>
    /// <param name="a">The tensor.</param>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public static Tensor operator <=(Tensor a, double c) => a.Le(a.ScalarLike(c));

    /// <summary>1 where equal to <paramref name="c"/>, else 0 (a 0/1 mask; <c>==</c> stays reference equality, as for any .NET object).</summary>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public Tensor Eq(double c) => Eq(ScalarLike(c));

    /// <summary>1 where not equal to <paramref name="c"/>, else 0 (a 0/1 mask).</summary>
    /// <param name="c">The scalar.</param>
    /// <returns>The mask.</returns>
    public Tensor Ne(double c) => Ne(ScalarLike(c));

    // a scalar of this tensor's dtype on its device, to compare against
    private Tensor ScalarLike(double c)
    {
        var s = Scalar(c, DType);
        return Device == "cpu" ? s : s.To(Device);
    }

    // ---------------------------------------------------------------- printing

    /// <summary>
    /// The dtype, shape, device and first values, e.g. <c>tensor([1, 2, 3, 4, 5, 6], dtype=Float32, shape=[2,3], device=cpu)</c>;
    /// past 8 values the first 6 and the count of the rest (only those are read, so printing a large or GPU tensor is cheap).
    /// </summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        if (_disposed) return "tensor(disposed)";
        const int all = 8, first = 6;
        long n = Numel;
        var flat = Reshaping.reshape(new[] { (int)n }, Core);
        var head = n <= all ? flat : Reshaping.slice(0, 0, first, 1, flat);
        var sb = new StringBuilder("tensor([");
        if (DType == DType.Int64) sb.AppendJoin(", ", head.ToInt64Array());
        else sb.AppendJoin(", ", head.ToFloat64Array().Select(v => (DType == DType.Float32 ? ((float)v).ToString("G7", CultureInfo.InvariantCulture) : v.ToString("G10", CultureInfo.InvariantCulture))));
        if (n > all) sb.Append(", ... (").Append(n - first).Append(" more)");
        sb.Append("], dtype=").Append(DType).Append(", shape=[").AppendJoin(",", Core.Shape).Append("], device=").Append(Device);
        if (RequiresGrad) sb.Append(", requiresGrad");
        return sb.Append(')').ToString();
    }
}
