/// Issue 17's ops against PyTorch 1.13 on fixed inputs: values and the gradients of Σ w ⊙ out, in float64, from
/// golden/ops17.json (written by golden/make_ops17.py). The ties and kinks in it pin torch's subgradients.
module Hybrid.Tests.Ops17GoldenTests

open System
open System.IO
open System.Text.Json
open Xunit
open Hybrid.Core
open Hybrid.Tests.Check

/// Hybrid's op for each case name of the generator: inputs to outputs (indices as int64 tensors).
let private ops : Map<string, Tensor[] -> Tensor[]> =
    let one f = fun (xs: Tensor[]) -> [| f xs.[0] |]
    let two f = fun (xs: Tensor[]) -> [| f xs.[0] xs.[1] |]
    let pair (f: Tensor -> Tensor * Tensor) = fun (xs: Tensor[]) -> let v, i = f xs.[0] in [| v; i |]
    Map.ofList
        [ "log1p", one Special.log1p; "expm1", one Special.expm1; "rsqrt", one Special.rsqrt
          "reciprocal", one Special.reciprocal; "sign", one Special.sign; "tan", one Special.tan; "atan", one Special.atan
          "asin", one Special.asin; "acos", one Special.acos; "sinh", one Special.sinh; "cosh", one Special.cosh
          "asinh", one Special.asinh; "atan2", two Special.atan2; "hypot", two Special.hypot; "logaddexp", two Special.logaddexp
          "lerp", (fun xs -> [| Special.lerp xs.[0] xs.[1] xs.[2] |])
          "lerp_scalar_0.7", two (fun a b -> Special.lerpScalar a b 0.7)
          "addcmul_0.5", (fun xs -> [| Special.addcmul 0.5 xs.[1] xs.[2] xs.[0] |])
          "addcdiv_-1.5", (fun xs -> [| Special.addcdiv -1.5 xs.[1] xs.[2] xs.[0] |])
          "masked_fill_2.5", one (Special.maskedFill (Create.ofFloat64 [| 1.0; 0.0; 0.0; 0.0; 1.0; 1.0 |] [| 2; 3 |]) 2.5)
          "clamp_min_0.45", one (Special.clampMin 0.45); "clamp_max_-0.3", one (Special.clampMax -0.3)
          "silu", one Activation.silu; "mish", one Activation.mish; "selu", one Activation.selu
          "celu_1.0", one (Activation.celu 1.0); "celu_1.3", one (Activation.celu 1.3)
          "logsigmoid", one Activation.logSigmoid; "softsign", one Activation.softsign
          "hardtanh", one (Activation.hardtanh -1.0 1.0); "hardtanh_-2_0.5", one (Activation.hardtanh -2.0 0.5)
          "hardswish", one Activation.hardswish; "softmin_1", one (Activation.softmin 1); "softmin_0", one (Activation.softmin 0)
          "amax", one (Extrema.amax [||] false); "amin", one (Extrema.amin [||] false)
          "amax_1", one (Extrema.amax [| 1 |] false); "amax_0_keep", one (Extrema.amax [| 0 |] true)
          "amin_02", one (Extrema.amin [| 0; 2 |] false)
          "prod", one Cumulative.prod; "prod_1", one (Cumulative.prodDim 1 false); "prod_0_keep", one (Cumulative.prodDim 0 true)
          "cumsum_1", one (Cumulative.cumsum 1); "cumsum_0", one (Cumulative.cumsum 0)
          "cumprod_1", one (Cumulative.cumprod 1); "cumprod_0", one (Cumulative.cumprod 0)
          "median", one Sorting.median; "median_1", pair (Sorting.medianDim 1 false)
          "median_0_keep", pair (Sorting.medianDim 0 true)
          "sort_1", pair (Sorting.sort 1 false); "sort_1_desc", pair (Sorting.sort 1 true); "sort_0", pair (Sorting.sort 0 false)
          "topk_2", pair (Sorting.topk 2 -1 true); "topk_3_smallest_0", pair (Sorting.topk 3 0 false)
          "logsumexp_all", one (Reduction.logsumexp [| 0; 1 |] false); "var_all", one Reduction.varAll
          "std_all", one Reduction.stdAll; "norm_3_1", one (Reduction.norm 3.0 [| 1 |] false)
          "norm_2_0_keep", one (Reduction.norm 2.0 [| 0 |] true); "norm_1_01", one (Reduction.norm 1.0 [| 0; 1 |] false) ]

let private floats (e: JsonElement) = [| for v in e.EnumerateArray() -> v.GetDouble() |]
let private shapeOf (e: JsonElement) = [| for v in e.GetProperty("shape").EnumerateArray() -> v.GetInt32() |]

/// The cases of the golden file.
let private cases =
    let path = Path.Combine(AppContext.BaseDirectory, "golden", "ops17.json")
    use doc = JsonDocument.Parse(File.ReadAllText path)
    [ for c in doc.RootElement.GetProperty("cases").EnumerateArray() -> c.Clone() ]

[<Fact>]
let ``the golden file covers every op of the table`` () =
    let names = cases |> List.map (fun c -> c.GetProperty("op").GetString()) |> Set.ofList
    Assert.Equal<Set<string>>(ops |> Map.keys |> Set.ofSeq, names)

[<Fact>]
let ``values and gradients equal torch's on the fixed inputs`` () =
    for i, c in List.indexed cases do
        let name = c.GetProperty("op").GetString()
        let what = sprintf "case %d (%s)" i name
        let xs =
            [| for inp in c.GetProperty("inputs").EnumerateArray() ->
                 let x = Create.ofFloat64 (floats (inp.GetProperty "values")) (shapeOf inp)
                 x.RequiresGrad <- true
                 x |]
        let outs = ops.[name] xs
        let expected = [ for o in c.GetProperty("outputs").EnumerateArray() -> o ]
        Assert.True(expected.Length = outs.Length, sprintf "%s: %d outputs vs torch's %d" what outs.Length expected.Length)
        for o, e in List.zip (List.ofArray outs) expected do
            Assert.True((shapeOf e = o.Shape), sprintf "%s: shape %s vs torch's %s" what (Shape.show o.Shape) (Shape.show (shapeOf e)))
            match close 1e-13 1e-300 (floats (e.GetProperty "values")) (o.ToFloat64Array()) with
            | None -> ()
            | Some m -> failwithf "%s: value not close: %s" what m
        // L = Σ w ⊙ out₀
        let w = Create.ofFloat64 (floats (c.GetProperty "w")) outs.[0].Shape
        let grads = Tape.gradWith [| Reduction.sum (outs.[0] * w) |] null xs false false
        for k, g in Array.indexed grads do
            let eg = c.GetProperty("grads").[k]
            let expectedGrad = if eg.ValueKind = JsonValueKind.Null then Array.zeroCreate xs.[k].Numel else floats eg
            match close 1e-12 1e-300 expectedGrad (g.ToFloat64Array()) with
            | None -> ()
            | Some m -> failwithf "%s: gradient of input %d not close: %s" what k m
