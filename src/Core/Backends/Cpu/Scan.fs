namespace Hybrid.Core.Backends.Cpu

open System.Numerics
open Hybrid.Core.Backends

/// Scans over the middle dim of a tensor viewed as [outer, dim, inner].
module Scan =

    /// y[o, k, i] = x[o, 0, i] ⊕ … ⊕ x[o, k, i] (from the end, x[o, k, i] ⊕ … ⊕ x[o, dim − 1, i], when reverse),
    /// accumulated in float64 and rounded once per element (torch's CPU kernel accumulates float32 in double too).
    let run<'T when 'T :> INumberBase<'T>> (op: ScanOp) (reverse: bool) (x: 'T[]) (outer: int) (dim: int) (inner: int) : 'T[] =
        let y = OutputArrays.rent<'T> x.Length
        let isProd = op = CumProd
        Par.chunks (outer * inner) (max 1 (Par.grain / max 1 dim)) (fun s e ->
            for line in s .. e - 1 do
                let o = line / inner
                let i = line % inner
                let mutable acc = if isProd then 1.0 else 0.0
                for j in 0 .. dim - 1 do
                    let at = (o * dim + (if reverse then dim - 1 - j else j)) * inner + i
                    let v = System.Double.CreateTruncating x.[at]
                    acc <- if isProd then acc * v else acc + v
                    y.[at] <- 'T.CreateTruncating acc)
        y
