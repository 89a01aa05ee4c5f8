namespace Hybrid.Core.Backends.Cpu

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

    /// Products below this many multiply-adds (m·n·k) run on one BLAS thread, split over the cores by `slabs`;
    /// above it the BLAS library threads them itself. By default every product is ours to split: OpenBLAS's own
    /// workers spin (sched_yield) after each call and fought the CPU backend's spinning workers for the second
    /// core (CNN epoch 5.81-5.95 s with 32M here, 5.40-5.58 s with every product split; 512²-1024² sgemm equal
    /// either way, 238-246 GFLOP/s). HYBRID_BLAS_SERIAL_MACS overrides.
    let serialMacs =
        match Int64.TryParse(Environment.GetEnvironmentVariable "HYBRID_BLAS_SERIAL_MACS") with
        | true, v -> v
        | _ -> Int64.MaxValue

    /// Products of at least this many multiply-adds (and below serialMacs) are split in slabs of C (one a core), each
    /// computed by one-threaded BLAS on its own core (a .NET task): one hand-off, and no BLAS worker left spinning
    /// after the call. 1M splits the MLP's layer-1 and layer-2 products (12.8M, 2.1M; measured CLI epoch 0.64-0.70 s with
    /// 4M -> 0.58-0.62 s with 1M). HYBRID_BLAS_SPLIT_MACS overrides (0 or a value >= serialMacs turns the split off).
    let splitMacs =
        match Int64.TryParse(Environment.GetEnvironmentVariable "HYBRID_BLAS_SPLIT_MACS") with
        | true, v -> v
        | _ -> 1L <<< 20

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

    // the split applies only where the library's own threading can be turned off (else two calls could each thread)
    let private splits (m: int) (n: int) (k: int) =
        let macs = int64 m * int64 n * int64 k
        setThreads.IsSome && maxThreads >= 2 && splitMacs > 0L && macs >= splitMacs && macs < serialMacs && max m n >= 16

    /// Runs `call` on `maxThreads` slabs of C[m,n] at once (on the CPU backend's worker team): slabs of the columns
    /// when n >= m (B's columns, or its rows when transposed), else of the rows (A's rows, or its columns when
    /// transposed), 8-aligned. `call m n aOff bOff cOff` computes the block of C at element offset cOff from A and B
    /// at element offsets aOff and bOff.
    let private slabs (transA: bool) (transB: bool) (m: int) (n: int) lda ldb ldc (call: int -> int -> int -> int -> int -> unit) =
        let parts = maxThreads
        let width (len: int) = ((len + parts - 1) / parts + 7) &&& ~~~7
        if n >= m then
            let w = width n
            Par.chunks parts 1 (fun s e ->
                for h in s .. e - 1 do
                    let j0 = h * w
                    let nh = min n (j0 + w) - j0
                    if nh > 0 then call m nh 0 (if transB then j0 * ldb else j0) j0)
        else
            let w = width m
            Par.chunks parts 1 (fun s e ->
                for h in s .. e - 1 do
                    let i0 = h * w
                    let mh = min m (i0 + w) - i0
                    if mh > 0 then call mh n (if transA then i0 else i0 * lda) 0 (i0 * ldc))

    /// Runs `call m n a b c` (one BLAS call on pinned pointers) for the whole product, or, where `split` allows and the
    /// product is large enough, for each slab of it, with the pointers offset by the slab's element offsets times `elem` bytes.
    let private run (split: bool) (elem: int) (transA: bool) (transB: bool) m n k lda ldb ldc (pa: nativeint) (pb: nativeint) (pc: nativeint)
                    (call: int -> int -> nativeint -> nativeint -> nativeint -> unit) =
        chooseThreads m n k
        if split && splits m n k then
            slabs transA transB m n lda ldb ldc (fun mh nh aOff bOff cOff ->
                call mh nh (pa + nativeint (elem * aOff)) (pb + nativeint (elem * bOff)) (pc + nativeint (elem * cOff)))
        else call m n pa pb pc

    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major, on pinned spans; split over the cores where `split`.
    let private sgemmWith (split: bool) (transA: bool) (transB: bool) m n k (alpha: float32) (a: ReadOnlySpan<float32>) lda (b: ReadOnlySpan<float32>) ldb (beta: float32) (c: Span<float32>) ldc =
        use pa = fixed &MemoryMarshal.GetReference a
        use pb = fixed &MemoryMarshal.GetReference b
        use pc = fixed &MemoryMarshal.GetReference c
        let ta, tb = (if transA then Trans else NoTrans), (if transB then Trans else NoTrans)
        run split 4 transA transB m n k lda ldb ldc (NativeInterop.NativePtr.toNativeInt pa) (NativeInterop.NativePtr.toNativeInt pb) (NativeInterop.NativePtr.toNativeInt pc)
            (fun mh nh a b c -> cblas_sgemm(RowMajor, ta, tb, mh, nh, k, alpha, a, lda, b, ldb, beta, c, ldc))

    /// Double-precision twin of `sgemmWith`.
    let private dgemmWith (split: bool) (transA: bool) (transB: bool) m n k (alpha: float) (a: ReadOnlySpan<float>) lda (b: ReadOnlySpan<float>) ldb (beta: float) (c: Span<float>) ldc =
        use pa = fixed &MemoryMarshal.GetReference a
        use pb = fixed &MemoryMarshal.GetReference b
        use pc = fixed &MemoryMarshal.GetReference c
        let ta, tb = (if transA then Trans else NoTrans), (if transB then Trans else NoTrans)
        run split 8 transA transB m n k lda ldb ldc (NativeInterop.NativePtr.toNativeInt pa) (NativeInterop.NativePtr.toNativeInt pb) (NativeInterop.NativePtr.toNativeInt pc)
            (fun mh nh a b c -> cblas_dgemm(RowMajor, ta, tb, mh, nh, k, alpha, a, lda, b, ldb, beta, c, ldc))

    /// C[m,n] = alpha * op(A)[m,k] * op(B)[k,n] + beta * C, row-major, on pinned spans.
    let sgemm transA transB m n k alpha a lda b ldb beta c ldc = sgemmWith true transA transB m n k alpha a lda b ldb beta c ldc

    /// Double-precision twin of `sgemm`.
    let dgemm transA transB m n k alpha a lda b ldb beta c ldc = dgemmWith true transA transB m n k alpha a lda b ldb beta c ldc

    /// `sgemm` as one BLAS call on the calling thread, never split over the cores: for products run inside a parallel
    /// chunk of a larger job.
    let sgemmSerial transA transB m n k alpha a lda b ldb beta c ldc = sgemmWith false transA transB m n k alpha a lda b ldb beta c ldc

    /// Double-precision twin of `sgemmSerial`.
    let dgemmSerial transA transB m n k alpha a lda b ldb beta c ldc = dgemmWith false transA transB m n k alpha a lda b ldb beta c ldc
