/// Bucketed, overlapped gradient averaging (Li et al., VLDB 2020, §3.2.3–3.2.4): during backward the tape tells
/// the reducer each parameter's final gradient (Tape.registerHook); the gradient is copied into its bucket's flat
/// buffer, and when a bucket's last gradient is in, the bucket goes to a communication thread that allreduces it
/// (sum, then ÷ N: the average) under the watchdog while backward goes on with the earlier layers. `Finish` waits
/// for every bucket and returns the averaged gradients. The communication thread is the only MPI caller while a
/// step runs.
namespace Hybrid.Core.Distributed

open System
open System.Collections.Concurrent
open System.Diagnostics
open System.Threading
open Hybrid.Core

/// Counters of a reducer since it was made.
type ReducerStats =
    { /// Steps whose gradients were averaged.
      SyncedSteps: int
      /// Seconds the communication thread spent in collectives.
      CommunicationSeconds: float
      /// Seconds `Finish` waited for buckets after backward ended (communication not hidden by backward).
      WaitSeconds: float
      /// Gradient bytes allreduced per step (the sum of the buckets).
      GradientBytes: int64 }

/// The reducer of one model: `shapes` and `dtypes` of its parameters in registration order.
type Reducer(shapes: int[][], dtypes: DType[], firstCapBytes: int64, capBytes: int64, watchdog: Watchdog, overlap: bool) =
    let items = Array.map2 (fun (s: int[]) d -> ({ Numel = Array.fold (*) 1 s; DType = d }: Buckets.Item)) shapes dtypes
    let buckets = Buckets.assign firstCapBytes capBytes items
    let worldSize = Mpi.size ()
    let where = Array.zeroCreate<int * int> shapes.Length // parameter → (bucket, slot)
    do buckets |> Array.iteri (fun b bk -> bk.Slots |> Array.iteri (fun j s -> where.[s.Index] <- (b, j)))
    let buffers: Array[] =
        buckets |> Array.map (fun b -> if b.DType = Float32 then box (Array.zeroCreate<float32> b.Numel) :?> Array else Array.zeroCreate<float> b.Numel :> Array)
    let filled = Array.init buckets.Length (fun b -> Array.zeroCreate<bool> buckets.[b].Slots.Length)
    let pending = buckets |> Array.map (fun b -> b.Slots.Length)
    let launched = Array.zeroCreate<bool> buckets.Length
    let doneCount = new SemaphoreSlim(0)
    let queue = new BlockingCollection<int * int>()
    let mutable failure: exn = null
    let mutable step = 0
    let mutable commSeconds = 0.0
    let mutable waitSeconds = 0.0
    let mutable synced = 0

    let average (b: int) (st: int) =
        let name = sprintf "MPI_Iallreduce of gradient bucket %d (%d bytes)" b buckets.[b].Bytes
        match buffers.[b] with
        | :? (float32[]) as a ->
            let t = watchdog.Run(name, st, fun () -> Mpi.iallreduceSumSlice a 0 a.Length)
            let n = float32 worldSize
            for i in 0 .. a.Length - 1 do a.[i] <- a.[i] / n
            t
        | :? (float[]) as a ->
            let t = watchdog.Run(name, st, fun () -> Mpi.iallreduceSumSlice a 0 a.Length)
            let n = float worldSize
            for i in 0 .. a.Length - 1 do a.[i] <- a.[i] / n
            t
        | _ -> 0.0

    let thread =
        Thread((fun () ->
            for b, st in queue.GetConsumingEnumerable() do
                try
                    if isNull failure then commSeconds <- commSeconds + average b st
                with e -> failure <- e
                doneCount.Release() |> ignore),
               IsBackground = true, Name = "hybrid-allreduce")
    do thread.Start()

    let launch (b: int) =
        launched.[b] <- true
        // one rank: the average is the buffer itself, and handing it to the thread would only cost time
        if worldSize = 1 then doneCount.Release() |> ignore else queue.Add((b, step))

    let copyIn (b: int) (j: int) (g: Tensor) =
        let s = buckets.[b].Slots.[j]
        match buffers.[b] with
        | :? (float32[]) as a -> Array.blit (g.ToFloat32Array()) 0 a s.Offset s.Numel
        | :? (float[]) as a -> Array.blit (g.ToFloat64Array()) 0 a s.Offset s.Numel
        | _ -> ()

    /// The buckets (reverse registration order).
    member _.Buckets = buckets

    /// The training step the next collectives belong to (named by the watchdog).
    member _.Step with get () = step and set v = step <- v

    /// Parameter `index`'s gradient is final for this backward: copy it into its bucket, and send the bucket off
    /// when it is complete (with overlap) — called on the backward thread.
    member _.Ready(index: int, grad: Tensor) =
        let b, j = where.[index]
        // one rank: the gradient is already its own average; nothing to copy
        if worldSize > 1 && not filled.[b].[j] && not launched.[b] then
            if grad.Numel <> buckets.[b].Slots.[j].Numel then
                invalidOp (sprintf "DistributedDataParallel: the gradient of parameter %d has %d elements, the parameter %d" index grad.Numel buckets.[b].Slots.[j].Numel)
            copyIn b j grad
            filled.[b].[j] <- true
            pending.[b] <- pending.[b] - 1
            if pending.[b] = 0 && overlap then launch b

    /// Wait for every bucket (sending the ones not yet sent; a parameter backward did not reach counts as a zero
    /// gradient) and return the averaged gradient of each parameter by index, as CPU tensors of its shape.
    /// With one rank nothing moves: the result is all null, meaning "keep the gradient backward wrote".
    member _.Finish() : Tensor[] =
      if worldSize = 1 then
        synced <- synced + 1
        Array.zeroCreate<Tensor> shapes.Length
      else
        let sw = Stopwatch.StartNew()
        for b in 0 .. buckets.Length - 1 do
            if not launched.[b] then
                for j in 0 .. filled.[b].Length - 1 do
                    if not filled.[b].[j] then
                        let s = buckets.[b].Slots.[j]
                        Array.Clear(buffers.[b], s.Offset, s.Numel)
                launch b
        for _ in 1 .. buckets.Length do doneCount.Wait()
        waitSeconds <- waitSeconds + sw.Elapsed.TotalSeconds
        if not (isNull failure) then raise (InvalidOperationException("DistributedDataParallel: the gradient allreduce failed: " + failure.Message, failure))
        let out = Array.zeroCreate<Tensor> shapes.Length
        for b in 0 .. buckets.Length - 1 do
            for s in buckets.[b].Slots do
                // each gradient gets its own fresh array, which the tensor takes without another copy
                out.[s.Index] <-
                    match buffers.[b] with
                    | :? (float32[]) as a -> Tensor(Create.cpu.FromFloat32(Array.sub a s.Offset s.Numel, shapes.[s.Index]))
                    | a -> Tensor(Create.cpu.FromFloat64(Array.sub (a :?> float[]) s.Offset s.Numel, shapes.[s.Index]))
            Array.Clear(filled.[b], 0, filled.[b].Length)
            pending.[b] <- buckets.[b].Slots.Length
            launched.[b] <- false
        synced <- synced + 1
        out

    /// Counters so far.
    member _.Stats =
        { SyncedSteps = synced; CommunicationSeconds = commSeconds; WaitSeconds = waitSeconds
          GradientBytes = buckets |> Array.sumBy (fun b -> b.Bytes) }

    /// Stop the communication thread.
    member _.Dispose() =
        queue.CompleteAdding()
        thread.Join()
        doneCount.Dispose()
        queue.Dispose()

    interface IDisposable with
        member r.Dispose() = r.Dispose()
