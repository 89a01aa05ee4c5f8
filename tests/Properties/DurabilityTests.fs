module Hybrid.Tests.DurabilityTests

open System
open System.IO
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Durability

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "hybrid-durability-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

[<Property(MaxTest = 20)>]
let ``an atomic write leaves exactly the new bytes and no temporary file`` (bytes: byte[]) =
    let d = tempDir ()
    try
        let p = Path.Combine(d, "f.bin")
        AtomicFile.writeAllBytes "test data" p [| 1uy; 2uy |]
        AtomicFile.writeAllBytes "test data" p bytes
        File.ReadAllBytes p = bytes && Directory.GetFiles d = [| p |]
    finally Directory.Delete(d, true)

[<Fact>]
let ``a failed atomic write keeps the old file, leaves no temporary and names path and content`` () =
    let d = tempDir ()
    try
        let p = Path.Combine(d, "f.bin")
        AtomicFile.writeAllText "the config" p "old"
        // a folder under the real name makes the rename fail after the temporary was written
        let blocked = Path.Combine(d, "blocked")
        Directory.CreateDirectory blocked |> ignore
        let e = Assert.Throws<IOException>(fun () -> AtomicFile.writeAllText "the model checkpoint" blocked "new")
        Assert.Contains("the model checkpoint", e.Message)
        Assert.Contains(blocked, e.Message)
        Assert.Equal("old", File.ReadAllText p)
        Assert.Empty(Directory.GetFiles(d, "*.tmp"))
        // a missing folder: one IOException naming the path
        let missing = Path.Combine(d, "no", "such", "f")
        let e2 = Assert.Throws<IOException>(fun () -> AtomicFile.writeAllText "progress" missing "x")
        Assert.Contains(missing, e2.Message)
    finally Directory.Delete(d, true)

[<Fact>]
let ``default run names are unique even when made in the same millisecond`` () =
    let names = Array.init 200 (fun _ -> RunFolder.uniqueName "mlp-adam")
    Assert.True((Array.distinct names).Length >= 195, "names collide")
    Assert.Matches(@"^mlp-adam-\d{8}-\d{6}-\d{3}-[0-9a-f]{4}$", names[0])

[<Fact>]
let ``a new claim refuses an existing folder, naming --resume and --overwrite`` () =
    let d = tempDir ()
    try
        let run = Path.Combine(d, "exp1")
        (RunFolder.claim New run).Dispose()
        File.WriteAllText(Path.Combine(run, "model.safetensors"), "finished")
        let e = Assert.Throws<IOException>(fun () -> RunFolder.claim New run |> ignore)
        Assert.Contains("--resume", e.Message)
        Assert.Contains("--overwrite", e.Message)
        Assert.Equal("finished", File.ReadAllText(Path.Combine(run, "model.safetensors")))
        // resume of the finished run works; overwrite clears it
        (RunFolder.claim Resume run).Dispose()
        (RunFolder.claim Overwrite run).Dispose()
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")))
    finally Directory.Delete(d, true)

[<Fact>]
let ``a live claim refuses every other claim of the same folder`` () =
    let d = tempDir ()
    try
        let run = Path.Combine(d, "exp")
        use held = RunFolder.claim New run
        Assert.Throws<IOException>(fun () -> RunFolder.claim New run |> ignore) |> ignore
        let e = Assert.Throws<IOException>(fun () -> RunFolder.claim Resume run |> ignore)
        Assert.Contains("in use", e.Message)
        Assert.Throws<IOException>(fun () -> RunFolder.claim Overwrite run |> ignore) |> ignore
        Assert.Equal(Path.GetFullPath run, held.Path)
    finally Directory.Delete(d, true)

[<Fact>]
let ``claims under a regular file or a missing resume folder fail with one line`` () =
    let d = tempDir ()
    try
        let file = Path.Combine(d, "runs")
        File.WriteAllText(file, "not a folder")
        let e = Assert.Throws<IOException>(fun () -> RunFolder.claim New (Path.Combine(file, "exp")) |> ignore)
        Assert.Contains("is a file", e.Message)
        Assert.DoesNotContain("\n", e.Message)
        Assert.Throws<IOException>(fun () -> RunFolder.claim Resume (Path.Combine(d, "none")) |> ignore) |> ignore
    finally Directory.Delete(d, true)

// ---------------------------------------------------------------- checked element counts

[<Property>]
let ``numel is the exact product whenever it fits an array`` (dims: byte list) =
    let shape = dims |> List.truncate 3 |> List.map int |> Array.ofList
    let exact = shape |> Array.fold (fun acc d -> acc * bigint d) 1I
    exact = bigint (Hybrid.Core.Shape.numel shape) && exact = bigint (Hybrid.Core.Shape.numel64 shape)

[<Fact>]
let ``counts beyond an array are refused with the count and the shape, never wrapped`` () =
    let e = Assert.Throws<ArgumentException>(fun () -> Hybrid.Core.Shape.numel [| 65537; 65537 |] |> ignore)
    Assert.Contains("4295098369", e.Message)
    Assert.Contains("[65537,65537]", e.Message)
    Assert.Throws<ArgumentException>(fun () -> Hybrid.Core.Create.zeros Hybrid.Core.Float32 [| 65537; 65537 |] |> ignore) |> ignore
    // a product past int64 saturates rather than wrapping to a small or negative count
    Assert.Equal(Int64.MaxValue, Hybrid.Core.Shape.numel64 [| Int32.MaxValue; Int32.MaxValue; Int32.MaxValue |])
    Assert.Equal(0L, Hybrid.Core.Shape.numel64 [| Int32.MaxValue; 0; Int32.MaxValue |])

[<Fact>]
let ``a safetensors header declaring more elements than its bytes is refused before allocating`` () =
    let header = """{"w":{"dtype":"F32","shape":[65536,65536],"data_offsets":[0,0]}}"""
    let json = Text.Encoding.UTF8.GetBytes header
    let bytes = Array.append (BitConverter.GetBytes(uint64 json.Length)) json
    let e = Assert.Throws<InvalidDataException>(fun () -> Hybrid.Core.Data.Safetensors.deserialize "lying.safetensors" bytes |> ignore)
    Assert.Contains("4294967296 elements", e.Message)
    Assert.DoesNotContain("-", e.Message.Replace("data_offsets", "").Replace("lying.safetensors", ""))

// ---------------------------------------------------------------- committed checkpoints

let private commitText (root: string) (step: int64) (keep: int) (text: string) =
    Checkpoint.commit root step 0 keep (fun d ->
        AtomicFile.writeAllText "payload" (Path.Combine(d, "a.txt")) text
        [ "a.txt" ])

[<Fact>]
let ``the newest keep checkpoints stay, and a damaged newest falls back with a message`` () =
    let d = tempDir ()
    try
        for s in 1L .. 4L do commitText d s 2 (sprintf "state %d" s) |> ignore
        Assert.Equal<string[]>([| "step-000000000003"; "step-000000000004" |], Directory.GetDirectories d |> Array.map Path.GetFileName |> Array.sort)
        let found, notes = Checkpoint.latest d
        Assert.Equal(4L, (snd found.Value).Step)
        Assert.Empty notes
        File.WriteAllText(Path.Combine(d, "step-000000000004", "a.txt"), "state 5")
        let found, notes = Checkpoint.latest d
        Assert.Equal(3L, (snd found.Value).Step)
        Assert.Contains("falling back to the previous one", List.exactlyOne notes)
        // a folder without a manifest (a crash before the commit) does not exist
        File.Delete(Path.Combine(d, "step-000000000003", Checkpoint.manifestName))
        Assert.True((fst (Checkpoint.latest d)).IsNone)
    finally Directory.Delete(d, true)

[<Fact>]
let ``a write that fails leaves the committed checkpoints and no staging folder`` () =
    let d = tempDir ()
    try
        commitText d 1L 2 "good" |> ignore
        Assert.Throws<IOException>(fun () ->
            Checkpoint.commit d 2L 0 2 (fun _ -> raise (IOException "disk full")) |> ignore) |> ignore
        Assert.Equal<string[]>([| "step-000000000001" |], Directory.GetDirectories d |> Array.map Path.GetFileName)
        Assert.Equal(1L, (snd (fst (Checkpoint.latest d)).Value).Step)
        // the same step committed again replaces it whole
        commitText d 1L 2 "again" |> ignore
        Assert.Equal("again", File.ReadAllText(Path.Combine(d, "step-000000000001", "a.txt")))
    finally Directory.Delete(d, true)

// ---------------------------------------------------------------- resume: no row twice

[<Fact>]
let ``metrics and TensorBoard files are cut back to a step, torn tails dropped`` () =
    let d = tempDir ()
    try
        let csv = Path.Combine(d, "metrics.csv")
        let w = new Hybrid.Core.Logging.MetricsWriter(csv)
        for s in 1L .. 5L do w.Append { Step = s * 10L; Epoch = 1; TrainLoss = 0.5; ValLoss = nan; Accuracy = nan; Lr = 0.1; Seconds = 1.0 }
        w.Dispose()
        File.AppendAllText(csv, "60,1,0.")
        Hybrid.Core.Logging.MetricsPurge.purgeAfter csv 30L
        Assert.Equal<int64[]>([| 10L; 20L; 30L |], Hybrid.Core.Logging.Metrics.read csv |> Array.map (fun r -> r.Step))
        let tb = new Hybrid.Core.Logging.SummaryWriter(d)
        for s in 1L .. 5L do tb.AddScalar("loss", 1.0, s)
        let path = tb.Path
        tb.Dispose()
        File.AppendAllBytes(path, [| 1uy; 2uy; 3uy |])
        Hybrid.Core.Logging.TensorBoard.purgeAfter path 3L
        let steps = Hybrid.Core.Logging.TensorBoard.readEvents path |> List.filter (fun e -> not e.Scalars.IsEmpty) |> List.map (fun e -> e.Step)
        Assert.Equal<int64 list>([ 1L; 2L; 3L ], steps)
    finally Directory.Delete(d, true)
