namespace Hybrid.Core.Backends.Cpu

open System
open System.Threading
open System.Threading.Tasks

/// One split loop in flight: chunks are claimed by the calling thread and the team's workers alike.
[<AllowNullLiteral>]
type internal Job(body: int -> int -> unit, n: int, k: int) =
    let size = (n + k - 1) / k
    let mutable next = -1
    let mutable left = k
    let mutable error: exn = null
    /// Runs chunks until none is left to claim.
    member _.Work() =
        let mutable c = Interlocked.Increment &next
        while c < k do
            try
                let s = c * size
                let e = min n (s + size)
                if s < e then body s e
            with ex -> error <- ex
            Interlocked.Decrement &left |> ignore
            c <- Interlocked.Increment &next
    member _.Finished = Volatile.Read &left = 0
    member _.Error = error

/// Worker threads that stay with the calling thread between ops: after a job they spin for a few tens of
/// microseconds waiting for the next one before they block, as OpenMP's active wait does. Handing a chunk
/// to a spinning worker costs well under a microsecond; waking a blocked ThreadPool thread costs 10–20 µs,
/// as much as a 250K-element add on one core, and a training step runs dozens of such ops back to back.
type internal Team(workers: int) =
    static let spinTicks = Diagnostics.Stopwatch.Frequency / 20_000L // 50 µs
    let mutable job: Job = null
    let mutable generation = 0L
    let mutable busy = 0
    let wake = new SemaphoreSlim(0)
    let mutable sleeping = 0
    let loop () =
        let mutable seen = 0L
        while true do
            // spin for the next generation, then block
            let t0 = Diagnostics.Stopwatch.GetTimestamp()
            while Volatile.Read &generation = seen && Diagnostics.Stopwatch.GetTimestamp() - t0 < spinTicks do
                Thread.SpinWait 20
            if Volatile.Read &generation = seen then
                Interlocked.Increment &sleeping |> ignore
                // re-check after announcing the sleep, so a post in between is not missed
                if Volatile.Read &generation = seen then wake.Wait()
                Interlocked.Decrement &sleeping |> ignore
            let g = Volatile.Read &generation
            if g <> seen then
                seen <- g
                match Volatile.Read &job with
                | null -> ()
                | j -> j.Work()
    do
        for i in 1 .. workers do
            Thread(loop, IsBackground = true, Name = sprintf "hybrid-cpu-%d" i).Start()

    /// Runs body over k chunks of [0, n) on the calling thread and the workers; false when the team is
    /// busy with another thread's job (the caller then splits some other way).
    member _.TryRun(body: int -> int -> unit, n: int, k: int) =
        if Interlocked.CompareExchange(&busy, 1, 0) <> 0 then false
        else
            try
                let j = Job(body, n, k)
                Volatile.Write(&job, j)
                Interlocked.Increment &generation |> ignore
                let s = Volatile.Read &sleeping
                if s > 0 then wake.Release(min s workers) |> ignore
                j.Work()
                let mutable spin = SpinWait()
                while not j.Finished do spin.SpinOnce(-1)
                Volatile.Write(&job, null)
                match j.Error with
                | null -> true
                | ex -> Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex).Throw(); true
            finally
                Volatile.Write(&busy, 0)

/// Splitting loops over the machine's cores: small work runs inline, large work in a few chunks.
module Par =
    /// Work below this many elements runs on the calling thread (thread hand-off costs ~µs).
    let grain = 1 <<< 15

    /// The same for elementwise ops of a few cycles an element (add, mul, relu, comparisons): a 2-way
    /// hand-off costs 10-20 µs here, what one core needs for ~250K such elements (measured: a 65K-element
    /// add took 7.6 µs inline and 20 µs split over the two cores).
    let cheapGrain = 1 <<< 18

    let private team = lazy (Team(Environment.ProcessorCount - 1))

    /// Calls body(start, stop) over [0, n) in chunks of at least `minChunk`: up to 4 a core, claimed by
    /// whichever thread is free (a core taken by another process slows the op down, it does not stall it).
    let chunks (n: int) (minChunk: int) (body: int -> int -> unit) =
        let p = Environment.ProcessorCount
        let k = min (4 * p) (max 1 (n / max 1 minChunk))
        if k <= 1 then body 0 n
        // a nested split (from inside a chunk) or another thread's finds the team busy: ThreadPool then
        elif not (team.Value.TryRun(body, n, k)) then
            let k = min p k
            let size = (n + k - 1) / k
            try
                Parallel.For(0, k, fun c ->
                    let s = c * size
                    let e = min n (s + size)
                    if s < e then body s e) |> ignore
            with :? AggregateException as ae when ae.InnerExceptions.Count >= 1 ->
                // the chunk's own exception, as the team path throws it
                Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ae.InnerExceptions.[0]).Throw()

    /// Elementwise chunks: inline under `grain` elements.
    let elementwise (n: int) (body: int -> int -> unit) = chunks n grain body

    /// Chunks of a cheap elementwise op: inline under `cheapGrain` elements.
    let elementwiseCheap (n: int) (body: int -> int -> unit) = chunks n cheapGrain body
