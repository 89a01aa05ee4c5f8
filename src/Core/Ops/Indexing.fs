namespace Hybrid.Core

open System

/// Differentiable indexed reads and writes with torch's semantics: index_select / index_add,
/// gather / scatter_add, and one_hot. Indices are int64 tensors; every index is range-checked
/// before anything is computed. Each backward is the adjoint op of this module, so it differentiates again.
module Indexing =

    /// The indices of an int64 tensor, or an error naming the op.
    let private indicesOf (op: string) (index: Tensor) =
        if isNull index then raise (ArgumentNullException("index", sprintf "%s: index is null" op))
        if index.DType <> DType.Int64 then
            invalidArg "index" (sprintf "%s: index must be an Int64 tensor, got %O of shape %s" op index.DType (Shape.show index.Shape))
        index.ToInt64Array()

    /// Every index in 0..size-1, or ArgumentOutOfRangeException naming the op, dim, bad index and size.
    let private checkRange (op: string) (dim: int) (size: int) (ix: int64[]) =
        for v in ix do
            if v < 0L || v >= int64 size then
                raise (ArgumentOutOfRangeException("index", sprintf "%s: index %d is out of range for dim %d of size %d (expected 0..%d)" op v dim size (size - 1)))

    /// The size of dim d (a scalar counts as one element along dim 0).
    let private sizeAt (shape: int[]) (d: int) = if shape.Length = 0 then 1 else shape.[d]

    // ---- index_select and its adjoint index_add (into zeros)

    /// y = x.index_select(dim, index); backward: index_add of g into zeros of x's shape.
    let rec private indexSelectOp (dim: int) (index: Tensor) (x: Tensor) : Tensor =
        let xShape = x.Shape
        Tensor.Record("index_select", x.Raw.IndexSelect(dim, index.Raw), [| x |], fun g -> [| indexAddZeros xShape dim index g |])

    /// zeros(full).index_add(dim, index, src); backward: index_select of g (indexAdd is indexSelect's adjoint).
    and private indexAddZeros (full: int[]) (dim: int) (index: Tensor) (src: Tensor) : Tensor =
        Tensor.Record("index_add", src.Raw.IndexAdd(full, dim, index.Raw), [| src |], fun g -> [| indexSelectOp dim index g |])

    /// torch.index_select: out[..., i, ...] = x[..., index[i], ...] along `dim` (index: Int64, rank 1).
    let indexSelect (dim: int) (index: Tensor) (x: Tensor) =
        let ix = indicesOf "index_select" index
        if index.Rank <> 1 then
            invalidArg "index" (sprintf "index_select: index must have rank 1, got shape %s" (Shape.show index.Shape))
        if x.Rank = 0 then invalidArg "x" "index_select: cannot index a scalar (shape [])"
        let d = Shape.normDim "index_select" x.Rank dim
        checkRange "index_select" d x.Shape.[d] ix
        indexSelectOp d index x

    /// torch.index_add: x with src's slices added at rows `index` along `dim` (repeated indices add up).
    /// src has x's shape with dim `dim` of size index.length. Differentiable in x and src.
    let indexAdd (dim: int) (index: Tensor) (src: Tensor) (x: Tensor) =
        Tensor.Agree("index_add", x, src)
        let ix = indicesOf "index_add" index
        if index.Rank <> 1 then
            invalidArg "index" (sprintf "index_add: index must have rank 1, got shape %s" (Shape.show index.Shape))
        if x.Rank = 0 then invalidArg "x" "index_add: cannot index a scalar (shape [])"
        let d = Shape.normDim "index_add" x.Rank dim
        let expected = Array.copy x.Shape
        expected.[d] <- ix.Length
        if src.Shape <> expected then
            invalidArg "src" (sprintf "index_add: src of shape %s does not match x of shape %s with %d indices along dim %d (expected %s)" (Shape.show src.Shape) (Shape.show x.Shape) ix.Length d (Shape.show expected))
        checkRange "index_add" d x.Shape.[d] ix
        x + indexAddZeros x.Shape d index src

    // ---- gather and its adjoint scatter_add (into zeros)

    /// y = x.gather(dim, index); backward: scatter_add of g into zeros of x's shape.
    let rec private gatherOp (dim: int) (index: Tensor) (x: Tensor) : Tensor =
        let xShape = x.Shape
        Tensor.Record("gather", x.Raw.Gather(dim, index.Raw), [| x |], fun g -> [| scatterAddZeros xShape dim index g |])

    /// zeros(full).scatter_add(dim, index, src) with src of the index's shape; backward: gather of g.
    and private scatterAddZeros (full: int[]) (dim: int) (index: Tensor) (src: Tensor) : Tensor =
        let zeros = src.Raw.Backend.Zeros(full, src.DType)
        Tensor.Record("scatter_add", zeros.ScatterAdd(dim, index.Raw, src.Raw), [| src |], fun g -> [| gatherOp dim index g |])

    /// Check index against x for gather/scatter_add: same rank, index.size(d) <= x.size(d) for d <> dim, values in range.
    let private checkGatherIndex (op: string) (dim: int) (index: Tensor) (x: Tensor) =
        let ix = indicesOf op index
        if index.Rank <> x.Rank then
            invalidArg "index" (sprintf "%s: index of shape %s must have the rank of x of shape %s (%d vs %d)" op (Shape.show index.Shape) (Shape.show x.Shape) index.Rank x.Rank)
        let d = Shape.normDim op x.Rank dim
        for k in 0 .. x.Rank - 1 do
            if k <> d && index.Shape.[k] > x.Shape.[k] then
                invalidArg "index" (sprintf "%s: index of shape %s is larger than x of shape %s at dim %d (%d vs %d)" op (Shape.show index.Shape) (Shape.show x.Shape) k index.Shape.[k] x.Shape.[k])
        checkRange op d (sizeAt x.Shape d) ix
        d

    /// torch.gather: out[c] = x[c with c[dim] := index[c]]; out has the index's shape
    /// (index: Int64, same rank as x, no larger than x outside `dim`).
    let gather (dim: int) (index: Tensor) (x: Tensor) =
        let d = checkGatherIndex "gather" dim index x
        gatherOp d index x

    /// torch.scatter_add: x with src[c] added at c with c[dim] := index[c], for every position c of index
    /// (src is at least as large as index in every dim). Differentiable in x (gradient g) and src (g gathered).
    let scatterAdd (dim: int) (index: Tensor) (src: Tensor) (x: Tensor) =
        Tensor.Agree("scatter_add", x, src)
        let d = checkGatherIndex "scatter_add" dim index x
        if src.Rank <> index.Rank || Array.exists2 (fun i s -> i > s) index.Shape src.Shape then
            invalidArg "src" (sprintf "scatter_add: src of shape %s must have the rank of index of shape %s and be at least as large in every dim" (Shape.show src.Shape) (Shape.show index.Shape))
        let srcShape = src.Shape
        let iShape = index.Shape
        // d/dx = identity; d/dsrc[c] = g[c with c[dim] := index[c]] on the index's positions, 0 beyond them
        Tensor.Record("scatter_add", x.Raw.ScatterAdd(d, index.Raw, src.Raw), [| x; src |], fun g ->
            [| (if x.RequiresGrad then g else null)
               (if src.RequiresGrad then
                    let gs = gatherOp d index g
                    if iShape = srcShape then gs
                    else Reshaping.sliceScatterAll srcShape (Array.zeroCreate iShape.Length) iShape (Array.create iShape.Length 1) gs
                else null) |])

    /// torch.nn.functional.one_hot: out[..., c] = 1 where c = index[...], else 0, as a `dtype` tensor of shape
    /// index.shape @ [numClasses] (numClasses = -1 takes max(index) + 1). Not differentiable (indices are discrete).
    let oneHot (numClasses: int) (dtype: DType) (index: Tensor) =
        let ix = indicesOf "one_hot" index
        let k =
            if numClasses = -1 then (if ix.Length = 0 then 0 else int (Array.max ix) + 1)
            elif numClasses <= 0 then invalidArg "numClasses" (sprintf "one_hot: numClasses must be positive or -1 (got %d)" numClasses)
            else numClasses
        for v in ix do
            if v < 0L || v >= int64 k then
                raise (ArgumentOutOfRangeException("index", sprintf "one_hot: class index %d is out of range for %d classes (expected 0..%d)" v k (k - 1)))
        let data = Array.zeroCreate (ix.Length * k)
        ix |> Array.iteri (fun i v -> data.[i * k + int v] <- 1.0)
        Tensor(index.Raw.Backend.FromFloat64(data, Array.append index.Shape [| k |]).Cast dtype)
