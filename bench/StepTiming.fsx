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
    let gc0, gc1, gc2 = System.GC.CollectionCount 0, System.GC.CollectionCount 1, System.GC.CollectionCount 2
    let bytes0, pause0 = System.GC.GetTotalAllocatedBytes false, System.GC.GetTotalPauseDuration()
    let pool0 = Hybrid.Core.Backends.Cpu.OutputArrays.stats ()
    let ts = Array.init runs (fun _ -> let sw = Stopwatch.StartNew() in step (); sw.Elapsed.TotalMilliseconds) |> Array.sort
    let f (v: float) = v.ToString("F" + string digits)
    printfn "%s step: median %s ms  min %s ms  mean %s ms (%d runs; %d gen0 / %d gen2 GCs)" name (f ts.[runs / 2]) (f ts.[0]) (f (Array.average ts)) runs
        (System.GC.CollectionCount 0 - gc0) (System.GC.CollectionCount 2 - gc2)
    let reused0, fresh0, collections0, _ = pool0
    let reused1, fresh1, collections1, _ = Hybrid.Core.Backends.Cpu.OutputArrays.stats ()
    printfn "  per step: %.2f MB allocated; GCs: %d gen0 + gen1 (%d of them gen1 or 2), %.1f ms pause in all; pool: %d reused, %d fresh, %d collections asked"
        (float (System.GC.GetTotalAllocatedBytes false - bytes0) / float runs / 1048576.0)
        (System.GC.CollectionCount 0 - gc0) (System.GC.CollectionCount 1 - gc1)
        (System.GC.GetTotalPauseDuration() - pause0).TotalMilliseconds (reused1 - reused0) (fresh1 - fresh0) (collections1 - collections0)
    printfn "  mean forward %s  backward %s  adam %s ms" (f (phases.[0] / float runs)) (f (phases.[1] / float runs)) (f (phases.[2] / float runs))
    printfn "  working set %d MB" (Process.GetCurrentProcess().WorkingSet64 >>> 20)
