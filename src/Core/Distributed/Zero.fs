/// ZeRO stage 1 (Rajbhandari et al., "ZeRO: Memory Optimizations Toward Training Trillion Parameter Models",
/// SC 2020; torch's ZeroRedundancyOptimizer): the parameters are viewed as one flat vector of P elements; rank r
/// owns the slice [r·c, min(P, (r+1)·c)) with c = ⌈P/N⌉, keeps optimizer state only for it, applies the unchanged
/// per-element rule to it with the averaged gradient, and the updated slices are allgathered so every replica
/// holds the whole new vector. Per-element rules give the same values as updating every parameter on every rank.
module Hybrid.Core.Distributed.Zero

/// Rank `rank`'s slice [lo, hi) of a flat vector of `total` elements over `worldSize` ranks (c = ⌈P/N⌉).
let shard (total: int) (worldSize: int) (rank: int) =
    if worldSize < 1 || rank < 0 || rank >= worldSize then
        invalidArg "rank" (sprintf "Zero.shard: rank %d of %d ranks" rank worldSize)
    let c = (total + worldSize - 1) / worldSize
    let lo = min total (rank * c)
    lo, min total (lo + c)

/// Every rank's slice length, in rank order.
let counts (total: int) (worldSize: int) =
    Array.init worldSize (fun r -> let lo, hi = shard total worldSize r in hi - lo)

/// Elements [lo, hi) of the concatenation of `arrays`, without building the whole vector.
let slice (arrays: 'T[][]) (lo: int) (hi: int) : 'T[] =
    let out = Array.zeroCreate<'T> (hi - lo)
    let mutable start = 0
    for a in arrays do
        let a0, a1 = max lo start, min hi (start + a.Length)
        if a0 < a1 then Array.blit a (a0 - start) out (a0 - lo) (a1 - a0)
        start <- start + a.Length
    out

/// The flat vector cut back into arrays of the given lengths.
let split (flat: 'T[]) (numels: int[]) : 'T[][] =
    if Array.sum numels <> flat.Length then
        invalidArg "flat" (sprintf "Zero.split: %d elements for arrays of %d in all" flat.Length (Array.sum numels))
    let starts = Array.scan (+) 0 numels
    numels |> Array.mapi (fun i n -> Array.sub flat starts.[i] n)

/// Every rank's updated slice gathered into the whole vector of `total` elements, under the watchdog.
let gather (watchdog: Watchdog) (step: int) (mine: 'T[]) (total: int) : 'T[] * float =
    let cs = counts total (Mpi.size ())
    let out = Array.zeroCreate<'T> total
    let seconds = watchdog.Run(sprintf "MPI_Iallgatherv of the ZeRO-1 parameter slices (%d elements)" total, step, fun () -> Mpi.iallgatherv mine cs out)
    out, seconds
