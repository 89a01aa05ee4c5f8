/// The autodiff cases of the differential test (tests/Facade.Tests/differential/cases.json, written by differential.py
/// with PyTorch 1.13; HYBRID_DIFFERENTIAL_CASES names another file) replayed through the core tape itself:
/// `Tape.grad` and `Tape.hvp` (torch.autograd.functional.hvp with strict=False) against torch to 1e-8, and
/// `Tape.hessian f x · v = Tape.hvp f x v`. The facade's DifferentialTests replay the same cases through C#.
module Hybrid.Tests.DifferentialTapeTests

open System
open System.IO
open System.Text.Json
open Xunit
open Hybrid.Core

let private doc =
    lazy (
        let path =
            match Environment.GetEnvironmentVariable "HYBRID_DIFFERENTIAL_CASES" with
            | null | "" -> Path.Combine(__SOURCE_DIRECTORY__, "..", "Facade.Tests", "differential", "cases.json")
            | p -> p
        JsonDocument.Parse(File.ReadAllText path))

let rec private flat (e: JsonElement) : float[] =
    if e.ValueKind = JsonValueKind.Array then e.EnumerateArray() |> Seq.collect flat |> Array.ofSeq else [| e.GetDouble() |]

let private tensor (e: JsonElement) =
    let rows = e.GetArrayLength()
    let cols = e.[0].GetArrayLength()
    Create.ofFloat64 (flat e) [| rows; cols |]

let private apply (op: string) (a: Tensor[]) (c: Tensor) =
    let sq1 (t: Tensor) = Pointwise.square t + 1.0
    match op with
    | "tanh" -> Pointwise.tanh a.[0]
    | "sigmoid" -> Pointwise.sigmoid a.[0]
    | "sin" -> Pointwise.sin a.[0]
    | "cos" -> Pointwise.cos a.[0]
    | "square" -> Pointwise.square a.[0]
    | "softplus" -> Pointwise.softplus a.[0]
    | "gelu" -> Pointwise.gelu a.[0]
    | "erf" -> Pointwise.erf a.[0]
    | "elu" -> Pointwise.elu 1.0 a.[0]
    | "leaky_relu" -> Pointwise.leakyRelu 0.1 a.[0]
    | "relu" -> Pointwise.relu a.[0]
    | "abs" -> Pointwise.abs a.[0]
    | "exp_tanh" -> Pointwise.exp (Pointwise.tanh a.[0])
    | "log_sq1" -> Pointwise.log (sq1 a.[0])
    | "sqrt_sq1" -> Pointwise.sqrt (sq1 a.[0])
    | "pow3" -> Pointwise.powScalar 3.0 a.[0]
    | "softmax1" -> Softmax.softmax 1 a.[0]
    | "log_softmax1" -> Softmax.logSoftmax 1 a.[0]
    | "sum_keep1" -> Reduction.sumDims [| 1 |] true a.[0]
    | "mean_keep0" -> Reduction.meanDims [| 0 |] true a.[0]
    | "lse_keep1" -> Reduction.logsumexp [| 1 |] true a.[0]
    | "max_keep1" -> fst (Reduction.maxDim 1 true a.[0])
    | "matmul_c" -> Linalg.matmul a.[0] c
    | "clamp" -> Pointwise.clamp -0.5 0.5 a.[0]
    | "add" -> a.[0] + a.[1]
    | "sub" -> a.[0] - a.[1]
    | "mul" -> a.[0] * a.[1]
    | "div_sq1" -> a.[0] / sq1 a.[1]
    | "maximum" -> Pointwise.maximum a.[0] a.[1]
    | "minimum" -> Pointwise.minimum a.[0] a.[1]
    | other -> invalidArg "op" (sprintf "unknown op %s" other)

let private final (op: string) (a: Tensor) (w: Tensor) =
    match op with
    | "sum" -> Reduction.sum a
    | "mean" -> Reduction.mean a
    | "max" -> Reduction.max a
    | "min" -> Reduction.min a
    | "norm" -> Reduction.normAll 2.0 a
    | "wsum" -> Reduction.sum (a * Reshaping.slice 1 0 a.Shape.[1] 1 (Reshaping.slice 0 0 a.Shape.[0] 1 w))
    | "var" -> if a.Numel > 1 then Reduction.var [| 0; 1 |] 1 false a else Reduction.sum a
    | "std" -> if a.Numel > 1 then Reduction.std [| 0; 1 |] 1 false a else Reduction.sum a
    | other -> invalidArg "op" (sprintf "unknown final op %s" other)

let private evaluate (program: JsonElement) (k: Tensor) (c: Tensor) (w: Tensor) (x: Tensor) =
    let regs = Collections.Generic.List<Tensor>([ x; k ])
    for ins in program.GetProperty("ops").EnumerateArray() do
        let parts = ins.EnumerateArray() |> Array.ofSeq
        regs.Add(apply (parts.[0].GetString()) (parts.[1..] |> Array.map (fun i -> regs.[i.GetInt32()])) c)
    final (program.GetProperty("final").GetString()) regs.[regs.Count - 1] w

// |got − torch| ≤ tol·max(|torch|, 1e-3·max|torch|, 1e-6), the facade test's measure
let private relErr (got: float[]) (want: float[]) =
    let scale = if want.Length = 0 then 0.0 else want |> Array.map abs |> Array.max
    Array.map2 (fun (g: float) (t: float) -> abs (g - t) / Math.Max(abs t, Math.Max(1e-3 * scale, 1e-6))) got want
    |> Array.fold max 0.0

[<Fact>]
let ``every autodiff case of the differential test gives torch's gradient and hvp through the tape`` () =
    let failures = Collections.Generic.List<string>()
    let cases = doc.Value.RootElement.GetProperty("autodiff").EnumerateArray() |> Array.ofSeq
    for c in cases do
        let name = c.GetProperty("name").GetString()
        let program = c.GetProperty("program")
        let f = evaluate program (tensor (c.GetProperty "k")) (tensor (c.GetProperty "c")) (tensor (c.GetProperty "w"))
        let x = tensor (c.GetProperty "x")
        let v = tensor (c.GetProperty "v")
        let value = (f x).ToFloat64Array()
        let grad = (Tape.grad f x).ToFloat64Array()
        let hvp = (Tape.hvp f x v).ToFloat64Array()
        let n = x.Numel
        let hv = (Linalg.matmul (Tape.hessian f x) (Reshaping.reshape [| n; 1 |] v)).ToFloat64Array()
        let e =
            [ relErr value [| c.GetProperty("value").GetDouble() |]
              relErr grad (flat (c.GetProperty "grad"))
              relErr hvp (flat (c.GetProperty "hvp"))
              relErr hv hvp ] |> List.max
        if not (e <= 1e-8) then failures.Add(sprintf "%s %O: %.2e relative" name program e)
    Assert.True(cases.Length > 0, "no autodiff cases")
    Assert.True(failures.Count = 0, sprintf "%d of %d cases differ from torch:\n%s" failures.Count cases.Length (String.Join("\n", failures)))
