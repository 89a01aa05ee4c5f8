namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core
open Hybrid.Core.Backends

/// Matrix products: OpenBLAS through P/Invoke where it loads, else a managed SIMD kernel.
module Matmul =

    /// Managed C[m,n] (+)= A[m,k] * B[k,n] (row-major, contiguous), i-k-j order so the inner loop is an axpy.
    let managed<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: ReadOnlyMemory<'T>) (b: ReadOnlyMemory<'T>) (c: Memory<'T>) (m: int) (n: int) (k: int) =
        Par.chunks m (max 1 (Par.grain / max 1 (n * k))) (fun s e ->
            let a = a.Span
            let b = b.Span
            let c = c.Span
            for i in s .. e - 1 do
                let row = c.Slice(i * n, n)
                for p in 0 .. k - 1 do
                    let aip = a.[i * k + p]
                    if Kernels.ne aip 'T.Zero then
                        TensorPrimitives.MultiplyAdd(b.Slice(p * n, n), aip, Kernels.ro row, row))

    /// One [m,k] x [k,n] product into c (which starts zeroed).
    let gemm<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        if m > 0 && n > 0 && k > 0 then
            if Blas.available.Value && typeof<'T> = typeof<float32> then
                let a = box a :?> float32[]
                let b = box b :?> float32[]
                let c = box c :?> float32[]
                Blas.sgemm false false m n k 1.0f (ReadOnlySpan(a, aOff, m * k)) k (ReadOnlySpan(b, bOff, k * n)) n 0.0f (Span(c, cOff, m * n)) n
            elif Blas.available.Value && typeof<'T> = typeof<float> then
                let a = box a :?> float[]
                let b = box b :?> float[]
                let c = box c :?> float[]
                Blas.dgemm false false m n k 1.0 (ReadOnlySpan(a, aOff, m * k)) k (ReadOnlySpan(b, bOff, k * n)) n 0.0 (Span(c, cOff, m * n)) n
            else
                managed (ReadOnlyMemory(a, aOff, m * k)) (ReadOnlyMemory(b, bOff, k * n)) (Memory(c, cOff, m * n)) m n k

    /// Batched matmul with broadcast batch dims; both inputs have rank >= 2 (the caller promotes vectors).
    let batched<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) : 'T[] * int[] =
        let ra, rb = aShape.Length, bShape.Length
        let m, k = aShape.[ra - 2], aShape.[ra - 1]
        let n = bShape.[rb - 1]
        let batchA = aShape.[.. ra - 3]
        let batchB = bShape.[.. rb - 3]
        let batch = Shape.broadcast "matmul" batchA batchB
        let outShape = Array.append batch [| m; n |]
        let nb = Shape.numel batch
        let c = Array.zeroCreate<'T> (nb * m * n)
        let sa = if batch.Length = 0 then [||] else Kernels.broadcastStrides batchA batch
        let sb = if batch.Length = 0 then [||] else Kernels.broadcastStrides batchB batch
        let bst = Shape.strides batch
        for bi in 0 .. nb - 1 do
            let mutable ia = 0
            let mutable ib = 0
            let mutable r = bi
            for d in 0 .. batch.Length - 1 do
                let q = r / bst.[d]
                r <- r % bst.[d]
                ia <- ia + q * sa.[d]
                ib <- ib + q * sb.[d]
            gemm a (ia * m * k) b (ib * k * n) c (bi * m * n) m n k
        c, outShape

    /// The rows x cols block at `off` of `x`, transposed into a new cols x rows array (the managed path's op(X)).
    let private transposed<'T> (x: 'T[]) (off: int) (rows: int) (cols: int) : 'T[] =
        let y = Array.zeroCreate<'T> (rows * cols)
        for r in 0 .. rows - 1 do
            for c in 0 .. cols - 1 do
                y.[c * rows + r] <- x.[off + r * cols + c]
        y

    /// C[m,n] = op(A)[m,k] · op(B)[k,n] into c (which starts zeroed); op transposes when its flag is set
    /// (A is stored [k,m] when transA, B is stored [n,k] when transB). BLAS reads the transpose in place.
    let gemmT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (a: 'T[]) (aOff: int) (b: 'T[]) (bOff: int) (c: 'T[]) (cOff: int) (m: int) (n: int) (k: int) =
        if m > 0 && n > 0 && k > 0 then
            let lda = if transA then m else k
            let ldb = if transB then k else n
            if Blas.available.Value && typeof<'T> = typeof<float32> then
                let a = box a :?> float32[]
                let b = box b :?> float32[]
                let c = box c :?> float32[]
                Blas.sgemm transA transB m n k 1.0f (ReadOnlySpan(a, aOff, m * k)) lda (ReadOnlySpan(b, bOff, k * n)) ldb 0.0f (Span(c, cOff, m * n)) n
            elif Blas.available.Value && typeof<'T> = typeof<float> then
                let a = box a :?> float[]
                let b = box b :?> float[]
                let c = box c :?> float[]
                Blas.dgemm transA transB m n k 1.0 (ReadOnlySpan(a, aOff, m * k)) lda (ReadOnlySpan(b, bOff, k * n)) ldb 0.0 (Span(c, cOff, m * n)) n
            else
                let a, aOff = if transA then transposed a aOff k m, 0 else a, aOff
                let b, bOff = if transB then transposed b bOff n k, 0 else b, bOff
                gemm a aOff b bOff c cOff m n k

    /// Batched op(A) · op(B) with broadcast batch dims (op = transpose of the last two dims where flagged);
    /// both inputs have rank >= 2 and agree on the inner dimension (the caller checks).
    let batchedT<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (transA: bool) (transB: bool) (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) : 'T[] * int[] =
        let ra, rb = aShape.Length, bShape.Length
        let m, k = (if transA then aShape.[ra - 1], aShape.[ra - 2] else aShape.[ra - 2], aShape.[ra - 1])
        let n = if transB then bShape.[rb - 2] else bShape.[rb - 1]
        let batchA = aShape.[.. ra - 3]
        let batchB = bShape.[.. rb - 3]
        let batch = Shape.broadcast "matmul" batchA batchB
        let outShape = Array.append batch [| m; n |]
        let nb = Shape.numel batch
        let c = Array.zeroCreate<'T> (nb * m * n)
        let sa = if batch.Length = 0 then [||] else Kernels.broadcastStrides batchA batch
        let sb = if batch.Length = 0 then [||] else Kernels.broadcastStrides batchB batch
        let bst = Shape.strides batch
        let one bi =
            let mutable ia = 0
            let mutable ib = 0
            let mutable r = bi
            for d in 0 .. batch.Length - 1 do
                let q = r / bst.[d]
                r <- r % bst.[d]
                ia <- ia + q * sa.[d]
                ib <- ib + q * sb.[d]
            gemmT transA transB a (ia * m * k) b (ib * k * n) c (bi * m * n) m n k
        // many small products: one per task (BLAS threads itself inside each large one)
        if nb > 1 && m * n * k < Par.grain then Par.chunks nb 1 (fun s e -> for bi in s .. e - 1 do one bi)
        else for bi in 0 .. nb - 1 do one bi
        c, outShape
