namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// Differentiable pointwise functions. Each derivative is written with differentiable tensor ops
/// (never raw ops), so backward of backward works; masks of kinks (relu, clamp, abs) are constants.
module Pointwise =

    /// A constant (off the tape) tensor wrapping a raw value.
    let inline private constant raw = Tensor(raw)

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// −x.
    // d(−x)/dx = −1
    let neg (x: Tensor) = floatsOnly "neg" x; -x

    /// sign(x) as a constant: −1, 0 or 1 (not differentiable).
    let sign (x: Tensor) = floatsOnly "sign" x; constant (x.Raw.Unary Sign)

    /// |x|.
    // d|x|/dx = sign(x) (0 at 0, as torch)
    let abs (x: Tensor) = Tensor.Pointwise(Abs, "abs", x, fun x _ -> sign x)

    /// eˣ.
    // d eˣ/dx = eˣ = y
    let exp (x: Tensor) = Tensor.Pointwise(Exp, "exp", x, fun _ y -> y)

    /// Natural logarithm.
    // d log x/dx = 1/x
    let log (x: Tensor) = Tensor.Pointwise(Log, "log", x, fun x _ -> 1.0 / x)

    /// √x.
    // d√x/dx = 1/(2√x) = 0.5/y
    let sqrt (x: Tensor) = Tensor.Pointwise(Sqrt, "sqrt", x, fun _ y -> 0.5 / y)

    /// x².
    // d x²/dx = 2x
    let square (x: Tensor) = Tensor.Pointwise(Square, "square", x, fun x _ -> x * 2.0)

    /// xᵖ for a constant exponent p.
    // d xᵖ/dx = p·xᵖ⁻¹ (0 when p = 0)
    let rec powScalar (p: float) (x: Tensor) : Tensor =
        Tensor.Pointwise(PowScalar p, "pow", x, fun x _ ->
            if p = 0.0 then constant (x.Raw.Unary(MulScalar 0.0))
            elif p = 1.0 then constant (x.Raw.Backend.Full(x.Shape, 1.0, x.DType))
            else powScalar (p - 1.0) x * p)

    /// sin x.
    // d sin x/dx = cos x
    let rec sin (x: Tensor) : Tensor = Tensor.Pointwise(Sin, "sin", x, fun x _ -> cos x)

    /// cos x.
    // d cos x/dx = −sin x
    and cos (x: Tensor) : Tensor = Tensor.Pointwise(Cos, "cos", x, fun x _ -> -(sin x))

    /// tanh x.
    // d tanh x/dx = 1 − y²
    let tanh (x: Tensor) = Tensor.Pointwise(Tanh, "tanh", x, fun _ y -> 1.0 - y * y)

    /// σ(x) = 1/(1 + e⁻ˣ).
    // dσ/dx = y(1 − y)
    let sigmoid (x: Tensor) = Tensor.Pointwise(Sigmoid, "sigmoid", x, fun _ y -> y * (1.0 - y))

    /// max(x, 0).
    // relu's backward g·[x > 0] in one pass, linear in g with the mask a constant; its own backward masks again
    let rec private reluBackward (x: Tensor) (g: Tensor) : Tensor =
        Tensor.Record("relu_backward", g.Raw.ReluBackward x.Raw, [| g |], fun gg -> [| reluBackward x gg |])

    // d relu/dx = [x > 0] (0 at 0, as torch)
    let relu (x: Tensor) =
        floatsOnly "relu" x
        Tensor.Record("relu", x.Raw.Unary Relu, [| x |], fun g -> [| reluBackward x g |])

    /// x for x > 0, slope·x otherwise (torch.nn.functional.leaky_relu).
    // d/dx = 1 if x > 0 else slope
    let leakyRelu (slope: float) (x: Tensor) =
        Tensor.Pointwise(LeakyRelu slope, "leaky_relu", x, fun x _ ->
            constant (x.Raw.Unary(Positive).Unary(MulScalar(1.0 - slope)).Unary(AddScalar slope)))

    /// erf(x) = 2/√π ∫₀ˣ e^(−t²) dt.
    // d erf/dx = 2/√π · e^(−x²)
    let erf (x: Tensor) =
        Tensor.Pointwise(Erf, "erf", x, fun x _ -> exp (-(square x)) * (2.0 / Math.Sqrt Math.PI))

    /// log(1 + eˣ), computed stably as max(x,0) + log1p(e^(−|x|)) (torch's softplus with beta 1 and
    /// no linear threshold; the two differ by less than 3e-9 above x = 20).
    // d softplus/dx = σ(x)
    let softplus (x: Tensor) = Tensor.Pointwise(Softplus, "softplus", x, fun x _ -> sigmoid x)

    /// Exact GELU: x·Φ(x) with Φ the standard normal CDF (torch's default, approximate='none').
    // d gelu/dx = Φ(x) + x·φ(x), Φ(x) = ½(1 + erf(x/√2)), φ(x) = e^(−x²/2)/√(2π)
    let gelu (x: Tensor) =
        Tensor.Pointwise(Gelu, "gelu", x, fun x _ ->
            let cdf = (erf (x * (1.0 / Math.Sqrt 2.0)) + 1.0) * 0.5
            let pdf = exp (square x * -0.5) * (1.0 / Math.Sqrt(2.0 * Math.PI))
            cdf + x * pdf)

    /// min(max(x, lo), hi).
    // d clamp/dx = [lo ≤ x ≤ hi]
    let clamp (lo: float) (hi: float) (x: Tensor) =
        if Double.IsNaN lo || Double.IsNaN hi || lo > hi then
            invalidArg "lo" (sprintf "clamp: bounds lo=%g and hi=%g are not ordered (expected lo <= hi)" lo hi)
        Tensor.Pointwise(Clamp(lo, hi), "clamp", x, fun x _ ->
            let b = x.Raw.Backend
            let inside = x.Raw.Binary(Ge, b.Full([||], lo, x.DType)).Binary(Mul, x.Raw.Binary(Le, b.Full([||], hi, x.DType)))
            constant inside)

    let private sameFloat (op: string) (a: Tensor) (b: Tensor) =
        floatsOnly op a
        if a.DType <> b.DType then
            invalidArg "b" (sprintf "%s: dtypes %O and %O differ (shapes %s and %s); cast one first" op a.DType b.DType (Shape.show a.Shape) (Shape.show b.Shape))
        Shape.broadcast op a.Shape b.Shape |> ignore

    /// The gradient g (of the broadcast output) masked and summed back to an input's shape.
    let private toInput (x: Tensor) (g: Tensor) = if x.RequiresGrad then Tensor.SumTo(g, x.Shape) else null

    /// cond ? a : b elementwise, all three broadcast; cond is any tensor, nonzero meaning true.
    // ∂/∂a = g·[cond],  ∂/∂b = g·[¬cond]; cond gets no gradient
    let where (cond: Tensor) (a: Tensor) (b: Tensor) =
        sameFloat "where" a b
        Shape.broadcast "where" cond.Shape (Shape.broadcast "where" a.Shape b.Shape) |> ignore
        Tensor.Record("where", cond.Raw.Where(a.Raw, b.Raw), [| a; b |], fun g ->
            let c = cond.Raw.Cast(a.DType)
            let isTrue = c.Binary(Ne, c.Backend.Full([||], 0.0, a.DType))
            let toA = constant isTrue
            let toB = constant (isTrue.Unary(MulScalar -1.0).Unary(AddScalar 1.0))
            [| toInput a (g * toA); toInput b (g * toB) |])

    /// aᵇ elementwise with broadcasting.
    // ∂/∂a = b·aᵇ⁻¹ (0 where b = 0);  ∂/∂b = aᵇ·log a (0 where a = 0 and b ≥ 0), as torch
    let rec pow (a: Tensor) (b: Tensor) : Tensor =
        sameFloat "pow" a b
        let y = ref null
        y.Value <-
            Tensor.Record("pow", a.Raw.Binary(Pow, b.Raw), [| a; b |], fun g ->
                let zero = a.Raw.Backend.Full([||], 0.0, a.DType)
                let ga =
                    if not a.RequiresGrad then null
                    else
                        let keep = constant (b.Raw.Binary(Ne, zero))
                        toInput a (where keep (g * b * pow a (b - 1.0)) (constant zero))
                let gb =
                    if not b.RequiresGrad then null
                    else
                        // mask (a = 0 ∧ b ≥ 0) to 0 and keep log a finite there
                        let drop = a.Raw.Binary(Eq, zero).Binary(Mul, b.Raw.Binary(Ge, zero))
                        let keep = constant (drop.Unary(MulScalar -1.0).Unary(AddScalar 1.0))
                        let safeA = a + constant drop
                        toInput b (where keep (g * y.Value * log safeA) (constant zero))
                [| ga; gb |])
        y.Value

    /// max or min of a and b (`op`), the input that `wins` the comparison taking the gradient; ties split it
    /// in halves (as torch).
    let private extremum (op: BinaryOp) (wins: BinaryOp) (name: string) (a: Tensor) (b: Tensor) =
        sameFloat name a b
        Tensor.Record(name, a.Raw.Binary(op, b.Raw), [| a; b |], fun g ->
            let half = a.Raw.Binary(Eq, b.Raw).Unary(MulScalar 0.5)
            let toA = constant (a.Raw.Binary(wins, b.Raw).Binary(Add, half))
            let toB = constant (b.Raw.Binary(wins, a.Raw).Binary(Add, half))
            [| toInput a (g * toA); toInput b (g * toB) |])

    /// max(a, b) elementwise with broadcasting.
    // the gradient goes to the larger input; ties split it in halves (as torch)
    let maximum (a: Tensor) (b: Tensor) = extremum Maximum Gt "maximum" a b

    /// min(a, b) elementwise with broadcasting.
    // the gradient goes to the smaller input; ties split it in halves (as torch)
    let minimum (a: Tensor) (b: Tensor) = extremum Minimum Lt "minimum" a b

    /// x for x > 0, alpha·(eˣ − 1) otherwise (torch.nn.functional.elu).
    // d/dx = 1 if x > 0 else alpha·eˣ = y + alpha (alpha at 0, torch's left branch); torch's elu_double_backward
    // masks the second derivative by x < 0, so at exactly 0 the derivative is the constant alpha (no curvature)
    let elu (alpha: float) (x: Tensor) =
        Tensor.Pointwise(Elu alpha, "elu", x, fun x y ->
            let one = constant (x.Raw.Backend.Full([||], 1.0, x.DType))
            let atZero = constant (x.Raw.Backend.Full([||], alpha, x.DType))
            let negative = constant (x.Raw.Unary(MulScalar -1.0).Unary Positive)
            where (constant (x.Raw.Unary Positive)) one (where negative (y + alpha) atZero))

    let private compare (op: BinaryOp) (name: string) (a: Tensor) (b: Tensor) =
        if a.DType <> b.DType then
            invalidArg "b" (sprintf "%s: dtypes %O and %O differ (shapes %s and %s); cast one first" name a.DType b.DType (Shape.show a.Shape) (Shape.show b.Shape))
        Shape.broadcast name a.Shape b.Shape |> ignore
        constant (a.Raw.Binary(op, b.Raw))

    /// 1 where a = b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let eq (a: Tensor) (b: Tensor) = compare Eq "eq" a b
    /// 1 where a ≠ b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let ne (a: Tensor) (b: Tensor) = compare Ne "ne" a b
    /// 1 where a < b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let lt (a: Tensor) (b: Tensor) = compare Lt "lt" a b
    /// 1 where a ≤ b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let le (a: Tensor) (b: Tensor) = compare Le "le" a b
    /// 1 where a > b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let gt (a: Tensor) (b: Tensor) = compare Gt "gt" a b
    /// 1 where a ≥ b, else 0, in the inputs' dtype (broadcast; not differentiable).
    let ge (a: Tensor) (b: Tensor) = compare Ge "ge" a b

    /// The values converted to `dtype`. Between float32 and float64 the gradient is cast back;
    /// to or from int64 the result is a constant (integers carry no gradient).
    // d cast(x)/dx = 1 (in x's dtype)
    let rec cast (dtype: DType) (x: Tensor) : Tensor =
        if x.DType = dtype then x
        elif dtype.IsFloat && x.DType.IsFloat then
            let from = x.DType
            Tensor.Record("cast", x.Raw.Cast dtype, [| x |], fun g -> [| cast from g |])
        else constant (x.Raw.Cast dtype)
