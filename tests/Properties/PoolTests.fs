module Hybrid.Tests.PoolTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

// 1M floats = 4 MB: above OutputArrays.MinBytes, so every op output below comes from the pool.
let n = 1 <<< 20

let private ramp (seed: int) = Array.init n (fun i -> float32 ((i * 7 + seed) % 1000) / 100.0f)

/// Runs ops whose outputs die, with full collections in between: each lease is finalized and its array
/// goes back to the pool. Each round holds 24 outputs at once, so it takes every array the free list has
/// (an array wrongly given back would be overwritten here).
let private churn (x: RawTensor) (rounds: int) =
    for i in 1 .. rounds do
        let live = Array.init 24 (fun k -> if k % 2 = 0 then x.Binary(Add, x) else x.Unary(MulScalar -1.0))
        GC.KeepAlive live
        if i % 2 = 0 then
            GC.Collect()
            GC.WaitForPendingFinalizers()

[<Fact>]
let ``outputs of 4 MB and more are pooled arrays that come back and are reused`` () =
    let x = (Create.ofFloat32 (ramp 0) [| n |]).Raw
    Assert.True(int64 n * 4L >= OutputArrays.MinBytes)
    let reused0, _, _, _ = OutputArrays.stats ()
    churn x 4
    let reused1, _, _, _ = OutputArrays.stats ()
    Assert.True(reused1 - reused0 >= 24L, sprintf "expected reuse, got %d reused arrays" (reused1 - reused0))

[<Property(MaxTest = 8)>]
let ``a live tensor keeps its values however much pooled reuse happens around it`` (seed: int) =
    let xs = ramp (abs (seed % 1000))
    let x = (Create.ofFloat32 xs [| n |]).Raw
    let kept = x.Binary(Mul, x)
    churn x 4
    let got = kept.ToFloat32Array()
    Array.forall2 (fun (g: float32) (v: float32) -> g = v * v) got xs

// Built in frames of their own, so that nothing on the test's stack keeps the base tensors alive.
[<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private reshapedView (x: RawTensor) = x.Unary(MulScalar 3.0).Reshape [| 1024; 1024 |]
[<System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)>]
let private sameTypeCast (x: RawTensor) = x.Unary(MulScalar 5.0).Cast Float32

[<Fact>]
let ``a view keeps the array alive after the tensor it was taken from is gone`` () =
    let xs = ramp 3
    let x = (Create.ofFloat32 xs [| n |]).Raw
    // the base tensors are gone: only the reshaped view and the same-dtype cast hold the arrays
    let view = reshapedView x
    let cast = sameTypeCast x
    churn x 4
    let v = view.ToFloat32Array()
    let c = cast.ToFloat32Array()
    Assert.Equal<int[]>([| 1024; 1024 |], view.Shape)
    for i in 0 .. n - 1 do
        Assert.Equal(xs.[i] * 3.0f, v.[i])
        Assert.Equal(xs.[i] * 5.0f, c.[i])

[<Fact>]
let ``arrays a caller handed in never go to the pool`` () =
    let mine = ramp 5
    let copy = Array.copy mine
    let wrapped = CpuBackend().FromFloat32(mine, [| n |])
    let y = wrapped.Unary(MulScalar 2.0)
    Assert.Equal(copy.[17] * 2.0f, y.ToFloat32Array().[17])
    // drop the wrapper, collect, churn: the caller's array is untouched
    churn (Create.ofFloat32 (ramp 6) [| n |]).Raw 4
    Assert.Equal<float32[]>(copy, mine)
    GC.KeepAlive wrapped

[<Fact>]
let ``training-sized sequences give the same values with the pool as the formulas`` () =
    // a small network's worth of ops on 4 MB tensors: matmul, softmax, reductions, layout, all pooled
    let g = Generator(11)
    let a = Create.randn g Float32 [| 1024; 1024 |]
    let b = Create.randn g Float32 [| 1024; 1024 |]
    let s1 = Reduction.sum (Softmax.softmax 1 (a * b)) |> fun t -> t.Item
    churn a.Raw 4
    let s2 = Reduction.sum (Softmax.softmax 1 (a * b)) |> fun t -> t.Item
    // each softmax row sums to 1: 1024 rows
    Assert.InRange(float s1, 1023.9, 1024.1)
    Assert.Equal(s1, s2)
    let t = Reshaping.transpose 0 1 (a + b)
    let t2 = Reshaping.transpose 0 1 t
    churn a.Raw 4
    let back = t2.Raw.ToFloat32Array()
    let expected = (a + b).Raw.ToFloat32Array()
    Assert.Equal<float32[]>(expected, back)
