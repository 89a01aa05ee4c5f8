/// Runs the benchmarks (BenchmarkDotNet, in-process) and prints GFLOP/s and GB/s per case;
/// `--quick` for a short run, `--probe [n]` for a Stopwatch check of the managed matmul against OpenBLAS, `--out FILE` for a CSV that bench/compare.sh reads, other args go to BenchmarkDotNet
/// (e.g. `--filter *Matmul*`).
module Hybrid.Bench.Program

open System
open System.IO
open BenchmarkDotNet.Configs
open BenchmarkDotNet.Jobs
open Perfolizer.Horology
open BenchmarkDotNet.Reports
open BenchmarkDotNet.Running
open BenchmarkDotNet.Toolchains.InProcess.Emit

/// Work of one case: (floating-point operations, bytes moved) from its class, method and parameters.
let work (cls: string) (meth: string) (param: string -> obj) =
    match cls with
    | "Elementwise" ->
        let n = float (unbox<int> (param "N"))
        // binary ops and the triad read two arrays and write one; unary ops read one and write one
        let arrays = match meth with "Exp" | "Relu" -> 2.0 | _ -> 3.0
        let flops = match meth with "Triad" | "TriadInline" -> 2.0 * n | _ -> n
        flops, arrays * 4.0 * n
    | "Reductions" ->
        let n = float (unbox<int> (param "N"))
        n, 4.0 * n
    | _ ->
        // matmul n³ multiply-adds; bytes: the three matrices once
        let n = float (unbox<int> (param "Size"))
        let w = if unbox<string> (param "DType") = "f32" then 4.0 else 8.0
        2.0 * n * n * n, 3.0 * n * n * w

/// One CSV row per case: class, method, size, dtype, best ms, GFLOP/s, GB/s. The best iteration (not the median)
/// because the 2 cores are shared: it is what the code achieves when it has them.
let rows (summaries: Summary seq) =
    [ for s in summaries do
        for r in s.Reports do
            if not (isNull r.ResultStatistics) then
                let bc = r.BenchmarkCase
                let cls = bc.Descriptor.Type.Name
                let meth = bc.Descriptor.WorkloadMethod.Name
                let param (name: string) : obj = bc.Parameters.[name]
                let size = if cls = "Matmul" then string (param "Size") else string (param "N")
                let dtype = if cls = "Matmul" then string (param "DType") else "f32"
                let secs = r.ResultStatistics.Min * 1e-9
                let flops, bytes = work cls meth param
                yield sprintf "%s,%s,%s,%s,%.4f,%.2f,%.2f" cls meth size dtype (secs * 1e3) (flops / secs * 1e-9) (bytes / secs * 1e-9) ]

[<EntryPoint>]
let main argv =
  if argv |> Array.contains "--probe" then
    Probe.run (match Array.tryFindIndex ((=) "--probe") argv with
               | Some i when i + 1 < argv.Length -> int argv.[i + 1]
               | _ -> 1024)
    0
  else
      let quick = argv |> Array.contains "--quick"
      let outIx = argv |> Array.tryFindIndex ((=) "--out")
      let out = outIx |> Option.map (fun i -> argv.[i + 1])
      let rest =
          argv
          |> Array.indexed
          |> Array.filter (fun (i, a) -> a <> "--quick" && Some i <> outIx && Some (i - 1) <> outIx)
          |> Array.map snd
      let rest = if rest |> Array.exists (fun a -> a.StartsWith "--filter") then rest else Array.append rest [| "--filter"; "*" |]
      // in-process: no child build on a small machine; the JIT still tiers up during the warmup
      let job =
          if quick then
              Job.Default.WithWarmupCount(2).WithIterationCount(5).WithLaunchCount(1)
                  .WithIterationTime(TimeInterval.FromMilliseconds 150.0).WithToolchain(InProcessEmitToolchain.Instance).WithId("quick")
          else
              // more iterations than ShortRun: on shared cores the best of many is the stable figure
              Job.Default.WithWarmupCount(3).WithIterationCount(15).WithLaunchCount(1)
                  .WithToolchain(InProcessEmitToolchain.Instance).WithId("full")
      let config = DefaultConfig.Instance.AddJob(job).WithOptions(ConfigOptions.DisableOptimizationsValidator)
      let summaries =
          BenchmarkSwitcher.FromTypes([| typeof<Benchmarks.Elementwise>; typeof<Benchmarks.Reductions>; typeof<Benchmarks.Matmul> |])
              .Run(rest, config)
      let lines = rows summaries
      printfn ""
      printfn "%-12s %-8s %9s %5s %11s %9s %8s" "class" "case" "size" "dtype" "best ms" "GFLOP/s" "GB/s"
      for l in lines do
          let f = l.Split ','
          printfn "%-12s %-8s %9s %5s %11s %9s %8s" f.[0] f.[1] f.[2] f.[3] f.[4] f.[5] f.[6]
      match out with
      | Some path ->
          File.WriteAllLines(path, Array.append [| "class,case,size,dtype,best_ms,gflops,gbs" |] (List.toArray lines))
          printfn "wrote %s" path
      | None -> ()
      0
