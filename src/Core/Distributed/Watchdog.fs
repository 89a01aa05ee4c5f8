/// A watchdog on every collective: a rank that hangs or dies must not leave the others waiting forever.
/// Each collective is started nonblocking and polled; before it, every rank posts a one-integer arrival notice
/// (the step) to every other rank. If the collective has not completed after the timeout, the rank reads which
/// notices have come, names the ranks whose notice is missing (the ones that never reached this collective),
/// prints one line to stderr and ends the whole job with MPI_Abort. Cost per collective: 2(N−1) messages of 4
/// bytes, nothing against a gradient bucket.
namespace Hybrid.Core.Distributed

open System
open System.Diagnostics
open System.Threading

/// The watchdog of one communicator (MPI_COMM_WORLD); all its collectives must run on one thread at a time.
type Watchdog(timeout: TimeSpan) =
    let rank = Mpi.rank ()
    let size = Mpi.size ()
    let mutable sequence = 0

    /// Exit code of a job the watchdog ended.
    static member AbortCode = 124

    /// The timeout of each collective.
    member _.Timeout = timeout

    /// Run the collective `start` starts, named `name` (e.g. "MPI_Iallreduce of bucket 2") at training step
    /// `step`, until it completes; aborts the job naming the ranks that did not arrive if it takes longer than
    /// the timeout. Returns the seconds spent.
    member _.Run(name: string, step: int, start: Func<Mpi.Request>) : float =
        let sw = Stopwatch.StartNew()
        sequence <- sequence + 1
        let tag = sequence % 30000
        let others = [| for q in 0 .. size - 1 do if q <> rank then q |]
        let notice = [| step |]
        let sends = others |> Array.map (fun q -> Mpi.isend notice q tag)
        let inbox = others |> Array.map (fun _ -> [| 0 |])
        let recvs = others |> Array.mapi (fun i q -> Mpi.irecv inbox.[i] q tag)
        let req = start.Invoke()
        let poll () =
            // spin (yielding) for the first milliseconds, then sleep a millisecond between tests
            if sw.Elapsed.TotalMilliseconds < 5.0 then Thread.Yield() |> ignore else Thread.Sleep 1
        while not (req.Test()) do
            if sw.Elapsed > timeout then
                let missing = Array.zip others recvs |> Array.filter (fun (_, r) -> not (r.Test())) |> Array.map fst
                let who =
                    if missing.Length = 0 then "every rank arrived but the collective did not complete"
                    else sprintf "rank(s) %s did not arrive" (String.Join(", ", missing))
                eprintfn "hybrid distributed watchdog: rank %d of %d waited %.1f s in %s at step %d (timeout %.1f s); %s; aborting the job"
                    rank size sw.Elapsed.TotalSeconds name step timeout.TotalSeconds who
                Console.Error.Flush()
                Mpi.abort Watchdog.AbortCode
            poll ()
        // every rank entered the collective, so every notice was sent: they complete at once
        for r in Array.append sends recvs do
            while not (r.Test()) do Thread.Yield() |> ignore
        sw.Elapsed.TotalSeconds
