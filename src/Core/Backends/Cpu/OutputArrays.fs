namespace Hybrid.Core.Backends.Cpu

open System
open System.Collections.Generic
open System.Threading

/// Owns one pooled output array for every CPU tensor (and view) that shares it: when the last of
/// them is unreachable the garbage collector finalizes the lease and the array goes back to the pool.
[<AllowNullLiteral>]
type Lease internal (array: Array, giveBack: Array -> unit) =
    override _.Finalize() = giveBack array

/// Recycles the CPU backend's large output arrays, as PyTorch's caching allocator does: a fresh managed
/// array of a few MB costs more than the kernel that fills it (page faults on new GC memory, cold caches,
/// and a collection each), so an op's output comes from a free list of
/// arrays of exactly that length and type when one is there.
///
/// An array returns to the pool when its `Lease` is finalized, i.e. after a collection found every tensor
/// that held it unreachable. Arrays handed out since the last collection are counted: when a request
/// misses and more than `Budget` bytes are out, the pool asks for a collection (generation 1, generation 2
/// when that gave too little back) and waits for the finalizers, so the set of arrays in circulation
/// stays near the budget instead of growing until the GC's own schedule. Arrays under `MinBytes` are
/// plain allocations (cheap in generation 0). `HYBRID_POOL_MB` (default 256; 0 disables pooling) bounds
/// the bytes kept in the free lists.
module OutputArrays =
    let private envInt (name: string) (fallback: int64) =
        match Environment.GetEnvironmentVariable name with
        | null | "" -> fallback
        | s -> match Int64.TryParse s with | true, v when v >= 0L -> v | _ -> fallback

    /// Arrays smaller than this many bytes are not pooled: generation 0 hands them out fast and cache-warm.
    /// The regions GC allocates an array of its 4 MB region size or more outside generation 0, and each such
    /// fresh array brings a full collection: the pool starts below that size.
    let MinBytes = envInt "HYBRID_POOL_MIN_BYTES" (2L * 1024L * 1024L)
    /// Most bytes kept in the free lists (arrays given back beyond it are left to the GC).
    let CapBytes = envInt "HYBRID_POOL_MB" 256L * 1024L * 1024L
    /// Bytes handed out since the last collection after which a miss asks for a collection.
    let Budget = 32L * 1024L * 1024L

    let private gate = obj ()
    let private free = Dictionary<struct (Type * int), Stack<Array>>()
    let mutable private freeBytes = 0L
    let mutable private outSinceGc = 0L
    let mutable private lastGcCount = 0
    let mutable private escalate = false
    let mutable private reused = 0L
    let mutable private fresh = 0L
    let mutable private collections = 0L

    let private bytesOf (a: Array) =
        int64 a.Length * int64 (Runtime.InteropServices.Marshal.SizeOf(a.GetType().GetElementType()))

    /// Called by a lease's finalizer: keep the array for the next request of its type and length.
    let private giveBack (a: Array) =
        let b = bytesOf a
        lock gate (fun () ->
            if freeBytes + b <= CapBytes then
                let key = struct (a.GetType().GetElementType(), a.Length)
                match free.TryGetValue key with
                | true, s -> s.Push a
                | _ -> let s = Stack<Array>() in s.Push a; free.[key] <- s
                freeBytes <- freeBytes + b)

    let private tryTake (t: Type) (n: int) (bytes: int64) : Array =
        lock gate (fun () ->
            let gcs = GC.CollectionCount 0
            if gcs <> lastGcCount then
                lastGcCount <- gcs
                outSinceGc <- 0L
            outSinceGc <- outSinceGc + bytes
            match free.TryGetValue(struct (t, n)) with
            | true, s when s.Count > 0 ->
                freeBytes <- freeBytes - bytes
                reused <- reused + 1L
                s.Pop()
            | _ -> null)

    /// A miss with more than `Budget` bytes out since the last collection: collect, run the finalizers
    /// (they give arrays back), then look again.
    let private collectAndRetry (t: Type) (n: int) (bytes: int64) : Array =
        let over = lock gate (fun () -> outSinceGc > Budget)
        if not over then null
        else
            let before = lock gate (fun () -> freeBytes)
            let gen = if escalate then 2 else 1
            GC.Collect(gen, GCCollectionMode.Forced, true, false)
            GC.WaitForPendingFinalizers()
            lock gate (fun () ->
                collections <- collections + 1L
                // less than a quarter of what was out came back: older leases, look deeper next time
                escalate <- freeBytes - before < outSinceGc / 4L && gen = 1
                lastGcCount <- GC.CollectionCount 0
                outSinceGc <- 0L)
            tryTake t n bytes

    /// Recently rented arrays of this thread not yet wrapped by a tensor (see `adopt`).
    type private Pending() =
        [<ThreadStatic; DefaultValue>]
        static val mutable private ring: Array[]
        [<ThreadStatic; DefaultValue>]
        static val mutable private next: int
        static member Add(a: Array) =
            if isNull Pending.ring then Pending.ring <- Array.zeroCreate 8
            Pending.ring.[Pending.next] <- a
            Pending.next <- (Pending.next + 1) % Pending.ring.Length
        static member Remove(a: Array) =
            let r = Pending.ring
            if isNull r then false
            else
                let mutable found = false
                for i in 0 .. r.Length - 1 do
                    if not found && Object.ReferenceEquals(r.[i], a) then
                        r.[i] <- null
                        found <- true
                found

    /// Whether an array of n elements of 'T comes from the pool (pooling on, MinBytes or more).
    let private pooled<'T> (n: int) =
        CapBytes > 0L && int64 n * int64 (Runtime.CompilerServices.Unsafe.SizeOf<'T>()) >= MinBytes

    /// An output array of `n` elements whose contents are undefined (the caller writes every element).
    let rent<'T> (n: int) : 'T[] =
        if not (pooled<'T> n) then GC.AllocateUninitializedArray<'T> n
        else
            let bytes = int64 n * int64 (Runtime.CompilerServices.Unsafe.SizeOf<'T>())
            let t = typeof<'T>
            let a =
                match tryTake t n bytes with
                | null ->
                    match collectAndRetry t n bytes with
                    | null ->
                        lock gate (fun () -> fresh <- fresh + 1L)
                        GC.AllocateUninitializedArray<'T> n
                    | a -> a :?> 'T[]
                | a -> a :?> 'T[]
            Pending.Add a
            a

    /// An output array of `n` zeros.
    let rentZeroed<'T> (n: int) : 'T[] =
        if not (pooled<'T> n) then Array.zeroCreate<'T> n
        else
            let a = rent<'T> n
            Array.Clear a
            a

    /// The lease for an array this thread rented and no tensor owns yet; null for any other array.
    /// The CPU tensor that wraps a kernel's output calls it once; its views share the lease.
    let adopt (a: Array) : Lease =
        if isNull a || not (Pending.Remove a) then null else Lease(a, giveBack)

    /// Counters since the process started: arrays reused, freshly allocated, collections asked for,
    /// and bytes now in the free lists.
    let stats () = lock gate (fun () -> reused, fresh, collections, freeBytes)
