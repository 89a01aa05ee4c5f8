/// `--probe`: a Stopwatch check of the managed kernel against OpenBLAS at 1024³, same process, with the
/// wall time and the process CPU time per product (CPU-time throughput moves less when other jobs share the cores).
module Hybrid.Bench.Probe

open System
open System.Diagnostics
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

/// Best wall time and mean CPU time per call of f over `rounds` rounds of `reps` calls, after a warmup.
let private measure (name: string) (flops: float) (f: unit -> unit) =
    // warm up long enough for the JIT's tier-1 code (tiering waits ~100 ms after the last tier-0 compile)
    let warm = Stopwatch.StartNew()
    while warm.Elapsed.TotalMilliseconds < 500.0 do f ()
    let p = Process.GetCurrentProcess()
    let mutable best = Double.MaxValue
    let mutable cpu = 0.0
    let rounds, reps = 5, 5
    for _ in 1 .. rounds do
        p.Refresh()
        let cpu0 = p.TotalProcessorTime
        let sw = Stopwatch.StartNew()
        for _ in 1 .. reps do f ()
        best <- min best (sw.Elapsed.TotalSeconds / float reps)
        p.Refresh()
        cpu <- cpu + (p.TotalProcessorTime - cpu0).TotalSeconds / float (reps * rounds)
    printfn "%-22s best wall %8.2f ms %7.1f GFLOP/s | cpu %8.2f ms %7.1f GFLOP/s per cpu-second" name (best * 1e3) (flops / best * 1e-9) (cpu * 1e3) (flops / cpu * 1e-9)

/// Managed vs OpenBLAS, float32 and float64, n x n x n.
let run (n: int) =
    let r = Random(1)
    let a = Array.init (n * n) (fun _ -> float32 (r.NextDouble() * 2.0 - 1.0))
    let b = Array.init (n * n) (fun _ -> float32 (r.NextDouble() * 2.0 - 1.0))
    let c = Array.zeroCreate<float32> (n * n)
    let a64, b64, c64 = Array.map float a, Array.map float b, Array.zeroCreate<float> (n * n)
    let flops = 2.0 * float n ** 3.0
    printfn "matmul %d^3 on %d cores, load %s" n Environment.ProcessorCount (IO.File.ReadAllText("/proc/loadavg").Trim())
    measure "managed f32" flops (fun () -> Array.Clear c; Matmul.managed (ReadOnlyMemory a) (ReadOnlyMemory b) (Memory c) n n n)
    measure "OpenBLAS sgemm" flops (fun () -> Blas.sgemm false false n n n 1.0f (ReadOnlySpan a) n (ReadOnlySpan b) n 0.0f (Span c) n)
    measure "managed f64" flops (fun () -> Array.Clear c64; Matmul.managed (ReadOnlyMemory a64) (ReadOnlyMemory b64) (Memory c64) n n n)
    measure "OpenBLAS dgemm" flops (fun () -> Blas.dgemm false false n n n 1.0 (ReadOnlySpan a64) n (ReadOnlySpan b64) n 0.0 (Span c64) n)
