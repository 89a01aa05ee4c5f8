/// A small binding to Open MPI 4.1's libmpi (P/Invoke). Open MPI's predefined handles (MPI_COMM_WORLD,
/// MPI_FLOAT, MPI_SUM, MPI_ERRORS_RETURN...) are not constants but exported globals: a handle is the ADDRESS
/// of the global (`&ompi_mpi_comm_world`), read with NativeLibrary.GetExport. MPI_IN_PLACE is `(void*)1`.
/// Every call checks its return code: a non-success code becomes an MpiException naming the call and
/// MPI_Error_string's text. The communicator is set to MPI_ERRORS_RETURN so errors return instead of aborting.
module Hybrid.Core.Distributed.Mpi

open System
open System.Runtime.InteropServices

/// An MPI call returned an error code: the call's name and MPI's own text.
exception MpiException of call: string * code: int * text: string with
    override this.Message = sprintf "%s failed: %s (MPI error %d)" this.call this.text this.code

[<Literal>]
let private Lib = "libmpi.so.40"

module private Native =
    [<DllImport("libc", EntryPoint = "dlopen")>]
    extern nativeint dlopen(string file, int mode)
    [<DllImport("libc", EntryPoint = "dlerror")>]
    extern nativeint dlerror()
    [<DllImport(Lib)>] extern int MPI_Initialized(int& flag)
    [<DllImport(Lib)>] extern int MPI_Finalized(int& flag)
    [<DllImport(Lib)>] extern int MPI_Init_thread(nativeint argc, nativeint argv, int required, int& provided)
    [<DllImport(Lib)>] extern int MPI_Finalize()
    [<DllImport(Lib)>] extern int MPI_Comm_rank(nativeint comm, int& rank)
    [<DllImport(Lib)>] extern int MPI_Comm_size(nativeint comm, int& size)
    [<DllImport(Lib)>] extern int MPI_Comm_set_errhandler(nativeint comm, nativeint handler)
    [<DllImport(Lib)>] extern int MPI_Error_string(int code, byte[] text, int& length)
    [<DllImport(Lib)>] extern int MPI_Allreduce(nativeint sendbuf, nativeint recvbuf, int count, nativeint dtype, nativeint op, nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Bcast(nativeint buf, int count, nativeint dtype, int root, nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Allgather(nativeint sendbuf, int sendcount, nativeint sendtype, nativeint recvbuf, int recvcount, nativeint recvtype, nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Allgatherv(nativeint sendbuf, int sendcount, nativeint sendtype, nativeint recvbuf, int[] recvcounts, int[] displs, nativeint recvtype, nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Reduce_scatter_block(nativeint sendbuf, nativeint recvbuf, int recvcount, nativeint dtype, nativeint op, nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Barrier(nativeint comm)
    [<DllImport(Lib)>] extern int MPI_Abort(nativeint comm, int errorcode)
    [<DllImport(Lib)>] extern int MPI_Isend(nativeint buf, int count, nativeint dtype, int dest, int tag, nativeint comm, nativeint& request)
    [<DllImport(Lib)>] extern int MPI_Irecv(nativeint buf, int count, nativeint dtype, int source, int tag, nativeint comm, nativeint& request)
    [<DllImport(Lib)>] extern int MPI_Iallreduce(nativeint sendbuf, nativeint recvbuf, int count, nativeint dtype, nativeint op, nativeint comm, nativeint& request)
    [<DllImport(Lib)>] extern int MPI_Iallgatherv(nativeint sendbuf, int sendcount, nativeint sendtype, nativeint recvbuf, nativeint recvcounts, nativeint displs, nativeint recvtype, nativeint comm, nativeint& request)
    [<DllImport(Lib)>] extern int MPI_Ibcast(nativeint buf, int count, nativeint dtype, int root, nativeint comm, nativeint& request)
    [<DllImport(Lib)>] extern int MPI_Test(nativeint& request, int& flag, nativeint status)

/// The thread support asked of MPI_Init_thread (Open MPI's values of MPI_THREAD_*).
type ThreadLevel =
    | Single = 0
    | Funneled = 1
    | Serialized = 2
    | Multiple = 3

/// libmpi loaded RTLD_NOW | RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve libmpi's symbols globally and
/// fail with "undefined symbol" when the library is loaded locally, as NativeLibrary.Load would.
let private library =
    lazy
        (let h = Native.dlopen (Lib, 0x2 ||| 0x100)
         if h = 0n then
             let why = Native.dlerror ()
             let text = if why = 0n then "" else Marshal.PtrToStringAnsi why
             failwithf "MPI: cannot load %s (%s); install openmpi-bin and libopenmpi-dev (scripts/setup.sh)" Lib text
         NativeLibrary.Load Lib)

let private global' name = lazy (NativeLibrary.GetExport(library.Force(), name))
let private commWorld = global' "ompi_mpi_comm_world"
let private errorsReturn = global' "ompi_mpi_errors_return"
let private opSum = global' "ompi_mpi_op_sum"
let private tFloat = global' "ompi_mpi_float"
let private tDouble = global' "ompi_mpi_double"
let private tInt = global' "ompi_mpi_int"
let private tByte = global' "ompi_mpi_byte"
let private inPlace = 1n

/// MPI_Error_string of a code (MPI_MAX_ERROR_STRING is 256 in Open MPI).
let errorString (code: int) =
    let buf = Array.zeroCreate<byte> 256
    let mutable n = 0
    if Native.MPI_Error_string(code, buf, &n) = 0 then Text.Encoding.ASCII.GetString(buf, 0, n) else "unknown error"

let private check call code = if code <> 0 then raise (MpiException(call, code, errorString code))

/// Whether libmpi can be loaded here (false: Open MPI is not installed).
let available () = try library.Force() <> 0n with _ -> false

/// MPI_Init_thread with the asked level (once per process; later calls return the level first granted), then
/// MPI_ERRORS_RETURN on MPI_COMM_WORLD. Returns the level MPI provides; fails if it is below the one asked.
let init (level: ThreadLevel) : ThreadLevel =
    library.Force() |> ignore
    let mutable flag = 0
    check "MPI_Initialized" (Native.MPI_Initialized &flag)
    let mutable provided = int level
    if flag = 0 then
        check "MPI_Init_thread" (Native.MPI_Init_thread(0n, 0n, int level, &provided))
        check "MPI_Comm_set_errhandler" (Native.MPI_Comm_set_errhandler(commWorld.Force(), errorsReturn.Force()))
        if provided < int level then
            failwithf "MPI_Init_thread: asked thread level %A, MPI provides %A" level (enum<ThreadLevel> provided)
    enum<ThreadLevel> provided

/// Whether MPI_Init has run and MPI_Finalize has not.
let isActive () =
    available ()
    && (let mutable i = 0
        let mutable f = 0
        Native.MPI_Initialized &i = 0 && Native.MPI_Finalized &f = 0 && i <> 0 && f = 0)

/// This process's rank in MPI_COMM_WORLD.
let rank () =
    let mutable r = 0
    check "MPI_Comm_rank" (Native.MPI_Comm_rank(commWorld.Force(), &r))
    r

/// The number of ranks in MPI_COMM_WORLD.
let size () =
    let mutable s = 0
    check "MPI_Comm_size" (Native.MPI_Comm_size(commWorld.Force(), &s))
    s

let private typeOf<'T> () =
    if typeof<'T> = typeof<float32> then tFloat.Force()
    elif typeof<'T> = typeof<float> then tDouble.Force()
    elif typeof<'T> = typeof<int> then tInt.Force()
    elif typeof<'T> = typeof<byte> then tByte.Force()
    else invalidArg "T" (sprintf "MPI: no datatype for %s (float32, float, int, byte)" typeof<'T>.Name)

/// Runs f with the arrays pinned (their addresses fixed while MPI reads or writes them).
let private pinned (arrays: Array list) (f: nativeint list -> int) =
    let handles = arrays |> List.map (fun a -> GCHandle.Alloc(a, GCHandleType.Pinned))
    try f (handles |> List.map (fun h -> h.AddrOfPinnedObject())) finally handles |> List.iter (fun h -> h.Free())

/// In-place sum over all ranks of data[offset .. offset+count-1] (MPI_Allreduce with MPI_IN_PLACE).
let allreduceSumSlice<'T> (data: 'T[]) (offset: int) (count: int) =
    if offset < 0 || count < 0 || offset + count > data.Length then
        invalidArg "count" (sprintf "MPI_Allreduce: slice %d+%d outside an array of %d" offset count data.Length)
    let size = Marshal.SizeOf<'T>()
    check "MPI_Allreduce" (pinned [ data ] (fun ps ->
        Native.MPI_Allreduce(inPlace, ps.Head + nativeint (offset * size), count, typeOf<'T> (), opSum.Force(), commWorld.Force())))

/// In-place sum over all ranks of the whole array.
let allreduceSum<'T> (data: 'T[]) = allreduceSumSlice data 0 data.Length

/// Rank root's array copied into every rank's array (same length on every rank).
let broadcast<'T> (data: 'T[]) (root: int) =
    check "MPI_Bcast" (pinned [ data ] (fun ps -> Native.MPI_Bcast(ps.Head, data.Length, typeOf<'T> (), root, commWorld.Force())))

/// Every rank's `mine` (same length on all ranks) concatenated in rank order.
let allgather<'T> (mine: 'T[]) : 'T[] =
    let out = Array.zeroCreate<'T> (mine.Length * size ())
    let t = typeOf<'T> ()
    check "MPI_Allgather" (pinned [ mine; out ] (fun ps ->
        Native.MPI_Allgather(ps.[0], mine.Length, t, ps.[1], mine.Length, t, commWorld.Force())))
    out

/// Every rank's `mine` (lengths may differ) concatenated in rank order: the lengths are allgathered first.
let allgatherv<'T> (mine: 'T[]) : 'T[] =
    let counts = allgather [| mine.Length |]
    let displs = Array.scan (+) 0 counts
    let out = Array.zeroCreate<'T> displs.[counts.Length]
    let t = typeOf<'T> ()
    check "MPI_Allgatherv" (pinned [ mine; out ] (fun ps ->
        Native.MPI_Allgatherv(ps.[0], mine.Length, t, ps.[1], counts, displs.[.. counts.Length - 1], t, commWorld.Force())))
    out

/// The sum over ranks of `data` (length divisible by the number of ranks), of which rank r receives the r-th
/// of N equal blocks (MPI_Reduce_scatter_block).
let reduceScatterSum<'T> (data: 'T[]) : 'T[] =
    let n = size ()
    if data.Length % n <> 0 then
        invalidArg "data" (sprintf "MPI_Reduce_scatter_block: %d elements do not divide into %d ranks" data.Length n)
    let out = Array.zeroCreate<'T> (data.Length / n)
    check "MPI_Reduce_scatter_block" (pinned [ data; out ] (fun ps ->
        Native.MPI_Reduce_scatter_block(ps.[0], ps.[1], out.Length, typeOf<'T> (), opSum.Force(), commWorld.Force())))
    out

/// Waits until every rank has called barrier.
let barrier () = check "MPI_Barrier" (Native.MPI_Barrier(commWorld.Force()))

/// Ends every rank of the job with the exit code (MPI_Abort on MPI_COMM_WORLD); does not return normally.
let abort (code: int) = check "MPI_Abort" (Native.MPI_Abort(commWorld.Force(), code))

/// MPI_Finalize (once, at the end; nothing MPI may be called afterwards).
let finalize () = if isActive () then check "MPI_Finalize" (Native.MPI_Finalize())

// ---------------------------------------------------------------- nonblocking calls (for the watchdog)

/// A nonblocking call in flight: MPI's request handle and the arrays pinned until it completes.
type Request internal (call: string, handle: nativeint, pins: GCHandle list) =
    let mutable handle = handle
    let mutable fin = false
    /// The MPI call that started it.
    member _.Call = call
    /// Whether it has completed (then its arrays are unpinned).
    member _.IsDone = fin
    /// MPI_Test: true once the call has completed.
    member _.Test() =
        if not fin then
            let mutable flag = 0
            check "MPI_Test" (Native.MPI_Test(&handle, &flag, 0n))
            if flag <> 0 then
                fin <- true
                for h in pins do h.Free()
        fin

let private start (call: string) (arrays: Array list) (f: nativeint list -> int * nativeint) =
    let pins = arrays |> List.map (fun a -> GCHandle.Alloc(a, GCHandleType.Pinned))
    let code, req = f (pins |> List.map (fun h -> h.AddrOfPinnedObject()))
    if code <> 0 then
        for h in pins do h.Free()
        check call code
    Request(call, req, pins)

/// MPI_Isend of the array to rank `dest` with `tag`.
let isend<'T> (data: 'T[]) (dest: int) (tag: int) =
    start "MPI_Isend" [ data ] (fun ps ->
        let mutable req = 0n
        let c = Native.MPI_Isend(ps.Head, data.Length, typeOf<'T> (), dest, tag, commWorld.Force(), &req)
        c, req)

/// MPI_Irecv into the array from rank `source` with `tag`.
let irecv<'T> (data: 'T[]) (source: int) (tag: int) =
    start "MPI_Irecv" [ data ] (fun ps ->
        let mutable req = 0n
        let c = Native.MPI_Irecv(ps.Head, data.Length, typeOf<'T> (), source, tag, commWorld.Force(), &req)
        c, req)

/// Nonblocking in-place sum over all ranks of data[offset .. offset+count-1] (MPI_Iallreduce, MPI_IN_PLACE).
let iallreduceSumSlice<'T> (data: 'T[]) (offset: int) (count: int) =
    if offset < 0 || count < 0 || offset + count > data.Length then
        invalidArg "count" (sprintf "MPI_Iallreduce: slice %d+%d outside an array of %d" offset count data.Length)
    let size = Marshal.SizeOf<'T>()
    start "MPI_Iallreduce" [ data ] (fun ps ->
        let mutable req = 0n
        let c = Native.MPI_Iallreduce(inPlace, ps.Head + nativeint (offset * size), count, typeOf<'T> (), opSum.Force(), commWorld.Force(), &req)
        c, req)

/// Nonblocking allgatherv: every rank's `mine` (rank r's of length counts.[r]) into `out`, in rank order.
let iallgatherv<'T> (mine: 'T[]) (counts: int[]) (out: 'T[]) =
    let displs = Array.scan (+) 0 counts
    if out.Length <> displs.[counts.Length] then
        invalidArg "out" (sprintf "MPI_Iallgatherv: %d elements gathered into an array of %d" displs.[counts.Length] out.Length)
    let displs = displs.[.. counts.Length - 1]
    let t = typeOf<'T> ()
    start "MPI_Iallgatherv" [ mine; out; counts; displs ] (fun ps ->
        let mutable req = 0n
        let c = Native.MPI_Iallgatherv(ps.[0], mine.Length, t, ps.[1], ps.[2], ps.[3], t, commWorld.Force(), &req)
        c, req)

/// Nonblocking broadcast of rank root's array into every rank's.
let ibroadcast<'T> (data: 'T[]) (root: int) =
    start "MPI_Ibcast" [ data ] (fun ps ->
        let mutable req = 0n
        let c = Native.MPI_Ibcast(ps.Head, data.Length, typeOf<'T> (), root, commWorld.Force(), &req)
        c, req)
