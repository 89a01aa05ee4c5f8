/// The DistributedSampler's laws for any data-set size, number of ranks, seed and epoch.
module Hybrid.Tests.DistributedSamplerTests

open Xunit
open FsCheck
open FsCheck.Xunit
open Hybrid.Core.Distributed

let private opts (n: int) (w: int) seed drop =
    { DistributedSampler.options (abs n % 200) (1 + abs w % 8) with Seed = seed; DropTail = drop }

let private shards (o: DistributedSampler.Options) epoch = Array.init o.WorldSize (fun r -> DistributedSampler.indices o r epoch)

[<Property>]
let ``every rank's shard has the same length: ceil(n/N) padded, floor(n/N) dropping the tail`` (n: int) (w: int) seed drop epoch =
    let o = opts n w seed drop
    let expected = if drop then o.Count / o.WorldSize else (o.Count + o.WorldSize - 1) / o.WorldSize
    shards o epoch |> Array.forall (fun s -> s.Length = expected)

[<Property>]
let ``padded shards cover the epoch, with exactly the padding repeated`` (n: int) (w: int) seed epoch =
    let o = opts n w seed false
    let all = shards o epoch |> Array.concat
    (all |> Array.distinct |> Array.sort) = Array.init o.Count id
    && all.Length - o.Count = (if o.Count = 0 then 0 else DistributedSampler.shardLength o * o.WorldSize - o.Count)

[<Property>]
let ``shards without padding are disjoint and miss only the dropped tail`` (n: int) (w: int) seed epoch =
    let o = opts n w seed true
    let all = shards o epoch |> Array.concat
    Array.distinct all = all && all.Length = o.Count - o.Count % o.WorldSize
    && Set.isSubset (set all) (set [ 0 .. o.Count - 1 ])

[<Property>]
let ``the order is the same on every rank's computation and changes with the epoch`` seed (epoch: int) =
    let o = { DistributedSampler.options 50 3 with Seed = seed }
    DistributedSampler.epochOrder o epoch = DistributedSampler.epochOrder o epoch
    && DistributedSampler.epochOrder o epoch <> DistributedSampler.epochOrder o (epoch + 1)

[<Fact>]
let ``without shuffling rank r reads r, r+N, ... and the padding wraps to the head`` () =
    let o = { DistributedSampler.options 5 2 with Shuffle = false }
    Assert.Equal<int[]>([| 0; 2; 4 |], DistributedSampler.indices o 0 7)
    Assert.Equal<int[]>([| 1; 3; 0 |], DistributedSampler.indices o 1 7)

[<Fact>]
let ``a rank outside the world is a clear error`` () =
    let e = Assert.Throws<System.ArgumentException>(fun () -> DistributedSampler.indices (DistributedSampler.options 5 2) 2 0 |> ignore)
    Assert.Contains("rank 2 outside 0..1", e.Message)
