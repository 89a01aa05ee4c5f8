namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core

/// Indexed reads and writes: index_select, index_add, gather, scatter_add (indices are int64).
/// Shapes are row-major; indices are trusted here (the Tensor-level ops validate them first).
module Index =

    /// (outer, size, inner): the elements before `dim`, the length of `dim`, the elements after it.
    let private around (shape: int[]) (dim: int) =
        Shape.numel shape.[.. dim - 1], shape.[dim], Shape.numel shape.[dim + 1 ..]

    /// out[o, i, j] = x[o, index[i], j]: rows of `dim` picked by index (torch.index_select).
    let indexSelect<'T> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) : 'T[] =
        let outer, size, inner = around shape dim
        let m = index.Length
        let y = OutputArrays.rentZeroed<'T> (outer * m * inner)
        for o in 0 .. outer - 1 do
            for i in 0 .. m - 1 do
                Array.blit x ((o * size + int index.[i]) * inner) y ((o * m + i) * inner) inner
        y

    /// y = zeros(fullShape); y[o, index[i], j] += g[o, i, j] (the adjoint of indexSelect; repeated indices add up).
    let indexAdd<'T when 'T :> INumberBase<'T>> (g: 'T[]) (fullShape: int[]) (dim: int) (index: int64[]) : 'T[] =
        let outer, size, inner = around fullShape dim
        let m = index.Length
        let y = OutputArrays.rentZeroed<'T> (outer * size * inner)
        for o in 0 .. outer - 1 do
            for i in 0 .. m - 1 do
                let dst = Span<'T>(y, (o * size + int index.[i]) * inner, inner)
                TensorPrimitives.Add(ReadOnlySpan<'T>(g, (o * m + i) * inner, inner), Elementwise.ro dst, dst)
        y

    /// Visit every position of `indexShape` in row-major order: f (flat position) (coordinates, reused).
    let private iterIndex (indexShape: int[]) (f: int -> int[] -> unit) =
        let n = Shape.numel indexShape
        let rank = indexShape.Length
        let c = Array.zeroCreate<int> rank
        for p in 0 .. n - 1 do
            f p c
            let mutable d = rank - 1
            let mutable carry = true
            while carry && d >= 0 do
                c.[d] <- c.[d] + 1
                if c.[d] = indexShape.[d] then c.[d] <- 0; d <- d - 1
                else carry <- false

    /// Flat offset of coordinates `c` in a tensor of `strides`, with coordinate `dim` replaced by `at`.
    let inline private offsetWith (strides: int[]) (c: int[]) (dim: int) (at: int) =
        let mutable o = 0
        for d in 0 .. c.Length - 1 do
            o <- o + (if d = dim then at else c.[d]) * strides.[d]
        o

    /// torch.gather: out[c] = x[c with c[dim] := index[c]]; out has the index's shape.
    let gather<'T> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) : 'T[] =
        let y = OutputArrays.rentZeroed<'T> index.Length
        let sx = Shape.strides shape
        iterIndex indexShape (fun p c -> y.[p] <- x.[offsetWith sx c dim (int index.[p])])
        y

    /// torch.scatter_add: a copy of x with out[c with c[dim] := index[c]] += src[c] for every position c of index.
    let scatterAdd<'T when 'T :> INumberBase<'T>> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) (src: 'T[]) (srcShape: int[]) : 'T[] =
        let y = Array.copy x
        let sx = Shape.strides shape
        let ss = Shape.strides srcShape
        iterIndex indexShape (fun p c ->
            let o = offsetWith sx c dim (int index.[p])
            y.[o] <- 'T.op_Addition(y.[o], src.[offsetWith ss c -1 0]))
        y
