/// The benchmarks: CPU kernels of the core measured through the backend seam (RawTensor), next to
/// plain-loop and OpenBLAS references measured in the same process.
module Hybrid.Bench.Benchmarks

open System
open System.Runtime.Intrinsics
open System.Threading.Tasks
open BenchmarkDotNet.Attributes
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

/// Uniform values in [-1, 1) from a fixed seed.
let values (seed: int) (n: int) =
    let r = Random(seed)
    Array.init n (fun _ -> float32 (r.NextDouble() * 2.0 - 1.0))

/// A float32 raw tensor on the CPU backend.
let raw32 (data: float32[]) (shape: int[]) = (Create.ofFloat32 data shape).Raw

/// STREAM triad a = b + s·c as a plain Vector256 loop over `p` threads: the bandwidth reference (from
/// memory at 16M elements, from the caches below).
let triadOn (p: int) (a: float32[]) (b: float32[]) (c: float32[]) (s: float32) =
    let n = a.Length
    let chunk = (n / p + 7) / 8 * 8
    Parallel.For(0, p, fun t ->
        let lo = t * chunk
        let hi = min n (lo + chunk)
        let vs = Vector256.Create s
        let mutable i = lo
        while i + 8 <= hi do
            let vb = Vector256.LoadUnsafe(&b.[i])
            let vc = Vector256.LoadUnsafe(&c.[i])
            Vector256.StoreUnsafe(Vector256.Add(vb, Vector256.Multiply(vs, vc)), &a.[i])
            i <- i + 8
        while i < hi do
            a.[i] <- b.[i] + s * c.[i]
            i <- i + 1) |> ignore

/// The triad split over all the cores.
let triad a b c s = triadOn Environment.ProcessorCount a b c s

/// Elementwise float32 ops on n elements (1M fits the caches, 16M streams from memory).
[<MemoryDiagnoser(false)>]
type Elementwise() =
    let mutable a = Unchecked.defaultof<RawTensor>
    let mutable b = Unchecked.defaultof<RawTensor>
    let mutable xa = Array.empty<float32>
    let mutable xb = Array.empty<float32>
    let mutable xc = Array.empty<float32>

    /// Elements per tensor: 256², 512², 1024², 2048² (the caches hold them) and 4096² (streams from memory).
    [<Params(1 <<< 16, 1 <<< 18, 1 <<< 20, 1 <<< 22, 1 <<< 24)>]
    member val N = 0 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        xb <- values 1 this.N
        xc <- values 2 this.N
        xa <- Array.zeroCreate this.N
        a <- raw32 xb [| this.N |]
        b <- raw32 xc [| this.N |]

    [<Benchmark>]
    member _.Add() = a.Binary(Add, b)
    [<Benchmark>]
    member _.Mul() = a.Binary(Mul, b)
    [<Benchmark>]
    member _.Exp() = a.Unary Exp
    [<Benchmark>]
    member _.Relu() = a.Unary Relu
    /// Reference: a = b + 3·c into a preallocated array, on all the cores.
    [<Benchmark>]
    member _.Triad() = triad xa xb xc 3.0f
    /// Reference: the same triad on one core (faster than the split one for the small sizes).
    [<Benchmark>]
    member _.TriadInline() = triadOn 1 xa xb xc 3.0f

/// Sums of float32 tensors: all elements, and over each dim of a square matrix.
[<MemoryDiagnoser(false)>]
type Reductions() =
    let mutable x = Unchecked.defaultof<RawTensor>

    /// Elements (a square matrix of side √N: 256 ... 4096).
    [<Params(1 <<< 16, 1 <<< 18, 1 <<< 20, 1 <<< 22, 1 <<< 24)>]
    member val N = 0 with get, set

    [<GlobalSetup>]
    member this.Setup() =
        let side = int (sqrt (float this.N))
        x <- raw32 (values 3 this.N) [| side; side |]

    [<Benchmark>]
    member _.SumAll() = x.SumDims([| 0; 1 |], false)
    /// Sum over rows: out[j] = Σ_i x[i,j].
    [<Benchmark>]
    member _.SumDim0() = x.SumDims([| 0 |], false)
    /// Sum over columns: out[i] = Σ_j x[i,j].
    [<Benchmark>]
    member _.SumDim1() = x.SumDims([| 1 |], false)

/// Square matrix products n x n x n: the core (BLAS when it loads), its managed kernel, OpenBLAS directly.
type Matmul() =
    let mutable a32 = Array.empty<float32>
    let mutable b32 = Array.empty<float32>
    let mutable c32 = Array.empty<float32>
    let mutable a64 = Array.empty<float>
    let mutable b64 = Array.empty<float>
    let mutable c64 = Array.empty<float>
    let mutable ra = Unchecked.defaultof<RawTensor>
    let mutable rb = Unchecked.defaultof<RawTensor>

    /// Side of the matrices.
    [<Params(256, 512, 1024, 2048)>]
    member val Size = 0 with get, set

    /// "f32" or "f64".
    [<Params("f32", "f64")>]
    member val DType = "" with get, set

    [<GlobalSetup>]
    member this.Setup() =
        let n = this.Size
        a32 <- values 4 (n * n)
        b32 <- values 5 (n * n)
        c32 <- Array.zeroCreate (n * n)
        a64 <- Array.map float a32
        b64 <- Array.map float b32
        c64 <- Array.zeroCreate (n * n)
        if this.DType = "f32" then
            ra <- raw32 a32 [| n; n |]
            rb <- raw32 b32 [| n; n |]
        else
            ra <- (Create.ofFloat64 a64 [| n; n |]).Raw
            rb <- (Create.ofFloat64 b64 [| n; n |]).Raw

    /// Through the backend seam: OpenBLAS where it loads (unless HYBRID_NO_BLAS=1), else the managed kernel.
    [<Benchmark>]
    member _.Core() = ra.Matmul rb

    /// The managed kernel (what machines without BLAS run), into a cleared preallocated C.
    [<Benchmark>]
    member this.Managed() =
        let n = this.Size
        if this.DType = "f32" then
            Array.Clear c32
            Matmul.managed (ReadOnlyMemory a32) (ReadOnlyMemory b32) (Memory c32) n n n
        else
            Array.Clear c64
            Matmul.managed (ReadOnlyMemory a64) (ReadOnlyMemory b64) (Memory c64) n n n

    /// OpenBLAS cblas_sgemm / cblas_dgemm called directly, into a preallocated C.
    [<Benchmark>]
    member this.OpenBlas() =
        let n = this.Size
        if this.DType = "f32" then
            Blas.sgemm false false n n n 1.0f (ReadOnlySpan a32) n (ReadOnlySpan b32) n 0.0f (Span c32) n
        else
            Blas.dgemm false false n n n 1.0 (ReadOnlySpan a64) n (ReadOnlySpan b64) n 0.0 (Span c64) n
