namespace Hybrid.Core

open System

/// Differentiable changes of shape and layout: views, permutations, slices, joins and splits.
/// Every op takes the tensor last (so it pipes: `x |> Reshaping.transpose 0 1`) and validates its
/// arguments before computing anything. Backward rules are themselves ops of this module, so they
/// differentiate again (create-graph, hvp, hessian).
module Reshaping =

    let private outOfRange (arg: string) (msg: string) : 'a = raise (ArgumentOutOfRangeException(arg, msg))

    /// View with a new shape of the same number of elements (one dim may be -1).
    let reshape (shape: int[]) (x: Tensor) =
        let s = Shape.resolve "reshape" x.Numel shape
        let xShape = x.Shape
        let rec op (t: Tensor) (target: int[]) (back: int[]) : Tensor =
            Tensor.Record("reshape", t.Raw.Reshape target, [| t |], fun g -> [| op g back target |])
        op x s xShape

    /// Reshape without checks, for backward rules that know the shapes agree.
    let reshapeRaw (x: Tensor) (shape: int[]) = reshape shape x

    /// torch.Tensor.view: the same as `reshape` (storage is always contiguous here).
    let view (shape: int[]) (x: Tensor) = reshape shape x

    /// torch.flatten: merge dims startDim..endDim (inclusive, negative from the end) into one; a scalar becomes [1].
    let flatten (startDim: int) (endDim: int) (x: Tensor) =
        if x.Rank = 0 then reshape [| 1 |] x
        else
            let s = Shape.normDim "flatten" x.Rank startDim
            let e = Shape.normDim "flatten" x.Rank endDim
            if s > e then
                invalidArg "endDim" (sprintf "flatten: startDim %d (= %d) comes after endDim %d (= %d) for shape %s" startDim s endDim e (Shape.show x.Shape))
            let sh = x.Shape
            reshape (Array.concat [ sh.[.. s - 1]; [| Shape.numel sh.[s .. e] |]; sh.[e + 1 ..] ]) x

    /// torch.squeeze: drop every dim of size 1.
    let squeeze (x: Tensor) = reshape (x.Shape |> Array.filter (fun d -> d <> 1)) x

    /// torch.squeeze(dim): drop `dim` if its size is 1, else return x unchanged.
    let squeezeDim (dim: int) (x: Tensor) =
        let d = Shape.normDim "squeeze" x.Rank dim
        if x.Rank = 0 || x.Shape.[d] <> 1 then x
        else reshape (Array.removeAt d x.Shape) x

    /// torch.unsqueeze: insert a dim of size 1 at `dim` (in -(rank+1)..rank).
    let unsqueeze (dim: int) (x: Tensor) =
        let d = Shape.normDim "unsqueeze" (x.Rank + 1) dim
        reshape (Array.insertAt d 1 x.Shape) x

    /// y = x with dims reordered (y.shape[i] = x.shape[dims[i]]); the gradient is permuted back by the inverse.
    let rec private permuteOp (dims: int[]) (x: Tensor) : Tensor =
        let inv = Array.zeroCreate dims.Length
        dims |> Array.iteri (fun i d -> inv.[d] <- i)
        Tensor.Record("permute", x.Raw.Permute dims, [| x |], fun g -> [| permuteOp inv g |])

    /// torch.permute: reorder the dims (a permutation of 0..rank-1, negative dims count from the end).
    let permute (dims: int[]) (x: Tensor) =
        if dims.Length <> x.Rank then
            invalidArg "dims" (sprintf "permute: %s names %d dims but the tensor of shape %s has rank %d" (Shape.show dims) dims.Length (Shape.show x.Shape) x.Rank)
        let ds = dims |> Array.map (Shape.normDim "permute" x.Rank)
        if (Array.distinct ds).Length <> ds.Length then
            invalidArg "dims" (sprintf "permute: %s repeats a dim (expected a permutation of 0..%d)" (Shape.show dims) (x.Rank - 1))
        if ds = Array.init ds.Length id then x else permuteOp ds x

    /// torch.transpose: swap dims d0 and d1.
    let transpose (d0: int) (d1: int) (x: Tensor) =
        let a = Shape.normDim "transpose" x.Rank d0
        let b = Shape.normDim "transpose" x.Rank d1
        if a = b || x.Rank < 2 then x
        else
            let dims = Array.init x.Rank id
            dims.[a] <- b
            dims.[b] <- a
            permuteOp dims x

    /// torch.Tensor.expand: broadcast to `shape` (new leading dims allowed; -1 keeps a dim); gradient summed back.
    let expand (shape: int[]) (x: Tensor) =
        if shape.Length < x.Rank then
            invalidArg "shape" (sprintf "expand: target %s has fewer dims than the tensor's shape %s" (Shape.show shape) (Shape.show x.Shape))
        let lead = shape.Length - x.Rank
        let target =
            shape |> Array.mapi (fun i d ->
                if d = -1 && i >= lead then x.Shape.[i - lead]
                elif d < 0 then invalidArg "shape" (sprintf "expand: target %s has size %d at dim %d (expected >= 0, or -1 on an existing dim)" (Shape.show shape) d i)
                else d)
        for i in 0 .. x.Rank - 1 do
            let s, t = x.Shape.[i], target.[lead + i]
            if s <> 1 && s <> t then
                invalidArg "shape" (sprintf "expand: cannot expand shape %s to %s (dim %d has size %d, expected 1 or %d)" (Shape.show x.Shape) (Shape.show shape) i s t)
        Tensor.Expand(x, target)

    // ---- slices

    /// y = x[starts:stops:steps] (every dim, positive steps, bounds already resolved); backward writes g back
    /// into zeros of x's shape with `sliceScatterAll`, whose own backward is this slice again.
    let rec internal sliceAll (starts: int[]) (stops: int[]) (steps: int[]) (x: Tensor) : Tensor =
        let full = x.Shape
        Tensor.Record("slice", x.Raw.Slice(starts, stops, steps), [| x |], fun g -> [| sliceScatterAll full starts stops steps g |])

    /// Zeros of `full` with src written at the slice starts:stops:steps (resolved, positive steps); backward is the slice.
    and internal sliceScatterAll (full: int[]) (starts: int[]) (stops: int[]) (steps: int[]) (src: Tensor) : Tensor =
        Tensor.Record("slice_scatter", src.Raw.SliceScatter(full, starts, stops, steps), [| src |], fun g -> [| sliceAll starts stops steps g |])

    /// Slice bounds for one dim of x: full range everywhere except `dim`.
    let private boundsAt (shape: int[]) (dim: int) (start: int) (stop: int) (step: int) =
        let starts = Array.zeroCreate shape.Length
        let stops = Array.copy shape
        let steps = Array.create shape.Length 1
        starts.[dim] <- start
        stops.[dim] <- stop
        steps.[dim] <- step
        starts, stops, steps

    /// Reverse x along one dim: y[..., i, ...] = x[..., n-1-i, ...]. Its own adjoint, so backward is flip again.
    let rec private flipOp (dim: int) (x: Tensor) : Tensor =
        let n = x.Shape.[dim]
        let rev = x.Raw.Backend.FromInt64(Array.init n (fun i -> int64 (n - 1 - i)), [| n |])
        Tensor.Record("flip", x.Raw.IndexSelect(dim, rev), [| x |], fun g -> [| flipOp dim g |])

    /// torch.flip over one dim: reverse the order of the elements along `dim`.
    let flip (dim: int) (x: Tensor) =
        if x.Rank = 0 then x else flipOp (Shape.normDim "flip" x.Rank dim) x

    /// Python's slice.indices(n): the resolved (start, stop, count) of [start:stop:step] on a dim of length n.
    /// Negative bounds count from the end, out-of-range bounds are clamped; step may be negative, not zero.
    let sliceIndices (n: int) (start: int) (stop: int) (step: int) =
        if step = 0 then invalidArg "step" (sprintf "slice: step must be nonzero (got 0) for a dim of size %d" n)
        let wrap v = if v < 0 then v + n else v
        if step > 0 then
            let s, e = max 0 (min n (wrap start)), max 0 (min n (wrap stop))
            s, e, (if e > s then (e - s + step - 1) / step else 0)
        else
            let s, e = max -1 (min (n - 1) (wrap start)), max -1 (min (n - 1) (wrap stop))
            s, e, (if s > e then (s - e - step - 1) / (-step) else 0)

    /// x[start:stop:step] along `dim` with Python's rules: negative indices count from the end, bounds clamp
    /// (pass Int32.MaxValue / Int32.MinValue for "to the end" / "to the beginning"), a negative step walks backward.
    /// Backward writes the gradient into zeros at the sliced positions (RawTensor.SliceScatter).
    let slice (dim: int) (start: int) (stop: int) (step: int) (x: Tensor) =
        let d = Shape.normDim "slice" x.Rank dim
        if x.Rank = 0 then invalidArg "x" "slice: cannot slice a scalar (shape [])"
        let n = x.Shape.[d]
        let s, _, count = sliceIndices n start stop step
        if step > 0 then
            let starts, stops, steps = boundsAt x.Shape d s (s + (count - 1) * step + 1 |> max s) step
            sliceAll starts stops steps x
        else
            // x[s:e:-k] = flip(x[last : s+1 : k]) where last = s - (count-1)·k is the smallest index taken
            let last = s + (count - 1) * step
            let starts, stops, steps = if count = 0 then boundsAt x.Shape d 0 0 1 else boundsAt x.Shape d last (s + 1) (-step)
            flipOp d (sliceAll starts stops steps x)

    /// Zeros of `fullShape` with src written at [start:stop:step] along `dim` (positive step; Python bounds).
    /// The adjoint of `slice`; its backward is `slice`.
    let sliceScatter (fullShape: int[]) (dim: int) (start: int) (stop: int) (step: int) (src: Tensor) =
        let fullShape = Shape.check "slice_scatter" fullShape
        if fullShape.Length <> src.Rank || fullShape.Length = 0 then
            invalidArg "src" (sprintf "slice_scatter: src of shape %s does not have the rank of the full shape %s" (Shape.show src.Shape) (Shape.show fullShape))
        let d = Shape.normDim "slice_scatter" fullShape.Length dim
        if step <= 0 then invalidArg "step" (sprintf "slice_scatter: step must be positive (got %d)" step)
        let s, _, count = sliceIndices fullShape.[d] start stop step
        let expected = Array.copy fullShape
        expected.[d] <- count
        if src.Shape <> expected then
            invalidArg "src" (sprintf "slice_scatter: src of shape %s does not fit the slice [%d:%d:%d] of dim %d of %s (expected %s)" (Shape.show src.Shape) start stop step d (Shape.show fullShape) (Shape.show expected))
        let starts, stops, steps = boundsAt fullShape d s (s + (count - 1) * step + 1 |> max s) step
        sliceScatterAll fullShape starts stops steps src

    /// torch.narrow: elements start..start+length-1 along `dim` (start may be negative; no clamping).
    let narrow (dim: int) (start: int) (length: int) (x: Tensor) =
        if x.Rank = 0 then invalidArg "x" "narrow: cannot narrow a scalar (shape [])"
        let d = Shape.normDim "narrow" x.Rank dim
        let n = x.Shape.[d]
        let s = if start < 0 then start + n else start
        if s < 0 || s > n then
            outOfRange "start" (sprintf "narrow: start %d is out of range for dim %d of size %d (expected %d..%d)" start d n (-n) n)
        if length < 0 || s + length > n then
            outOfRange "length" (sprintf "narrow: start %d + length %d exceeds dim %d of size %d in shape %s" s length d n (Shape.show x.Shape))
        if s = 0 && length = n then x
        else
            let starts, stops, steps = boundsAt x.Shape d s (s + length) 1
            sliceAll starts stops steps x

    /// torch.select: the slice at `index` along `dim`, with that dim removed (index may be negative).
    let select (dim: int) (index: int) (x: Tensor) =
        if x.Rank = 0 then invalidArg "x" "select: cannot select from a scalar (shape [])"
        let d = Shape.normDim "select" x.Rank dim
        let n = x.Shape.[d]
        if index < -n || index >= n then
            outOfRange "index" (sprintf "select: index %d is out of range for dim %d of size %d (expected %d..%d)" index d n (-n) (n - 1))
        let i = if index < 0 then index + n else index
        let starts, stops, steps = boundsAt x.Shape d i (i + 1) 1
        reshape (Array.removeAt d x.Shape) (sliceAll starts stops steps x)

    // ---- joins and splits

    /// torch.cat: join tensors along `dim`; all shapes agree except at `dim`. Backward slices the gradient apart.
    let concat (dim: int) (xs: Tensor[]) =
        if isNull xs || xs.Length = 0 then invalidArg "xs" "concat: expected at least one tensor, got none"
        let x0 = xs.[0]
        if x0.Rank = 0 then invalidArg "xs" "concat: tensor 0 has shape [] (zero-dimensional tensors cannot be concatenated)"
        let d = Shape.normDim "concat" x0.Rank dim
        xs |> Array.iteri (fun i x ->
            if x.DType <> x0.DType then
                invalidArg "xs" (sprintf "concat: tensor %d has dtype %O but tensor 0 has %O (shapes %s and %s)" i x.DType x0.DType (Shape.show x.Shape) (Shape.show x0.Shape))
            if x.Rank <> x0.Rank then
                invalidArg "xs" (sprintf "concat: shapes %s (tensor 0) and %s (tensor %d) differ in rank (%d vs %d)" (Shape.show x0.Shape) (Shape.show x.Shape) i x0.Rank x.Rank)
            for k in 0 .. x.Rank - 1 do
                if k <> d && x.Shape.[k] <> x0.Shape.[k] then
                    invalidArg "xs" (sprintf "concat: shapes %s (tensor 0) and %s (tensor %d) differ at dim %d (%d vs %d); only dim %d may differ" (Shape.show x0.Shape) (Shape.show x.Shape) i k x0.Shape.[k] x.Shape.[k] d))
        if xs.Length = 1 then x0
        else
            let value = x0.Raw.Concat(xs.[1..] |> Array.map (fun x -> x.Raw), d)
            let offsets = Array.scan (+) 0 (xs |> Array.map (fun x -> x.Shape.[d]))
            let shapes = xs |> Array.map (fun x -> x.Shape)
            let needs = xs |> Array.map (fun x -> x.RequiresGrad)
            // d(cat)/dx_i: the gradient's slice offsets[i] .. offsets[i+1] along dim
            Tensor.Record("concat", value, xs, fun g ->
                Array.init xs.Length (fun i ->
                    if not needs.[i] then null
                    else
                        let starts, stops, steps = boundsAt g.Shape d offsets.[i] offsets.[i + 1] 1
                        if shapes.[i] = g.Shape then g else sliceAll starts stops steps g))

    /// Alias of `concat` (torch.cat).
    let cat (dim: int) (xs: Tensor[]) = concat dim xs

    /// torch.stack: join equal-shaped tensors along a new dim (= unsqueeze each, then concat).
    let stack (dim: int) (xs: Tensor[]) =
        if isNull xs || xs.Length = 0 then invalidArg "xs" "stack: expected at least one tensor, got none"
        let x0 = xs.[0]
        let d = Shape.normDim "stack" (x0.Rank + 1) dim
        xs |> Array.iteri (fun i x ->
            if x.Shape <> x0.Shape then
                invalidArg "xs" (sprintf "stack: shapes %s (tensor 0) and %s (tensor %d) differ; stack needs equal shapes" (Shape.show x0.Shape) (Shape.show x.Shape) i))
        concat d (xs |> Array.map (unsqueeze d))

    /// torch.split with a list: pieces of the given sizes along `dim` (the sizes sum to the dim's size).
    let splitSizes (sizes: int[]) (dim: int) (x: Tensor) =
        if x.Rank = 0 then invalidArg "x" "split: cannot split a scalar (shape [])"
        let d = Shape.normDim "split" x.Rank dim
        let n = x.Shape.[d]
        if sizes |> Array.exists (fun s -> s < 0) || Array.sum sizes <> n then
            invalidArg "sizes" (sprintf "split: sizes %s do not split dim %d of size %d in shape %s (expected non-negative sizes summing to %d)" (Shape.show sizes) d n (Shape.show x.Shape) n)
        let offsets = Array.scan (+) 0 sizes
        Array.init sizes.Length (fun i -> narrow d offsets.[i] sizes.[i] x)

    /// torch.split with an int: pieces of `size` along `dim` (the last may be smaller).
    let split (size: int) (dim: int) (x: Tensor) =
        if size <= 0 then invalidArg "size" (sprintf "split: split size must be positive (got %d)" size)
        if x.Rank = 0 then invalidArg "x" "split: cannot split a scalar (shape [])"
        let n = x.Shape.[Shape.normDim "split" x.Rank dim]
        let pieces = max 1 ((n + size - 1) / size)
        splitSizes (Array.init pieces (fun i -> min size (n - i * size))) dim x

    /// torch.chunk: at most `chunks` pieces of ceil(size / chunks) along `dim` (the last may be smaller).
    let chunk (chunks: int) (dim: int) (x: Tensor) =
        if chunks <= 0 then invalidArg "chunks" (sprintf "chunk: number of chunks must be positive (got %d)" chunks)
        if x.Rank = 0 then invalidArg "x" "chunk: cannot chunk a scalar (shape [])"
        let n = x.Shape.[Shape.normDim "chunk" x.Rank dim]
        split (max 1 ((n + chunks - 1) / chunks)) dim x

    // ---- graph and copies

    /// A new leaf sharing x's value, cut from the graph (no gradient flows through it).
    let detach (x: Tensor) = Tensor(x.Raw)

    /// A copy of x with its own storage, on the graph (the gradient passes through unchanged).
    let clone (x: Tensor) =
        let r = x.Rank
        let copy = x.Raw.Slice(Array.zeroCreate r, Array.copy x.Shape, Array.create r 1)
        Tensor.Record("clone", copy, [| x |], fun g -> [| g |])
