// Per-op timing of the CNN's two fused conv → relu → max-pool blocks (batch 64), forward and backward on raw tensors,
// with the gemms alone for reference. Run: dotnet build src/Core -c Release && dotnet fsi --optimize+ bench/block-ops.fsx
#r "nuget: System.Numerics.Tensors, 10.0.0"
#r "nuget: ILGPU, 1.5.3"
#r "../src/Core/bin/Release/net10.0/Hybrid.Core.dll"
open System.Diagnostics
open Hybrid.Core
open Hybrid.Core.Backends

let gen = Generator(1)
let time label (f: unit -> unit) =
    for _ in 1 .. 30 do f ()
    let ts = Array.init 300 (fun _ -> let sw = Stopwatch.StartNew() in f (); sw.Elapsed.TotalMilliseconds) |> Array.sort
    printfn "%-34s median %6.3f ms  min %6.3f ms" label ts.[150] ts.[0]
let spec = { Stride = (1, 1); Padding = (1, 1); Dilation = (1, 1); Groups = 1 }
for (c, o, hw) in [ (1, 16, 28); (16, 32, 14) ] do
    let x = (Create.randn gen Float32 [| 64; c; hw; hw |]).Raw
    let w = (Create.randn gen Float32 [| o; c; 3; 3 |] * 0.3).Raw
    let b = (Create.randn gen Float32 [| o |] * 0.1).Raw
    let zShape = [| 64; o; hw; hw |]
    let y, ix = x.Conv2dReluMaxPool(w, b, spec, zShape)
    let g = (Create.randn gen Float32 y.Shape).Raw
    time (sprintf "block %d->%d fwd" c o) (fun () -> x.Conv2dReluMaxPool(w, b, spec, zShape) |> ignore)
    time (sprintf "block %d->%d bwd (w, b)" c o) (fun () -> g.Conv2dReluMaxPoolBackward(y, ix, x, w, spec, zShape, true, false, true) |> ignore)
    if c > 1 then time (sprintf "block %d->%d bwd (x, w, b)" c o) (fun () -> g.Conv2dReluMaxPoolBackward(y, ix, x, w, spec, zShape, true, true, true) |> ignore)
    let a = (Create.randn gen Float32 [| o; c * 9 |]).Raw
    let cols = (Create.randn gen Float32 [| c * 9; 64 * hw * hw |]).Raw
    time (sprintf "  gemm [%d,%d]x[%d,%d]" o (c * 9) (c * 9) (64 * hw * hw)) (fun () -> a.Matmul cols |> ignore)

// the network's tail: flatten, linear 1568 -> 10, cross-entropy, forward and backward through the tape
let h = Create.randn gen Float32 [| 64; 32; 7; 7 |]
h.RequiresGrad <- true
let wl = Create.randn gen Float32 [| 10; 1568 |] * 0.02
let bl = Create.zeros Float32 [| 10 |]
wl.RequiresGrad <- true
bl.RequiresGrad <- true
let labels = Create.ofInt64 (Array.init 64 (fun i -> int64 (i % 10))) [| 64 |]
let tail () = Loss.crossEntropy (Linalg.linear (Reshaping.reshape [| 64; 1568 |] h) wl bl) labels
time "tail fwd (reshape, linear, CE)" (fun () -> tail () |> ignore)
time "tail fwd + bwd" (fun () -> Tape.gradWith [| tail () |] null [| h; wl; bl |] false false |> ignore)
