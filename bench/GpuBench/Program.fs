/// GPU figures the ILGPU backend is judged by, measured only where a CUDA device is present:
///   1. fused Adam step on 10M and 100M float32 parameters, as a fraction of device copy bandwidth
///      (one step moves 7 streams × 4 B per element: reads p, g, m, v; writes p, m, v);
///   2. float32 matmul 8192³ through cuBLAS (ILGPU.Algorithms), in TFLOP/s.
/// Without a CUDA device it prints "no CUDA device" and exits 0.
///
/// `gpu-bench check [device]` runs every test of tests/Properties/IlgpuTests.fs (the test code itself, through
/// reflection, on `device`, default cuda:0) and exits with the number of failures: the GPU run of the suite
/// that CI runs on ilgpu-cpu. Set HYBRID_NO_CUBLAS=1 to run the matmul tests on the tiled kernel instead.
module GpuBench.Program

open System
open System.Diagnostics
open ILGPU
open ILGPU.Runtime
open Hybrid.Core
open Hybrid.Core.Backends.Ilgpu
open Hybrid.Core.Optim

/// Median seconds of `reps` timed runs of f after `warm` untimed ones (the device is synchronized around each).
let time (gpu: Gpu) (warm: int) (reps: int) (f: unit -> unit) =
    for _ in 1 .. warm do f ()
    gpu.Synchronize()
    let ts =
        Array.init reps (fun _ ->
            let sw = Stopwatch.StartNew()
            f ()
            gpu.Synchronize()
            sw.Elapsed.TotalSeconds)
    Array.sortInPlace ts
    ts.[reps / 2]

/// Device-to-device copy bandwidth (read + write bytes per second) on n float32.
let copyBandwidth (gpu: Gpu) (n: int64) =
    use a = gpu.Accelerator.Allocate1D<float32>(n)
    use b = gpu.Accelerator.Allocate1D<float32>(n)
    let src = a.View
    let s = time gpu 3 11 (fun () -> b.View.CopyFrom(gpu.Stream, &src))
    2.0 * float n * 4.0 / s

let adam (device: Device) (gpu: Gpu) (n: int) =
    let backend = Devices.backendOf device
    let p = Tensor(backend.Full([| n |], 0.5, Float32))
    let g = Tensor(backend.Full([| n |], 0.01, Float32))
    let opt = Adam.create { AdamHyper.defaults with Lr = 1e-3 }
    let mutable s = opt.Init [| p |]
    let allocs0 = gpu.Pool.Allocations
    let sec = time gpu 3 21 (fun () -> s <- opt.UpdateInPlace s [| g |] [| p |])
    let bw = 7.0 * 4.0 * float n / sec
    let copy = copyBandwidth gpu (int64 n)
    printfn "adam float32 n=%-10d step %8.3f ms  %7.1f GB/s  copy %7.1f GB/s  ratio %5.1f%%  (target >= 80%%)  new buffers during timing: %d"
        n (sec * 1e3) (bw / 1e9) (copy / 1e9) (100.0 * bw / copy) (gpu.Pool.Allocations - allocs0)

let matmul (device: Device) (gpu: Gpu) (n: int) =
    let backend = Devices.backendOf device
    let a = backend.Full([| n; n |], 0.001, Float32)
    let b = backend.Full([| n; n |], 0.002, Float32)
    let sec = time gpu 2 5 (fun () -> (box (a.Matmul b) :?> IDisposable).Dispose())
    printfn "matmul float32 %d^3 via cuBLAS: %8.2f ms  %6.1f TFLOP/s" n (sec * 1e3) (2.0 * float n ** 3.0 / sec / 1e12)

/// Run each [<Fact>] of the ILGPU test module on `device`; print PASS/FAIL/SKIP lines; the number of failures.
let check (device: string) =
    Environment.SetEnvironmentVariable("HYBRID_TEST_DEVICE", device)
    let tests = typeof<Hybrid.Tests.IlgpuTests.CudaFactAttribute>.DeclaringType   // the module's class
    let facts =
        tests.GetMethods(Reflection.BindingFlags.Public ||| Reflection.BindingFlags.Static)
        |> Array.choose (fun m ->
            m.GetCustomAttributes(typeof<Xunit.FactAttribute>, true)
            |> Array.tryHead
            |> Option.map (fun a -> m, (a :?> Xunit.FactAttribute).Skip))
    let gpu = Runtime.gpu (Devices.parse device)
    printfn "check: %d tests of IlgpuTests on %s (%s); matmul: %s" facts.Length device gpu.Accelerator.Name
        (match gpu.CuBlasProblem with None -> "cuBLAS" | Some why -> "tiled kernel, " + why)
    let mutable failed, skipped = 0, 0
    for m, skip in facts do
        if not (String.IsNullOrEmpty skip) then
            skipped <- skipped + 1
            printfn "SKIP %s: %s" m.Name skip
        else
            let sw = Stopwatch.StartNew()
            try
                m.Invoke(null, [||]) |> ignore
                printfn "PASS %s (%.2f s)" m.Name sw.Elapsed.TotalSeconds
            with e ->
                failed <- failed + 1
                let e = match e with :? Reflection.TargetInvocationException as t when not (isNull t.InnerException) -> t.InnerException | e -> e
                printfn "FAIL %s (%.2f s): %s: %s" m.Name sw.Elapsed.TotalSeconds (e.GetType().Name) e.Message
    printfn "check: %d passed, %d failed, %d skipped" (facts.Length - failed - skipped) failed skipped
    failed

[<EntryPoint>]
let main argv =
    if argv.Length > 0 && argv.[0] = "check" then
        check (if argv.Length > 1 then argv.[1] else "cuda:0")
    elif not (Devices.isCudaAvailable ()) then
        printfn "no CUDA device: ILGPU found none, so nothing was measured (see docs/gpu.md)"
        0
    else
        let device = Devices.parse "cuda:0"
        let gpu = Runtime.gpu device
        printfn "device: %s (%s)" gpu.Accelerator.Name (string device)
        for n in [ 10_000_000; 100_000_000 ] do adam device gpu n
        matmul device gpu 8192
        0
