using Hybrid.Core.Optim;

namespace Hybrid.Nn;

/// <summary>Gradient clipping (<c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>), over the core's Clip functions.</summary>
public static class Utils
{
    private static Parameter[] Checked(IEnumerable<Parameter> parameters, string op)
    {
        ArgumentNullException.ThrowIfNull(parameters, nameof(parameters));
        var ps = parameters.ToArray();
        for (int i = 0; i < ps.Length; i++)
            if (ps[i] is null) throw new ArgumentNullException(nameof(parameters), $"{op}: parameter {i} is null");
        return ps;
    }

    /// <summary>
    /// Scale the gradients in place so that their global L2 norm is at most <paramref name="maxNorm"/>:
    /// g ← g·min(1, maxNorm/(‖g‖ + 1e-6)), ‖g‖ = √(Σ‖gᵢ‖²) over every parameter's gradient. Parameters without a
    /// gradient are ignored.
    /// </summary>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="maxNorm">The largest allowed norm (&gt;= 0).</param>
    /// <returns>The total norm before clipping.</returns>
    public static double ClipGradNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var ps = Checked(parameters, "ClipGradNorm").Where(p => p.Core.Grad is not null).ToArray();
        if (!(maxNorm >= 0))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, $"ClipGradNorm: maxNorm = {maxNorm} is invalid (expected >= 0)");
        var (clipped, norm) = Clip.byGlobalNorm(maxNorm, ps.Select(p => p.Core.Grad).ToArray()).ToValueTuple();
        for (int i = 0; i < ps.Length; i++) ps[i].Core.Grad = clipped[i];
        return norm;
    }

    /// <summary>Clamp every gradient element into [−clipValue, clipValue], in place. Parameters without a gradient are ignored.</summary>
    /// <param name="parameters">The parameters whose gradients are clipped.</param>
    /// <param name="clipValue">The bound (&gt;= 0).</param>
    public static void ClipGradValue(IEnumerable<Parameter> parameters, double clipValue)
    {
        var ps = Checked(parameters, "ClipGradValue").Where(p => p.Core.Grad is not null).ToArray();
        if (!(clipValue >= 0))
            throw new ArgumentOutOfRangeException(nameof(clipValue), clipValue, $"ClipGradValue: clipValue = {clipValue} is invalid (expected >= 0)");
        var clipped = Clip.byValue(clipValue, ps.Select(p => p.Core.Grad).ToArray());
        for (int i = 0; i < ps.Length; i++) ps[i].Core.Grad = clipped[i];
    }
}
