using Hybrid.Core;

namespace Hybrid.Nn;

/// <summary>
/// Zeroes each element with probability <c>p</c> during training and scales the rest by 1/(1−p)
/// (inverted dropout, Srivastava et al. 2014); the identity in evaluation mode (<c>torch.nn.Dropout</c>).
/// </summary>
public sealed class Dropout : Module
{
    private readonly Generator? _generator;

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>Dropout with drop probability <paramref name="p"/>.</summary>
    /// <param name="p">Probability of zeroing an element, in [0, 1).</param>
    /// <param name="seed">Optional seed of a private generator (else the global one, see <see cref="Rng"/>).</param>
    public Dropout(double p = 0.5, int? seed = null)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: p must be in [0, 1) (got {p})");
        P = p;
        _generator = seed is int s ? new Generator(s) : null;
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor input) =>
        new(Regularization.dropout(_generator ?? Rng.Global, P, Training, input.Core));
}
