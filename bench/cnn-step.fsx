// Whole Fashion-MNIST CNN training step (forward, cross-entropy, backward, Adam in place), per batch,
// with a per-phase breakdown. Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/cnn-step.fsx
// (HYBRID_NO_BLAS=1 measures the managed gemm.)
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "nuget: ILGPU, 1.5.3"
#r "../src/Core/bin/Release/net10.0/Hybrid.Core.dll"
#load "StepTiming.fsx"

open Hybrid.Core
open Hybrid.Core.Optim
open StepTiming

let gen = Generator(1)
let x = Create.randn gen Float32 [| 64; 1; 28; 28 |]
let labels = Create.ofInt64 (Array.init 64 (fun i -> int64 (i % 10))) [| 64 |]
let w1 = Create.randn gen Float32 [| 16; 1; 3; 3 |] * 0.3
let b1 = Create.zeros Float32 [| 16 |]
let w2 = Create.randn gen Float32 [| 32; 16; 3; 3 |] * 0.1
let b2 = Create.zeros Float32 [| 32 |]
let wl = Create.randn gen Float32 [| 10; 1568 |] * 0.02
let bl = Create.zeros Float32 [| 10 |]
let ps = [| w1; b1; w2; b2; wl; bl |]
for p in ps do p.RequiresGrad <- true
let opt = Adam.create AdamHyper.defaults

// UNFUSED=1: conv2d, relu and max-pool as three ops (what the fused block replaces)
let unfused = System.Environment.GetEnvironmentVariable "UNFUSED" = "1"
let block (h: Tensor) (w: Tensor) (b: Tensor) =
    if unfused then Convolution.conv2dSquare h w b 1 1 1 1 |> Pointwise.relu |> Convolution.maxPool2dSquare 2 2 0
    else Convolution.conv2dReluMaxPool2dSquare h w b 1 1 1 1

let forward () =
    let h = block (block x w1 b1) w2 b2
    let logits = Linalg.linear (Reshaping.reshape [| 64; 1568 |] h) wl bl
    Loss.crossEntropy logits labels

timeSteps "CNN" forward ps opt 20 (match System.Environment.GetEnvironmentVariable "RUNS" with null -> 200 | s -> int s) 2
