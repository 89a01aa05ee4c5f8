namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core

/// Reductions and the row-wise normalisations (softmax, log-softmax) over [outer, dim, inner] views.
module Reduce =

    /// Split a shape around `dim`: (outer, dim size, inner).
    let around (shape: int[]) (dim: int) =
        Shape.numel shape.[.. dim - 1], shape.[dim], Shape.numel shape.[dim + 1 ..]

    /// Sum over several dims (any order), returning the reduced array.
    let sumDims<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (shape: int[]) (dims: int[]) : 'T[] =
        if dims.Length = shape.Length && shape.Length > 0 || shape.Length = 0 then
            [| TensorPrimitives.Sum(ReadOnlySpan<'T>(x)) |]
        else
            let mutable cur = x
            let mutable curShape = Array.copy shape
            for d in dims |> Array.sortDescending do
                let o, k, i = around curShape d
                cur <- Kernels.sumDim cur o k i
                curShape <- Array.append curShape.[.. d - 1] curShape.[d + 1 ..]
            cur

    /// (log-)softmax of the k elements x[b], x[b+st], ... written to y at the same places.
    let private strided<'T when 'T :> IFloatingPointIeee754<'T>> (x: 'T[]) (y: 'T[]) (b: int) (st: int) (k: int) (log: bool) =
        let mutable m = x.[b]
        for j in 1 .. k - 1 do m <- 'T.Max(m, x.[b + j * st])
        let mutable z = 'T.Zero
        for j in 0 .. k - 1 do z <- z + 'T.Exp(x.[b + j * st] - m)
        let lz = 'T.Log z
        for j in 0 .. k - 1 do
            let v = x.[b + j * st] - m
            y.[b + j * st] <- if log then v - lz else 'T.Exp v / z

    /// softmax along dim: exp(x - max) / Σ exp(x - max).
    let softmax<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (shape: int[]) (dim: int) (log: bool) : 'T[] =
        let outer, k, inner = around shape dim
        let y = Array.zeroCreate<'T> x.Length
        if inner = 1 then
            Par.chunks outer (max 1 (Par.grain / max 1 k)) (fun s e ->
                for o in s .. e - 1 do
                    let src = ReadOnlySpan<'T>(x, o * k, k)
                    let dst = Span<'T>(y, o * k, k)
                    let m: 'T = TensorPrimitives.Max<'T>(src)
                    TensorPrimitives.Subtract(src, m, dst)
                    if log then
                        // log_softmax = (x - m) - log Σ exp(x - m)
                        let tmp = Array.zeroCreate<'T> k
                        TensorPrimitives.Exp(Kernels.ro dst, Span<'T>(tmp))
                        let lse = 'T.Log(TensorPrimitives.Sum(ReadOnlySpan<'T>(tmp)))
                        TensorPrimitives.Subtract(Kernels.ro dst, lse, dst)
                    else
                        TensorPrimitives.Exp(Kernels.ro dst, dst)
                        let z = TensorPrimitives.Sum(Kernels.ro dst)
                        TensorPrimitives.Divide(Kernels.ro dst, z, dst))
        else
            for o in 0 .. outer - 1 do
                for i in 0 .. inner - 1 do
                    strided x y (o * k * inner + i) inner k log
        y
