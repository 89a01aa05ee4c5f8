using Hybrid.Core.Optim;

namespace Hybrid.Nn;

/// <summary>
/// Raised by <see cref="DivergenceGuard.Check"/> when a training step's loss or gradient norm is not finite (NaN or
/// ±Infinity): the step must not reach the optimizer, and nothing computed from it should be saved.
/// </summary>
public sealed class DivergenceException : Exception
{
    /// <summary>Make the exception for a step.</summary>
    /// <param name="step">The step (batch count) at which the run diverged.</param>
    /// <param name="loss">The loss of that step.</param>
    /// <param name="gradNorm">The global gradient norm of that step (NaN when not computed).</param>
    public DivergenceException(long step, double loss, double gradNorm)
        : base($"training diverged at step {step}: loss {loss}, gradient norm {gradNorm}")
    {
        Step = step;
        Loss = loss;
        GradNorm = gradNorm;
    }

    /// <summary>The step at which the run diverged.</summary>
    public long Step { get; }

    /// <summary>The loss of that step.</summary>
    public double Loss { get; }

    /// <summary>The global gradient L2 norm of that step.</summary>
    public double GradNorm { get; }
}

/// <summary>
/// The divergence check of <c>hybrid train</c>, for your own loops: call <see cref="Check"/> after
/// <c>Backward()</c> and before <c>optimizer.Step()</c>, and <see cref="AllFinite(IEnumerable{Parameter})"/> before
/// saving a checkpoint, so a NaN never reaches the weights or the disk.
/// </summary>
public static class DivergenceGuard
{
    /// <summary>Whether every element of the tensor is finite (no NaN, no ±Infinity).</summary>
    /// <param name="tensor">The tensor (any device).</param>
    /// <returns>True when every element is finite.</returns>
    public static bool IsFinite(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor, nameof(tensor));
        return double.IsFinite(Clip.globalNorm(new[] { tensor.Core }));
    }

    /// <summary>Whether every element of every parameter is finite.</summary>
    /// <param name="parameters">The parameters (a model's <c>Parameters()</c>).</param>
    /// <returns>True when all are finite.</returns>
    public static bool AllFinite(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters, nameof(parameters));
        return double.IsFinite(Clip.globalNorm(parameters.Select(p => p.Core).ToArray()));
    }

    /// <summary>The global L2 norm of the parameters' gradients (parameters without one are ignored).</summary>
    /// <param name="parameters">The parameters.</param>
    /// <returns>√(Σ‖gᵢ‖²), NaN or +Infinity when a gradient element is not finite.</returns>
    public static double GradNorm(IEnumerable<Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters, nameof(parameters));
        return Clip.globalNorm(parameters.Where(p => p.Core.Grad is not null).Select(p => p.Core.Grad).ToArray());
    }

    /// <summary>Throws <see cref="DivergenceException"/> when the loss or the gradients' norm is not finite.</summary>
    /// <param name="step">The step, named in the error.</param>
    /// <param name="loss">The step's loss.</param>
    /// <param name="parameters">The parameters whose gradients are checked.</param>
    /// <returns>The gradient norm (finite).</returns>
    public static double Check(long step, double loss, IEnumerable<Parameter> parameters)
    {
        var norm = double.IsFinite(loss) ? GradNorm(parameters) : double.NaN;
        if (!double.IsFinite(loss) || !double.IsFinite(norm)) throw new DivergenceException(step, loss, norm);
        return norm;
    }
}
