namespace Hybrid.Core

/// Differentiable changes of shape and layout.
module Reshaping =

    /// View with a new shape of the same number of elements (one dim may be -1).
    let reshape (shape: int[]) (x: Tensor) =
        let s = Shape.resolve "reshape" x.Numel shape
        let xShape = x.Shape
        let rec op (t: Tensor) (target: int[]) (back: int[]) : Tensor =
            Tensor.Record("reshape", t.Raw.Reshape target, [| t |], fun g -> [| op g back target |])
        op x s xShape

    /// Reshape without checks, for backward rules that know the shapes agree.
    let reshapeRaw (x: Tensor) (shape: int[]) = reshape shape x
