using CoreDecomp = Hybrid.Core.LinalgDecomp;

namespace Hybrid;

/// <summary>
/// Linear algebra as <c>torch.linalg</c>: solvers and decompositions of float32 / float64 matrices of shape
/// <c>[..., m, n]</c>, batched over the leading dims, and differentiable (torch.linalg's backward rules).
/// </summary>
/// <remarks>
/// <para>Values are computed by MathNet.Numerics on the CPU in float64, one matrix at a time, and returned in the input's
/// dtype on the input's device: a tensor on a GPU is copied to the host and the result copied back (so these are
/// meant for small and medium matrices, not for the inner loop of a GPU model).</para>
/// <para>Eigenvectors, singular vectors and QR factors are unique only up to sign; their signs may differ from
/// PyTorch's (LAPACK's). A singular matrix given to <see cref="Solve"/> or <see cref="Inv"/>, or a matrix that is
/// not positive definite given to <see cref="Cholesky"/>, throws <see cref="InvalidOperationException"/> naming the
/// batch element (and the failing leading minor).</para>
/// </remarks>
public static class Linalg
{
    private static Hybrid.Core.Tensor C(Tensor t, string name)
    {
        ArgumentNullException.ThrowIfNull(t, name);
        return t.Core;
    }

    /// <summary><c>torch.linalg.solve</c>: X with A X = B.</summary>
    /// <param name="a">Square matrices [..., n, n].</param>
    /// <param name="b">Right-hand sides [..., n, k], or [..., n] (vectors) when B has A's shape without its last dim or is 1-D. Batch dims broadcast.</param>
    /// <returns>X, of B's shape (with broadcast batch dims).</returns>
    /// <remarks>Backward: gB = A⁻ᵀg, gA = −gB Xᵀ.</remarks>
    public static Tensor Solve(Tensor a, Tensor b) => Tensor.Wrap(CoreDecomp.solve(C(a, nameof(a)), C(b, nameof(b))));

    /// <summary><c>torch.linalg.cholesky</c>: L lower triangular with A = L Lᵀ (or U = Lᵀ when <paramref name="upper"/>), for symmetric positive-definite A.</summary>
    /// <param name="a">Symmetric positive-definite matrices [..., n, n]; only the lower triangle is read.</param>
    /// <param name="upper">Return the upper factor U = Lᵀ (A = UᵀU).</param>
    /// <returns>The triangular factor, of A's shape.</returns>
    public static Tensor Cholesky(Tensor a, bool upper = false) => Tensor.Wrap(CoreDecomp.cholesky(upper, C(a, nameof(a))));

    /// <summary><c>torch.linalg.cholesky_ex</c>: the lower factor and, per matrix, 0 if it is positive definite or else the order of its first leading minor that is not (then that factor is zero). Never throws for an indefinite matrix.</summary>
    /// <param name="a">Symmetric matrices [..., n, n]; only the lower triangle is read.</param>
    /// <returns>L of A's shape, and Info, an int64 tensor of the batch shape.</returns>
    public static (Tensor L, Tensor Info) CholeskyEx(Tensor a)
    {
        var r = CoreDecomp.choleskyEx(C(a, nameof(a)));
        var shape = r.Item1.Shape[..^2];
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(Hybrid.Core.Create.ofInt64(Array.ConvertAll(r.Item2, v => (long)v), shape)));
    }

    /// <summary><c>torch.cholesky_solve</c>: X with A X = B given the lower Cholesky factor L of A.</summary>
    /// <param name="b">Right-hand sides [..., n, k] or [..., n].</param>
    /// <param name="l">Lower factor [..., n, n] (from <see cref="Cholesky"/>).</param>
    /// <returns>X, of B's shape.</returns>
    public static Tensor CholeskySolve(Tensor b, Tensor l) => Tensor.Wrap(CoreDecomp.choleskySolve(C(b, nameof(b)), C(l, nameof(l))));

    /// <summary><c>torch.linalg.inv</c>: A⁻¹ of each square matrix.</summary>
    /// <param name="a">Invertible matrices [..., n, n].</param>
    /// <returns>The inverses, of A's shape.</returns>
    /// <remarks>Backward: gA = −A⁻ᵀ g A⁻ᵀ.</remarks>
    public static Tensor Inv(Tensor a) => Tensor.Wrap(CoreDecomp.inv(C(a, nameof(a))));

    /// <summary><c>torch.linalg.det</c>: det A of each square matrix.</summary>
    /// <param name="a">Square matrices [..., n, n].</param>
    /// <returns>The determinants, shape [...].</returns>
    /// <remarks>Backward: g·det(A)·A⁻ᵀ; at a (nearly) singular matrix, g times the cofactor matrix from the SVD, which
    /// is the true gradient there too (first order only).</remarks>
    public static Tensor Det(Tensor a) => Tensor.Wrap(CoreDecomp.det(C(a, nameof(a))));

    /// <summary><c>torch.linalg.slogdet</c>: the sign and log|det A| of each square matrix (no overflow for large matrices).</summary>
    /// <param name="a">Square matrices [..., n, n].</param>
    /// <returns>Sign (−1, 0 or 1; a constant) and LogAbsDet (differentiable: gA = g·A⁻ᵀ), each of shape [...].</returns>
    public static (Tensor Sign, Tensor LogAbsDet) Slogdet(Tensor a)
    {
        var r = CoreDecomp.slogdet(C(a, nameof(a)));
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2));
    }

    /// <summary><c>torch.linalg.eigh</c>: eigenvalues (ascending) and orthonormal eigenvectors (columns) of symmetric matrices.</summary>
    /// <param name="a">Symmetric matrices [..., n, n]; only the lower triangle is read.</param>
    /// <returns>Eigenvalues [..., n] and Eigenvectors [..., n, n] with A = V diag(λ) Vᵀ.</returns>
    /// <remarks>Backward needs distinct eigenvalues (a repeated one makes the eigenvector gradient infinite, as in torch).</remarks>
    public static (Tensor Eigenvalues, Tensor Eigenvectors) Eigh(Tensor a)
    {
        var r = CoreDecomp.eigh(C(a, nameof(a)));
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2));
    }

    /// <summary><c>torch.linalg.svd</c>: A = U diag(S) Vh with S descending.</summary>
    /// <param name="a">Matrices [..., m, n].</param>
    /// <param name="fullMatrices">U [..., m, m] and Vh [..., n, n] (the default, as torch); false gives the reduced U [..., m, k], Vh [..., k, n], k = min(m, n).</param>
    /// <returns>U, S [..., k] and Vh.</returns>
    /// <remarks>Backward is defined for the reduced SVD (or a square A) with distinct nonzero singular values.</remarks>
    public static (Tensor U, Tensor S, Tensor Vh) Svd(Tensor a, bool fullMatrices = true)
    {
        var r = CoreDecomp.svd(fullMatrices, C(a, nameof(a)));
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2), Tensor.Wrap(r.Item3));
    }

    /// <summary><c>torch.linalg.qr</c>: A = Q R with orthonormal columns Q and upper triangular R (Householder).</summary>
    /// <param name="a">Matrices [..., m, n].</param>
    /// <param name="mode">"reduced" (default): Q [..., m, k], R [..., k, n]; "complete": Q [..., m, m], R [..., m, n].</param>
    /// <returns>Q and R.</returns>
    /// <remarks>Backward is defined for m ≥ n in reduced mode.</remarks>
    public static (Tensor Q, Tensor R) Qr(Tensor a, string mode = "reduced")
    {
        var complete = mode switch
        {
            "reduced" => false,
            "complete" => true,
            _ => throw new ArgumentException($"Qr: mode '{mode}' is not supported (expected \"reduced\" or \"complete\")", nameof(mode)),
        };
        var r = CoreDecomp.qr(complete, C(a, nameof(a)));
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2));
    }

    /// <summary><c>torch.linalg.lstsq(A, B).solution</c>: X minimising ‖A X − B‖ (the minimum-norm one when A is rank deficient).</summary>
    /// <param name="a">Matrices [..., m, n].</param>
    /// <param name="b">Right-hand sides [..., m, k]; batch dims broadcast.</param>
    /// <returns>The solution [..., n, k].</returns>
    /// <remarks>Singular values below max(m, n)·ε·σ₁ count as zero. Backward is defined for full column rank (m ≥ n).</remarks>
    public static Tensor Lstsq(Tensor a, Tensor b) => Tensor.Wrap(CoreDecomp.lstsq(C(a, nameof(a)), C(b, nameof(b))));
}
