namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// A seeded random source (xoshiro256** underneath System.Random's seeded mode): the same seed gives
/// the same tensors on every run and machine.
type Generator(seed: int) =
    let rng = Random(seed)
    /// The seed this generator started from.
    member _.Seed = seed
    /// Uniform in [0, 1).
    member _.NextDouble() = rng.NextDouble()
    /// Standard normal (Box-Muller).
    member _.NextNormal() =
        let u1 = 1.0 - rng.NextDouble()
        let u2 = rng.NextDouble()
        sqrt (-2.0 * log u1) * cos (2.0 * Math.PI * u2)
    /// Uniform integer in [lo, hi).
    member _.NextInt(lo: int, hi: int) = rng.Next(lo, hi)
    /// A permutation of 0..n-1.
    member _.Permutation(n: int) =
        let p = Array.init n id
        rng.Shuffle p
        p

/// Creating tensors: every function takes the dtype explicitly and returns a leaf on the CPU backend
/// (move with `Device.To` once the ILGPU backend is present).
module Create =
    let cpu = Registry.host

    let private leaf (raw: RawTensor) = Tensor(raw)

    let private ofFloats (dtype: DType) (data: float[]) (shape: int[]) =
        match dtype with
        | Float32 -> leaf (cpu.FromFloat32(Array.map float32 data, shape))
        | Float64 -> leaf (cpu.FromFloat64(data, shape))
        | Int64 -> leaf (cpu.FromInt64(Array.map int64 data, shape))

    /// Zeros of a shape.
    let zeros (dtype: DType) (shape: int[]) = leaf (cpu.Zeros(Shape.check "zeros" shape, dtype))
    /// Ones of a shape.
    let ones (dtype: DType) (shape: int[]) = leaf (cpu.Full(Shape.check "ones" shape, 1.0, dtype))
    /// A shape filled with one value.
    let full (dtype: DType) (shape: int[]) (value: float) = leaf (cpu.Full(Shape.check "full" shape, value, dtype))
    /// A scalar (rank 0).
    let scalar (dtype: DType) (value: float) = leaf (cpu.Full([||], value, dtype))
    /// Zeros with the shape, dtype and device of `t`.
    let zerosLike (t: Tensor) = Tensor(t.Raw.Backend.Zeros(t.Shape, t.DType))
    /// Ones with the shape, dtype and device of `t`.
    let onesLike (t: Tensor) = Tensor(t.Raw.Backend.Full(t.Shape, 1.0, t.DType))
    /// A value with the shape, dtype and device of `t`.
    let fullLike (t: Tensor) (v: float) = Tensor(t.Raw.Backend.Full(t.Shape, v, t.DType))

    /// From float32 data with a shape (the array is copied).
    let ofFloat32 (data: float32[]) (shape: int[]) =
        let shape = Shape.check "fromArray" shape
        if Shape.numel shape <> data.Length then
            invalidArg "shape" (sprintf "fromArray: %d values do not fill shape %s (%d elements)" data.Length (Shape.show shape) (Shape.numel shape))
        leaf (cpu.FromFloat32(Array.copy data, shape))
    /// From float64 data with a shape (the array is copied).
    let ofFloat64 (data: float[]) (shape: int[]) =
        let shape = Shape.check "fromArray" shape
        if Shape.numel shape <> data.Length then
            invalidArg "shape" (sprintf "fromArray: %d values do not fill shape %s (%d elements)" data.Length (Shape.show shape) (Shape.numel shape))
        leaf (cpu.FromFloat64(Array.copy data, shape))
    /// From int64 data (indices, class labels) with a shape.
    let ofInt64 (data: int64[]) (shape: int[]) =
        let shape = Shape.check "fromArray" shape
        if Shape.numel shape <> data.Length then
            invalidArg "shape" (sprintf "fromArray: %d values do not fill shape %s (%d elements)" data.Length (Shape.show shape) (Shape.numel shape))
        leaf (cpu.FromInt64(Array.copy data, shape))
    /// A float64 vector.
    let vector (data: float[]) = ofFloat64 data [| data.Length |]

    /// start, start+step, ... < stop.
    let arange (dtype: DType) (start: float) (stop: float) (step: float) =
        if step = 0.0 || Double.IsNaN step then invalidArg "step" (sprintf "arange: step must be nonzero (got %g)" step)
        let n = max 0 (int (ceil ((stop - start) / step)))
        ofFloats dtype (Array.init n (fun i -> start + float i * step)) [| n |]
    /// `steps` evenly spaced values from start to stop inclusive.
    let linspace (dtype: DType) (start: float) (stop: float) (steps: int) =
        if steps < 0 then invalidArg "steps" (sprintf "linspace: steps must be >= 0 (got %d)" steps)
        let v = Array.init steps (fun i -> if steps = 1 then start else start + (stop - start) * float i / float (steps - 1))
        ofFloats dtype v [| steps |]
    /// The n x n identity.
    let eye (dtype: DType) (n: int) =
        if n < 0 then invalidArg "n" (sprintf "eye: n must be >= 0 (got %d)" n)
        ofFloats dtype (Array.init (n * n) (fun i -> if i / n = i % n then 1.0 else 0.0)) [| n; n |]
    /// Uniform in [0, 1) from a seeded generator.
    let rand (gen: Generator) (dtype: DType) (shape: int[]) =
        let shape = Shape.check "rand" shape
        ofFloats dtype (Array.init (Shape.numel shape) (fun _ -> gen.NextDouble())) shape
    /// Uniform in [lo, hi) from a seeded generator.
    let uniform (gen: Generator) (dtype: DType) (shape: int[]) (lo: float) (hi: float) =
        let shape = Shape.check "uniform" shape
        ofFloats dtype (Array.init (Shape.numel shape) (fun _ -> lo + (hi - lo) * gen.NextDouble())) shape
    /// Standard normal from a seeded generator.
    let randn (gen: Generator) (dtype: DType) (shape: int[]) =
        let shape = Shape.check "randn" shape
        ofFloats dtype (Array.init (Shape.numel shape) (fun _ -> gen.NextNormal())) shape
