module Hybrid.Tests.MatmulKernelTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Backends.Cpu
open Hybrid.Tests.Check

/// C[i,j] = Σ_p A[i,p]·B[p,j] by the textbook triple loop, in float64.
let private naive (a: float[]) (b: float[]) m n k =
    Array.init (m * n) (fun ij ->
        let i, j = ij / n, ij % n
        let mutable s = 0.0
        for p in 0 .. k - 1 do s <- s + a.[i * k + p] * b.[p * n + j]
        s)

/// Values in [-1, 1) from a seed.
let private values (seed: int) (len: int) =
    let r = Random(seed)
    Array.init len (fun _ -> r.NextDouble() * 2.0 - 1.0)

/// The managed kernel in float64 against the triple loop (C starts at `c0`, the kernel adds A·B to it).
let private checkF64 m n k seed =
    let a = values seed (m * k)
    let b = values (seed + 1) (k * n)
    let c0 = values (seed + 2) (m * n)
    let c = Array.copy c0
    Matmul.managed (ReadOnlyMemory a) (ReadOnlyMemory b) (Memory c) m n k
    let expected = Array.map2 (+) c0 (naive a b m n k)
    assertClose 1e-12 1e-12 expected c

/// The managed kernel in float32 against the float64 triple loop (tolerance grows with k).
let private checkF32 m n k seed =
    let a = values seed (m * k) |> Array.map float32
    let b = values (seed + 1) (k * n) |> Array.map float32
    let c = Array.zeroCreate<float32> (m * n)
    Matmul.managed (ReadOnlyMemory a) (ReadOnlyMemory b) (Memory c) m n k
    let expected = naive (Array.map float a) (Array.map float b) m n k
    assertClose 1e-4 (1e-6 * float k) expected (Array.map float c)

let private oddSizes =
    [ 1, 1, 1; 7, 13, 5; 65, 33, 129; 6, 16, 1; 5, 1, 300; 1, 17, 3; 13, 37, 257; 121, 9, 513; 2, 4100, 3 ]

[<Fact>]
let ``managed float64 matmul adds A·B to C like the triple loop at odd sizes`` () =
    for (m, n, k) in oddSizes do checkF64 m n k (m * 1000 + n * 10 + k)

[<Fact>]
let ``managed float32 matmul equals the triple loop at odd sizes`` () =
    for (m, n, k) in oddSizes do checkF32 m n k (m * 1000 + n * 10 + k)

[<Property(MaxTest = 40)>]
let ``managed matmul equals the triple loop for any sizes up to 40`` (seed: int) =
    let r = Random(seed)
    let m, n, k = r.Next(1, 41), r.Next(1, 41), r.Next(1, 41)
    checkF64 m n k seed
    checkF32 m n k seed

[<Fact>]
let ``managed matmul spans several row blocks and both cores`` () =
    checkF64 250 70 300 7
    checkF32 250 70 300 8

[<Fact>]
let ``batched matmul with a broadcast batch dim multiplies each pair`` () =
    // a: [2,3,4], b: [4,5] broadcast over the batch
    let a = values 1 24
    let b = values 2 20
    let c, shape = Matmul.batched a [| 2; 3; 4 |] b [| 4; 5 |]
    Assert.Equal<int[]>([| 2; 3; 5 |], shape)
    let expected = Array.append (naive a.[0..11] b 3 5 4) (naive a.[12..23] b 3 5 4)
    assertClose 1e-12 1e-12 expected c

/// X stored [rows, cols] (row-major), transposed into [cols, rows].
let private transpose (x: float[]) rows cols = Array.init (rows * cols) (fun ij -> x.[(ij % rows) * cols + ij / rows])

[<Fact>]
let ``products large enough to be split over the cores equal the triple loop for every transpose flag`` () =
    // above Blas.splitMacs (1M multiply-adds by default): halves of the columns (n >= m) and of the rows (m > n), odd halves included
    for (m, n, k) in [ 64, 264, 260; 300, 40, 400 ] do
        Assert.True(int64 m * int64 n * int64 k >= (1L <<< 20))
        for transA in [ false; true ] do
            for transB in [ false; true ] do
                let a = values (m + k) (m * k)
                let b = values (n + k) (k * n)
                let expected = naive a b m n k
                // stored as op expects: A [k,m] when transA, B [n,k] when transB
                let aS = if transA then transpose a m k else a
                let bS = if transB then transpose b k n else b
                let c64 = Array.zeroCreate<float> (m * n)
                Matmul.gemmT transA transB aS 0 bS 0 c64 0 m n k
                assertClose 1e-12 1e-12 expected c64
                let c32 = Array.zeroCreate<float32> (m * n)
                Matmul.gemmT transA transB (Array.map float32 aS) 0 (Array.map float32 bS) 0 c32 0 m n k
                assertClose 1e-4 (1e-6 * float k) expected (Array.map float c32)

/// gemmT in float32 and float64 against the triple loop (float64), B given as [k,n] or, transposed, as [n,k].
let private checkThin transB m n k seed =
    let a = values seed (m * k)
    let b = values (seed + 1) (k * n)
    let expected = naive a b m n k
    let bArg = if transB then transpose b k n else b
    let c = Array.create (m * n) nan
    Matmul.gemmT false transB a 0 bArg 0 c 0 m n k
    assertClose 1e-12 1e-12 expected c
    let c32 = Array.create (m * n) nanf
    Matmul.gemmT false transB (Array.map float32 a) 0 (Array.map float32 bArg) 0 c32 0 m n k
    assertClose 1e-4 1e-4 expected (Array.map float c32)

[<Fact>]
let ``thin products with a short k (a one-channel convolution) equal the triple loop, remainder rows and columns included`` () =
    // 16 x 50176 by k 9 is the CNN's first layer; 5 rows and 8192 + 13 columns exercise the remainders
    checkThin false 16 (16 * 784) 9 1
    checkThin false 5 (8192 + 13) 7 2
    checkThin false 4 8192 1 3
    // a chunk of the CNN's first block on one core: 6 samples of 784, gemmSerial's thin path
    let a, b = values 7 (16 * 9), values 8 (9 * 4704)
    let c = Array.create (16 * 4704) nan
    Matmul.gemmSerial false false false 16 4704 9 a 0 9 b 0 4704 c 0 4704
    assertClose 1e-12 1e-12 (naive a b 16 4704 9) c

[<Fact>]
let ``thin products with a long reduction (a one-channel weight gradient) equal the triple loop, partial blocks included`` () =
    // 16 x 9 by k 50176 is the CNN's first weight gradient; 6 columns leave a group of two, k a partial block and a scalar tail
    checkThin true 16 9 (16 * 784) 4
    checkThin true 3 6 (8192 + 5) 5
    checkThin true 1 1 8192 6
    // a chunk's weight gradient on one core: C[16, 9] = A[16, 4704] · B[9, 4704]ᵀ through gemmSerial's thin path
    let a, b = values 9 (16 * 4704), values 10 (4704 * 9)
    let c = Array.create (16 * 9) nan
    Matmul.gemmSerial false false true 16 9 4704 a 0 4704 (transpose b 4704 9) 0 4704 c 0 9
    assertClose 1e-12 1e-12 (naive a b 16 9 4704) c
