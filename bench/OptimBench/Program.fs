/// One in-place Adam step and one SGD-momentum step on 10M float32 parameters, against torch (foreach=True,
/// 2 threads, bench/optim_torch.py) run from the same program, and against the memory-bandwidth bound
/// (streams × 4 B × n at the triad bandwidth measured here). Run: dotnet run -c Release --project bench/OptimBench
module OptimBench

open System
open System.Diagnostics
open System.Runtime.Intrinsics
open System.Threading.Tasks
open Hybrid.Core
open Hybrid.Core.Optim

let n = 10_000_000
let reps = 15

/// Median wall time of `reps` runs after 3 warm-ups, in milliseconds.
let median (f: unit -> unit) =
    for _ in 1 .. 3 do f ()
    let ts = Array.init reps (fun _ -> let sw = Stopwatch.StartNew() in f (); sw.Elapsed.TotalMilliseconds)
    Array.sortInPlace ts
    ts.[reps / 2]

/// STREAM triad a ← b + s·c over the cores (Vector256, same chunking as the optimizer driver): GB/s counting 3 streams.
let triad () =
    let a, b, c = Array.zeroCreate<float32> n, Array.create n 1.0f, Array.create n 2.0f
    let k = Environment.ProcessorCount
    let size = ((n + k - 1) / k + 7) / 8 * 8
    let s = Vector256.Create 3.0f
    let run () =
        Parallel.For(0, k, fun t ->
            let lo, hi = t * size, min n ((t + 1) * size)
            let mutable i = lo
            while i + 8 <= hi do
                (Vector256.LoadUnsafe(&b.[i]) + s * Vector256.LoadUnsafe(&c.[i])).StoreUnsafe(&a.[i])
                i <- i + 8
            while i < hi do
                a.[i] <- b.[i] + 3.0f * c.[i]
                i <- i + 1) |> ignore
    let ms = median run
    3.0 * 4.0 * float n / (ms * 1e-3) / 1e9

let stepMs (opt: Optimizer<OptimState>) =
    let r = Random(1)
    let p = [| Create.ofFloat32 (Array.init n (fun _ -> float32 (r.NextDouble() - 0.5))) [| n |] |]
    let g = [| Create.ofFloat32 (Array.init n (fun _ -> float32 (r.NextDouble() - 0.5) * 1e-3f)) [| n |] |]
    let mutable s = opt.Init p
    median (fun () -> s <- opt.UpdateInPlace s g p)

let torch () =
    try
        let psi = ProcessStartInfo("/usr/bin/python3", "bench/optim_torch.py", RedirectStandardOutput = true, UseShellExecute = false)
        use proc = Process.Start psi
        let out = proc.StandardOutput.ReadToEnd()
        proc.WaitForExit()
        out.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        |> Array.choose (fun l -> match l.Split(' ') with [| k; v |] -> Some(k, float v) | _ -> None)
        |> Map.ofArray
    with e -> eprintfn "torch run failed: %s" e.Message; Map.empty

[<EntryPoint>]
let main _ =
    printfn "n = %d float32 parameters, %d threads, median of %d steps" n Environment.ProcessorCount reps
    let bw = triad ()
    let adam = stepMs (Adam.create AdamHyper.defaults)
    let sgd = stepMs (Sgd.create { SgdHyper.defaults with Lr = 1e-3; Momentum = 0.9 })
    let t = torch ()
    let bound streams = float streams * 4.0 * float n / (bw * 1e9) * 1e3
    printfn "triad bandwidth: %.1f GB/s" bw
    printfn "%-14s %10s %10s %9s %12s %10s" "step" "hybrid ms" "torch ms" "torch/hyb" "bound ms" "of bound"
    for name, ms, key, streams in [ "adam", adam, "adam_ms", 7; "sgd momentum", sgd, "sgd_ms", 5 ] do
        let tm = t.TryFind key |> Option.defaultValue nan
        printfn "%-14s %10.2f %10.2f %9.2f %12.2f %9.0f%%" name ms tm (tm / ms) (bound streams) (100.0 * bound streams / ms)
    0
