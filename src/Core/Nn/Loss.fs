namespace Hybrid.Core

open System

/// Loss functions, each equal to torch.nn.functional's definition option for option. Every loss
/// is differentiable twice (backward rules are tensor ops). Inputs are checked before any work.
module Loss =

    let private sumAll (t: Tensor) = Reduction.sum t
    let private meanAll (t: Tensor) = Reduction.mean t

    /// How per-element losses become the result (torch's `reduction` argument).
    type Reduction =
        /// The mean over elements (over the batch N for nll and cross-entropy) — torch's default.
        | Mean
        /// The sum over elements.
        | Sum
        /// The per-element losses, unreduced (torch's reduction='none').
        | NoReduction

    let private reduce (reduction: Reduction) (t: Tensor) =
        match reduction with
        | Mean -> meanAll t
        | Sum -> sumAll t
        | NoReduction -> t

    let private floatInput (op: string) (name: string) (t: Tensor) =
        if not t.DType.IsFloat then
            invalidArg name (sprintf "%s: %s of shape %s is %O (expected float32 or float64)" op name (Shape.show t.Shape) t.DType)

    /// input and target: same float dtype, same shape.
    let private sameShape (op: string) (input: Tensor) (target: Tensor) =
        floatInput op "input" input
        if input.Shape <> target.Shape then
            invalidArg "target" (sprintf "%s: input of shape %s and target of shape %s differ (expected the same shape)" op (Shape.show input.Shape) (Shape.show target.Shape))
        if input.DType <> target.DType then
            invalidArg "target" (sprintf "%s: input is %O and target is %O (expected the same dtype)" op input.DType target.DType)

    let private scalarLike (t: Tensor) (v: float) = Tensor(t.Raw.Backend.Full([||], v, t.DType))

    /// Mean squared error (torch.nn.functional.mse_loss).
    // ℓ = (x − y)²
    let mse (reduction: Reduction) (input: Tensor) (target: Tensor) =
        sameShape "mse" input target
        reduce reduction (Pointwise.square (input - target))

    /// Mean absolute error (torch.nn.functional.l1_loss).
    // ℓ = |x − y|
    let l1 (reduction: Reduction) (input: Tensor) (target: Tensor) =
        sameShape "l1" input target
        reduce reduction (Pointwise.abs (input - target))

    /// Smooth L1 (torch.nn.functional.smooth_l1_loss); beta = 0 is the L1 loss.
    // ℓ = ½d²/β if |d| < β else |d| − ½β,  d = x − y
    let smoothL1 (beta: float) (reduction: Reduction) (input: Tensor) (target: Tensor) =
        sameShape "smoothL1" input target
        if not (beta >= 0.0) then
            raise (ArgumentOutOfRangeException("beta", sprintf "smoothL1: beta=%g is negative (expected beta >= 0)" beta))
        let d = input - target
        let ad = Pointwise.abs d
        if beta = 0.0 then reduce reduction ad
        else
            let small = Pointwise.lt ad (scalarLike ad beta)
            reduce reduction (Pointwise.where small (Pointwise.square d * (0.5 / beta)) (ad - 0.5 * beta))

    /// Huber loss (torch.nn.functional.huber_loss).
    // ℓ = ½d² if |d| < δ else δ(|d| − ½δ),  d = x − y
    let huber (delta: float) (reduction: Reduction) (input: Tensor) (target: Tensor) =
        sameShape "huber" input target
        if not (delta > 0.0) then
            raise (ArgumentOutOfRangeException("delta", sprintf "huber: delta=%g is not positive (expected delta > 0)" delta))
        let d = input - target
        let ad = Pointwise.abs d
        let small = Pointwise.lt ad (scalarLike ad delta)
        reduce reduction (Pointwise.where small (Pointwise.square d * 0.5) ((ad - 0.5 * delta) * delta))

    /// Checks [N, C] scores against int64 class targets [N]; returns the targets on the host.
    let private classTargets (op: string) (scores: Tensor) (targets: Tensor) =
        floatInput op "input" scores
        if scores.Rank <> 2 then
            invalidArg "input" (sprintf "%s: input of shape %s is not [N, C] (expected rank 2)" op (Shape.show scores.Shape))
        if targets.DType <> DType.Int64 then
            invalidArg "target" (sprintf "%s: class targets of shape %s are %O (expected int64 class indices, or float probabilities of shape %s)" op (Shape.show targets.Shape) targets.DType (Shape.show scores.Shape))
        let n, c = scores.Shape.[0], scores.Shape.[1]
        if targets.Shape <> [| n |] then
            invalidArg "target" (sprintf "%s: targets of shape %s do not match input of shape %s (expected [%d])" op (Shape.show targets.Shape) (Shape.show scores.Shape) n)
        let t = targets.ToInt64Array()
        t |> Array.iteri (fun i k ->
            if k < 0L || k >= int64 c then
                raise (ArgumentOutOfRangeException("target", sprintf "%s: target %d at position %d is out of range for %d classes (expected 0..%d)" op k i c (c - 1))))
        t

    /// The [N, C] distribution (1 − ε)·onehot(t) + ε/C, built on the host, as a constant of the scores' dtype.
    let private smoothedOneHot (scores: Tensor) (t: int64[]) (eps: float) =
        let n, c = scores.Shape.[0], scores.Shape.[1]
        let q = Array.create (n * c) (eps / float c)
        t |> Array.iteri (fun i k -> q.[i * c + int k] <- q.[i * c + int k] + (1.0 - eps))
        Tensor(scores.Raw.Backend.FromFloat64(q, [| n; c |]).Cast scores.DType)

    /// Negative log-likelihood of class targets (torch.nn.functional.nll_loss, no weights, no ignore_index):
    /// logProbs [N, C], int64 targets [N]; Mean averages over N.
    // ℓₙ = −logProbs[n, tₙ]
    let nll (reduction: Reduction) (logProbs: Tensor) (targets: Tensor) =
        let t = classTargets "nll" logProbs targets
        let onehot = smoothedOneHot logProbs t 0.0
        reduce reduction (-(Reduction.sumDims [| 1 |] false (logProbs * onehot)))

    /// The gradient of a per-sample vector reduced by `reduction`, as an [N, 1] column.
    let private perSample (reduction: Reduction) (n: int) (g: Tensor) =
        match reduction with
        | Mean -> Tensor.Expand(Reshaping.reshape [| 1; 1 |] g, [| n; 1 |]) / float n
        | Sum -> Tensor.Expand(Reshaping.reshape [| 1; 1 |] g, [| n; 1 |])
        | NoReduction -> Reshaping.reshape [| n; 1 |] g

    /// Cross-entropy of logits [N, C] against int64 class targets [N] or float class probabilities [N, C]
    /// (torch.nn.functional.cross_entropy with label_smoothing; no weights, no ignore_index). Fused: one
    /// log-softmax pass for the value; Mean averages over N.
    // ℓₙ = −Σ_c qₙc·log softmax(xₙ)_c,  q = (1 − ε)·target + ε/C;  ∂ℓₙ/∂xₙ = softmax(xₙ)·Σ_c qₙc − qₙ
    let crossEntropyWith (labelSmoothing: float) (reduction: Reduction) (logits: Tensor) (targets: Tensor) =
        let op = "crossEntropy"
        if not (labelSmoothing >= 0.0 && labelSmoothing < 1.0) then
            raise (ArgumentOutOfRangeException("labelSmoothing", sprintf "%s: labelSmoothing=%g is outside [0, 1)" op labelSmoothing))
        floatInput op "input" logits
        if logits.Rank <> 2 then
            invalidArg "input" (sprintf "%s: input of shape %s is not [N, C] (expected rank 2)" op (Shape.show logits.Shape))
        let n, c = logits.Shape.[0], logits.Shape.[1]
        let eps = labelSmoothing
        let probTargets = targets.DType.IsFloat
        // q: the target distribution, a constant for class indices, a tensor expression for probabilities
        let q =
            if probTargets then
                if targets.Shape <> logits.Shape || targets.DType <> logits.DType then
                    invalidArg "target" (sprintf "%s: probability targets of shape %s (%O) do not match input of shape %s (%O) (expected the same shape and dtype)" op (Shape.show targets.Shape) targets.DType (Shape.show logits.Shape) logits.DType)
                if eps = 0.0 then targets else targets * (1.0 - eps) + eps / float c
            else smoothedOneHot logits (classTargets op logits targets) eps
        let logp = logits.Raw.LogSoftmax 1
        let losses = q.Raw.Binary(Backends.BinaryOp.Mul, logp).SumDims([| 1 |], false).Unary Backends.UnaryOp.Neg
        let value =
            match reduction with
            | Mean -> losses.SumDims([| 0 |], false).Unary(Backends.UnaryOp.MulScalar(1.0 / float n))
            | Sum -> losses.SumDims([| 0 |], false)
            | NoReduction -> losses
        let inputs = if probTargets then [| logits; targets |] else [| logits |]
        // first-order backward of class targets (nothing records, so no graph is needed through the rule):
        // gₙ·(softmax(x) − q) on raw values, three kernels instead of the recorded expression's seven
        let fastBackward (g: Tensor) =
            let gRaw =
                match reduction with
                | Mean -> g.Raw.Unary(Backends.UnaryOp.MulScalar(1.0 / float n))
                | Sum -> g.Raw
                | NoReduction -> g.Raw.Reshape [| n; 1 |]
            [| (if logits.RequiresGrad then Tensor(logits.Raw.Softmax(1).Binary(Backends.BinaryOp.Sub, q.Raw).Binary(Backends.BinaryOp.Mul, gRaw)) else null) |]
        Tensor.Record("cross_entropy", value, inputs, fun g ->
            if not probTargets && not GradMode.Enabled then fastBackward g
            else
                let gn = perSample reduction n g
                let gLogits =
                    if not logits.RequiresGrad then null
                    else
                        let p = Softmax.softmax 1 logits
                        if probTargets then gn * (p * Reduction.sumDims [| 1 |] true q - q)
                        else gn * (p - q)
                let gTargets =
                    if probTargets && targets.RequiresGrad then gn * Softmax.logSoftmax 1 logits * -(1.0 - eps)
                    else null
                if probTargets then [| gLogits; gTargets |] else [| gLogits |])

    /// Cross-entropy with torch's defaults: no label smoothing, mean over the batch.
    let crossEntropy (logits: Tensor) (targets: Tensor) = crossEntropyWith 0.0 Mean logits targets

    /// Binary cross-entropy on logits (torch.nn.functional.binary_cross_entropy_with_logits, no weight),
    /// stable for large |x|; posWeight (broadcast against the input, e.g. one per class) weights positives.
    // ℓ = (1 − y)·x + (1 + (p − 1)·y)·log(1 + e⁻ˣ);  without p: max(x,0) − x·y + log(1 + e^(−|x|))
    let bceWithLogits (posWeight: Tensor option) (reduction: Reduction) (logits: Tensor) (targets: Tensor) =
        sameShape "bceWithLogits" logits targets
        posWeight |> Option.iter (fun pw ->
            if pw.DType <> logits.DType then
                invalidArg "posWeight" (sprintf "bceWithLogits: posWeight is %O and input is %O (expected the same dtype)" pw.DType logits.DType)
            let outShape = Shape.broadcast "bceWithLogits" logits.Shape pw.Shape
            if outShape <> logits.Shape then
                invalidArg "posWeight" (sprintf "bceWithLogits: posWeight of shape %s does not broadcast to input of shape %s" (Shape.show pw.Shape) (Shape.show logits.Shape)))
        let softplusNeg = Pointwise.softplus (-logits)
        let losses =
            match posWeight with
            | None -> (1.0 - targets) * logits + softplusNeg
            | Some pw -> (1.0 - targets) * logits + (1.0 + (pw - 1.0) * targets) * softplusNeg
        reduce reduction losses
