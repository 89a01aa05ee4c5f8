/// Issue 17's backend primitives on ILGPU (the trigonometric and hyperbolic unary ops, accurate log1p/expm1/asinh,
/// atan2, hypot, and the running sum/product scan) against the CPU backend, on IlgpuTests' device.
module Hybrid.Tests.IlgpuOps17Tests

open System
open Xunit
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

let private cpu = CpuBackend() :> Backend

let private rawOf (seed: int) (dt: DType) (shape: int[]) (lo: float) (hi: float) : RawTensor =
    let r = Random(seed)
    let v = Array.init (Shape.numel shape) (fun _ -> lo + (hi - lo) * r.NextDouble())
    match dt with
    | Float32 -> cpu.FromFloat32(Array.map float32 v, shape)
    | _ -> cpu.FromFloat64(v, shape)

let private up (r: RawTensor) = (Devices.backendOf IlgpuTests.dev).Import r

/// Same shape and values within the dtype's tolerance (NaN where both are NaN agrees).
let private agree (what: string) (expected: RawTensor) (actual: RawTensor) =
    Assert.Equal<int[]>(expected.Shape, actual.Shape)
    let rtol, atol = if expected.DType = Float32 then 1e-5, 1e-6 else 1e-12, 1e-300
    let e, a = expected.ToFloat64Array(), actual.ToFloat64Array()
    let both = Array.map2 (fun (u: float) (v: float) -> Double.IsNaN u && Double.IsNaN v) e a
    let e = Array.mapi (fun i u -> if both.[i] then 0.0 else u) e
    let a = Array.mapi (fun i v -> if both.[i] then 0.0 else v) a
    match Check.close rtol atol e a with
    | None -> ()
    | Some m -> failwithf "%s (%O): %s" what expected.DType m

[<Fact>]
let ``the new unary and binary ops on ilgpu equal the cpu's`` () =
    for dt in [ Float32; Float64 ] do
        let x = rawOf 1 dt [| 3; 5 |] -0.99 0.99
        let tiny = cpu.FromFloat64([| 1e-10; -3e-17; 1e-300; 0.5; -0.25 |], [| 5 |]).Cast dt
        for op in [ Tan; Atan; Asin; Acos; Sinh; Cosh; Asinh; Log1p; Expm1; Softplus ] do
            agree (sprintf "%A" op) (x.Unary op) ((up x).Unary op)
            agree (sprintf "%A tiny" op) (tiny.Unary op) ((up tiny).Unary op)
        let a = rawOf 2 dt [| 3; 5 |] -2.0 2.0
        let b = rawOf 3 dt [| 5 |] -2.0 2.0
        for op in [ Atan2; Hypot ] do
            agree (sprintf "%A" op) (a.Binary(op, b)) ((up a).Binary(op, up b))

[<Fact>]
let ``the running sum and product on ilgpu equal the cpu's along every dim and both ways`` () =
    for dt in [ Float32; Float64 ] do
        let x = rawOf 4 dt [| 2; 3; 4 |] -1.5 1.5
        for op in [ CumSum; CumProd ] do
            for d in 0 .. 2 do
                for reverse in [ false; true ] do
                    agree (sprintf "%A dim %d reverse %b" op d reverse) (x.Scan(op, d, reverse)) ((up x).Scan(op, d, reverse))
