namespace Hybrid.Core

/// Regularisation as functions of tensors: dropout and the L1 / L2 penalties added to a loss.
module Regularization =

    /// Inverted dropout (Srivastava et al. 2014): y = x · m / (1 − p), m ~ Bernoulli(1 − p); identity when not training.
    let dropout (gen: Generator) (p: float) (training: bool) (x: Tensor) =
        if not (p >= 0.0 && p < 1.0) then invalidArg "p" (sprintf "dropout: p must be in [0, 1) (got %g)" p)
        if not training || p = 0.0 then x
        else
            let keep = 1.0 / (1.0 - p)
            let mask = Array.init x.Numel (fun _ -> if gen.NextDouble() >= p then keep else 0.0)
            let m = Create.ofFloat64 mask x.Shape
            x * Tensor(m.Raw.Cast x.DType)

    /// λ/2 · Σ‖θ‖²: the L2 penalty over a set of parameters (its gradient is λθ, i.e. coupled weight decay).
    let l2Penalty (lambda: float) (parameters: Tensor[]) =
        if not (lambda >= 0.0) then invalidArg "lambda" (sprintf "l2Penalty: lambda must be >= 0 (got %g)" lambda)
        if parameters.Length = 0 then invalidArg "parameters" "l2Penalty: no parameters given"
        parameters |> Array.map (fun p -> Reduction.sum (p * p)) |> Array.reduce (+) |> fun s -> s * (0.5 * lambda)

    /// λ · Σ|θ|: the L1 penalty over a set of parameters (its subgradient is λ·sign(θ)).
    let l1Penalty (lambda: float) (parameters: Tensor[]) =
        if not (lambda >= 0.0) then invalidArg "lambda" (sprintf "l1Penalty: lambda must be >= 0 (got %g)" lambda)
        if parameters.Length = 0 then invalidArg "parameters" "l1Penalty: no parameters given"
        parameters |> Array.map (fun p -> Reduction.sum (Pointwise.abs p)) |> Array.reduce (+) |> fun s -> s * lambda
