namespace Hybrid.Core

/// Differentiable reductions.
module Reduction =

    /// Σ over `dims` (negative dims count from the end); keepDim keeps them as size 1.
    let sumDims (dims: int[]) (keepDim: bool) (x: Tensor) =
        let ds = dims |> Array.map (Shape.normDim "sum" x.Rank) |> Array.distinct
        let ds = if x.Rank = 0 then [||] else ds
        let xShape = x.Shape
        let value = if ds.Length = 0 then x.Raw else x.Raw.SumDims(ds, keepDim)
        // d(Σx)/dx = 1: the gradient is broadcast back over the reduced dims
        Tensor.Record("sum", value, [| x |], fun g ->
            let kept = Shape.reduced xShape ds true
            [| Tensor.Expand(Reshaping.reshapeRaw g kept, xShape) |])

    /// Σ of every element (a scalar).
    let sum (x: Tensor) = sumDims [| 0 .. x.Rank - 1 |] false x
