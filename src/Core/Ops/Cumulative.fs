namespace Hybrid.Core

open Hybrid.Core.Backends

/// Running sums and products along a dim (torch.cumsum, torch.cumprod) and the product reduction (torch.prod), on
/// the backend's scan primitive. Backward rules are themselves scans, so they differentiate again.
module Cumulative =

    let inline private constant raw = Tensor(raw)

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// The raw scan along d; a scalar scans as a one-element vector.
    let private scanRaw (op: ScanOp) (d: int) (reverse: bool) (x: RawTensor) =
        if x.Rank = 0 then x.Reshape([| 1 |]).Scan(op, 0, reverse).Reshape [||] else x.Scan(op, d, reverse)

    /// Running sum along d, forwards or from the end.
    // the adjoint of a running sum is the running sum from the other end
    let rec private cumsumAt (d: int) (reverse: bool) (x: Tensor) : Tensor =
        Tensor.Record("cumsum", scanRaw CumSum d reverse x.Raw, [| x |], fun g -> [| cumsumAt d (not reverse) g |])

    /// torch.cumsum: y[..., k, ...] = Σ_{j ≤ k} x[..., j, ...] along `dim` (negative counts from the end).
    let cumsum (dim: int) (x: Tensor) =
        floatsOnly "cumsum" x
        cumsumAt (Shape.normDim "cumsum" x.Rank dim) false x

    /// Running product along d.
    // ∂L/∂x_k = Σ_{i ≥ k} g_i Π_{j ≤ i, j ≠ k} x_j. Before a line's first zero that is revcumsum(g·y)_k / x_k; at the
    // first zero z it is revcumsum(g·cumprod(x with x_z := 1))_z; after it 0 (every product there holds x_z), as torch
    let rec private cumprodAt (d: int) (x: Tensor) : Tensor =
        let y = ref null
        y.Value <-
            Tensor.Record("cumprod", scanRaw CumProd d false x.Raw, [| x |], fun g ->
                let xr = x.Raw
                let full (v: float) = xr.Backend.Full([||], v, x.DType)
                let isZero = xr.Binary(Eq, full 0.0)
                let revcum (t: Tensor) = cumsumAt d true t
                if isZero.SumDims([| 0 .. xr.Rank - 1 |], false).ToFloat64Array().[0] = 0.0 then
                    [| revcum (g * y.Value) / x |]
                else
                    let zerosSoFar = scanRaw CumSum d false isZero
                    let before = constant (zerosSoFar.Binary(Eq, full 0.0))
                    let first = constant (isZero.Binary(Mul, zerosSoFar.Binary(Eq, full 1.0)))
                    let one = constant (full 1.0)
                    let gBefore = revcum (g * y.Value) / Pointwise.where before x one
                    let gFirst = revcum (g * cumprodAt d (Pointwise.where first one x))
                    [| Pointwise.where before gBefore (Pointwise.where first gFirst (constant (full 0.0))) |])
        y.Value

    /// torch.cumprod: y[..., k, ...] = Π_{j ≤ k} x[..., j, ...] along `dim`; the gradient is exact where x has zeros.
    let cumprod (dim: int) (x: Tensor) =
        floatsOnly "cumprod" x
        cumprodAt (Shape.normDim "cumprod" x.Rank dim) x

    /// torch.prod over one dim (the last element of the running product, so zeros get torch's gradient); keepDim
    /// keeps it as size 1. An empty dim gives 1.
    let prodDim (dim: int) (keepDim: bool) (x: Tensor) =
        floatsOnly "prod" x
        let d = Shape.normDim "prod" x.Rank dim
        if x.Rank = 0 then x
        else
            let n = x.Shape.[d]
            let kept = Shape.reduced x.Shape [| d |] true
            let r = if n = 0 then constant (x.Raw.Backend.Full(kept, 1.0, x.DType)) else Reshaping.narrow d (n - 1) 1 (cumprodAt d x)
            if keepDim then r else Reshaping.reshape (Shape.reduced x.Shape [| d |] false) r

    /// The product of every element (a scalar; 1 for an empty tensor).
    let prod (x: Tensor) = floatsOnly "prod" x; prodDim 0 false (Reshaping.reshape [| -1 |] x)
