namespace Hybrid.Core

open System

/// How per-class precision, recall and F1 are combined (sklearn's `average`).
type ClassAverage =
    /// The unweighted mean over classes.
    | Macro
    /// From the summed counts over classes (for single-label data, precision = recall = F1 = accuracy).
    | Micro
    /// The mean over classes weighted by each class's number of true instances (its support).
    | Weighted

/// Classification metrics of predictions against integer class targets: accuracy, top-k accuracy, the confusion
/// matrix, precision / recall / F1. Predictions are either scores [N, C] (the predicted class is the argmax of each
/// row) or class indices [N]. Values are plain floats (no graph); a class with no predicted (or no true) instances
/// has precision (or recall) 0, as sklearn's zero_division = 0.
module Classification =

    let private targetsOf (op: string) (targets: Tensor) =
        if isNull targets then invalidArg "targets" (sprintf "%s: targets are null" op)
        if targets.Rank <> 1 then invalidArg "targets" (sprintf "%s: targets must be class indices of shape [N], got shape %s" op (Shape.show targets.Shape))
        if targets.DType.IsFloat then invalidArg "targets" (sprintf "%s: targets must be int64 class indices, got %O" op targets.DType)
        targets.ToInt64Array()

    /// The predicted class of each row.
    let private predictedOf (op: string) (n: int) (predictions: Tensor) =
        if isNull predictions then invalidArg "predictions" (sprintf "%s: predictions are null" op)
        let labels =
            match predictions.Rank with
            | 1 when not predictions.DType.IsFloat -> predictions.ToInt64Array()
            | 2 ->
                let c = predictions.Shape.[1]
                if c = 0 then invalidArg "predictions" (sprintf "%s: scores of shape %s have no classes" op (Shape.show predictions.Shape))
                let s = predictions.ToFloat64Array()
                Array.init predictions.Shape.[0] (fun i ->
                    let mutable best = 0
                    for j in 1 .. c - 1 do if s.[i * c + j] > s.[i * c + best] then best <- j
                    int64 best)
            | _ -> invalidArg "predictions" (sprintf "%s: predictions must be scores [N, C] or int64 class indices [N], got %O of shape %s" op predictions.DType (Shape.show predictions.Shape))
        if labels.Length <> n then
            invalidArg "predictions" (sprintf "%s: %d predictions for %d targets (shapes %s and [%d])" op labels.Length n (Shape.show predictions.Shape) n)
        labels

    /// Fraction of rows whose predicted class equals the target (NaN for no rows).
    let accuracy (predictions: Tensor) (targets: Tensor) =
        let t = targetsOf "accuracy" targets
        let p = predictedOf "accuracy" t.Length predictions
        if t.Length = 0 then nan
        else float (Array.fold2 (fun c a b -> if a = b then c + 1 else c) 0 p t) / float t.Length

    /// Fraction of rows whose target is among the k highest scores: a hit when fewer than k classes score strictly
    /// higher than the target's class (ties count in the target's favour). scores [N, C], 1 ≤ k ≤ C.
    let topKAccuracy (k: int) (scores: Tensor) (targets: Tensor) =
        let t = targetsOf "topKAccuracy" targets
        if isNull scores || scores.Rank <> 2 || not scores.DType.IsFloat then
            invalidArg "scores" (sprintf "topKAccuracy: scores must be float [N, C], got %s" (if isNull scores then "null" else sprintf "%O of shape %s" scores.DType (Shape.show scores.Shape)))
        let n, c = scores.Shape.[0], scores.Shape.[1]
        if n <> t.Length then invalidArg "scores" (sprintf "topKAccuracy: %d score rows for %d targets" n t.Length)
        if k < 1 || k > c then raise (ArgumentOutOfRangeException("k", k, sprintf "topKAccuracy: k = %d must be in 1..%d (the number of classes)" k c))
        let s = scores.ToFloat64Array()
        let hits =
            Seq.init n (fun i ->
                let ti = int t.[i]
                if ti < 0 || ti >= c then invalidArg "targets" (sprintf "topKAccuracy: target %d of row %d is not a class in 0..%d" ti i (c - 1))
                let st = s.[i * c + ti]
                let higher = Seq.init c (fun j -> s.[i * c + j]) |> Seq.filter (fun v -> v > st) |> Seq.length
                higher < k)
            |> Seq.filter id |> Seq.length
        if n = 0 then nan else float hits / float n

    /// The confusion matrix [numClasses, numClasses] (int64): entry [i, j] counts rows of true class i predicted as j.
    let confusionMatrix (numClasses: int) (predictions: Tensor) (targets: Tensor) =
        if numClasses < 1 then raise (ArgumentOutOfRangeException("numClasses", numClasses, sprintf "confusionMatrix: numClasses = %d must be >= 1" numClasses))
        let t = targetsOf "confusionMatrix" targets
        let p = predictedOf "confusionMatrix" t.Length predictions
        let m = Array.zeroCreate (numClasses * numClasses)
        for i in 0 .. t.Length - 1 do
            let check (what: string) (v: int64) =
                if v < 0L || v >= int64 numClasses then
                    invalidArg what (sprintf "confusionMatrix: %s %d of row %d is not a class in 0..%d" what v i (numClasses - 1))
            check "targets" t.[i]
            check "predictions" p.[i]
            let k = int t.[i] * numClasses + int p.[i]
            m.[k] <- m.[k] + 1L
        Create.ofInt64 m [| numClasses; numClasses |]

    let private ratio (a: float) (b: float) = if b = 0.0 then 0.0 else a / b

    /// Per-class (precision, recall, F1) arrays: precision = TP/(TP + FP), recall = TP/(TP + FN), F1 = 2PR/(P + R).
    let precisionRecallF1PerClass (numClasses: int) (predictions: Tensor) (targets: Tensor) =
        let cm = (confusionMatrix numClasses predictions targets).ToInt64Array() |> Array.map float
        let c = numClasses
        let tp = Array.init c (fun i -> cm.[i * c + i])
        let predicted = Array.init c (fun j -> Seq.sum (seq { for i in 0 .. c - 1 -> cm.[i * c + j] }))
        let actual = Array.init c (fun i -> Seq.sum (seq { for j in 0 .. c - 1 -> cm.[i * c + j] }))
        let p = Array.init c (fun i -> ratio tp.[i] predicted.[i])
        let r = Array.init c (fun i -> ratio tp.[i] actual.[i])
        let f = Array.init c (fun i -> ratio (2.0 * p.[i] * r.[i]) (p.[i] + r.[i]))
        p, r, f, actual

    /// Precision, recall and F1 combined over classes by `average` (sklearn's precision_recall_fscore_support).
    let precisionRecallF1 (numClasses: int) (average: ClassAverage) (predictions: Tensor) (targets: Tensor) =
        let p, r, f, support = precisionRecallF1PerClass numClasses predictions targets
        match average with
        | Macro -> Array.average p, Array.average r, Array.average f
        | Weighted ->
            let total = Array.sum support
            let w (xs: float[]) = ratio (Array.fold2 (fun s x n -> s + x * n) 0.0 xs support) total
            w p, w r, w f
        | Micro ->
            let cm = (confusionMatrix numClasses predictions targets).ToInt64Array()
            let tp = Seq.sum (seq { for i in 0 .. numClasses - 1 -> cm.[i * numClasses + i] }) |> float
            let all = Array.sum cm |> float
            // Σ(TP + FP) = Σ(TP + FN) = N for single-label data
            let pr = ratio tp all
            pr, pr, pr
