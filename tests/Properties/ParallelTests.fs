module Hybrid.Tests.ParallelTests

open System
open System.Threading
open System.Threading.Tasks
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Backends.Cpu

/// How many times each index of [0, n) was visited by Par.chunks.
let private visits (n: int) (minChunk: int) =
    let hits = Array.zeroCreate<int> n
    Par.chunks n minChunk (fun s e -> for i in s .. e - 1 do Interlocked.Increment &hits.[i] |> ignore)
    hits

[<Property(MaxTest = 200)>]
let ``chunks cover every index exactly once`` (n: uint16) (minChunk: byte) =
    visits (int n) (int minChunk) |> Array.forall ((=) 1)

[<Fact>]
let ``chunks split inside a chunk and from several threads at once still cover every index once`` () =
    let n = 1 <<< 16
    let results =
        Array.init 4 (fun _ ->
            Task.Run(fun () ->
                [| for _ in 1 .. 50 do
                    let hits = Array.zeroCreate<int> n
                    Par.chunks n 1024 (fun s e ->
                        // a nested split of the chunk
                        Par.chunks (e - s) 256 (fun s2 e2 ->
                            for i in s + s2 .. s + e2 - 1 do Interlocked.Increment &hits.[i] |> ignore))
                    yield Array.forall ((=) 1) hits |]))
    Task.WaitAll(results |> Array.map (fun t -> t :> Task))
    for t in results do Assert.All(t.Result, fun ok -> Assert.True ok)

[<Fact>]
let ``an exception in a chunk reaches the caller and the next split still works`` () =
    let e = Assert.Throws<InvalidOperationException>(fun () ->
        Par.chunks 100000 1000 (fun s _ -> if s > 0 then invalidOp "chunk failed"))
    Assert.Equal("chunk failed", e.Message)
    Assert.True(visits 100000 1000 |> Array.forall ((=) 1))
