namespace Hybrid.Core.Backends.Cpu

open System
open Hybrid.Core

/// Indexed reads and writes: index_select, index_add, gather, scatter_add (indices are int64).
module Index =
    let indexSelect<'T> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) : 'T[] = raise (NotImplementedException "indexSelect")
    let indexAdd<'T when 'T :> Numerics.INumberBase<'T>> (g: 'T[]) (fullShape: int[]) (dim: int) (index: int64[]) : 'T[] = raise (NotImplementedException "indexAdd")
    let gather<'T> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) : 'T[] = raise (NotImplementedException "gather")
    let scatterAdd<'T when 'T :> Numerics.INumberBase<'T>> (x: 'T[]) (shape: int[]) (dim: int) (index: int64[]) (indexShape: int[]) (src: 'T[]) (srcShape: int[]) : 'T[] = raise (NotImplementedException "scatterAdd")
