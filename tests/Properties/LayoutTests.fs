module Hybrid.Tests.LayoutTests

open System
open Xunit
open FsCheck
open FsCheck.FSharp
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Tests.Check
open Hybrid.Tests.OpCheck

let private arange (n: int) = Create.arange Float64 0.0 (float n) 1.0
let private values (t: Tensor) = t.ToFloat64Array()

// ---- gradients of every layout op (autodiff vs central differences) and their second order

[<Property(MaxTest = 30)>]
let ``reshape view and flatten have exact gradients`` () =
    forAll (Gen.zip (genShapeOfRank 0 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let n = x.Numel
        gradCheck (fun x -> loss (Reshaping.reshape [| -1 |] x)) x
        && gradCheck (fun x -> loss (Reshaping.view [| 1; n; 1 |] x)) x
        && gradCheck (fun x -> loss (Reshaping.flatten 0 -1 x)) x
        && hvpCheck (fun x -> cubic (Reshaping.reshape [| n; 1 |] x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 30)>]
let ``squeeze and unsqueeze have exact gradients`` () =
    forAll (Gen.zip3 (genShapeOfRank 0 3) (Gen.choose (0, 1000)) (Gen.choose (-4, 3))) (fun (shape, seed, dim) ->
        let x = tensorOf seed (Array.append shape [| 1 |])
        let d = if dim < 0 then max dim (-(x.Rank + 1)) else min dim x.Rank
        gradCheck (fun x -> loss (Reshaping.squeeze x)) x
        && gradCheck (fun x -> loss (Reshaping.squeezeDim -1 x)) x
        && gradCheck (fun x -> loss (Reshaping.unsqueeze d x)) x)

[<Property(MaxTest = 30)>]
let ``permute and transpose gradients agree with finite differences, to second order`` () =
    forAll (Gen.zip (genShapeOfRank 1 4) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let perm = Generator(seed).Permutation(shape.Length)
        gradCheck (fun x -> loss (Reshaping.permute perm x)) x
        && gradCheck (fun x -> loss (Reshaping.transpose 0 -1 x)) x
        && hvpCheck (fun x -> cubic (Reshaping.permute perm x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 30)>]
let ``expand sums its gradient over the broadcast dims`` () =
    forAll (Gen.zip (genShapeOfRank 1 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed (shape |> Array.mapi (fun i d -> if i % 2 = 0 then 1 else d))
        let target = Array.append [| 2 |] shape
        gradCheck (fun x -> loss (Reshaping.expand target x)) x
        && hvpCheck (fun x -> cubic (Reshaping.expand target x)) x (tensorOf (seed + 1) x.Shape))

let private genSlice =
    gen {
        let! shape = genShapeOfRank 1 3
        let! dim = Gen.choose (-shape.Length, shape.Length - 1)
        let! start = Gen.choose (-6, 6)
        let! stop = Gen.choose (-6, 6)
        let! step = Gen.elements [ -3; -2; -1; 1; 2; 3 ]
        let! seed = Gen.choose (0, 1000)
        return shape, dim, start, stop, step, seed
    }

[<Property(MaxTest = 60)>]
let ``slice with negative dims, bounds and steps has exact gradients, to second order`` () =
    forAll genSlice (fun (shape, dim, start, stop, step, seed) ->
        let x = tensorOf seed shape
        let f x = loss (Reshaping.slice dim start stop step x)
        gradCheck f x && hvpCheck (fun x -> cubic (Reshaping.slice dim start stop step x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 30)>]
let ``slice scatter is the adjoint of slice, and differentiates as one`` () =
    forAll genSlice (fun (shape, dim, start, stop, step, seed) ->
        let step = abs step
        let x = tensorOf seed shape
        let y = Reshaping.slice dim start stop step x
        let u = tensorOf (seed + 2) y.Shape
        // <slice x, u> = <x, sliceScatter u>
        let lhs = Reduction.sum (y * u)
        let rhs = Reduction.sum (x * Reshaping.sliceScatter shape dim start stop step u)
        abs (lhs.Item - rhs.Item) < 1e-10
        && gradCheck (fun u -> loss (Reshaping.sliceScatter shape dim start stop step u)) u
        && hvpCheck (fun u -> cubic (Reshaping.sliceScatter shape dim start stop step u)) u (tensorOf (seed + 3) y.Shape))

[<Property(MaxTest = 30)>]
let ``narrow select and flip have exact gradients`` () =
    forAll (Gen.zip (genShapeOfRank 1 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let n = shape.[0]
        gradCheck (fun x -> loss (Reshaping.narrow 0 (n / 2) (n - n / 2) x)) x
        && gradCheck (fun x -> loss (Reshaping.select 0 -1 x)) x
        && gradCheck (fun x -> loss (Reshaping.flip -1 x)) x
        && hvpCheck (fun x -> cubic (Reshaping.select -1 0 x)) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 30)>]
let ``concat and stack route each input's gradient back to it`` () =
    forAll (Gen.zip3 (genShapeOfRank 1 3) (Gen.choose (0, 1000)) (Gen.choose (0, 2))) (fun (shape, seed, k) ->
        let d = k % shape.Length
        let other = shape |> Array.mapi (fun i s -> if i = d then s + 1 else s)
        let c = tensorOf (seed + 5) other
        let x = tensorOf seed shape
        gradCheck (fun x -> loss (Reshaping.concat d [| x; c; x * 2.0 |])) x
        && gradCheck (fun x -> loss (Reshaping.stack (-1 - d) [| x; tensorOf (seed + 6) shape; x |])) x
        && hvpCheck (fun x -> cubic (Reshaping.cat d [| c; x |])) x (tensorOf (seed + 1) shape))

[<Property(MaxTest = 30)>]
let ``split and chunk pieces have exact gradients`` () =
    forAll (Gen.zip (genShapeOfRank 1 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let weighted (pieces: Tensor[]) = pieces |> Array.mapi (fun i p -> loss (p * float (i + 1))) |> Array.reduce (+)
        gradCheck (fun x -> weighted (Reshaping.split 2 -1 x)) x
        && gradCheck (fun x -> weighted (Reshaping.chunk 3 0 x)) x)

[<Fact>]
let ``clone copies the value and passes the gradient through; detach cuts the graph`` () =
    let x = tensorOf 3 [| 2; 3 |]
    Assert.True(gradCheck (fun x -> loss (Reshaping.clone x)) x)
    let xs = Create.ofFloat64 [| 1.0; 2.0 |] [| 2 |]
    xs.RequiresGrad <- true
    let c = Reshaping.clone xs
    Assert.NotSame(xs.Raw, c.Raw)
    Assert.Equal<float[]>([| 1.0; 2.0 |], values c)
    let d = Reshaping.detach (xs * 3.0)
    Assert.True(d.IsLeaf)
    Assert.False(d.RequiresGrad)
    Assert.Equal<float[]>([| 3.0; 6.0 |], values d)

// ---- laws

[<Property(MaxTest = 50)>]
let ``permute then the inverse permutation is the identity`` () =
    forAll (Gen.zip (genShapeOfRank 0 4) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let p = Generator(seed).Permutation(shape.Length)
        let inv = Array.zeroCreate p.Length
        p |> Array.iteri (fun i d -> inv.[d] <- i)
        let y = Reshaping.permute p x
        y.Shape = Array.map (fun d -> shape.[d]) p
        && (Reshaping.permute inv y).Shape = shape
        && values (Reshaping.permute inv y) = values x)

[<Property(MaxTest = 50)>]
let ``reshape round trip keeps the values in row-major order`` () =
    forAll (Gen.zip (genShapeOfRank 0 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let flat = Reshaping.reshape [| -1 |] x
        values flat = values x && (Reshaping.reshape shape flat).Shape = shape && values (Reshaping.reshape shape flat) = values x)

[<Property(MaxTest = 50)>]
let ``concat then split is the identity`` () =
    forAll (Gen.zip3 (genShapeOfRank 1 3) (Gen.choose (0, 1000)) (Gen.arrayOfLength 3 (Gen.choose (0, 3)))) (fun (shape, seed, sizes) ->
        let d = seed % shape.Length
        let parts = sizes |> Array.mapi (fun i s -> tensorOf (seed + i) (shape |> Array.mapi (fun j v -> if j = d then s else v)))
        let back = Reshaping.splitSizes sizes d (Reshaping.concat d parts)
        Array.forall2 (fun (a: Tensor) (b: Tensor) -> a.Shape = b.Shape && values a = values b) parts back)

[<Property(MaxTest = 50)>]
let ``stack is unsqueeze then concat`` () =
    forAll (Gen.zip (genShapeOfRank 0 3) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let d = seed % (shape.Length + 1)
        let xs = Array.init 3 (fun i -> tensorOf (seed + i) shape)
        let s = Reshaping.stack d xs
        let c = Reshaping.concat d (xs |> Array.map (Reshaping.unsqueeze d))
        s.Shape = c.Shape && values s = values c && (Reshaping.select d 1 s |> values) = values xs.[1])

[<Property(MaxTest = 50)>]
let ``transpose twice is the identity and mT swaps the last two dims`` () =
    forAll (Gen.zip (genShapeOfRank 2 4) (Gen.choose (0, 1000))) (fun (shape, seed) ->
        let x = tensorOf seed shape
        let t = Reshaping.transpose -1 -2 x
        values (Reshaping.transpose -2 -1 t) = values x && values t = values (Linalg.mT x))

// ---- values (Python's slice rules; see golden/layout_indexing_matmul.py)

[<Fact>]
let ``slice follows Python's rules for negative and clamped bounds and steps`` () =
    let x = arange 10
    Assert.Equal<float[]>([| 8.0; 5.0; 2.0 |], values (Reshaping.slice 0 8 1 -3 x))
    Assert.Equal<float[]>([| 3.0; 5.0; 7.0; 9.0 |], values (Reshaping.slice 0 -7 100 2 x))
    Assert.Equal<float[]>(Array.init 10 (fun i -> float (9 - i)), values (Reshaping.slice 0 Int32.MaxValue Int32.MinValue -1 x))
    Assert.Equal<int[]>([| 0 |], (Reshaping.slice 0 5 2 1 x).Shape)

[<Fact>]
let ``slicing a matrix along its last dim keeps the rows`` () =
    let x = Reshaping.reshape [| 3; 4 |] (arange 12)
    let y = Reshaping.slice -1 1 4 2 x
    Assert.Equal<int[]>([| 3; 2 |], y.Shape)
    Assert.Equal<float[]>([| 1.0; 3.0; 5.0; 7.0; 9.0; 11.0 |], values y)
    Assert.Equal<float[]>([| 4.0; 5.0; 6.0; 7.0 |], values (Reshaping.select 0 -2 x))
    Assert.Equal<float[]>([| 1.0; 2.0; 5.0; 6.0; 9.0; 10.0 |], values (Reshaping.narrow 1 1 2 x))
    Assert.Equal<float[]>([| 0.0; 4.0; 8.0; 1.0; 5.0; 9.0; 2.0; 6.0; 10.0; 3.0; 7.0; 11.0 |], values (Reshaping.transpose 0 1 x))

[<Fact>]
let ``the gradient of a strided slice is the upstream gradient written at the sliced positions`` () =
    let g = Tape.grad (fun x -> Reduction.sum (Reshaping.slice 0 -1 0 -2 x * Create.vector [| 1.0; 2.0; 3.0 |])) (arange 6)
    // x[5], x[3], x[1] get weights 1, 2, 3
    Assert.Equal<float[]>([| 0.0; 3.0; 0.0; 2.0; 0.0; 1.0 |], values g)

[<Fact>]
let ``flatten squeeze and unsqueeze give torch's shapes`` () =
    let x = Create.zeros Float64 [| 2; 1; 3; 1 |]
    Assert.Equal<int[]>([| 2; 3 |], (Reshaping.squeeze x).Shape)
    Assert.Equal<int[]>([| 2; 3; 1 |], (Reshaping.squeezeDim 1 x).Shape)
    Assert.Equal<int[]>([| 2; 1; 3; 1 |], (Reshaping.squeezeDim 0 x).Shape)
    Assert.Equal<int[]>([| 2; 3; 1 |], (Reshaping.flatten 1 2 x).Shape)
    Assert.Equal<int[]>([| 6 |], (Reshaping.flatten 0 -1 x).Shape)
    Assert.Equal<int[]>([| 1 |], (Reshaping.flatten 0 -1 (Create.scalar Float64 2.0)).Shape)
    Assert.Equal<int[]>([| 2; 1; 3; 1; 1 |], (Reshaping.unsqueeze -1 x).Shape)
    Assert.Equal<int[]>([| 4; 2; 1; 3; 1 |], (Reshaping.expand [| 4; -1; -1; 3; -1 |] (Create.zeros Float64 [| 2; 1; 1; 1 |])).Shape)

[<Fact>]
let ``split and chunk follow torch's piece sizes`` () =
    let x = arange 7
    Assert.Equal<int[]>([| 3; 3; 1 |], Reshaping.split 3 0 x |> Array.map (fun t -> t.Shape.[0]))
    Assert.Equal<int[]>([| 3; 3; 1 |], Reshaping.chunk 3 0 x |> Array.map (fun t -> t.Shape.[0]))
    Assert.Equal<int[]>([| 2; 2; 2 |], Reshaping.chunk 4 0 (arange 6) |> Array.map (fun t -> t.Shape.[0]))
    Assert.Equal<float[]>([| 3.0; 4.0; 5.0 |], values (Reshaping.split 3 0 x).[1])

// ---- bad input: the exception type, and a message that names the op and the offending values

let private throwsWith<'E when 'E :> exn> (parts: string list) (f: unit -> obj) =
    let e = Assert.ThrowsAny<'E>(fun () -> f () |> ignore)
    Assert.IsAssignableFrom<'E>(e) |> ignore
    for p in parts do Assert.Contains(p, e.Message)

[<Fact>]
let ``concat of mismatched shapes names both shapes and the dim`` () =
    let a, b = Create.zeros Float64 [| 2; 3 |], Create.zeros Float64 [| 2; 4 |]
    throwsWith<ArgumentException> [ "concat"; "[2,3]"; "[2,4]"; "dim 1" ] (fun () -> box (Reshaping.concat 0 [| a; b |]))
    throwsWith<ArgumentException> [ "concat"; "[2,3]"; "[2]" ] (fun () -> box (Reshaping.concat 0 [| a; Create.zeros Float64 [| 2 |] |]))
    throwsWith<ArgumentException> [ "concat"; "none" ] (fun () -> box (Reshaping.concat 0 [||]))
    throwsWith<ArgumentException> [ "stack"; "[2,3]"; "[2,4]" ] (fun () -> box (Reshaping.stack 0 [| a; b |]))
    throwsWith<ArgumentException> [ "concat"; "float32"; "float64" ] (fun () -> box (Reshaping.concat 1 [| a; Create.zeros Float32 [| 2; 3 |] |]))

[<Fact>]
let ``out-of-range dims name the op, the dim and the valid range`` () =
    let x = Create.zeros Float64 [| 2; 3 |]
    throwsWith<ArgumentOutOfRangeException> [ "transpose"; "dim 2"; "-2..1" ] (fun () -> box (Reshaping.transpose 0 2 x))
    throwsWith<ArgumentOutOfRangeException> [ "unsqueeze"; "dim 3"; "-3..2" ] (fun () -> box (Reshaping.unsqueeze 3 x))
    throwsWith<ArgumentOutOfRangeException> [ "slice"; "dim -3" ] (fun () -> box (Reshaping.slice -3 0 1 1 x))
    throwsWith<ArgumentOutOfRangeException> [ "concat"; "dim 2" ] (fun () -> box (Reshaping.concat 2 [| x; x |]))
    throwsWith<ArgumentOutOfRangeException> [ "flatten"; "dim 5" ] (fun () -> box (Reshaping.flatten 0 5 x))

[<Fact>]
let ``out-of-range indices and bad arguments name the op and the values`` () =
    let x = Create.zeros Float64 [| 2; 3 |]
    throwsWith<ArgumentOutOfRangeException> [ "select"; "index 3"; "size 3"; "-3..2" ] (fun () -> box (Reshaping.select 1 3 x))
    throwsWith<ArgumentOutOfRangeException> [ "narrow"; "length 3"; "size 3" ] (fun () -> box (Reshaping.narrow 1 1 3 x))
    throwsWith<ArgumentOutOfRangeException> [ "narrow"; "start 4"; "size 3" ] (fun () -> box (Reshaping.narrow 1 4 0 x))
    throwsWith<ArgumentException> [ "slice"; "step"; "0" ] (fun () -> box (Reshaping.slice 0 0 1 0 x))
    throwsWith<ArgumentException> [ "permute"; "[0,0]" ] (fun () -> box (Reshaping.permute [| 0; 0 |] x))
    throwsWith<ArgumentException> [ "permute"; "[0]"; "[2,3]" ] (fun () -> box (Reshaping.permute [| 0 |] x))
    throwsWith<ArgumentException> [ "expand"; "[2,3]"; "[2,4]" ] (fun () -> box (Reshaping.expand [| 2; 4 |] x))
    throwsWith<ArgumentException> [ "reshape"; "6"; "[4,2]" ] (fun () -> box (Reshaping.reshape [| 4; 2 |] x))
    throwsWith<ArgumentException> [ "split"; "[1,1]"; "size 3" ] (fun () -> box (Reshaping.splitSizes [| 1; 1 |] 1 x))
    throwsWith<ArgumentException> [ "slice_scatter"; "[2,2]"; "[2,3]" ] (fun () -> box (Reshaping.sliceScatter [| 2; 3 |] 1 0 3 1 (Create.zeros Float64 [| 2; 2 |])))
