/// Which samples each rank reads in an epoch (torch.utils.data.DistributedSampler's contract, as a pure
/// function of the epoch instead of a mutable `set_epoch`, so that a trainer cannot forget to advance it).
/// The epoch's order is one permutation of 0..n-1 drawn from (seed, epoch) — the same on every rank — then
/// either padded by repeating its head up to ⌈n/N⌉·N indices (torch's default, every sample seen) or cut to
/// ⌊n/N⌋·N (DropTail); rank r takes positions r, r+N, r+2N, ... so the shards are disjoint (except for the
/// padded repeats), cover the epoch, and all have the same length.
module Hybrid.Core.Distributed.DistributedSampler

open Hybrid.Core

/// How the epoch is divided.
type Options =
    { /// Samples in the data set.
      Count: int
      /// Ranks sharing the epoch.
      WorldSize: int
      /// Permute the samples each epoch (else visit them in order).
      Shuffle: bool
      /// Seed of the permutation; with the epoch it fixes the order on every rank.
      Seed: int
      /// Drop the last Count mod WorldSize samples of the order instead of padding.
      DropTail: bool }

/// Shuffled with seed 0, padded.
let options count worldSize = { Count = count; WorldSize = worldSize; Shuffle = true; Seed = 0; DropTail = false }

let private validate (o: Options) =
    if o.Count < 0 then invalidArg "Count" (sprintf "DistributedSampler: Count %d < 0" o.Count)
    if o.WorldSize < 1 then invalidArg "WorldSize" (sprintf "DistributedSampler: WorldSize %d < 1" o.WorldSize)

/// Samples per rank per epoch: ⌈n/N⌉ when padding, ⌊n/N⌋ when dropping the tail.
let shardLength (o: Options) =
    validate o
    if o.DropTail then o.Count / o.WorldSize else (o.Count + o.WorldSize - 1) / o.WorldSize

/// A 32-bit seed from (seed, epoch): splitmix64's finaliser, so neighbouring epochs get unrelated orders.
let private mix (seed: int) (epoch: int) =
    let mutable z = (uint64 (uint32 seed) <<< 32 ||| uint64 (uint32 epoch)) + 0x9E3779B97F4A7C15UL
    z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
    z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
    int (uint32 (z ^^^ (z >>> 31)))

/// The whole epoch's order before it is dealt to the ranks (same on every rank).
let epochOrder (o: Options) (epoch: int) : int[] =
    validate o
    if o.Shuffle then Generator(mix o.Seed epoch).Permutation o.Count else Array.init o.Count id

/// The sample indices rank `rank` reads in epoch `epoch`, in order.
let indices (o: Options) (rank: int) (epoch: int) : int[] =
    if rank < 0 || rank >= o.WorldSize then
        invalidArg "rank" (sprintf "DistributedSampler: rank %d outside 0..%d" rank (o.WorldSize - 1))
    let order = epochOrder o epoch
    let len = shardLength o
    if o.Count = 0 then [||]
    else Array.init len (fun i -> order.[(rank + i * o.WorldSize) % o.Count])
