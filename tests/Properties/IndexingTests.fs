module Hybrid.Tests.IndexingTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.OpCheck

let private values (t: Tensor) = t.ToFloat64Array()
let private grid () = Reshaping.reshape [| 3; 4 |] (Create.arange Float64 0.0 12.0 1.0)

/// A shape (rank 1..3), a dim of it, a seed.
let private genShapeDim =
    gen {
        let! shape = genShapeOfRank 1 3
        let! dim = Gen.choose (-shape.Length, shape.Length - 1)
        let! seed = Gen.choose (0, 1000)
        return shape, dim, seed
    }

let private norm (rank: int) (dim: int) = if dim < 0 then dim + rank else dim

// ---- gradients (autodiff vs central differences), and second order through the adjoint ops

[<Property(MaxTest = 40)>]
let ``index select has exact gradients, repeated indices included, to second order`` () =
    forAll genShapeDim (fun (shape, dim, seed) ->
        let x = tensorOf seed shape
        let idx = randomIndex seed shape.[norm shape.Length dim] [| 5 |]
        gradCheck (fun x -> loss (Indexing.indexSelect dim idx x)) x
        && hvpCheck (fun x -> cubic (Indexing.indexSelect dim idx x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 40)>]
let ``index add has exact gradients in x and in src, to second order`` () =
    forAll genShapeDim (fun (shape, dim, seed) ->
        let d = norm shape.Length dim
        let x = tensorOf seed shape
        let idx = randomIndex seed shape.[d] [| 3 |]
        let srcShape = shape |> Array.mapi (fun i s -> if i = d then 3 else s)
        let src = tensorOf (seed + 2) srcShape
        gradCheck (fun x -> loss (Indexing.indexAdd dim idx src x)) x
        && gradCheck (fun s -> loss (Indexing.indexAdd dim idx s x)) src
        && hvpCheck (fun s -> cubic (Indexing.indexAdd dim idx s x)) src (tensorOf (seed + 3) srcShape))

/// An index for gather/scatter: x's shape, no larger outside dim, values in range.
let private gatherIndex (seed: int) (shape: int[]) (d: int) =
    let g = Generator(seed)
    let ishape = shape |> Array.mapi (fun i s -> if i = d then g.NextInt(1, 5) else g.NextInt(1, s + 1))
    ishape, randomIndex seed shape.[d] ishape

[<Property(MaxTest = 40)>]
let ``gather has exact gradients, to second order`` () =
    forAll genShapeDim (fun (shape, dim, seed) ->
        let x = tensorOf seed shape
        let _, idx = gatherIndex seed shape (norm shape.Length dim)
        gradCheck (fun x -> loss (Indexing.gather dim idx x)) x
        && hvpCheck (fun x -> cubic (Indexing.gather dim idx x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 40)>]
let ``scatter add has exact gradients in x and in a src larger than the index, to second order`` () =
    forAll genShapeDim (fun (shape, dim, seed) ->
        let x = tensorOf seed shape
        let ishape, idx = gatherIndex seed shape (norm shape.Length dim)
        let srcShape = ishape |> Array.map (fun s -> s + 1)
        let src = tensorOf (seed + 2) srcShape
        gradCheck (fun x -> loss (Indexing.scatterAdd dim idx src x)) x
        && gradCheck (fun s -> loss (Indexing.scatterAdd dim idx s x)) src
        && hvpCheck (fun s -> cubic (Indexing.scatterAdd dim idx s x)) src (tensorOf (seed + 3) srcShape))

// ---- laws

[<Property(MaxTest = 50)>]
let ``index select equals gather with the index broadcast along the other dims`` () =
    forAll genShapeDim (fun (shape, dim, seed) ->
        let d = norm shape.Length dim
        let x = tensorOf seed shape
        let picks = (randomIndex seed shape.[d] [| 4 |]).ToInt64Array()
        let gshape = shape |> Array.mapi (fun i s -> if i = d then 4 else s)
        let strides = Shape.strides gshape
        let full = Array.init (Shape.numel gshape) (fun p -> picks.[(p / strides.[d]) % 4])
        values (Indexing.indexSelect dim (indexOf picks [| 4 |]) x) = values (Indexing.gather dim (indexOf full gshape) x))

[<Property(MaxTest = 50)>]
let ``scatter add is the adjoint of gather`` () =
    // <gather(x), u> = <x, scatterAdd(0, u)>
    forAll genShapeDim (fun (shape, dim, seed) ->
        let x = tensorOf seed shape
        let ishape, idx = gatherIndex seed shape (norm shape.Length dim)
        let u = tensorOf (seed + 4) ishape
        let lhs = (Reduction.sum (Indexing.gather dim idx x * u)).Item
        let rhs = (Reduction.sum (x * Indexing.scatterAdd dim idx u (Create.zerosLike x))).Item
        abs (lhs - rhs) < 1e-10)

[<Property(MaxTest = 30)>]
let ``one hot rows sum to one and pick the class`` () =
    forAll (Gen.zip (genShapeOfRank 0 2) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let idx = randomIndex seed 5 shape
        let oh = Indexing.oneHot 5 Float32 idx
        oh.Shape = Array.append shape [| 5 |]
        && oh.DType = Float32
        && values (Reduction.sumDims [| -1 |] false oh) = Array.create (Shape.numel shape) 1.0
        && (values (Indexing.gather -1 (Reshaping.unsqueeze -1 idx) oh) |> Array.forall ((=) 1.0)))

// ---- values (torch: golden/layout_indexing_matmul.py)

[<Fact>]
let ``index select index add gather and scatter add match torch`` () =
    let x = grid ()
    Assert.Equal<float[]>([| 3.0; 0.0; 3.0; 7.0; 4.0; 7.0; 11.0; 8.0; 11.0 |], values (Indexing.indexSelect 1 (indexOf [| 3L; 0L; 3L |] [| 3 |]) x))
    Assert.Equal<float[]>([| 1.0; 2.0; 3.0; 4.0; 4.0; 5.0; 6.0; 7.0; 10.0; 11.0; 12.0; 13.0 |],
                          values (Indexing.indexAdd 0 (indexOf [| 2L; 0L; 2L |] [| 3 |]) (Create.ones Float64 [| 3; 4 |]) x))
    let idx = indexOf [| 0L; 2L; 1L; 0L; 2L; 2L |] [| 3; 2 |]
    Assert.Equal<float[]>([| 0.0; 2.0; 5.0; 4.0; 10.0; 10.0 |], values (Indexing.gather 1 idx x))
    let src = Reshaping.reshape [| 3; 2 |] (Create.arange Float64 1.0 7.0 1.0)
    Assert.Equal<float[]>([| 1.0; 0.0; 2.0; 0.0; 4.0; 3.0; 0.0; 0.0; 0.0; 0.0; 11.0; 0.0 |],
                          values (Indexing.scatterAdd 1 idx src (Create.zeros Float64 [| 3; 4 |])))
    Assert.Equal<float[]>([| 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |],
                          values (Indexing.oneHot 3 Float64 (indexOf [| 2L; 0L; 1L; 2L |] [| 2; 2 |])))
    Assert.Equal<int[]>([| 4; 3 |], (Indexing.oneHot -1 Float64 (indexOf [| 2L; 0L; 1L; 2L |] [| 4 |])).Shape)

[<Fact>]
let ``the gradient of index select adds up repeated rows`` () =
    let g = Tape.grad (fun x -> Reduction.sum (Indexing.indexSelect 0 (indexOf [| 1L; 1L; 0L |] [| 3 |]) x)) (Create.zeros Float64 [| 3; 2 |])
    Assert.Equal<float[]>([| 1.0; 1.0; 2.0; 2.0; 0.0; 0.0 |], values g)

[<Fact>]
let ``index kernels work on float32 and int64 storage`` () =
    let x = Tensor((grid ()).Raw.Cast Float32)
    Assert.Equal<float32[]>([| 3.0f; 7.0f; 11.0f |], (Indexing.indexSelect 1 (indexOf [| 3L |] [| 1 |]) x).ToFloat32Array())
    let xi = Tensor((grid ()).Raw.Cast Int64)
    Assert.Equal<int64[]>([| 8L; 9L; 10L; 11L |], (Indexing.indexSelect 0 (indexOf [| 2L |] [| 1 |]) xi).ToInt64Array())
    Assert.Equal<int64[]>([| 1L; 6L |], (Indexing.gather 1 (indexOf [| 1L; 2L |] [| 2; 1 |]) xi).ToInt64Array())

// ---- bad input

let private throwsWith<'E when 'E :> exn> (parts: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<'E>(fun () -> f () |> ignore)
    for p in parts do Assert.Contains(p, e.Message)

[<Fact>]
let ``out-of-range indices name the op, the dim, the index and the size`` () =
    let x = grid ()
    throwsWith<ArgumentOutOfRangeException> [ "index_select"; "index 4"; "dim 1"; "size 4" ] (fun () -> box (Indexing.indexSelect 1 (indexOf [| 0L; 4L |] [| 2 |]) x))
    throwsWith<ArgumentOutOfRangeException> [ "index_select"; "index -1"; "dim 0"; "size 3" ] (fun () -> box (Indexing.indexSelect 0 (indexOf [| -1L |] [| 1 |]) x))
    throwsWith<ArgumentOutOfRangeException> [ "gather"; "index 7"; "dim 1"; "size 4" ] (fun () -> box (Indexing.gather 1 (indexOf [| 7L |] [| 1; 1 |]) x))
    throwsWith<ArgumentOutOfRangeException> [ "scatter_add"; "index 3"; "dim 0"; "size 3" ] (fun () -> box (Indexing.scatterAdd 0 (indexOf [| 3L |] [| 1; 1 |]) (Create.ones Float64 [| 1; 1 |]) x))
    throwsWith<ArgumentOutOfRangeException> [ "index_add"; "index 5"; "size 3" ] (fun () -> box (Indexing.indexAdd 0 (indexOf [| 5L |] [| 1 |]) (Create.ones Float64 [| 1; 4 |]) x))
    throwsWith<ArgumentOutOfRangeException> [ "one_hot"; "index 3"; "3 classes" ] (fun () -> box (Indexing.oneHot 3 Float64 (indexOf [| 3L |] [| 1 |])))
    throwsWith<ArgumentOutOfRangeException> [ "index_select"; "dim 2" ] (fun () -> box (Indexing.indexSelect 2 (indexOf [| 0L |] [| 1 |]) x))

[<Fact>]
let ``bad index tensors name the op and the shapes`` () =
    let x = grid ()
    throwsWith<ArgumentException> [ "index_select"; "Int64"; "float64" ] (fun () -> box (Indexing.indexSelect 0 (Create.zeros Float64 [| 1 |]) x))
    throwsWith<ArgumentException> [ "index_select"; "rank 1"; "[1,1]" ] (fun () -> box (Indexing.indexSelect 0 (indexOf [| 0L |] [| 1; 1 |]) x))
    throwsWith<ArgumentException> [ "gather"; "[2]"; "[3,4]" ] (fun () -> box (Indexing.gather 0 (indexOf [| 0L; 0L |] [| 2 |]) x))
    throwsWith<ArgumentException> [ "gather"; "[1,5]"; "[3,4]"; "dim 1" ] (fun () -> box (Indexing.gather 0 (indexOf (Array.zeroCreate 5) [| 1; 5 |]) x))
    throwsWith<ArgumentException> [ "scatter_add"; "[1,1]"; "[2,2]" ] (fun () -> box (Indexing.scatterAdd 0 (indexOf (Array.zeroCreate 4) [| 2; 2 |]) (Create.ones Float64 [| 1; 1 |]) x))
    throwsWith<ArgumentException> [ "index_add"; "[2,4]"; "[3,4]"; "[1,4]" ] (fun () -> box (Indexing.indexAdd 0 (indexOf [| 0L |] [| 1 |]) (Create.ones Float64 [| 2; 4 |]) x))
    throwsWith<ArgumentException> [ "one_hot"; "numClasses"; "0" ] (fun () -> box (Indexing.oneHot 0 Float64 (indexOf [| 0L |] [| 1 |])))
