namespace Hybrid.Core.Backends.Ilgpu

open System
open Hybrid.Core.Backends

/// The per-element math of the pointwise ops as plain static functions over float64, callable from ILGPU
/// kernels (a DU like `UnaryOp` is a class, which a kernel cannot take, so ops travel as an int code plus
/// their scalar arguments). float32 tensors are computed in float64 and rounded once: for + - * / sqrt
/// that is exactly IEEE float32; transcendental functions agree with the CPU's float32 to an ulp.
/// Each formula is the CPU's (`Cpu/ScalarMath.fs`); erf, log1p, expm1 and asinh are `ScalarMath`'s, shared with it.
module Scalar =

    /// The code and scalar arguments of a unary op.
    let unaryCode (op: UnaryOp) : struct (int * float * float) =
        match op with
        | Neg -> 0, 0.0, 0.0 | Abs -> 1, 0.0, 0.0 | Exp -> 2, 0.0, 0.0 | Log -> 3, 0.0, 0.0
        | Sqrt -> 4, 0.0, 0.0 | Sin -> 5, 0.0, 0.0 | Cos -> 6, 0.0, 0.0 | Tanh -> 7, 0.0, 0.0
        | Sigmoid -> 8, 0.0, 0.0 | Relu -> 9, 0.0, 0.0 | Sign -> 10, 0.0, 0.0 | Erf -> 11, 0.0, 0.0
        | Softplus -> 12, 0.0, 0.0 | Gelu -> 13, 0.0, 0.0 | Square -> 14, 0.0, 0.0
        | Reciprocal -> 15, 0.0, 0.0 | Log1p -> 16, 0.0, 0.0 | Expm1 -> 17, 0.0, 0.0
        | LeakyRelu s -> 18, s, 0.0 | Elu a -> 19, a, 0.0 | PowScalar p -> 20, p, 0.0
        | Clamp (lo, hi) -> 21, lo, hi | AddScalar c -> 22, c, 0.0 | MulScalar c -> 23, c, 0.0
        | Positive -> 24, 0.0, 0.0 | Tan -> 25, 0.0, 0.0 | Atan -> 26, 0.0, 0.0 | Asin -> 27, 0.0, 0.0
        | Acos -> 28, 0.0, 0.0 | Sinh -> 29, 0.0, 0.0 | Cosh -> 30, 0.0, 0.0 | Asinh -> 31, 0.0, 0.0

    /// The code of a binary op.
    let binaryCode (op: BinaryOp) =
        match op with
        | Add -> 0 | Sub -> 1 | Mul -> 2 | Div -> 3 | Pow -> 4 | Maximum -> 5 | Minimum -> 6
        | Eq -> 7 | Ne -> 8 | Lt -> 9 | Le -> 10 | Gt -> 11 | Ge -> 12 | Atan2 -> 13 | Hypot -> 14

    /// √(a² + b²) scaled by the larger magnitude, so that the squares neither overflow nor underflow.
    let hypot (a: float) (b: float) : float =
        let x = Math.Abs a
        let y = Math.Abs b
        let hi = Math.Max(x, y)
        let lo = Math.Min(x, y)
        if hi = Double.PositiveInfinity then hi
        elif hi = 0.0 || lo <> lo then hi + lo
        else
            let r = lo / hi
            hi * Math.Sqrt(1.0 + r * r)

    /// y = op(x) for the op with this code and scalar arguments p, q.
    let unary (code: int) (p: float) (q: float) (x: float) : float =
        match code with
        | 0 -> -x
        | 1 -> Math.Abs x
        | 2 -> Math.Exp x
        | 3 -> Math.Log x
        | 4 -> Math.Sqrt x
        | 5 -> Math.Sin x
        | 6 -> Math.Cos x
        | 7 -> Math.Tanh x
        // sigmoid(x) = 1 / (1 + e^-x)
        | 8 -> 1.0 / (1.0 + Math.Exp(-x))
        | 9 -> Math.Max(x, 0.0)
        // torch.sign (NaN stays NaN)
        | 10 -> if x > 0.0 then 1.0 elif x < 0.0 then -1.0 elif x = 0.0 then 0.0 else x
        | 11 -> ScalarMath.erf x
        // softplus(x) = max(x,0) + log1p(exp(-|x|)), with the CPU's accurate log1p
        | 12 -> Math.Max(x, 0.0) + ScalarMath.log1p (Math.Exp(-(Math.Abs x)))
        // gelu(x) = x·½(1 + erf(x/√2))
        | 13 -> 0.5 * x * (1.0 + ScalarMath.erf (x / Math.Sqrt 2.0))
        | 14 -> x * x
        | 15 -> 1.0 / x
        | 16 -> ScalarMath.log1p x
        | 17 -> ScalarMath.expm1 x
        | 18 -> if x > 0.0 then x else p * x
        | 19 -> if x > 0.0 then x else p * (Math.Exp x - 1.0)
        | 20 -> if p = 2.0 then x * x else Math.Pow(x, p)
        | 21 -> Math.Min(Math.Max(x, p), q)
        | 22 -> x + p
        | 23 -> x * p
        | 24 -> if x > 0.0 then 1.0 else 0.0
        | 25 -> Math.Tan x
        | 26 -> Math.Atan x
        | 27 -> Math.Asin x
        | 28 -> Math.Acos x
        | 29 -> Math.Sinh x
        | 30 -> Math.Cosh x
        | _ -> ScalarMath.asinh x

    /// y = a op b for the op with this code (comparisons give 1 or 0).
    let binary (code: int) (a: float) (b: float) : float =
        match code with
        | 0 -> a + b
        | 1 -> a - b
        | 2 -> a * b
        | 3 -> a / b
        | 4 -> Math.Pow(a, b)
        | 5 -> Math.Max(a, b)
        | 6 -> Math.Min(a, b)
        | 7 -> if a = b then 1.0 else 0.0
        | 8 -> if a <> b then 1.0 else 0.0
        | 9 -> if a < b then 1.0 else 0.0
        | 10 -> if a <= b then 1.0 else 0.0
        | 11 -> if a > b then 1.0 else 0.0
        | 12 -> if a >= b then 1.0 else 0.0
        | 13 -> Math.Atan2(a, b)
        | _ -> hypot a b
