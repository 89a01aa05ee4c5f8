// Whole Fashion-MNIST MLP training step (784-256-128-10, forward, cross-entropy, backward, Adam in place),
// per batch of 64, with a per-phase breakdown. Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/mlp-step.fsx
// (HYBRID_NO_BLAS=1 measures the managed gemm.) fsi does not read the CLI's runtimeconfig: to run under the same
// settings prefix DOTNET_GCLOHThreshold=0x1000000 DOTNET_TC_QuickJit=0 DOTNET_TieredPGO=0 (otherwise the 800 KB weight
// gradient goes to the large object heap and a gen2 collection follows every ~25 steps).
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "nuget: ILGPU, 1.5.3"
#r "../src/Core/bin/Release/net10.0/Hybrid.Core.dll"
#load "StepTiming.fsx"

open System.Diagnostics
open Hybrid.Core
open Hybrid.Core.Optim
open StepTiming

let gen = Generator(1)
let x = Create.randn gen Float32 [| 64; 784 |]
let labels = Create.ofInt64 (Array.init 64 (fun i -> int64 (i % 10))) [| 64 |]
let w1 = Create.randn gen Float32 [| 256; 784 |] * 0.03
let b1 = Create.zeros Float32 [| 256 |]
let w2 = Create.randn gen Float32 [| 128; 256 |] * 0.06
let b2 = Create.zeros Float32 [| 128 |]
let w3 = Create.randn gen Float32 [| 10; 128 |] * 0.09
let b3 = Create.zeros Float32 [| 10 |]
let ps = [| w1; b1; w2; b2; w3; b3 |]
for p in ps do p.RequiresGrad <- true
let opt = Adam.create AdamHyper.defaults

let forward () =
    let h = Linalg.linear x w1 b1 |> Pointwise.relu
    let h = Linalg.linear h w2 b2 |> Pointwise.relu
    Loss.crossEntropy (Linalg.linear h w3 b3) labels

timeSteps "MLP" forward ps opt 50 1000 3
// the three products alone, as the step runs them (forward x·Wᵀ, backward g·W and gᵀ·x)
let gemm () =
    let sw = Stopwatch.StartNew()
    for _ in 1 .. 200 do
        x.Raw.MatmulT(w1.Raw, false, true) |> ignore
        let g1 = Create.randn gen Float32 [| 64; 256 |]
        g1.Raw.MatmulT(x.Raw, true, false) |> ignore
    sw.Elapsed.TotalMilliseconds / 200.0
gemm () |> ignore
printfn "  layer-1 gemms (fwd + dW, incl. a randn) %.3f ms" (gemm ())
