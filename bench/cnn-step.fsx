// Whole Fashion-MNIST CNN training step (forward, cross-entropy, backward, Adam in place), per batch,
// with a per-phase breakdown. Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/cnn-step.fsx
// (HYBRID_NO_BLAS=1 measures the managed gemm.)
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "nuget: ILGPU, 1.5.3"
#r "../src/Core/bin/Release/net10.0/Hybrid.Core.dll"

open System.Diagnostics
open Hybrid.Core
open Hybrid.Core.Optim

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
let mutable state = opt.Init ps

let forward () =
    let h = Convolution.conv2dSquare x w1 b1 1 1 1 1 |> Pointwise.relu |> Convolution.maxPool2dSquare 2 2 0
    let h = Convolution.conv2dSquare h w2 b2 1 1 1 1 |> Pointwise.relu |> Convolution.maxPool2dSquare 2 2 0
    let logits = Linalg.linear (Reshaping.reshape [| 64; 1568 |] h) wl bl
    Loss.crossEntropy logits labels

let phases = Array.zeroCreate<float> 3
let step () =
    let sw = Stopwatch.StartNew()
    let loss = forward ()
    let t0 = sw.Elapsed.TotalMilliseconds
    let gs = Tape.gradWith [| loss |] null ps false false
    let t1 = sw.Elapsed.TotalMilliseconds
    state <- opt.UpdateInPlace state gs ps
    let t2 = sw.Elapsed.TotalMilliseconds
    phases.[0] <- phases.[0] + t0; phases.[1] <- phases.[1] + t1 - t0; phases.[2] <- phases.[2] + t2 - t1

for _ in 1 .. 20 do step ()
System.Array.Clear phases
let runs = 200
let gc0, gc2 = System.GC.CollectionCount 0, System.GC.CollectionCount 2
let ts = Array.init runs (fun _ -> let sw = Stopwatch.StartNew() in step (); sw.Elapsed.TotalMilliseconds) |> Array.sort
printfn "CNN step: median %.2f ms  min %.2f ms  mean %.2f ms (%d runs; %d gen0 / %d gen2 GCs)" ts.[runs / 2] ts.[0] (Array.average ts) runs
    (System.GC.CollectionCount 0 - gc0) (System.GC.CollectionCount 2 - gc2)
printfn "  mean forward %.2f  backward %.2f  adam %.2f ms" (phases.[0] / float runs) (phases.[1] / float runs) (phases.[2] / float runs)
printfn "  working set %d MB" (System.Diagnostics.Process.GetCurrentProcess().WorkingSet64 >>> 20)
