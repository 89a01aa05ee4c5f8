namespace Hybrid.Core.Optim

open System
open Hybrid.Core
open Hybrid.Core.Backends

/// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_), as pure functions.
module Clip =
    /// The global L2 norm ‖(‖g₁‖, …, ‖gₙ‖)‖₂ of all gradients, accumulated in float64.
    let globalNorm (grads: Tensor[]) =
        grads |> Array.sumBy (fun g -> g.ToFloat64Array() |> Array.sumBy (fun x -> x * x)) |> sqrt

    /// g ← g · min(1, maxNorm/(‖g‖ + 1e-6)) (torch's clip_grad_norm_ with norm_type 2); returns the clipped
    /// gradients and the norm before clipping.
    let byGlobalNorm (maxNorm: float) (grads: Tensor[]) : Tensor[] * float =
        if not (maxNorm >= 0.0) then
            raise (ArgumentOutOfRangeException("maxNorm", sprintf "clip_by_global_norm: maxNorm = %g is invalid (expected >= 0)" maxNorm))
        let norm = globalNorm grads
        let coef = min 1.0 (maxNorm / (norm + 1e-6))
        (grads |> Array.map (fun g -> Tensor(g.Raw.Unary(MulScalar coef)))), norm

    /// g ← clamp(g, −v, v) (torch's clip_grad_value_).
    let byValue (v: float) (grads: Tensor[]) : Tensor[] =
        if not (v >= 0.0) then
            raise (ArgumentOutOfRangeException("clipValue", sprintf "clip_by_value: clipValue = %g is invalid (expected >= 0)" v))
        grads |> Array.map (fun g -> Tensor(g.Raw.Unary(Clamp(-v, v))))
