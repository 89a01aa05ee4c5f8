using Hybrid.Core;
using Microsoft.FSharp.Core;
using CoreTensor = Hybrid.Core.Tensor;

namespace Hybrid;

/// <summary>
/// Functional automatic differentiation, as <c>torch.autograd.grad</c>, <c>torch.autograd.functional</c> and
/// <c>torch.func</c>: gradients, vector-Jacobian products, Jacobians, Hessians and Hessian-vector products of C#
/// functions of one or several tensors, computed by the core's tape (reverse mode; second derivatives by double
/// backward).
/// </summary>
/// <remarks>
/// <para>The function-taking members call the function once on stand-ins for the inputs. With
/// <c>createGraph: false</c> (the default) the stand-ins are fresh leaves: the inputs' own graphs are neither extended
/// nor freed and the results carry no history. With <c>createGraph: true</c> the results are recorded, so they can be
/// differentiated again, also with respect to the inputs themselves where those require grad.</para>
/// <para>An input the function does not depend on gets a zero derivative (torch's <c>strict=False</c>).</para>
/// <para>Shapes follow torch: the Jacobian of <c>f: [n...] → [m...]</c> has shape <c>[m..., n...]</c>; the Hessian of a
/// scalar function of <c>x</c> has shape <c>x.Shape ++ x.Shape</c>; with several inputs the Hessian block
/// <c>[i][j]</c> has shape <c>xᵢ.Shape ++ xⱼ.Shape</c>.</para>
/// </remarks>
public static class Autograd
{
    private static FSharpFunc<CoreTensor[], CoreTensor> Lift(Func<Tensor, Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f, nameof(f));
        return FSharpFunc<CoreTensor[], CoreTensor>.FromConverter(xs => f(Tensor.Wrap(xs[0]))?.Core!);
    }

    private static FSharpFunc<CoreTensor[], CoreTensor> Lift(Func<Tensor[], Tensor> f)
    {
        ArgumentNullException.ThrowIfNull(f, nameof(f));
        return FSharpFunc<CoreTensor[], CoreTensor>.FromConverter(xs => f(Array.ConvertAll(xs, Tensor.Wrap))?.Core!);
    }

    private static CoreTensor[] Cores(IReadOnlyList<Tensor> xs, string name)
    {
        ArgumentNullException.ThrowIfNull(xs, name);
        var cs = new CoreTensor[xs.Count];
        for (int i = 0; i < cs.Length; i++)
            cs[i] = (xs[i] ?? throw new ArgumentNullException(name, $"autograd: {name}[{i}] is null")).Core;
        return cs;
    }

    private static CoreTensor One(Tensor x, string name)
    {
        ArgumentNullException.ThrowIfNull(x, name);
        return x.Core;
    }

    private static Tensor[] Wrap(CoreTensor[] xs) => Array.ConvertAll(xs, Tensor.Wrap);

    // ---------------------------------------------------------------- torch.autograd.grad

    /// <summary>
    /// <c>torch.autograd.grad</c>: the gradients of <paramref name="output"/> with respect to
    /// <paramref name="inputs"/>, returned (not accumulated into <see cref="Tensor.Grad"/>). An input the output does not
    /// reach gets zeros (torch returns None there unless <c>materialize_grads</c>).
    /// </summary>
    /// <param name="output">The tensor to differentiate (it must require grad).</param>
    /// <param name="inputs">The tensors to differentiate with respect to (leaves or intermediate tensors of its graph).</param>
    /// <param name="gradOutput">The vector v of the vector-Jacobian product vᵀ·∂output/∂input; may be omitted for a scalar output.</param>
    /// <param name="retainGraph">Keep the graph for another backward; defaults to <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the backward pass so the gradients can be differentiated again.</param>
    /// <returns>One gradient per input, each of its input's shape.</returns>
    public static Tensor[] Grad(Tensor output, IReadOnlyList<Tensor> inputs, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false)
    {
        var o = One(output, nameof(output));
        var ins = Cores(inputs, nameof(inputs));
        var seeds = gradOutput is null ? null : new[] { gradOutput.Core };
        return Wrap(Tape.gradWith(new[] { o }, seeds!, ins, retainGraph ?? createGraph, createGraph));
    }

    /// <summary><c>torch.autograd.grad</c> with one input: the gradient of <paramref name="output"/> with respect to <paramref name="input"/>.</summary>
    /// <param name="output">The tensor to differentiate (it must require grad).</param>
    /// <param name="input">The tensor to differentiate with respect to.</param>
    /// <param name="gradOutput">The vector v of vᵀ·∂output/∂input; may be omitted for a scalar output.</param>
    /// <param name="retainGraph">Keep the graph for another backward; defaults to <paramref name="createGraph"/>.</param>
    /// <param name="createGraph">Record the backward pass so the gradient can be differentiated again.</param>
    /// <returns>The gradient, of the input's shape (zeros where the output does not reach it).</returns>
    public static Tensor Grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false) =>
        Grad(output, new[] { input ?? throw new ArgumentNullException(nameof(input)) }, gradOutput, retainGraph, createGraph)[0];

    // ---------------------------------------------------------------- torch.func.grad

    /// <summary><c>torch.func.grad(f)(x)</c>: ∇f(x) of a scalar function of one tensor.</summary>
    /// <param name="f">A function returning a single value (a scalar or one-element tensor).</param>
    /// <param name="x">Where to differentiate (float32 or float64).</param>
    /// <param name="createGraph">Keep the result on the graph so it can be differentiated again.</param>
    /// <returns>∇f(x), of x's shape.</returns>
    public static Tensor Grad(Func<Tensor, Tensor> f, Tensor x, bool createGraph = false) =>
        Tensor.Wrap(Functional.grad(Lift(f), new[] { One(x, nameof(x)) }, createGraph).Item2[0]);

    /// <summary><c>torch.func.grad(f, argnums=(0, 1, …))(*xs)</c>: the gradient of a scalar function of several tensors with respect to each.</summary>
    /// <param name="f">A function of the tensors (in the order given) returning a single value.</param>
    /// <param name="xs">Where to differentiate.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>∂f/∂xᵢ for each input, of its shape.</returns>
    public static Tensor[] Grad(Func<Tensor[], Tensor> f, Tensor[] xs, bool createGraph = false) =>
        Wrap(Functional.grad(Lift(f), Cores(xs, nameof(xs)), createGraph).Item2);

    /// <summary><c>torch.func.grad_and_value(f)(x)</c>: ∇f(x) and f(x) from one evaluation.</summary>
    /// <param name="f">A function returning a single value.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="createGraph">Keep both results on the graph.</param>
    /// <returns>The gradient (of x's shape) and the value.</returns>
    public static (Tensor Grad, Tensor Value) GradAndValue(Func<Tensor, Tensor> f, Tensor x, bool createGraph = false)
    {
        var r = Functional.grad(Lift(f), new[] { One(x, nameof(x)) }, createGraph);
        return (Tensor.Wrap(r.Item2[0]), Tensor.Wrap(r.Item1));
    }

    // ---------------------------------------------------------------- torch.autograd.functional

    /// <summary><c>torch.autograd.functional.vjp</c>: f(x) and the vector-Jacobian product vᵀ·∂f/∂x.</summary>
    /// <param name="f">A function of one tensor.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">A tensor of f(x)'s shape; may be omitted when f returns a single value.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>f(x), and vᵀ·∂f/∂x of x's shape.</returns>
    public static (Tensor Output, Tensor Vjp) Vjp(Func<Tensor, Tensor> f, Tensor x, Tensor? v = null, bool createGraph = false)
    {
        var r = Functional.vjp(Lift(f), new[] { One(x, nameof(x)) }, v?.Core!, createGraph);
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2[0]));
    }

    /// <summary><c>torch.autograd.functional.jacobian</c> of a function of one tensor: ∂f/∂x of shape f(x).Shape ++ x.Shape.</summary>
    /// <param name="f">A function of one tensor.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="createGraph">Keep the result on the graph so it can be differentiated again.</param>
    /// <returns>The Jacobian; J[i..., j...] = ∂f(x)[i...]/∂x[j...].</returns>
    public static Tensor Jacobian(Func<Tensor, Tensor> f, Tensor x, bool createGraph = false) =>
        Tensor.Wrap(Functional.jacobian(Lift(f), new[] { One(x, nameof(x)) }, createGraph)[0]);

    /// <summary><c>torch.autograd.functional.jacobian</c> of a function of several tensors: one Jacobian per input.</summary>
    /// <param name="f">A function of the tensors (in the order given).</param>
    /// <param name="xs">Where to differentiate.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>For each input xᵢ, ∂f/∂xᵢ of shape f(xs).Shape ++ xᵢ.Shape.</returns>
    public static Tensor[] Jacobian(Func<Tensor[], Tensor> f, Tensor[] xs, bool createGraph = false) =>
        Wrap(Functional.jacobian(Lift(f), Cores(xs, nameof(xs)), createGraph));

    /// <summary><c>torch.autograd.functional.hessian</c> of a scalar function of one tensor: shape x.Shape ++ x.Shape.</summary>
    /// <param name="f">A function returning a single value.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="createGraph">Keep the result on the graph so it can be differentiated again.</param>
    /// <returns>The Hessian; H[i..., j...] = ∂²f/∂x[i...]∂x[j...].</returns>
    public static Tensor Hessian(Func<Tensor, Tensor> f, Tensor x, bool createGraph = false) =>
        Tensor.Wrap(Functional.hessian(Lift(f), new[] { One(x, nameof(x)) }, createGraph)[0][0]);

    /// <summary><c>torch.autograd.functional.hessian</c> of a scalar function of several tensors: the blocks ∂²f/∂xᵢ∂xⱼ.</summary>
    /// <param name="f">A function of the tensors returning a single value.</param>
    /// <param name="xs">Where to differentiate.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>H[i][j] of shape xᵢ.Shape ++ xⱼ.Shape.</returns>
    public static Tensor[][] Hessian(Func<Tensor[], Tensor> f, Tensor[] xs, bool createGraph = false) =>
        Array.ConvertAll(Functional.hessian(Lift(f), Cores(xs, nameof(xs)), createGraph), Wrap);

    /// <summary><c>torch.autograd.functional.hvp</c>: f(x) and the Hessian-vector product H(x)·v, by double backward
    /// (the Hessian itself is never formed).</summary>
    /// <param name="f">A function returning a single value.</param>
    /// <param name="x">Where to differentiate.</param>
    /// <param name="v">A tensor of x's shape.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>f(x), and H·v of x's shape.</returns>
    public static (Tensor Output, Tensor Hvp) Hvp(Func<Tensor, Tensor> f, Tensor x, Tensor v, bool createGraph = false)
    {
        var r = Functional.hvp(Lift(f), new[] { One(x, nameof(x)) }, new[] { One(v, nameof(v)) }, createGraph);
        return (Tensor.Wrap(r.Item1), Tensor.Wrap(r.Item2[0]));
    }

    /// <summary><c>torch.autograd.functional.hvp</c> of a function of several tensors: (H·v)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ · vⱼ.</summary>
    /// <param name="f">A function of the tensors returning a single value.</param>
    /// <param name="xs">Where to differentiate.</param>
    /// <param name="vs">One tensor per input, each of its input's shape.</param>
    /// <param name="createGraph">Keep the results on the graph.</param>
    /// <returns>f(xs), and one product per input.</returns>
    public static (Tensor Output, Tensor[] Hvp) Hvp(Func<Tensor[], Tensor> f, Tensor[] xs, Tensor[] vs, bool createGraph = false)
    {
        var r = Functional.hvp(Lift(f), Cores(xs, nameof(xs)), Cores(vs, nameof(vs)), createGraph);
        return (Tensor.Wrap(r.Item1), Wrap(r.Item2));
    }
}
