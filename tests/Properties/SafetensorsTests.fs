module Hybrid.Tests.SafetensorsTests

open System
open System.IO
open System.Text
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Data
open Hybrid.Tests.DataTests

let referencePath = Path.Combine(AppContext.BaseDirectory, "data", "reference.safetensors")

[<Fact>]
let ``reads the file written by Python from the spec`` () =
    let tensors, metadata = Safetensors.loadWithMetadata referencePath
    Assert.Equal<string list>([ "bias"; "empty"; "labels"; "scalar"; "weight" ], tensors |> Map.keys |> List.ofSeq)
    Assert.Equal<Map<string, string>>(Map [ "format", "pt"; "written_by", "python struct+json" ], metadata)
    let w = tensors["weight"]
    Assert.Equal(Float32, w.DType)
    Assert.Equal<int[]>([| 2; 3 |], w.Shape)
    Assert.Equal<float32[]>([| 0.5f; -1.25f; 3.0f; 0.001f; -0.0f; 65504.0f |], w.ToFloat32Array())
    Assert.Equal(Float64, tensors["bias"].DType)
    Assert.Equal<float[]>([| Math.PI; -Math.E; 1e300 |], tensors["bias"].ToFloat64Array())
    Assert.Equal<int64[]>([| 0L; -1L; 1L <<< 40; 9L |], tensors["labels"].ToInt64Array())
    Assert.Equal<int[]>([||], tensors["scalar"].Shape)
    Assert.Equal(7.5f, tensors["scalar"].ToFloat32Array()[0])
    Assert.Equal<int[]>([| 0; 2 |], tensors["empty"].Shape)

[<Fact>]
let ``re-encoding the Python file reads back the same tensors`` () =
    let tensors, metadata = Safetensors.loadWithMetadata referencePath
    let again, metadata2 = Safetensors.deserialize "again" (Safetensors.serialize tensors metadata)
    Assert.Equal<Map<string, string>>(metadata, metadata2)
    for KeyValue(k, t) in tensors do
        Assert.Equal<int[]>(t.Shape, again[k].Shape)
        Assert.Equal(t.DType, again[k].DType)
        Assert.Equal<float[]>(t.ToFloat64Array(), again[k].ToFloat64Array())

[<Property(MaxTest = 30)>]
let ``round trip keeps names, dtypes, shapes and values bit for bit`` (seed: int) =
    let gen = Generator seed
    let shape () = Array.init (gen.NextInt(0, 4)) (fun _ -> gen.NextInt(0, 4))
    let tensors =
        Map [ "a.weight", Create.randn gen Float32 (shape ())
              "a.bias", Create.randn gen Float64 (shape ())
              "step", Create.ofInt64 [| int64 seed |] [| 1 |] ]
    let path = Path.Combine(tempDir (), "t.safetensors")
    Safetensors.saveWithMetadata path tensors (Map [ "epoch", "3" ])
    let bytes = File.ReadAllBytes path
    // the header is padded so the data is 8-byte aligned
    Assert.Equal(0L, BitConverter.ToInt64(bytes, 0) % 8L)
    let back, meta = Safetensors.loadWithMetadata path
    Assert.Equal<string>("3", meta["epoch"])
    for KeyValue(k, t) in tensors do
        Assert.Equal(t.DType, back[k].DType)
        Assert.Equal<int[]>(t.Shape, back[k].Shape)
        Assert.Equal<float[]>(t.ToFloat64Array(), back[k].ToFloat64Array())

let corrupt (f: byte[] -> byte[]) =
    let bytes = f (File.ReadAllBytes referencePath)
    let p = Path.Combine(tempDir (), "bad.safetensors")
    File.WriteAllBytes(p, bytes)
    p, (Assert.Throws<InvalidDataException>(fun () -> Safetensors.load p |> ignore)).Message

[<Fact>]
let ``a truncated file names the file and the sizes`` () =
    let p, m = corrupt (fun b -> b[.. b.Length - 5])
    Assert.Contains(p, m)
    Assert.Contains("tensor 'scalar': data_offsets [80,84] lie outside the 80 data bytes", m)
    let _, m1 = corrupt (fun b -> Array.append b [| 0uy |])
    Assert.Contains("the tensors cover 84 data bytes but the file holds 85", m1)
    let p2, m2 = corrupt (fun b -> b[.. 100])
    Assert.Contains(p2, m2)
    Assert.Contains("header length 368 exceeds the 93 bytes after it", m2)
    let _, m3 = corrupt (fun b -> b[.. 3])
    Assert.Contains("4 bytes, shorter than the 8-byte header length", m3)

[<Fact>]
let ``a broken header, an unknown dtype or wrong offsets are named`` () =
    let replace (a: string) (b: string) (bytes: byte[]) =
        let s = Encoding.Latin1.GetString bytes
        Assert.Contains(a, s)
        Encoding.Latin1.GetBytes(s.Replace(a, b))
    let _, m = corrupt (replace "{\"__metadata__\"" "[\"__metadata__\"")
    Assert.Contains("header is not valid JSON", m)
    let _, m = corrupt (replace "\"dtype\":\"F32\",\"shape\":[2,3]" "\"dtype\":\"F16\",\"shape\":[2,3]")
    Assert.Contains("tensor 'weight' has dtype F16 (supported: F32, F64, I64)", m)
    let _, m = corrupt (replace "\"shape\":[2,3]" "\"shape\":[3,3]")
    Assert.Contains("tensor 'weight': F32 [3,3] needs 36 bytes but data_offsets", m)

[<Fact>]
let ``a missing file is named`` () =
    let p = Path.Combine(tempDir (), "absent.safetensors")
    let e = Assert.Throws<FileNotFoundException>(fun () -> Safetensors.load p |> ignore)
    Assert.Contains(p, e.Message)
