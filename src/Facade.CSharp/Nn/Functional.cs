using CoreDistance = Hybrid.Core.Distance;
using CoreLinalg = Hybrid.Core.Linalg;

namespace Hybrid.Nn;

/// <summary>Functions of <c>torch.nn.functional</c> that take their weights as arguments instead of holding them.</summary>
public static partial class Functional
{
    /// <summary>y = x Wᵀ + b (<c>torch.nn.functional.linear</c>): input [..., in], weight [out, in], bias [out] or null → [..., out].</summary>
    /// <param name="input">The input.</param>
    /// <param name="weight">The weight [out, in].</param>
    /// <param name="bias">The bias [out], or null for none.</param>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null) =>
        Tensor.Wrap(CoreLinalg.linear(input.Core, weight.Core, bias?.Core));

    /// <summary>x / max(‖x‖ₚ, ε) with the p-norm taken over <paramref name="dim"/> (<c>torch.nn.functional.normalize</c>).</summary>
    /// <param name="input">The input.</param>
    /// <param name="p">The norm's order, p ≥ 0 or +∞.</param>
    /// <param name="dim">The dim normalised.</param>
    /// <param name="eps">Lower bound of the norm.</param>
    public static Tensor Normalize(Tensor input, double p = 2.0, int dim = 1, double eps = 1e-12) =>
        Tensor.Wrap(CoreDistance.normalize(p, dim, eps, input.Core));

    /// <summary>Cosine similarity along a dim (<c>torch.nn.functional.cosine_similarity</c>); see <see cref="Tensor.CosineSimilarity"/>.</summary>
    /// <param name="x1">First input.</param>
    /// <param name="x2">Second input (broadcast with the first).</param>
    /// <param name="dim">The dim of the vectors.</param>
    /// <param name="eps">Lower bound of each norm.</param>
    public static Tensor CosineSimilarity(Tensor x1, Tensor x2, int dim = 1, double eps = 1e-8) => Tensor.CosineSimilarity(x1, x2, dim, eps);
}
