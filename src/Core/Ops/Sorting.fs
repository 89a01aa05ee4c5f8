namespace Hybrid.Core

open System

/// Order statistics along a dim: torch.sort (stable), torch.topk, torch.median. The order is found on the host
/// (every dtype read as float64, which is exact for float32 too); the values are then gathered by the indices on
/// the tensor's own device, so the gradient flows back to the chosen elements through gather's adjoint.
module Sorting =

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// a before b (−1), after (1) or tied (0) in ascending order, NaN after every number (torch's order).
    let private ascending (a: float) (b: float) =
        if Double.IsNaN a then (if Double.IsNaN b then 0 else 1)
        elif Double.IsNaN b then -1
        elif a < b then -1
        elif a > b then 1
        else 0

    /// For each line along d of x (shape), its positions in stable sorted order (ties keep their input order).
    let private order (descending: bool) (values: float[]) (shape: int[]) (d: int) : int64[] =
        let outer = Shape.numel shape.[.. d - 1]
        let k = shape.[d]
        let inner = Shape.numel shape.[d + 1 ..]
        let out = Array.zeroCreate<int64> values.Length
        let keys = Array.zeroCreate<float> k
        for o in 0 .. outer - 1 do
            for i in 0 .. inner - 1 do
                for j in 0 .. k - 1 do keys.[j] <- values.[(o * k + j) * inner + i]
                let cmp (p: int) (q: int) =
                    let c = ascending keys.[p] keys.[q]
                    let c = if descending then -c else c
                    if c <> 0 then c else compare p q
                let perm = Array.init k id |> Array.sortWith cmp
                for j in 0 .. k - 1 do out.[(o * k + j) * inner + i] <- int64 perm.[j]
        out

    /// The line positions `take` of an index array of shape (with `k` along d) kept as a new index tensor.
    let private indexTensor (like: Tensor) (ix: int64[]) (shape: int[]) = Tensor(like.Raw.Backend.FromInt64(ix, shape))

    /// torch.sort along `dim`: (values, int64 indices), stable, NaN last (first when descending).
    // the gradient of each value goes to the element it came from (gather's adjoint)
    let sort (dim: int) (descending: bool) (x: Tensor) =
        floatsOnly "sort" x
        let d = Shape.normDim "sort" x.Rank dim
        if x.Rank = 0 then Reshaping.clone x, indexTensor x [| 0L |] [||]
        else
            let ix = indexTensor x (order descending (x.ToFloat64Array()) x.Shape d) x.Shape
            Indexing.gather d ix x, ix

    /// torch.topk: the k largest (or smallest) values along `dim` in sorted order, and their int64 indices.
    let topk (k: int) (dim: int) (largest: bool) (x: Tensor) =
        floatsOnly "topk" x
        let d = Shape.normDim "topk" x.Rank dim
        let n = if x.Rank = 0 then 1 else x.Shape.[d]
        if k < 0 || k > n then
            raise (ArgumentOutOfRangeException("k", sprintf "topk: k=%d is out of range for dim %d of size %d in shape %s (expected 0..%d)" k d n (Shape.show x.Shape) n))
        if x.Rank = 0 then Reshaping.clone x, indexTensor x [| 0L |] [||]
        else
            let _, ix = sort d largest x
            let ix = Reshaping.narrow d 0 k ix
            Indexing.gather d ix x, ix

    /// The lower median's position in each line along d (the first NaN's when a line has one, as torch).
    let private medianIndex (values: float[]) (shape: int[]) (d: int) : int64[] =
        let outer = Shape.numel shape.[.. d - 1]
        let k = shape.[d]
        let inner = Shape.numel shape.[d + 1 ..]
        let sorted = order false values shape d
        Array.init (outer * inner) (fun line ->
            let o, i = line / inner, line % inner
            let at j = (o * k + j) * inner + i
            match Seq.tryFind (fun j -> Double.IsNaN values.[at j]) (seq { 0 .. k - 1 }) with
            | Some j -> int64 j
            | None -> sorted.[at ((k - 1) / 2)])

    /// torch.median along `dim`: the lower median of each line and its int64 index (of the first of tied values in
    /// sorted order; a line with NaN gives NaN and its first NaN's index). keepDim keeps the dim as size 1.
    let medianDim (dim: int) (keepDim: bool) (x: Tensor) =
        floatsOnly "median" x
        let d = Shape.normDim "median" x.Rank dim
        if x.Rank = 0 then Reshaping.clone x, indexTensor x [| 0L |] [||]
        else
            if x.Shape.[d] = 0 then
                invalidArg "x" (sprintf "median: dim %d of shape %s is empty (expected at least one element)" d (Shape.show x.Shape))
            let kept = Shape.reduced x.Shape [| d |] true
            let ix = indexTensor x (medianIndex (x.ToFloat64Array()) x.Shape d) kept
            let v = Indexing.gather d ix x
            if keepDim then v, ix
            else
                let s = Shape.reduced x.Shape [| d |] false
                Reshaping.reshape s v, Reshaping.reshape s ix

    /// torch.median(): the lower median of every element (NaN if any is NaN). Its gradient is split evenly among
    /// the elements equal to it (among the NaNs when it is NaN), as torch's.
    let median (x: Tensor) =
        floatsOnly "median" x
        if x.Numel = 0 then invalidArg "x" (sprintf "median: tensor of shape %s is empty (expected at least one element)" (Shape.show x.Shape))
        let vs = x.ToFloat64Array()
        let at = (medianIndex vs [| vs.Length |] 0).[0]
        let m = vs.[int at]
        let xShape = x.Shape
        // ∂y/∂x_i = [x_i = y] / #{j : x_j = y}
        Tensor.Record("median", x.Raw.Backend.FromFloat64([| m |], [||]).Cast x.DType, [| x |], fun g ->
            let hit = vs |> Array.map (fun v -> if v = m || (Double.IsNaN m && Double.IsNaN v) then 1.0 else 0.0)
            let n = Array.sum hit
            let share = Tensor(x.Raw.Backend.FromFloat64(hit |> Array.map (fun h -> h / n), xShape).Cast x.DType)
            [| Tensor.Expand(g, xShape) * share |])
