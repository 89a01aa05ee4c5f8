module Hybrid.Tests.SwaTests

open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Optim
open Hybrid.Tests.Check

[<Property(MaxTest = 30)>]
let ``folding n weights into the running average gives their mean`` (seed: int) =
    let n = 1 + abs (seed % 6)
    let ws = Array.init n (fun i -> tensorOf (seed + i) [| 3 |])
    let avg = ws.[1 ..] |> Array.fold (fun (a, k) w -> Swa.average k a w, k + 1L) (ws.[0], 1L) |> fst
    let mean = Array.init 3 (fun j -> (ws |> Array.sumBy (fun w -> w.ToFloat64Array().[j])) / float n)
    (close 1e-12 1e-12 mean (avg.ToFloat64Array())).IsNone

[<Property(MaxTest = 30)>]
let ``an EMA of a constant stays at that constant, and decay 0 takes the new weights`` (seed: int) =
    let w = tensorOf seed [| 4 |]
    let d = float (abs seed % 100) / 100.0
    (close 1e-12 1e-12 (w.ToFloat64Array()) ((Swa.ema d w w).ToFloat64Array())).IsNone
    && (close 0.0 0.0 (w.ToFloat64Array()) ((Swa.ema 0.0 (tensorOf (seed + 1) [| 4 |]) w).ToFloat64Array())).IsNone

[<Property(MaxTest = 30)>]
let ``SWALR reaches swaLr after annealEpochs steps and stays there`` (seed: int) =
    let e = abs (seed % 8)
    let anneal = if seed % 2 = 0 then CosAnneal else LinearAnneal
    let lrs = Seq.init (e + 4) id |> Seq.scan (fun lr step -> Swa.swalrLr anneal e 0.05 step lr) 0.5 |> Seq.toArray
    lrs.[e + 1 ..] |> Array.forall (fun lr -> abs (lr - 0.05) < 1e-12)
