namespace Hybrid.Core

open Hybrid.Core.Backends

/// torch.amax / torch.amin: the largest (smallest) value over several dims, whose gradient is split evenly among
/// the elements that attain it (unlike max(dim), which picks one index).
module Extrema =

    let private extreme (isMax: bool) (op: string) (dims: int[]) (keepDim: bool) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))
        if isNull dims then raise (System.ArgumentNullException("dims", sprintf "%s: dims is null" op))
        // no dims means every dim, as torch's dim=()
        let ds =
            if dims.Length = 0 then [| 0 .. x.Rank - 1 |]
            else dims |> Array.map (Shape.normDim op x.Rank) |> Array.distinct |> Array.sort
        let ds = if x.Rank = 0 then [||] else ds
        for d in ds do
            if x.Shape.[d] = 0 then
                invalidArg "x" (sprintf "%s: dim %d of shape %s is empty (expected at least one element to reduce)" op d (Shape.show x.Shape))
        if ds.Length = 0 then x
        else
            let xShape = x.Shape
            let kept = Shape.reduced xShape ds true
            let m = ds |> Array.fold (fun (r: RawTensor) d -> fst (r.ExtremeDim(isMax, d, true))) x.Raw
            let value = if keepDim then m else m.Reshape(Shape.reduced xShape ds false)
            // ∂y/∂x_i = [x_i = y] / #{j : x_j = y}
            Tensor.Record(op, value, [| x |], fun g ->
                let hit = x.Raw.Binary(Eq, m)
                let share = Tensor(hit.Binary(Div, hit.SumDims(ds, true)))
                [| Tensor.Expand(Reshaping.reshape kept g, xShape) * share |])

    /// The largest value over `dims` (all dims when empty); keepDim keeps them as size 1. Ties share the gradient.
    let amax (dims: int[]) (keepDim: bool) (x: Tensor) = extreme true "amax" dims keepDim x

    /// The smallest value over `dims` (all dims when empty); keepDim keeps them as size 1. Ties share the gradient.
    let amin (dims: int[]) (keepDim: bool) (x: Tensor) = extreme false "amin" dims keepDim x
