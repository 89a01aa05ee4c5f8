namespace Hybrid.Core.Backends

open Hybrid.Core

/// Shape and stride arithmetic that every backend shares (pure functions of int arrays, no storage): broadcast
/// strides, slice shapes, the [outer, dim, inner] split of a reduction, convolution and pooling output lengths.
module Geometry =

    /// Broadcast strides of `shape` against an output of shape `outShape` (0 where the dim is broadcast).
    let broadcastStrides (shape: int[]) (outShape: int[]) =
        let rank = outShape.Length
        let st = Shape.strides shape
        Array.init rank (fun i ->
            let j = i - (rank - shape.Length)
            if j < 0 || shape.[j] = 1 then 0 else st.[j])

    /// The shape of a slice: ⌈(stop − start) / step⌉ elements along each dim (0 when stop ≤ start).
    let sliceShape (starts: int[]) (stops: int[]) (steps: int[]) =
        Array.init starts.Length (fun i -> max 0 ((stops.[i] - starts.[i] + steps.[i] - 1) / steps.[i]))

    /// Split a shape around `dim`: (outer, dim size, inner).
    let around (shape: int[]) (dim: int) =
        Shape.numel shape.[.. dim - 1], shape.[dim], Shape.numel shape.[dim + 1 ..]

    /// Floor division (rounds toward −∞, unlike `/` on negative numerators).
    let private floorDiv (a: int) (b: int) = if a >= 0 then a / b else -((-a + b - 1) / b)

    /// Length of a convolution's output along one axis: ⌊(n + 2p − d(k−1) − 1) / s⌋ + 1.
    let convOutSize (n: int) (k: int) (s: int) (p: int) (d: int) = floorDiv (n + 2 * p - d * (k - 1) - 1) s + 1

    /// Length of a pooling output along one axis, as torch: ceil mode rounds up, but the last window
    /// must start inside the input or its left padding ((o − 1)s < n + p).
    let poolOutSize (n: int) (k: int) (s: int) (p: int) (d: int) (ceilMode: bool) =
        let o = floorDiv (n + 2 * p - d * (k - 1) - 1 + (if ceilMode then s - 1 else 0)) s + 1
        if ceilMode && (o - 1) * s >= n + p then o - 1 else o
