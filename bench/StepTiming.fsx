// Shared by bench/cnn-step.fsx and bench/mlp-step.fsx: times a whole training step (forward, backward by the
// tape, in-place optimizer update) with a per-phase breakdown. Load after referencing Hybrid.Core.
open System.Diagnostics
open Hybrid.Core
open Hybrid.Core.Optim

/// Runs `warmup` untimed steps, then `runs` timed ones, and prints the median/min/mean step time, the GCs, the mean
/// forward / backward / optimizer split (with `digits` decimals) and the working set.
let timeSteps (name: string) (forward: unit -> Tensor) (ps: Tensor[]) (opt: Optimizer<OptimState>) (warmup: int) (runs: int) (digits: int) =
    let mutable state = opt.Init ps
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
    for _ in 1 .. warmup do step ()
    System.Array.Clear phases
    let gc0, gc2 = System.GC.CollectionCount 0, System.GC.CollectionCount 2
    let ts = Array.init runs (fun _ -> let sw = Stopwatch.StartNew() in step (); sw.Elapsed.TotalMilliseconds) |> Array.sort
    let f (v: float) = v.ToString("F" + string digits)
    printfn "%s step: median %s ms  min %s ms  mean %s ms (%d runs; %d gen0 / %d gen2 GCs)" name (f ts.[runs / 2]) (f ts.[0]) (f (Array.average ts)) runs
        (System.GC.CollectionCount 0 - gc0) (System.GC.CollectionCount 2 - gc2)
    printfn "  mean forward %s  backward %s  adam %s ms" (f (phases.[0] / float runs)) (f (phases.[1] / float runs)) (f (phases.[2] / float runs))
    printfn "  working set %d MB" (Process.GetCurrentProcess().WorkingSet64 >>> 20)
