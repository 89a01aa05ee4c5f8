/// Laws of gradient bucketing and of the tape's gradient-ready hook that starts each bucket's allreduce.
module Hybrid.Tests.BucketsTests

open System.Collections.Generic
open Xunit
open FsCheck
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Distributed

let private items (sizes: int[]) (f32: bool[]) =
    sizes |> Array.mapi (fun i n ->
        ({ Numel = abs n % 5000; DType = (if f32.Length > 0 && f32.[i % f32.Length] then Float32 else Float64) }: Buckets.Item))

let private caps (a: int) (b: int) = int64 (1 + abs a % 20000), int64 (1 + abs b % 60000)

[<Property>]
let ``the buckets cover every parameter exactly once`` (sizes: int[]) (f32: bool[]) (a: int) (b: int) =
    let first, cap = caps a b
    let bs = Buckets.assign first cap (items sizes f32)
    (bs |> Array.collect (fun b -> b.Slots |> Array.map (fun s -> s.Index)) |> Array.sort) = Array.init sizes.Length id

[<Property>]
let ``parameters are packed in reverse order of registration, back to back`` (sizes: int[]) (f32: bool[]) (a: int) (b: int) =
    let first, cap = caps a b
    let bs = Buckets.assign first cap (items sizes f32)
    let order = bs |> Array.collect (fun b -> b.Slots |> Array.map (fun s -> s.Index))
    order = Array.init sizes.Length (fun i -> sizes.Length - 1 - i)
    && bs |> Array.forall (fun b ->
        b.Numel = Array.sumBy (fun (s: Buckets.Slot) -> s.Numel) b.Slots
        && b.Slots |> Array.pairwise |> Array.forall (fun (s, t) -> t.Offset = s.Offset + s.Numel)
        && (b.Slots.Length = 0 || b.Slots.[0].Offset = 0))

[<Property>]
let ``a bucket stays within its cap (the first within the first cap) unless it holds one parameter`` (sizes: int[]) (f32: bool[]) (a: int) (b: int) =
    let first, cap = caps a b
    let its = items sizes f32
    let bs = Buckets.assign first cap its
    bs |> Array.mapi (fun i b -> b.Slots.Length = 1 || b.Bytes <= (if i = 0 then first else cap)) |> Array.forall id
    && bs |> Array.forall (fun b -> b.Slots |> Array.forall (fun s -> its.[s.Index].DType = b.DType))

[<Property>]
let ``unflatten undoes flatten`` (sizes: int[]) (a: int) (b: int) =
    let first, cap = caps a b
    let its = items sizes [||]
    let arrays = its |> Array.mapi (fun i it -> Array.init it.Numel (fun j -> float (i * 10000 + j)))
    Buckets.assign first cap its |> Array.forall (fun b ->
        Buckets.unflatten b (Buckets.flatten b (fun i -> arrays.[i])) |> Array.forall (fun (i, xs) -> xs = arrays.[i]))

[<Fact>]
let ``the default caps are DDP's 25 MB with a 1 MB first bucket`` () =
    // 40 parameters of 1 MB (131072 float64): the first bucket takes one, the next ones 25 each
    let bs = Buckets.assign Buckets.defaultFirstCapBytes Buckets.defaultCapBytes (Array.create 40 ({ Numel = 131072; DType = Float64 }: Buckets.Item))
    Assert.Equal<int[]>([| 1; 25; 14 |], bs |> Array.map (fun b -> b.Slots.Length))

// ---------------------------------------------------------------- the gradient-ready hook

let private leaf seed (shape: int[]) =
    let t = Create.ofFloat64 (Array.init (Array.fold (*) 1 shape) (fun i -> sin (float (seed * 31 + i)))) shape
    t.RequiresGrad <- true
    t

/// A 3-layer tanh MLP whose first weight is also used by the loss (two consumers).
let private mlp () =
    let ws = [| leaf 1 [| 4; 5 |]; leaf 2 [| 5; 3 |]; leaf 3 [| 3; 2 |] |]
    let x = Create.ofFloat64 (Array.init 12 (fun i -> cos (float i))) [| 3; 4 |]
    let loss () =
        let h = Pointwise.tanh (Linalg.matmul (Pointwise.tanh (Linalg.matmul x ws.[0])) ws.[1])
        Reduction.sum (Linalg.matmul h ws.[2] * Linalg.matmul h ws.[2]) + Reduction.sum (ws.[0] * ws.[0]) * 0.1
    ws, loss

[<Fact>]
let ``hooked backward gives the unhooked gradients, tells each leaf once with its final gradient, last layers first`` () =
    let ws, loss = mlp ()
    Tape.backward (loss ())
    let expected = ws |> Array.map (fun w -> w.Grad.ToFloat64Array())
    for w in ws do w.Grad <- null
    let seen = List<int * float[]>()
    let mutable finished = 0
    let hook =
        { new Tape.BackwardHook with
            member _.LeafReady t = seen.Add((Array.findIndex (fun w -> obj.ReferenceEquals(w, t)) ws, t.Grad.ToFloat64Array()))
            member _.Finished() = finished <- finished + 1 }
    use _ = Tape.registerHook ws hook
    Tape.backward (loss ())
    Assert.Equal<int[]>([| 2; 1; 0 |], seen |> Seq.map fst |> Array.ofSeq)
    for i, g in seen do Assert.Equal<float[]>(expected.[i], g)
    for i in 0 .. 2 do Assert.Equal<float[]>(expected.[i], ws.[i].Grad.ToFloat64Array())
    Assert.Equal(1, finished)

[<Fact>]
let ``a hook is not told after it is disposed`` () =
    let ws, loss = mlp ()
    let mutable told = 0
    let hook = { new Tape.BackwardHook with
                    member _.LeafReady _ = told <- told + 1
                    member _.Finished() = () }
    (Tape.registerHook ws hook).Dispose()
    Tape.backward (loss ())
    Assert.Equal(0, told)
