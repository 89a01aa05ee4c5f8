namespace Hybrid.Core

open System

/// Shapes are int arrays, row-major, contiguous. Broadcasting follows NumPy.
module Shape =

    /// Render a shape the way errors print it: [3,4].
    let show (shape: int[]) = "[" + String.Join(",", shape) + "]"

    /// The largest element count an array holds (.NET's Array.MaxLength).
    let maxElements = int64 Array.MaxLength

    /// Number of elements as int64, the product saturating at Int64.MaxValue instead of wrapping
    /// (a zero dimension still gives 0), for checks and messages about shapes too large to hold.
    let numel64 (shape: int[]) =
        if Array.contains 0 shape then 0L
        else
            let mutable n = 1L
            for d in shape do
                n <- if n = Int64.MaxValue || (d > 0 && n > Int64.MaxValue / int64 d) then Int64.MaxValue else n * int64 d
            n

    /// Number of elements: the product of the dimensions (1 for a scalar []), computed in int64 and
    /// refused, with the count and the shape, when it exceeds what an array can hold; an unchecked
    /// int32 product would wrap (65537x65537 gives 131,073) and undersize every buffer.
    let numel (shape: int[]) =
        let n = numel64 shape
        if n > maxElements then
            invalidArg "shape" (sprintf "shape %s has %s elements, more than an array can hold (%d)" (show shape) (if n = Int64.MaxValue then "over 9.2e18" else string n) maxElements)
        int n

    /// Row-major strides of a contiguous shape.
    let strides (shape: int[]) =
        let s = Array.zeroCreate shape.Length
        let mutable acc = 1
        for i in shape.Length - 1 .. -1 .. 0 do
            s.[i] <- acc
            acc <- acc * shape.[i]
        s

    /// NumPy broadcast of two shapes, or an error naming the op and both shapes.
    let broadcast (op: string) (a: int[]) (b: int[]) =
        let n = max a.Length b.Length
        Array.init n (fun i ->
            let da = if i - (n - a.Length) >= 0 then a.[i - (n - a.Length)] else 1
            let db = if i - (n - b.Length) >= 0 then b.[i - (n - b.Length)] else 1
            if da = db then da
            elif da = 1 then db
            elif db = 1 then da
            else invalidArg "shape" (sprintf "%s: shapes %s and %s cannot be broadcast (dimension %d: %d vs %d)" op (show a) (show b) i da db))

    /// Resolve a possibly negative dim against a rank, or throw naming the op.
    let normDim (op: string) (rank: int) (dim: int) =
        let r = max rank 1
        let d = if dim < 0 then dim + r else dim
        if d < 0 || d >= r then
            raise (ArgumentOutOfRangeException("dim", sprintf "%s: dim %d is out of range for a tensor of rank %d (expected %d..%d)" op dim rank (-r) (r - 1)))
        d

    /// Check that a shape has no negative dimension.
    let check (op: string) (shape: int[]) =
        for d in shape do
            if d < 0 then invalidArg "shape" (sprintf "%s: shape %s has a negative dimension" op (show shape))
        shape

    /// Resolve a reshape target with at most one -1 against a number of elements.
    let resolve (op: string) (numelIn: int) (target: int[]) =
        let unknown = target |> Array.filter (fun d -> d = -1) |> Array.length
        if unknown > 1 then invalidArg "shape" (sprintf "%s: target shape %s has more than one -1" op (show target))
        let known = target |> Array.filter (fun d -> d <> -1) |> numel
        let t =
            if unknown = 1 then
                if known = 0 || numelIn % known <> 0 then
                    invalidArg "shape" (sprintf "%s: cannot infer -1 in %s for %d elements" op (show target) numelIn)
                target |> Array.map (fun d -> if d = -1 then numelIn / known else d)
            else target
        if numel t <> numelIn then
            invalidArg "shape" (sprintf "%s: cannot view %d elements as shape %s (%d elements)" op numelIn (show t) (numel t))
        check op t

    /// The shape after reducing `dims` (keepDim keeps them as 1).
    let reduced (shape: int[]) (dims: int[]) (keepDim: bool) =
        if keepDim then shape |> Array.mapi (fun i d -> if Array.contains i dims then 1 else d)
        else shape |> Array.indexed |> Array.filter (fun (i, _) -> not (Array.contains i dims)) |> Array.map snd
