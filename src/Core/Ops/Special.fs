namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// More differentiable pointwise functions with torch's names and semantics: the inverse and hyperbolic
/// trigonometric functions, accurate log1p/expm1, atan2, hypot, logaddexp, lerp, addcmul/addcdiv, masked_fill and
/// one-sided clamps. Each derivative is a tensor expression (so it differentiates again); masks are constants.
module Special =

    /// A constant (off the tape) tensor wrapping a raw value.
    let inline private constant raw = Tensor(raw)

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// Both operands float, of one dtype and device, with shapes that broadcast.
    let private sameFloat (op: string) (a: Tensor) (b: Tensor) =
        Tensor.Agree(op, a, b)
        Shape.broadcast op a.Shape b.Shape |> ignore

    /// The broadcast gradient summed back to an input's shape (null when the input needs none).
    let private toInput (x: Tensor) (g: unit -> Tensor) = if x.RequiresGrad then Tensor.SumTo(g (), x.Shape) else null

    /// log(1 + x), accurate for tiny x.
    // d log1p/dx = 1/(1 + x)
    let log1p (x: Tensor) = Tensor.Pointwise(Log1p, "log1p", x, fun x _ -> 1.0 / (x + 1.0))

    /// eˣ − 1, accurate for tiny x.
    // d expm1/dx = eˣ = y + 1
    let expm1 (x: Tensor) = Tensor.Pointwise(Expm1, "expm1", x, fun _ y -> y + 1.0)

    /// 1/x.
    // d(1/x)/dx = −1/x² = −y²
    let reciprocal (x: Tensor) = Tensor.Pointwise(Reciprocal, "reciprocal", x, fun _ y -> -(y * y))

    /// 1/√x.
    // d x^(−½)/dx = −½·x^(−3/2) = −½·y³
    let rsqrt (x: Tensor) =
        floatsOnly "rsqrt" x
        let y = ref null
        y.Value <- Tensor.Record("rsqrt", x.Raw.Unary(Sqrt).Unary(Reciprocal), [| x |], fun g -> [| g * (y.Value * y.Value * y.Value * -0.5) |])
        y.Value

    /// sign(x): −1, 0 or 1 (NaN stays NaN). Its gradient is 0 everywhere, as torch's (the tensor stays on the tape).
    // d sign/dx = 0
    let sign (x: Tensor) =
        floatsOnly "sign" x
        Tensor.Record("sign", x.Raw.Unary Sign, [| x |], fun _ -> [| constant (x.Raw.Backend.Zeros(x.Shape, x.DType)) |])

    /// tan x.
    // d tan x/dx = 1 + tan² x = 1 + y²
    let tan (x: Tensor) = Tensor.Pointwise(Tan, "tan", x, fun _ y -> y * y + 1.0)

    /// arctan x.
    // d atan x/dx = 1/(1 + x²)
    let atan (x: Tensor) = Tensor.Pointwise(Atan, "atan", x, fun x _ -> 1.0 / (x * x + 1.0))

    /// arcsin x (NaN outside [−1, 1]).
    // d asin x/dx = 1/√(1 − x²)
    let asin (x: Tensor) = Tensor.Pointwise(Asin, "asin", x, fun x _ -> rsqrt (1.0 - x * x))

    /// arccos x (NaN outside [−1, 1]).
    // d acos x/dx = −1/√(1 − x²)
    let acos (x: Tensor) = Tensor.Pointwise(Acos, "acos", x, fun x _ -> -(rsqrt (1.0 - x * x)))

    /// sinh x.
    // d sinh x/dx = cosh x
    let rec sinh (x: Tensor) : Tensor = Tensor.Pointwise(Sinh, "sinh", x, fun x _ -> cosh x)

    /// cosh x.
    // d cosh x/dx = sinh x
    and cosh (x: Tensor) : Tensor = Tensor.Pointwise(Cosh, "cosh", x, fun x _ -> sinh x)

    /// arsinh x = log(x + √(x² + 1)).
    // d asinh x/dx = 1/√(x² + 1)
    let asinh (x: Tensor) = Tensor.Pointwise(Asinh, "asinh", x, fun x _ -> rsqrt (x * x + 1.0))

    /// atan2(a, b): the angle of the point (b, a) in (−π, π], broadcast (torch.atan2(input=a, other=b)).
    // ∂/∂a = b/(a² + b²),  ∂/∂b = −a/(a² + b²)
    let atan2 (a: Tensor) (b: Tensor) =
        sameFloat "atan2" a b
        Tensor.Record("atan2", a.Raw.Binary(Atan2, b.Raw), [| a; b |], fun g ->
            let r = a * a + b * b
            [| toInput a (fun () -> g * b / r); toInput b (fun () -> -(g * a) / r) |])

    /// √(a² + b²) elementwise without overflow in the squares, broadcast (torch.hypot).
    // ∂/∂a = a/y, ∂/∂b = b/y; NaN at the origin (0/0), as torch.hypot's backward gives
    let hypot (a: Tensor) (b: Tensor) =
        sameFloat "hypot" a b
        let y = ref null
        y.Value <-
            Tensor.Record("hypot", a.Raw.Binary(Hypot, b.Raw), [| a; b |], fun g ->
                let yv = y.Value
                [| toInput a (fun () -> g * a / yv); toInput b (fun () -> g * b / yv) |])
        y.Value

    /// log(eᵃ + eᵇ) computed stably as max(a, b) + log1p(e^(−|a − b|)); equal infinities give themselves, as torch.
    // ∂/∂a = σ(a − b),  ∂/∂b = σ(b − a)
    let logaddexp (a: Tensor) (b: Tensor) =
        sameFloat "logaddexp" a b
        let ar, br = a.Raw, b.Raw
        let m = ar.Binary(Maximum, br)
        let soft = ar.Binary(Sub, br).Unary(Abs).Unary(Neg).Unary(Exp).Unary(Log1p)
        let value = ar.Binary(Eq, br).Where(m.Unary(AddScalar(Math.Log 2.0)), m.Binary(Add, soft))
        Tensor.Record("logaddexp", value, [| a; b |], fun g ->
            [| toInput a (fun () -> g * Pointwise.sigmoid (a - b)); toInput b (fun () -> g * Pointwise.sigmoid (b - a)) |])

    /// start + weight·(end − start), broadcast (torch.lerp), in torch's form: for |weight| ≥ ½ it is
    /// end − (end − start)·(1 − weight), which returns `end` exactly at weight 1.
    // ∂/∂start = 1 − w,  ∂/∂end = w,  ∂/∂w = end − start
    let lerp (start: Tensor) (``end``: Tensor) (weight: Tensor) =
        sameFloat "lerp" start ``end``
        sameFloat "lerp" start weight
        Shape.broadcast "lerp" (Shape.broadcast "lerp" start.Shape ``end``.Shape) weight.Shape |> ignore
        let d = ``end`` - start
        let small = Pointwise.lt (Pointwise.abs weight) (Tensor.Scalar(weight, 0.5))
        Pointwise.where small (start + weight * d) (``end`` - d * (1.0 - weight))

    /// lerp with a scalar weight.
    let lerpScalar (start: Tensor) (``end``: Tensor) (weight: float) = lerp start ``end`` (Tensor.Scalar(start, weight))

    /// x + value·t1·t2, broadcast (torch.addcmul).
    let addcmul (value: float) (t1: Tensor) (t2: Tensor) (x: Tensor) = x + t1 * value * t2

    /// x + value·t1/t2, broadcast (torch.addcdiv).
    let addcdiv (value: float) (t1: Tensor) (t2: Tensor) (x: Tensor) = x + t1 * value / t2

    /// x with `value` wherever the mask is nonzero (torch.masked_fill; the mask broadcasts to x's shape).
    // ∂/∂x = g where the mask is 0, else 0
    let maskedFill (mask: Tensor) (value: float) (x: Tensor) =
        floatsOnly "masked_fill" x
        if isNull mask then raise (ArgumentNullException("mask", "masked_fill: mask is null"))
        if Shape.broadcast "masked_fill" mask.Shape x.Shape <> x.Shape then
            invalidArg "mask" (sprintf "masked_fill: mask of shape %s does not broadcast to x's shape %s" (Shape.show mask.Shape) (Shape.show x.Shape))
        Pointwise.where mask (Tensor.Scalar(x, value)) x

    /// max(x, lo) (torch.clamp(min=lo)).
    // d/dx = [x ≥ lo]
    let clampMin (lo: float) (x: Tensor) =
        if Double.IsNaN lo then invalidArg "lo" "clamp: the lower bound is NaN"
        Pointwise.clamp lo Double.PositiveInfinity x

    /// min(x, hi) (torch.clamp(max=hi)).
    // d/dx = [x ≤ hi]
    let clampMax (hi: float) (x: Tensor) =
        if Double.IsNaN hi then invalidArg "hi" "clamp: the upper bound is NaN"
        Pointwise.clamp Double.NegativeInfinity hi x
