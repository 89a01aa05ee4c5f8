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
