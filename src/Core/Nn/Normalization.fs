namespace Hybrid.Core

open System

/// Running estimates of a batch norm layer after one training step, and its output.
type BatchNormResult =
    { /// The normalised, scaled and shifted input.
      Output: Tensor
      /// r ← (1 − momentum)·r + momentum·mean (no gradient; the input's when not training).
      RunningMean: Tensor
      /// r ← (1 − momentum)·r + momentum·var_unbiased (no gradient; the input's when not training).
      RunningVar: Tensor }

/// Normalisation layers as functions: batch norm (any rank ≥ 2, channels on axis 1) and layer norm.
module Normalization =
    let private show (s: int[]) = Shape.show s

    // [1, C, 1, ...] of x's rank: a per-channel tensor broadcast over x
    let private perChannel (x: Tensor) (t: Tensor) =
        Reshaping.reshape (Array.init x.Rank (fun d -> if d = 1 then x.Shape.[1] else 1)) t

    /// Batch normalisation (Ioffe & Szegedy 2015) of x [N, C, *] over every axis but the channel axis 1:
    /// y = (x − E[x]) / √(Var[x] + ε) · γ + β. Training: batch mean and biased variance, and the running
    /// estimates move as r ← (1 − momentum)·r + momentum·stat with the unbiased variance; evaluation: the running
    /// estimates normalise and come back unchanged. `weight` γ and `bias` β are [C] (None: 1 and 0).
    let batchNorm (training: bool) (momentum: float) (eps: float) (runningMean: Tensor) (runningVar: Tensor)
                  (weight: Tensor option) (bias: Tensor option) (x: Tensor) : BatchNormResult =
        if x.Rank < 2 then invalidArg "x" (sprintf "batchNorm: expected an input [N, C, ...], got %s" (show x.Shape))
        let c = x.Shape.[1]
        let checkC (what: string) (t: Tensor) =
            if t.Shape <> [| c |] then invalidArg what (sprintf "batchNorm: %s has shape %s, expected [%d] for the input %s" what (show t.Shape) c (show x.Shape))
        checkC "runningMean" runningMean
        checkC "runningVar" runningVar
        weight |> Option.iter (checkC "weight")
        bias |> Option.iter (checkC "bias")
        let dims = Array.append [| 0 |] [| 2 .. x.Rank - 1 |]
        let mean, var, runMean, runVar =
            if training then
                let n = x.Numel / c
                if n < 2 then invalidArg "x" (sprintf "batchNorm: expected more than 1 value per channel when training, got input %s" (show x.Shape))
                let mean = Reduction.meanDims dims true x
                let var = Reduction.var dims 0 true x
                use _ = GradMode.NoGrad()
                let m = Reshaping.reshape [| c |] (Reshaping.detach mean)
                // the running variance is unbiased: var · n / (n − 1)
                let v = Reshaping.reshape [| c |] (Reshaping.detach var) * (float n / float (n - 1))
                mean, var, runningMean * (1.0 - momentum) + m * momentum, runningVar * (1.0 - momentum) + v * momentum
            else perChannel x runningMean, perChannel x runningVar, runningMean, runningVar
        let y = (x - mean) / Pointwise.sqrt (var + eps)
        let y = match weight with Some w -> y * perChannel x w | None -> y
        let y = match bias with Some b -> y + perChannel x b | None -> y
        { Output = y; RunningMean = runMean; RunningVar = runVar }

    /// Layer normalisation (Ba, Kiros & Hinton 2016) over the trailing axes `normalizedShape`:
    /// y = (x − E[x]) / √(Var[x] + ε) · γ + β, biased variance, γ and β of shape `normalizedShape` (None: 1 and 0).
    let layerNorm (normalizedShape: int[]) (eps: float) (weight: Tensor option) (bias: Tensor option) (x: Tensor) =
        let k = normalizedShape.Length
        if k = 0 then invalidArg "normalizedShape" "layerNorm: normalizedShape is empty"
        if x.Rank < k || x.Shape.[x.Rank - k ..] <> normalizedShape then
            invalidArg "x" (sprintf "layerNorm: the input %s does not end in the normalised shape %s" (show x.Shape) (show normalizedShape))
        let check (what: string) (t: Tensor) =
            if t.Shape <> normalizedShape then invalidArg what (sprintf "layerNorm: %s has shape %s, expected %s" what (show t.Shape) (show normalizedShape))
        weight |> Option.iter (check "weight")
        bias |> Option.iter (check "bias")
        let dims = [| x.Rank - k .. x.Rank - 1 |]
        let mean = Reduction.meanDims dims true x
        let var = Reduction.var dims 0 true x
        let y = (x - mean) / Pointwise.sqrt (var + eps)
        let y = match weight with Some w -> y * w | None -> y
        match bias with Some b -> y + b | None -> y

/// Embedding lookup as a function.
module Embedding =
    /// Rows of `weight` [V, D] at the int64 `indices` of any shape S: y[s] = weight[indices[s]], shape S ++ [D]
    /// (its gradient adds each output row's gradient into the row it came from).
    let lookup (weight: Tensor) (indices: Tensor) =
        if weight.Rank <> 2 then invalidArg "weight" (sprintf "embedding: weight must be [numEmbeddings, dim], got %s" (Shape.show weight.Shape))
        if indices.DType <> DType.Int64 then invalidArg "indices" (sprintf "embedding: indices must be int64, got %O %s" indices.DType (Shape.show indices.Shape))
        let flat = Reshaping.reshape [| indices.Numel |] indices
        let v = weight.Shape.[0]
        let values = flat.ToInt64Array()
        match values |> Array.tryFind (fun i -> i < 0L || i >= int64 v) with
        | Some bad -> invalidArg "indices" (sprintf "embedding: index %d is outside 0..%d (numEmbeddings = %d)" bad (v - 1) v)
        | None -> ()
        Reshaping.reshape (Array.append indices.Shape [| weight.Shape.[1] |]) (Indexing.indexSelect 0 flat weight)
