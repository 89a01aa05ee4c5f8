module Hybrid.Tests.InitTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check

[<Fact>]
let ``fans of a conv weight count the receptive field`` () =
    Assert.Equal((3 * 5 * 5, 16 * 5 * 5), Init.fans "t" [| 16; 3; 5; 5 |])

[<Property(MaxTest = 30)>]
let ``xavier uniform stays within gain times sqrt(6 over fan_in plus fan_out)`` (seed: int) =
    let w = Init.xavierUniform (Generator seed) Float64 [| 20; 30 |] 2.0
    let bound = 2.0 * sqrt (6.0 / 50.0)
    w.ToFloat64Array() |> Array.forall (fun v -> abs v <= bound)

[<Property(MaxTest = 20)>]
let ``orthogonal rows are orthonormal times the gain`` (seed: int) =
    let rows, cols = 5, 8
    let w = (Init.orthogonal (Generator seed) Float64 [| rows; cols |] 1.5).ToFloat64Array()
    for i in 0 .. rows - 1 do
        for j in 0 .. rows - 1 do
            let d = Seq.sum (seq { for k in 0 .. cols - 1 -> w.[i * cols + k] * w.[j * cols + k] })
            let expected = if i = j then 1.5 * 1.5 else 0.0
            if abs (d - expected) > 1e-10 then failwithf "row %d . row %d = %g (expected %g)" i j d expected
    true

[<Fact>]
let ``kaiming normal has std gain over sqrt fan`` () =
    let w = (Init.kaimingNormal (Generator 1) Float64 [| 400; 500 |] 0.0 FanIn "relu").ToFloat64Array()
    let mean = Array.average w
    let std = sqrt (w |> Array.averageBy (fun v -> (v - mean) ** 2.0))
    Assert.InRange(std, sqrt 2.0 / sqrt 500.0 * 0.98, sqrt 2.0 / sqrt 500.0 * 1.02)

[<Fact>]
let ``gain of an unknown nonlinearity names it`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Init.gain "swishy" 0.0 |> ignore)
    Assert.Contains("swishy", e.Message)

[<Fact>]
let ``torch default weight bound is one over sqrt fan_in`` () =
    let w = (Init.torchDefaultWeight (Generator 3) Float64 [| 64; 100 |]).ToFloat64Array()
    Assert.True(w |> Array.forall (fun v -> abs v <= 0.1))
    Assert.True(w |> Array.exists (fun v -> abs v > 0.09))
