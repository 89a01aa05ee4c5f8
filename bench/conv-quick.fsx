// Quick, BenchmarkDotNet-free timing of the CNN's convolution layers, forward + backward, per batch.
// Run by hand after `dotnet build src/Core -c Release`:   dotnet fsi bench/conv-quick.fsx
// (HYBRID_NO_BLAS=1 measures the managed gemm instead of OpenBLAS.)
// Every op returns fresh arrays of 0.2-3 MB; at .NET's default 85 KB large-object threshold each step then
// triggers a gen-2 GC (printed below). DOTNET_GCLOHThreshold=0x1000000 (16 MB; in an app, the runtimeconfig
// option System.GC.LOHThreshold) keeps them in gen 0: measured 4-5x lower median step time on this machine.
// Sizes: the Fashion-MNIST CNN, batch 64: [64,1,28,28] -> conv 16 3x3 (pad 1) -> max-pool 2
//        -> conv 32 3x3 (pad 1) -> max-pool 2 -> [64,32,7,7] (the linear layer is not timed here).
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "../src/Core/bin/Release/net10.0/Hybrid.Core.dll"

open System.Diagnostics
open Hybrid.Core

let gen = Generator(1)
let x = Create.randn gen Float32 [| 64; 1; 28; 28 |]
let w1 = Create.randn gen Float32 [| 16; 1; 3; 3 |] * 0.3
let b1 = Create.zeros Float32 [| 16 |]
let w2 = Create.randn gen Float32 [| 32; 16; 3; 3 |] * 0.1
let b2 = Create.zeros Float32 [| 32 |]
let r = Create.randn gen Float32 [| 64; 32; 7; 7 |]
for p in [ w1; b1; w2; b2 ] do p.RequiresGrad <- true

let step () =
    let h = Convolution.conv2dSquare x w1 b1 1 1 1 1 |> Convolution.maxPool2dSquare 2 2 0
    let y = Convolution.conv2dSquare h w2 b2 1 1 1 1 |> Convolution.maxPool2dSquare 2 2 0
    Tape.gradWith [| Reduction.sum (y * r) |] null [| w1; b1; w2; b2 |] false false |> ignore

let time label (f: unit -> unit) =
    for _ in 1 .. 5 do f ()
    let runs = 30
    let gc0, gc2 = System.GC.CollectionCount 0, System.GC.CollectionCount 2
    let ts = Array.init runs (fun _ -> let sw = Stopwatch.StartNew() in f (); sw.Elapsed.TotalMilliseconds) |> Array.sort
    printfn "%-40s median %7.2f ms   min %7.2f ms  (%d runs; %d gen0 / %d gen2 GCs)" label ts.[runs / 2] ts.[0] runs
        (System.GC.CollectionCount 0 - gc0) (System.GC.CollectionCount 2 - gc2)

let fwd () =
    use _ = GradMode.NoGrad()
    let h = Convolution.conv2dSquare x w1 b1 1 1 1 1 |> Convolution.maxPool2dSquare 2 2 0
    Convolution.conv2dSquare h w2 b2 1 1 1 1 |> Convolution.maxPool2dSquare 2 2 0 |> ignore

time "CNN conv layers, forward only" fwd
time "CNN conv layers, forward + backward" step
