namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open Hybrid.Core
open Hybrid.Core.Backends

/// 2-D convolution (im2col + gemm) and pooling over NCHW arrays.
module Conv =
    let conv2d<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (spec: Conv2dSpec) : 'T[] * int[] = raise (NotImplementedException "conv2d")
    let conv2dBackwardInput<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (w: 'T[]) (wShape: int[]) (inputShape: int[]) (spec: Conv2dSpec) : 'T[] = raise (NotImplementedException "conv2dBackwardInput")
    let conv2dBackwardWeight<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (x: 'T[]) (xShape: int[]) (weightShape: int[]) (spec: Conv2dSpec) : 'T[] = raise (NotImplementedException "conv2dBackwardWeight")
    let maxPool2d<'T when 'T :> IFloatingPointIeee754<'T>> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int64[] * int[] = raise (NotImplementedException "maxPool2d")
    let maxPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (indices: int64[]) (inputShape: int[]) : 'T[] = raise (NotImplementedException "maxPool2dBackward")
    let avgPool2d<'T when 'T :> IFloatingPointIeee754<'T>> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int[] = raise (NotImplementedException "avgPool2d")
    let avgPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (inputShape: int[]) (spec: Pool2dSpec) : 'T[] = raise (NotImplementedException "avgPool2dBackward")
