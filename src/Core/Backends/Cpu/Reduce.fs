namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core
open Hybrid.Core.Backends

/// Reductions and the row-wise normalisations (softmax, log-softmax) over [outer, dim, inner] views.
module Reduce =

    /// The kept dims form one contiguous block [lo, hi) with every dim before and after it reduced: then
    /// x is [A, B, C] (A = the leading reduced dims, C = the trailing ones) and the sum keeps B.
    let private keptBlock (shape: int[]) (dims: int[]) : struct (int * int * int) voption =
        let reduced = Array.init shape.Length (fun d -> Array.contains d dims)
        let kept = [| for d in 0 .. shape.Length - 1 do if not reduced.[d] then yield d |]
        if kept.Length = 0 || kept.[kept.Length - 1] - kept.[0] + 1 <> kept.Length then ValueNone
        else
            let lo, hi = kept.[0], kept.[kept.Length - 1] + 1
            ValueSome (struct (Shape.numel shape.[.. lo - 1], Shape.numel shape.[lo .. hi - 1], Shape.numel shape.[hi ..]))

    /// out[b] = Σ_a Σ_c x[a, b, c] (a bias gradient: [N, C, H, W] summed over N, H, W): each contiguous run
    /// of C summed by SIMD, parallel over b.
    let private sumOuterInner<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (a: int) (b: int) (c: int) : 'T[] =
        let y = OutputArrays.rentZeroed<'T> b
        Par.chunks b (max 1 (Par.grain / max 1 (a * c))) (fun s e ->
            for j in s .. e - 1 do
                let mutable acc = 'T.Zero
                for i in 0 .. a - 1 do
                    acc <- acc + TensorPrimitives.Sum(ReadOnlySpan<'T>(x, (i * b + j) * c, c))
                y.[j] <- acc)
        y

    /// Sum over several dims (any order), returning the reduced array.
    let sumDims<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (shape: int[]) (dims: int[]) : 'T[] =
        if dims.Length = shape.Length && shape.Length > 0 || shape.Length = 0 then
            [| TensorPrimitives.Sum(ReadOnlySpan<'T>(x)) |]
        else
            match keptBlock shape dims with
            | ValueSome (struct (a, b, c)) when a > 1 && c > 1 -> sumOuterInner x a b c
            | _ ->
                let mutable cur = x
                let mutable curShape = Array.copy shape
                for d in dims |> Array.sortDescending do
                    let o, k, i = Geometry.around curShape d
                    cur <- Elementwise.sumDim cur o k i
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
        let outer, k, inner = Geometry.around shape dim
        let y = OutputArrays.rentZeroed<'T> x.Length
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
                        TensorPrimitives.Exp(Elementwise.ro dst, Span<'T>(tmp))
                        let lse = 'T.Log(TensorPrimitives.Sum(ReadOnlySpan<'T>(tmp)))
                        TensorPrimitives.Subtract(Elementwise.ro dst, lse, dst)
                    else
                        TensorPrimitives.Exp(Elementwise.ro dst, dst)
                        let z = TensorPrimitives.Sum(Elementwise.ro dst)
                        TensorPrimitives.Divide(Elementwise.ro dst, z, dst))
        else
            for o in 0 .. outer - 1 do
                for i in 0 .. inner - 1 do
                    strided x y (o * k * inner + i) inner k log
        y
