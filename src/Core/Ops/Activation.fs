namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// Activation functions of torch.nn beyond relu/gelu/elu: each composed of differentiable ops (so its second
/// derivative comes for free), except where torch's subgradient at a kink needs its own mask (hardtanh, hardswish).
module Activation =

    let inline private constant raw = Tensor(raw)

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// SiLU (swish): x·σ(x). Elfwing et al. 2017, "Sigmoid-weighted linear units".
    // d/dx = σ(x)·(1 + x·(1 − σ(x)))
    let silu (x: Tensor) = floatsOnly "silu" x; x * Pointwise.sigmoid x

    /// Mish: x·tanh(softplus(x)). Misra 2019, "Mish: a self regularized non-monotonic activation function".
    let mish (x: Tensor) = floatsOnly "mish" x; x * Pointwise.tanh (Pointwise.softplus x)

    /// SELU's α and scale (Klambauer et al. 2017, "Self-normalizing neural networks"), as torch.
    let seluAlpha = 1.6732632423543772848170429916717
    /// SELU's scale λ.
    let seluScale = 1.0507009873554804934193349852946

    /// SELU: λ·(x for x > 0, α(eˣ − 1) otherwise).
    let selu (x: Tensor) = Pointwise.elu seluAlpha x * seluScale

    /// CELU: x for x > 0, α(e^(x/α) − 1) otherwise. Barron 2017, "Continuously differentiable exponential linear units".
    // d/dx = 1 for x > 0, else s·α·e^(x·s) with s = 1/α rounded through float32, as torch 1.13's backward
    // (derivatives.yaml: elu_backward(grad, alpha, 1, 1.0/alpha.toFloat(), ...)): within 1e-7 of e^(x/α)
    let celu (alpha: float) (x: Tensor) =
        floatsOnly "celu" x
        if alpha = 0.0 || Double.IsNaN alpha then invalidArg "alpha" (sprintf "celu: alpha=%g is not allowed (expected a nonzero number)" alpha)
        let s = 1.0 / float (float32 alpha)
        let value = x.Raw.Unary(MulScalar(1.0 / alpha)).Unary(Elu 1.0).Unary(MulScalar alpha)
        Tensor.Record("celu", value, [| x |], fun g ->
            let positive = constant (x.Raw.Unary Positive)
            [| g * Pointwise.where positive (Tensor.Scalar(x, 1.0)) (Pointwise.exp (x * s) * (s * alpha)) |])

    /// log σ(x) = −softplus(−x), stable for large |x|.
    // d/dx = σ(−x)
    let logSigmoid (x: Tensor) = -(Pointwise.softplus (-x))

    /// x / (1 + |x|).
    // d/dx = 1/(1 + |x|)²
    let softsign (x: Tensor) = floatsOnly "softsign" x; x / (Pointwise.abs x + 1.0)

    /// clamp(x, lo, hi) with torch's hardtanh gradient: 1 strictly inside (lo, hi), 0 at and beyond the bounds.
    // d/dx = [lo < x < hi]
    let hardtanh (lo: float) (hi: float) (x: Tensor) =
        if Double.IsNaN lo || Double.IsNaN hi || lo > hi then
            invalidArg "lo" (sprintf "hardtanh: minVal=%g and maxVal=%g are not ordered (expected minVal <= maxVal)" lo hi)
        Tensor.Pointwise(Clamp(lo, hi), "hardtanh", x, fun x _ ->
            let b = x.Raw.Backend
            constant (x.Raw.Binary(Gt, b.Full([||], lo, x.DType)).Binary(Mul, x.Raw.Binary(Lt, b.Full([||], hi, x.DType)))))

    /// Hardswish: x·relu6(x + 3)/6. Howard et al. 2019, "Searching for MobileNetV3".
    // d/dx = 0 for x < −3, x/3 + ½ for −3 ≤ x < 3, 1 for x ≥ 3 (torch 1.13's values at the kinks: −½ at −3, 1 at 3)
    let hardswish (x: Tensor) =
        floatsOnly "hardswish" x
        let r = x.Raw
        let full (v: float) = r.Backend.Full([||], v, x.DType)
        let value = r.Binary(Mul, r.Unary(AddScalar 3.0).Unary(Clamp(0.0, 6.0))).Binary(Div, full 6.0)
        Tensor.Record("hardswish", value, [| x |], fun g ->
            let mid = constant (r.Binary(Ge, full -3.0).Binary(Mul, r.Binary(Lt, full 3.0)))
            let high = constant (r.Binary(Ge, full 3.0))
            [| g * (mid * (x / 3.0 + 0.5) + high) |])

    /// softmin along `dim`: softmax(−x).
    let softmin (dim: int) (x: Tensor) = Softmax.softmax dim (-x)
