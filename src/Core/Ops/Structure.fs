namespace Hybrid.Core

open System

/// Differentiable structural ops with torch's semantics: flip over several dims, roll, repeat, tile,
/// tril/triu, diag, diagonal and trace. Each is composed from ops that already differentiate (index_select,
/// index_add, expand, reshape, permute, where), so every one is written once over the element type and
/// device, and its gradient differentiates again. Index tensors are built on the input's own backend.
module Structure =

    let private outOfRange (arg: string) (msg: string) : 'a = raise (ArgumentOutOfRangeException(arg, msg))

    /// Dims resolved against the rank, rejecting repeats (torch: "dim appears multiple times").
    let private distinctDims (op: string) (rank: int) (dims: int[]) =
        if isNull dims then raise (ArgumentNullException("dims", sprintf "%s: dims is null" op))
        let ds = dims |> Array.map (Shape.normDim op rank)
        if (Array.distinct ds).Length <> ds.Length then
            invalidArg "dims" (sprintf "%s: dims %s name a dim more than once" op (Shape.show dims))
        ds

    /// An int64 index vector on x's backend.
    let private indexOn (x: Tensor) (values: int64[]) = Tensor(x.Raw.Backend.FromInt64(values, [| values.Length |]))

    /// torch.flip: reverse the order of the elements along each of `dims` (its own adjoint).
    let flip (dims: int[]) (x: Tensor) =
        if x.Rank = 0 then
            distinctDims "flip" 0 dims |> ignore
            x
        else distinctDims "flip" x.Rank dims |> Array.fold (fun t d -> Reshaping.flip d t) x

    /// torch.roll: shift the elements along each dim in `dims` by the matching shift (elements pushed past the
    /// end come back at the start); with no dims, x is flattened, rolled and given its shape back.
    // y[i] = x[(i − shift) mod n]: an index_select by a permutation, whose adjoint (index_add) is the inverse roll
    let roll (shifts: int[]) (dims: int[]) (x: Tensor) =
        if isNull shifts then raise (ArgumentNullException("shifts", "roll: shifts is null"))
        let dims = if isNull dims then [||] else dims
        let rollDim (t: Tensor) (shift: int) (d: int) =
            let n = t.Shape.[d]
            if n = 0 || ((shift % n) + n) % n = 0 then t
            else
                let idx = Array.init n (fun i -> int64 ((((i - shift) % n) + n) % n))
                Indexing.indexSelect d (indexOn t idx) t
        if dims.Length = 0 then
            if shifts.Length <> 1 then
                invalidArg "shifts" (sprintf "roll: without dims expects exactly one shift, got %s" (Shape.show shifts))
            if x.Rank = 0 then x
            else Reshaping.reshape x.Shape (rollDim (Reshaping.reshape [| -1 |] x) shifts.[0] 0)
        else
            if shifts.Length <> dims.Length then
                invalidArg "shifts" (sprintf "roll: shifts %s and dims %s have different lengths (%d vs %d)" (Shape.show shifts) (Shape.show dims) shifts.Length dims.Length)
            if x.Rank = 0 then
                dims |> Array.iter (Shape.normDim "roll" 0 >> ignore)
                x
            else
                let ds = dims |> Array.map (Shape.normDim "roll" x.Rank)
                Array.fold2 rollDim x shifts ds

    /// torch.Tensor.repeat: tile x `repeats.[i]` times along dim i; repeats may be longer than the rank (x is then
    /// read as having leading dims of size 1), never shorter. Output dim i has size shape.[i]·repeats.[i].
    // x [s0, s1] viewed as [1, s0, 1, s1], expanded to [r0, s0, r1, s1], reshaped to [r0·s0, r1·s1]: the gradient
    // (expand's) sums the copies back
    let repeat (repeats: int[]) (x: Tensor) =
        if isNull repeats then raise (ArgumentNullException("repeats", "repeat: repeats is null"))
        if repeats.Length < x.Rank then
            invalidArg "repeats" (sprintf "repeat: %d repeats %s are fewer than the %d dims of shape %s" repeats.Length (Shape.show repeats) x.Rank (Shape.show x.Shape))
        if repeats |> Array.exists (fun r -> r < 0) then
            invalidArg "repeats" (sprintf "repeat: repeats %s must be non-negative" (Shape.show repeats))
        let shape = Array.append (Array.create (repeats.Length - x.Rank) 1) x.Shape
        let paired = Array.init repeats.Length (fun i -> [| 1; shape.[i] |]) |> Array.concat
        let spread = Array.init repeats.Length (fun i -> [| repeats.[i]; shape.[i] |]) |> Array.concat
        let out = Array.map2 (*) repeats shape
        x |> Reshaping.reshape paired |> Reshaping.expand spread |> Reshaping.reshape out

    /// torch.tile: as `repeat`, but fewer repeats than dims are padded with leading 1s (tile([2]) repeats the last dim).
    let tile (reps: int[]) (x: Tensor) =
        if isNull reps then raise (ArgumentNullException("reps", "tile: reps is null"))
        let reps = if reps.Length < x.Rank then Array.append (Array.create (x.Rank - reps.Length) 1) reps else reps
        repeat reps x

    /// A constant 0/1 mask of [rows, cols] on x's backend and dtype: keep (i, j) where `keep (j − i)`.
    let private bandMask (x: Tensor) (keep: int -> bool) =
        let rows, cols = x.Shape.[x.Rank - 2], x.Shape.[x.Rank - 1]
        let m = Array.init (rows * cols) (fun k -> if keep (k % cols - k / cols) then 1.0 else 0.0)
        Tensor(x.Raw.Backend.FromFloat64(m, [| rows; cols |]).Cast x.DType)

    let private band (op: string) (keep: int -> bool) (x: Tensor) =
        if x.Rank < 2 then invalidArg "x" (sprintf "%s: expected a tensor of rank >= 2, got shape %s" op (Shape.show x.Shape))
        if not x.DType.IsFloat then invalidArg "x" (sprintf "%s: not defined for %O tensors (expected float32 or float64)" op x.DType)
        // where (not x·mask): entries dropped are exactly 0 even where x is ±∞ or NaN, as torch
        Pointwise.where (bandMask x keep) x (Tensor(x.Raw.Backend.Full([||], 0.0, x.DType)))

    /// torch.tril: the lower triangle of the last two dims, on and below the `diagonal`-th diagonal (0 the main one,
    /// > 0 above it, < 0 below); the rest is 0. The gradient is masked the same way.
    let tril (diagonal: int) (x: Tensor) = band "tril" (fun jMinusI -> jMinusI <= diagonal) x

    /// torch.triu: the upper triangle of the last two dims, on and above the `diagonal`-th diagonal; the rest is 0.
    let triu (diagonal: int) (x: Tensor) = band "triu" (fun jMinusI -> jMinusI >= diagonal) x

    /// torch.diagonal: the `offset`-th diagonal of the planes spanned by dim1 and dim2 (offset > 0 above the main
    /// diagonal, < 0 below); both dims are removed and the diagonal is appended as the last dim, of length
    /// max(0, min(n1, n2 − offset)) for offset ≥ 0 and max(0, min(n1 + offset, n2)) below.
    // dims (d1, d2) moved last and merged; the diagonal is the index_select of positions (i + r0)·n2 + (i + c0)
    let diagonal (offset: int) (dim1: int) (dim2: int) (x: Tensor) =
        if x.Rank < 2 then invalidArg "x" (sprintf "diagonal: expected a tensor of rank >= 2, got shape %s" (Shape.show x.Shape))
        let d1 = Shape.normDim "diagonal" x.Rank dim1
        let d2 = Shape.normDim "diagonal" x.Rank dim2
        if d1 = d2 then
            invalidArg "dim2" (sprintf "diagonal: dim1 %d and dim2 %d name the same dim %d of shape %s" dim1 dim2 d1 (Shape.show x.Shape))
        let n1, n2 = x.Shape.[d1], x.Shape.[d2]
        let r0, c0 = Operators.max 0 (-offset), Operators.max 0 offset
        let len = Operators.max 0 (Operators.min (n1 - r0) (n2 - c0))
        let rest = [| 0 .. x.Rank - 1 |] |> Array.filter (fun d -> d <> d1 && d <> d2)
        let lead = rest |> Array.map (fun d -> x.Shape.[d])
        let merged = x |> Reshaping.permute (Array.append rest [| d1; d2 |]) |> Reshaping.reshape (Array.append lead [| n1 * n2 |])
        let positions = Array.init len (fun i -> int64 ((i + r0) * n2 + i + c0))
        // an empty diagonal is an empty slice (still on the graph, with a zero gradient)
        if len = 0 then Reshaping.narrow -1 0 0 merged
        else Indexing.indexSelect -1 (indexOn x positions) merged

    /// torch.diag: of a vector [n], the square matrix [n+|k|, n+|k|] with the vector on the k-th diagonal and zeros
    /// elsewhere; of a matrix, its k-th diagonal as a vector (diagonal k 0 1).
    let diag (offset: int) (x: Tensor) =
        match x.Rank with
        | 1 ->
            let n = x.Shape.[0]
            let size = n + abs offset
            let r0, c0 = Operators.max 0 (-offset), Operators.max 0 offset
            let positions = Array.init n (fun i -> int64 ((i + r0) * size + i + c0))
            let zeros = Tensor(x.Raw.Backend.Zeros([| size * size |], x.DType))
            // index_add into zeros: the gradient of the vector is the index_select of the matrix's diagonal
            Indexing.indexAdd 0 (indexOn x positions) x zeros |> Reshaping.reshape [| size; size |]
        | 2 -> diagonal offset 0 1 x
        | _ -> invalidArg "x" (sprintf "diag: expected a 1-D or 2-D tensor, got shape %s" (Shape.show x.Shape))

    /// torch.trace: the sum of the main diagonal of a matrix (a scalar).
    let trace (x: Tensor) =
        if x.Rank <> 2 then invalidArg "x" (sprintf "trace: expected a 2-D tensor, got shape %s" (Shape.show x.Shape))
        Reduction.sum (diagonal 0 0 1 x)
