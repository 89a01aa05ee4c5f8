/// Gradient buckets of data-parallel training (Li et al., "PyTorch Distributed", VLDB 2020, §3.2.3): the
/// parameters are packed, in REVERSE order of registration (backward produces the last layers' gradients first),
/// into flat buckets of at most `cap` bytes, the first one smaller (1 MB by default) so that its allreduce starts
/// early; a bucket holds one dtype. One allreduce per bucket instead of one per parameter amortises the
/// collective's latency, and a bucket's allreduce can start as soon as its last gradient is ready.
module Hybrid.Core.Distributed.Buckets

open Hybrid.Core

/// A parameter as the bucketing sees it.
type Item =
    { /// Elements.
      Numel: int
      /// Element type (a bucket holds one).
      DType: DType }

/// Where a parameter lies in its bucket's flat buffer.
type Slot =
    { /// The parameter's index in registration order.
      Index: int
      /// First element in the bucket's buffer.
      Offset: int
      /// Elements.
      Numel: int }

/// A flat buffer holding the gradients of its slots back to back.
type Bucket =
    { Slots: Slot[]
      /// Elements of the buffer (the sum of the slots').
      Numel: int
      DType: DType }
    /// Bytes of the buffer.
    member b.Bytes = int64 b.Numel * int64 b.DType.Size

/// DDP's defaults: 25 MB buckets, the first 1 MB.
let defaultCapBytes = 25L * 1024L * 1024L
let defaultFirstCapBytes = 1L * 1024L * 1024L

/// Pack the items into buckets in reverse order: a new bucket starts when the dtype changes or when the next
/// item would take the bucket past its cap (bucket 0's cap is `firstCap`, later ones `cap`); an item larger than
/// the cap gets a bucket of its own.
let assign (firstCap: int64) (cap: int64) (items: Item[]) : Bucket[] =
    if firstCap <= 0L || cap <= 0L then
        invalidArg "cap" (sprintf "Buckets.assign: caps must be positive (first %d bytes, others %d bytes)" firstCap cap)
    let buckets = ResizeArray<Bucket>()
    let current = ResizeArray<Slot>()
    let mutable numel = 0
    let mutable dtype = Float64
    let close () =
        if current.Count > 0 then
            buckets.Add { Slots = current.ToArray(); Numel = numel; DType = dtype }
            current.Clear()
            numel <- 0
    for i in items.Length - 1 .. -1 .. 0 do
        let it = items.[i]
        if it.Numel < 0 then invalidArg "items" (sprintf "Buckets.assign: item %d has %d elements" i it.Numel)
        let limit = if buckets.Count = 0 then firstCap else cap
        if current.Count > 0 && (it.DType <> dtype || int64 (numel + it.Numel) * int64 dtype.Size > limit) then close ()
        dtype <- it.DType
        current.Add { Index = i; Offset = numel; Numel = it.Numel }
        numel <- numel + it.Numel
    close ()
    buckets.ToArray()

/// The bucket's buffer from each slot's array (`arrayOf index`, of the slot's length), copied back to back.
let flatten (b: Bucket) (arrayOf: int -> 'T[]) : 'T[] =
    let flat = Array.zeroCreate<'T> b.Numel
    for s in b.Slots do
        let a = arrayOf s.Index
        if a.Length <> s.Numel then
            invalidArg "arrayOf" (sprintf "Buckets.flatten: parameter %d has %d elements, its slot %d" s.Index a.Length s.Numel)
        Array.blit a 0 flat s.Offset s.Numel
    flat

/// Each slot's part of the buffer, as (parameter index, copy of its elements).
let unflatten (b: Bucket) (flat: 'T[]) : (int * 'T[])[] =
    if flat.Length <> b.Numel then
        invalidArg "flat" (sprintf "Buckets.unflatten: a buffer of %d elements for a bucket of %d" flat.Length b.Numel)
    b.Slots |> Array.map (fun s -> s.Index, Array.sub flat s.Offset s.Numel)
