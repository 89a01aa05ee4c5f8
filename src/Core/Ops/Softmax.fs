namespace Hybrid.Core

/// Softmax and log-softmax along one dim: the value from the backend's fused, stable kernel; the
/// backward written with differentiable tensor ops (so it differentiates again).
module Softmax =

    /// Resolve dim and run a raw kernel; a rank-0 tensor is treated as a one-element vector.
    let private apply (op: string) (kernel: Backends.RawTensor -> int -> Backends.RawTensor) (dim: int) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))
        let d = Shape.normDim op x.Rank dim
        let value = if x.Rank = 0 then (kernel (x.Raw.Reshape [| 1 |]) 0).Reshape [||] else kernel x.Raw d
        d, value

    /// exp(x) / Σ exp(x) along `dim` (negative counts from the end).
    // ∂: g_x = y ⊙ (g − Σ_dim g ⊙ y)
    let softmax (dim: int) (x: Tensor) =
        let d, value = apply "softmax" (fun r d -> r.Softmax d) dim x
        let y = ref null
        y.Value <-
            Tensor.Record("softmax", value, [| x |], fun g ->
                let s = y.Value
                [| s * (g - Reduction.sumDims [| d |] true (g * s)) |])
        y.Value

    /// x − log Σ exp(x) along `dim` (negative counts from the end), computed stably.
    // ∂: g_x = g − softmax(x) ⊙ Σ_dim g,  softmax(x) = exp(y)
    let logSoftmax (dim: int) (x: Tensor) =
        let d, value = apply "log_softmax" (fun r d -> r.LogSoftmax d) dim x
        let y = ref null
        y.Value <-
            Tensor.Record("log_softmax", value, [| x |], fun g ->
                [| g - Pointwise.exp y.Value * Reduction.sumDims [| d |] true g |])
        y.Value
