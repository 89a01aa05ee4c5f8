namespace Hybrid.Core.Backends

open System
open System.Runtime.InteropServices

/// BLAS by P/Invoke to the machine's libblas.so.3 (OpenBLAS on Debian with libopenblas0-pthread).
/// `Blas.available` is false where no such library loads; the CPU backend then uses its managed kernel.
module Blas =
    [<Literal>]
    let private Lib = "libblas.so.3"
    let [<Literal>] RowMajor = 101
    let [<Literal>] NoTrans = 111
    let [<Literal>] Trans = 112

    [<DllImport(Lib, EntryPoint = "cblas_sgemm")>]
    extern void private cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float32 alpha, nativeint a, int lda, nativeint b, int ldb, float32 beta, nativeint c, int ldc)

    [<DllImport(Lib, EntryPoint = "cblas_dgemm")>]
    extern void private cblas_dgemm(int order, int transA, int transB, int m, int n, int k, float alpha, nativeint a, int lda, nativeint b, int ldb, float beta, nativeint c, int ldc)

    // bound lazily at its first call, which happens only where the export was found
    [<DllImport(Lib, EntryPoint = "openblas_set_num_threads")>]
    extern void private openblas_set_num_threads(int n)

    /// True when a CBLAS library could be loaded; HYBRID_NO_BLAS=1 turns it off (to measure the managed kernel).
    let available =
        lazy (
            if Environment.GetEnvironmentVariable "HYBRID_NO_BLAS" = "1" then false
            else
                let mutable h = 0n
                if NativeLibrary.TryLoad(Lib, &h) then
                    let mutable s = 0n
                    NativeLibrary.TryGetExport(h, "cblas_sgemm", &s)
                else false)

    // openblas_set_num_threads, where the library exports it (OpenBLAS does; reference BLAS does not)
    let private setThreads : (int -> unit) option =
        let mutable h = 0n
        let mutable s = 0n
        if available.Value && NativeLibrary.TryLoad(Lib, &h) && NativeLibrary.TryGetExport(h, "openblas_set_num_threads", &s) then
            Some openblas_set_num_threads
        else None

    /// Products below this many multiply-adds (m·n·k) run on one BLAS thread: a second thread's hand-off and
    /// its spin-wait (sched_yield) after the call cost more than it saves on small products, and steal the
    /// core that the rest of a training step (and its data loader) runs on. HYBRID_BLAS_SERIAL_MACS overrides.
    let serialMacs =
        match Int64.TryParse(Environment.GetEnvironmentVariable "HYBRID_BLAS_SERIAL_MACS") with
        | true, v -> v
        | _ -> 32L <<< 20

    let private maxThreads = Environment.ProcessorCount
    let mutable private current = -1

    // one thread for small products, all cores for large ones (a call only when the choice changes)
    let private chooseThreads (m: int) (n: int) (k: int) =
        match setThreads with
        | Some set ->
            let want = if int64 m * int64 n * int64 k < serialMacs then 1 else maxThreads
            if want <> current then
                set want
                current <- want
        | None -> ()

    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major, on pinned spans.
    let sgemm (transA: bool) (transB: bool) m n k (alpha: float32) (a: ReadOnlySpan<float32>) lda (b: ReadOnlySpan<float32>) ldb (beta: float32) (c: Span<float32>) ldc =
        use pa = fixed &MemoryMarshal.GetReference a
        use pb = fixed &MemoryMarshal.GetReference b
        use pc = fixed &MemoryMarshal.GetReference c
        chooseThreads m n k
        cblas_sgemm(RowMajor, (if transA then Trans else NoTrans), (if transB then Trans else NoTrans), m, n, k, alpha,
                    NativeInterop.NativePtr.toNativeInt pa, lda, NativeInterop.NativePtr.toNativeInt pb, ldb, beta,
                    NativeInterop.NativePtr.toNativeInt pc, ldc)

    /// Double-precision twin of `sgemm`.
    let dgemm (transA: bool) (transB: bool) m n k (alpha: float) (a: ReadOnlySpan<float>) lda (b: ReadOnlySpan<float>) ldb (beta: float) (c: Span<float>) ldc =
        use pa = fixed &MemoryMarshal.GetReference a
        use pb = fixed &MemoryMarshal.GetReference b
        use pc = fixed &MemoryMarshal.GetReference c
        chooseThreads m n k
        cblas_dgemm(RowMajor, (if transA then Trans else NoTrans), (if transB then Trans else NoTrans), m, n, k, alpha,
                    NativeInterop.NativePtr.toNativeInt pa, lda, NativeInterop.NativePtr.toNativeInt pb, ldb, beta,
                    NativeInterop.NativePtr.toNativeInt pc, ldc)
