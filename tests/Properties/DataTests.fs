module Hybrid.Tests.DataTests

open System
open System.IO
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Data

/// A fresh empty temporary directory.
let tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "hybrid-data-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let images (seed: int) (n: int) (rows: int) (cols: int) =
    let rng = Random(seed)
    let px = Array.zeroCreate<byte> (n * rows * cols)
    rng.NextBytes px
    { Count = n; Rows = rows; Cols = cols; Pixels = px }

// ---- IDX ----

[<Property(MaxTest = 20)>]
let ``idx images and labels round-trip plain and gzip`` (seed: int) (gz: bool) =
    let d = tempDir ()
    let ext = if gz then ".gz" else ""
    let img = images seed (1 + abs seed % 5) 3 4
    let labels = Array.init img.Count (fun i -> byte ((seed + i) % 10))
    Idx.writeImages (Path.Combine(d, "img" + ext)) img
    Idx.writeLabels (Path.Combine(d, "lbl" + ext)) labels
    let raw = File.ReadAllBytes(Path.Combine(d, "img" + ext))
    Assert.Equal(gz, Idx.isGzip raw)
    Assert.Equal(img, Idx.readImages (Path.Combine(d, "img" + ext)))
    Assert.Equal<byte[]>(labels, Idx.readLabels (Path.Combine(d, "lbl" + ext)))

[<Fact>]
let ``idx header is big-endian magic then dimensions`` () =
    let bytes = Idx.encodeImages false (images 1 2 3 4)
    Assert.Equal<byte[]>([| 0uy; 0uy; 8uy; 3uy; 0uy; 0uy; 0uy; 2uy; 0uy; 0uy; 0uy; 3uy; 0uy; 0uy; 0uy; 4uy |], bytes[..15])
    Assert.Equal(16 + 24, bytes.Length)

[<Fact>]
let ``idx missing file names the path`` () =
    let p = Path.Combine(tempDir (), "nope-idx3-ubyte")
    let e = Assert.Throws<FileNotFoundException>(fun () -> Idx.readImages p |> ignore)
    Assert.Contains(p, e.Message)
    Assert.Contains("not found", e.Message)

[<Fact>]
let ``idx bad magic names the file, the value found and the value expected`` () =
    let p = Path.Combine(tempDir (), "labels-as-images")
    Idx.writeLabels p [| 1uy; 2uy |]
    let e = Assert.Throws<InvalidDataException>(fun () -> Idx.readImages p |> ignore)
    Assert.Contains(p, e.Message)
    Assert.Contains("bad magic number 0x00000801 (expected 0x00000803 for images)", e.Message)

[<Fact>]
let ``idx truncated data states declared and actual sizes`` () =
    let p = Path.Combine(tempDir (), "short.gz")
    let full = Idx.encodeImages false (images 2 3 4 5)
    // gzip of a file cut 7 bytes short: 3x4x5 = 60 declared, 53 present
    use ms = new MemoryStream()
    (use gz = new Compression.GZipStream(ms, Compression.CompressionMode.Compress)
     gz.Write(full, 0, full.Length - 7))
    File.WriteAllBytes(p, ms.ToArray())
    let e = Assert.Throws<InvalidDataException>(fun () -> Idx.readImages p |> ignore)
    Assert.Contains(p, e.Message)
    Assert.Contains("truncated: header declares 3x4x5 = 60 bytes of data but the file holds 53", e.Message)

[<Fact>]
let ``idx file shorter than its header is reported as truncated`` () =
    let p = Path.Combine(tempDir (), "tiny")
    File.WriteAllBytes(p, [| 0uy; 0uy; 8uy; 1uy; 0uy |])
    let e = Assert.Throws<InvalidDataException>(fun () -> Idx.readLabels p |> ignore)
    Assert.Contains("truncated: 5 bytes, shorter than the 8-byte header", e.Message)

[<Fact>]
let ``idx corrupted gzip stream is reported with the file name`` () =
    let p = Path.Combine(tempDir (), "broken.gz")
    let good = Idx.encodeImages true (images 3 20 28 28)
    let bad = Array.copy good
    for i in 20 .. 60 do bad[i] <- bad[i] ^^^ 0x5Auy
    File.WriteAllBytes(p, bad[.. bad.Length / 2])
    let e = Assert.Throws<InvalidDataException>(fun () -> Idx.readImages p |> ignore)
    Assert.Contains(p, e.Message)

// ---- Fashion-MNIST locator and sample ----

let fakeDataDir () =
    let d = tempDir ()
    for stem in FashionMnist.fileStems do File.WriteAllBytes(Path.Combine(d, stem + ".gz"), [||])
    d

[<Fact>]
let ``an explicit directory beats HYBRID_DATA which beats the system directory`` () =
    let a, b, c = fakeDataDir (), fakeDataDir (), fakeDataDir ()
    Assert.Equal(ExplicitDir a, FashionMnist.locateWith (Some a) (Some b) c)
    Assert.Equal(EnvironmentDir b, FashionMnist.locateWith None (Some b) c)
    Assert.Equal(SystemDir c, FashionMnist.locateWith None None c)

[<Fact>]
let ``locate reads the HYBRID_DATA environment variable`` () =
    let d = fakeDataDir ()
    let prev = Environment.GetEnvironmentVariable FashionMnist.envVar
    try
        Environment.SetEnvironmentVariable(FashionMnist.envVar, d)
        Assert.Equal(EnvironmentDir d, FashionMnist.locate None)
        let e = fakeDataDir ()
        Assert.Equal(ExplicitDir e, FashionMnist.locate (Some e))
    finally
        Environment.SetEnvironmentVariable(FashionMnist.envVar, prev)

[<Fact>]
let ``without any directory the embedded sample is used`` () =
    let empty = tempDir ()
    Assert.Equal(EmbeddedSample, FashionMnist.locateWith None None empty)
    Assert.Equal(EmbeddedSample, FashionMnist.locateWith None (Some "") (Path.Combine(empty, "absent")))

[<Fact>]
let ``a HYBRID_DATA directory lacking files is an error naming what is missing`` () =
    let d = tempDir ()
    File.WriteAllBytes(Path.Combine(d, "train-images-idx3-ubyte"), [||])
    let e = Assert.Throws<FileNotFoundException>(fun () -> FashionMnist.locateWith None (Some d) (fakeDataDir ()) |> ignore)
    Assert.Contains("HYBRID_DATA", e.Message)
    Assert.Contains("train-labels-idx1-ubyte", e.Message)
    Assert.DoesNotContain("train-images-idx3-ubyte,", e.Message)

[<Fact>]
let ``the embedded sample holds the first 2000 train and 1000 test images`` () =
    let data = FashionMnist.loadFrom EmbeddedSample false
    Assert.Equal(2000, data.Train.Count)
    Assert.Equal(1000, data.Test.Count)
    Assert.Equal((28, 28), (data.Train.Rows, data.Train.Cols))
    Assert.Equal(2000 * 784, data.Train.Images.Length)
    Assert.Equal<int64[]>([| 9L; 0L; 0L; 3L; 0L; 2L; 7L; 2L; 5L; 5L |], data.Train.Labels[..9])
    Assert.Equal<int64[]>([| 9L; 2L; 1L; 1L; 6L; 1L; 4L; 6L; 5L; 7L |], data.Test.Labels[..9])
    // pixel sum of the first training image is 76247 / 255; sample mean 0.28394
    Assert.Equal(76247.0 / 255.0, data.Train.Images[..783] |> Array.sumBy float, 3)
    Assert.Equal(0.28394, data.Train.Images |> Array.averageBy float, 4)
    Assert.True(data.Train.Images |> Array.forall (fun v -> v >= 0.0f && v <= 1.0f))

[<Fact>]
let ``standardising maps x to (x - 0.2860) / 0.3530`` () =
    let plain = FashionMnist.loadFrom EmbeddedSample false
    let std = FashionMnist.loadFrom EmbeddedSample true
    for i in [ 0; 100; 5000; 783 * 1000 ] do
        Assert.Equal(float ((plain.Train.Images[i] - 0.2860f) / 0.3530f), float std.Train.Images[i], 5)

[<Fact>]
let ``writeSample copies the first n images and labels of a directory`` () =
    let src, dst = tempDir (), tempDir ()
    let train, test = images 5 7 28 28, images 6 4 28 28
    Idx.writeImages (Path.Combine(src, "train-images-idx3-ubyte")) train
    Idx.writeLabels (Path.Combine(src, "train-labels-idx1-ubyte.gz")) (Array.init 7 byte)
    Idx.writeImages (Path.Combine(src, "t10k-images-idx3-ubyte.gz")) test
    Idx.writeLabels (Path.Combine(src, "t10k-labels-idx1-ubyte")) (Array.init 4 byte)
    FashionMnist.writeSample src dst 3 2
    let data = FashionMnist.loadFrom (ExplicitDir dst) false
    Assert.Equal(3, data.Train.Count)
    Assert.Equal(2, data.Test.Count)
    Assert.Equal<int64[]>([| 0L; 1L; 2L |], data.Train.Labels)
    Assert.Equal(float train.Pixels[100] / 255.0, float data.Train.Images[100], 6)

// ---- DataLoader ----

/// n samples of shape [1,2,3] whose values encode their index: x_i = i everywhere, y_i = i.
let indexDataset (n: int) =
    Dataset(Array.init (n * 6) (fun k -> float32 (k / 6)), Array.init n int64, [| 1; 2; 3 |])

let collect (loader: DataLoader) (epoch: int) =
    loader.Batches epoch |> Seq.map (fun b -> b.Inputs.ToFloat32Array(), b.Targets.ToInt64Array(), b.Inputs.Shape) |> Seq.toList

[<Property(MaxTest = 30)>]
let ``each sample appears exactly once per epoch`` (seed: int) (n0: byte) (bs0: byte) =
    let n, bs = 1 + int n0 % 50, 1 + int bs0 % 16
    let loader = DataLoader(indexDataset n, { DataLoaderOptions.Default bs with Seed = seed })
    let batches = collect loader 3
    let ys = batches |> List.collect (fun (_, y, _) -> List.ofArray y)
    Assert.Equal<int64 list>([ 0L .. int64 n - 1L ], List.sort ys)
    Assert.Equal((n + bs - 1) / bs, batches.Length)
    // inputs travel with their targets
    for x, y, shape in batches do
        Assert.Equal<int[]>([| y.Length; 1; 2; 3 |], shape)
        Assert.Equal<float32[]>(y |> Array.collect (fun i -> Array.create 6 (float32 i)), x)

[<Fact>]
let ``same seed same order, another seed or epoch another order`` () =
    let mk seed = DataLoader(indexDataset 40, { DataLoaderOptions.Default 8 with Seed = seed })
    let ys (l: DataLoader) e = collect l e |> List.collect (fun (_, y, _) -> List.ofArray y)
    Assert.Equal<int64 list>(ys (mk 7) 0, ys (mk 7) 0)
    Assert.NotEqual<int64 list>(ys (mk 7) 0, ys (mk 8) 0)
    Assert.NotEqual<int64 list>(ys (mk 7) 0, ys (mk 7) 1)
    let unshuffled = DataLoader(indexDataset 40, { DataLoaderOptions.Default 8 with Shuffle = false })
    Assert.Equal<int64 list>([ 0L .. 39L ], ys unshuffled 0)

[<Fact>]
let ``dropLast drops the short last batch`` () =
    let l = DataLoader(indexDataset 10, { DataLoaderOptions.Default 4 with DropLast = true })
    let batches = collect l 0
    Assert.Equal(2, l.BatchCount)
    Assert.Equal<int list>([ 4; 4 ], batches |> List.map (fun (_, y, _) -> y.Length))
    let keep = DataLoader(indexDataset 10, DataLoaderOptions.Default 4)
    Assert.Equal<int list>([ 4; 4; 2 ], collect keep 0 |> List.map (fun (_, y, _) -> y.Length))

[<Property(MaxTest = 10)>]
let ``prefetch gives the same batches as no prefetch`` (seed: int) =
    let aug = Augment.compose [ Augment.randomHorizontalFlip 0.5; Augment.gaussianNoise 0.1 ]
    let opts = { DataLoaderOptions.Default 7 with Seed = seed; Augment = Some aug }
    let a = collect (DataLoader(indexDataset 30, { opts with Prefetch = 0 })) 2
    let b = collect (DataLoader(indexDataset 30, { opts with Prefetch = 1 })) 2
    let c = collect (DataLoader(indexDataset 30, { opts with Prefetch = 3 })) 2
    Assert.Equal(a.Length, b.Length)
    for (xa, ya, _), (xb, yb, _), (xc, yc, _) in List.zip3 a b c do
        Assert.Equal<float32[]>(xa, xb)
        Assert.Equal<float32[]>(xa, xc)
        Assert.Equal<int64[]>(ya, yb)
        Assert.Equal<int64[]>(ya, yc)

[<Fact>]
let ``stopping early ends the prefetch thread and a new enumeration starts over`` () =
    let l = DataLoader(indexDataset 100, { DataLoaderOptions.Default 5 with Prefetch = 2 })
    let first = l.Batches 0 |> Seq.take 2 |> Seq.toList
    let again = l.Batches 0 |> Seq.head
    Assert.Equal<int64[]>(first.Head.Targets.ToInt64Array(), again.Targets.ToInt64Array())

[<Fact>]
let ``an error while preparing a batch reaches the consumer`` () =
    let boom : Augment = fun _ _ _ -> invalidOp "boom"
    let l = DataLoader(indexDataset 10, { DataLoaderOptions.Default 5 with Augment = Some boom; Prefetch = 1 })
    let e = Assert.Throws<InvalidOperationException>(fun () -> l.Batches 0 |> Seq.iter ignore)
    Assert.Equal("boom", e.Message)

[<Fact>]
let ``a flattened sample shape gives batches [B,784]`` () =
    let data = FashionMnist.loadFrom EmbeddedSample false
    let l = DataLoader(Dataset.OfSplit data.Test, { DataLoaderOptions.Default 64 with SampleShape = Some [| 784 |] })
    let b = l.Batches 0 |> Seq.head
    Assert.Equal<int[]>([| 64; 784 |], b.Inputs.Shape)
    Assert.Equal(Float32, b.Inputs.DType)
    Assert.Equal(Int64, b.Targets.DType)
    Assert.Equal(16, l.BatchCount)

[<Fact>]
let ``a sample shape that does not hold the sample is rejected`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> DataLoader(indexDataset 3, { DataLoaderOptions.Default 2 with SampleShape = Some [| 5 |] }) |> ignore)
    Assert.Contains("[5]", e.Message)

// ---- augmentations ----

let sample (seed: int) = Array.init (2 * 4 * 5) (fun i -> float32 (Random(seed + i).NextDouble()))

[<Property(MaxTest = 30)>]
let ``flipping twice is the identity`` (seed: int) =
    let x = sample seed
    Assert.Equal<float32[]>(x, Augment.flipHorizontal [| 2; 4; 5 |] (Augment.flipHorizontal [| 2; 4; 5 |] x))

[<Fact>]
let ``flip mirrors each row`` () =
    Assert.Equal<float32[]>([| 3.0f; 2.0f; 1.0f; 6.0f; 5.0f; 4.0f |], Augment.flipHorizontal [| 2; 3 |] [| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f |])

[<Fact>]
let ``translate shifts and fills`` () =
    // x'[i,j] = x[i+1, j-1]
    let x = [| 1.0f; 2.0f; 3.0f; 4.0f; 5.0f; 6.0f; 7.0f; 8.0f; 9.0f |]
    Assert.Equal<float32[]>([| 0.0f; 4.0f; 5.0f; 0.0f; 7.0f; 8.0f; 0.0f; 0.0f; 0.0f |], Augment.translate [| 3; 3 |] 1 -1 0.0f x)

[<Property(MaxTest = 30)>]
let ``augmentations preserve shape and are deterministic per seed`` (seed: int) =
    let shape = [| 2; 4; 5 |]
    let x = sample seed
    let aug = Augment.compose [ Augment.randomHorizontalFlip 0.5; Augment.randomCrop 2 0.0f; Augment.gaussianNoise 0.2 ]
    let a = aug (Generator seed) shape x
    let b = aug (Generator seed) shape x
    Assert.Equal(x.Length, a.Length)
    Assert.Equal<float32[]>(a, b)
    Assert.Equal<float32[]>(sample seed, x) // input untouched

[<Fact>]
let ``random crop stays within the padding`` () =
    let shape = [| 1; 6; 6 |]
    let x = Array.create 36 1.0f
    for s in 0 .. 50 do
        let y = Augment.randomCrop 2 0.0f (Generator s) shape x
        // a shift of at most 2 in each axis keeps at least a 4x4 block of ones
        Assert.InRange(Array.sum y, 16.0f, 36.0f)

[<Fact>]
let ``gaussian noise has the requested spread`` () =
    let x = Array.zeroCreate<float32> 20000
    let y = Augment.gaussianNoise 0.5 (Generator 1) [| 100; 200 |] x
    let m = y |> Array.averageBy float
    let sd = sqrt (y |> Array.averageBy (fun v -> (float v - m) ** 2.0))
    Assert.Equal(0.0, m, 1)
    Assert.InRange(sd, 0.48, 0.52)
