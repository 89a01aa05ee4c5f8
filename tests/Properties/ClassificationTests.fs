module Hybrid.Tests.ClassificationTests

open FsCheck.Xunit
open Hybrid.Core

/// Random targets and predictions over c classes, from a seed.
let private labels (seed: int) =
    let g = Generator(seed)
    let c = 1 + abs (seed % 5)
    let n = 1 + abs (seed / 5 % 40)
    let t = Array.init n (fun _ -> int64 (g.NextInt(0, c)))
    let p = Array.init n (fun _ -> int64 (g.NextInt(0, c)))
    c, Create.ofInt64 p [| n |], Create.ofInt64 t [| n |]

[<Property(MaxTest = 50)>]
let ``accuracy is the confusion matrix's trace over its total, and equals micro precision, recall and F1`` (seed: int) =
    let c, p, t = labels seed
    let cm = (Classification.confusionMatrix c p t).ToInt64Array()
    let trace = Seq.sum (seq { for i in 0 .. c - 1 -> cm.[i * c + i] })
    let acc = Classification.accuracy p t
    let mp, mr, mf = Classification.precisionRecallF1 c Micro p t
    Array.sum cm = int64 t.Numel && abs (acc - float trace / float t.Numel) < 1e-12
    && abs (mp - acc) < 1e-12 && abs (mr - acc) < 1e-12 && abs (mf - acc) < 1e-12

[<Property(MaxTest = 50)>]
let ``F1 lies between precision and recall's minimum and maximum, per class`` (seed: int) =
    let c, p, t = labels seed
    let ps, rs, fs, _ = Classification.precisionRecallF1PerClass c p t
    Array.forall id (Array.init c (fun i -> fs.[i] >= min ps.[i] rs.[i] - 1e-12 && fs.[i] <= max ps.[i] rs.[i] + 1e-12))

[<Property(MaxTest = 50)>]
let ``top-1 accuracy of scores is the accuracy of their argmax, and top-C accuracy is 1`` (seed: int) =
    let g = Generator(seed)
    let c = 1 + abs (seed % 5)
    let n = 1 + abs (seed / 5 % 20)
    let scores = Create.uniform g Float64 [| n; c |] -1.0 1.0
    let t = Create.ofInt64 (Array.init n (fun _ -> int64 (g.NextInt(0, c)))) [| n |]
    abs (Classification.topKAccuracy 1 scores t - Classification.accuracy scores t) < 1e-12
    && Classification.topKAccuracy c scores t = 1.0
