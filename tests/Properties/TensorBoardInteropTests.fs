/// SummaryWriter's event files as an independent reader sees them: golden/check_tfevents.py walks the
/// TFRecord framing with its own CRC-32C and decodes each payload with the google.protobuf runtime,
/// using TensorFlow's Event/Summary field numbers. Nothing of Hybrid's reader is involved.
module Hybrid.Tests.TensorBoardInteropTests

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Xunit
open Hybrid.Core.Logging
open Hybrid.Tests.DataTests

let private python = "/usr/bin/python3"
let private checker = Path.Combine(__SOURCE_DIRECTORY__, "golden", "check_tfevents.py")

/// Runs `python args`; returns (exit code, stdout, stderr).
let private run (args: string list) =
    let psi = ProcessStartInfo(python, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false)
    for a in args do psi.ArgumentList.Add a
    use p = Process.Start psi
    let out, err = p.StandardOutput.ReadToEndAsync(), p.StandardError.ReadToEndAsync()
    p.WaitForExit()
    p.ExitCode, out.Result, err.Result

/// Why the interop tests cannot run here, if they cannot.
let private missing =
    lazy
        if not (File.Exists python) then Some(sprintf "%s not found" python)
        else
            match run [ "-c"; "import google.protobuf" ] with
            | 0, _, _ -> None
            | _, _, err -> Some(sprintf "%s has no google.protobuf (apt-get install python3-protobuf): %s" python (err.Trim()))

/// A fact skipped, with the reason shown, when /usr/bin/python3 or its google.protobuf is missing.
type ProtobufFactAttribute() as this =
    inherit FactAttribute()
    do missing.Force() |> Option.iter (fun why -> this.Skip <- why)

/// One decoded event: step, wall time, file version, scalars (tag, value as the checker printed it).
type private Decoded = { Step: int64; WallTime: float; FileVersion: string option; Scalars: (string * float) list }

/// The checker's verdict on `path`: Ok events, or Error (exit code, stderr).
let private check (path: string) =
    match run [ checker; path ] with
    | 0, out, _ ->
        use doc = JsonDocument.Parse out
        Ok
            [ for e in doc.RootElement.EnumerateArray() ->
                { Step = e.GetProperty("step").GetInt64()
                  WallTime = e.GetProperty("wall_time").GetDouble()
                  FileVersion =
                    match e.TryGetProperty "file_version" with
                    | true, v -> Some(v.GetString())
                    | _ -> None
                  Scalars = [ for p in e.GetProperty("scalars").EnumerateObject() -> p.Name, p.Value.GetDouble() ] } ]
    | code, _, err -> Error(code, err)

/// What the tests log: (step, scalars) per call; one AddScalar call when a single scalar.
let private logged: (int64 * (string * float) list) list =
    [ 0L, [ "train/loss", 2.5 ]
      1L, [ "train/loss", -0.125; "train/lr", 1e-3; "val/accuracy", 1.0 / 3.0 ]
      2L, [ "tiny", 1e-30; "tiny_negative", -1e-38; "subnormal", 1e-40; "negative_zero", -0.0 ]
      7L, [ "huge", 3.0e38; "negative", -123456.789; "λ/unicode tag", Math.PI ]
      (1L <<< 40), [ "train/loss", 0.015625 ]
      -1L, [ "negative step", 42.0 ] ]

/// Writes `logged` with a fresh SummaryWriter; returns the file and the wall-time window.
let private writeLogged () =
    let before = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0
    use w = new SummaryWriter(tempDir ())
    for step, scalars in logged do
        match scalars with
        | [ tag, v ] -> w.AddScalar(tag, v, step)
        | many -> w.AddScalars(step, many)
    let after = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0
    w.Path, before, after

[<ProtobufFact>]
let ``an independent protobuf reader decodes every step, tag and float32 value SummaryWriter wrote`` () =
    let path, before, after = writeLogged ()
    match check path with
    | Error(code, err) -> failwithf "check_tfevents.py rejected %s (exit %d): %s" path code err
    | Ok events ->
        Assert.Equal(1 + logged.Length, events.Length)
        let first = events.Head
        Assert.Equal(Some "brain.Event:2", first.FileVersion)
        Assert.Empty(first.Scalars)
        for e in events do
            Assert.InRange(e.WallTime, before - 0.001, after + 0.001)
        for (step, scalars), e in List.zip logged events.Tail do
            Assert.Equal(step, e.Step)
            Assert.Equal(None, e.FileVersion)
            Assert.Equal<string list>(List.map fst scalars, List.map fst e.Scalars)
            for (tag, written), (_, read) in List.zip scalars e.Scalars do
                // simple_value is a float32: the reader must see exactly float32(written), widened
                Assert.True(float (float32 written) = read || (Double.IsNaN written && Double.IsNaN read),
                            sprintf "step %d tag %s: wrote %.17g (float32 %.9g), the reader decoded %.17g" step tag written (float32 written) read)

[<ProtobufFact>]
let ``the independent reader and TensorBoard.readEvents agree on the file`` () =
    let path, _, _ = writeLogged ()
    match check path with
    | Error(code, err) -> failwithf "check_tfevents.py rejected %s (exit %d): %s" path code err
    | Ok events ->
        let ours = TensorBoard.readEvents path
        Assert.Equal(events.Length, ours.Length)
        for theirs, ours in List.zip events ours do
            Assert.Equal(theirs.Step, ours.Step)
            Assert.Equal(theirs.WallTime, ours.WallTime)
            Assert.Equal(theirs.FileVersion, ours.FileVersion)
            Assert.Equal<(string * float) list>(theirs.Scalars, [ for t, v in ours.Scalars -> t, float v ])

[<ProtobufFact>]
let ``a flipped byte in the length, either CRC or the payload, or a truncation, makes the reader fail`` () =
    let path, _, _ = writeLogged ()
    let good = File.ReadAllBytes path
    Assert.True(Result.isOk (check path), "the intact file must pass")
    let r0 = 12 + int (BitConverter.ToUInt64(good, 0)) + 4 // start of record 1
    let len1 = int (BitConverter.ToUInt64(good, r0))
    let corruptions =
        [ "length byte", (fun (b: byte[]) -> b[r0] <- b[r0] ^^^ 0x01uy; b)
          "length CRC byte", (fun b -> b[r0 + 9] <- b[r0 + 9] ^^^ 0x80uy; b)
          "payload byte", (fun b -> b[r0 + 12 + len1 / 2] <- b[r0 + 12 + len1 / 2] ^^^ 0x10uy; b)
          "payload CRC byte", (fun b -> b[r0 + 12 + len1] <- b[r0 + 12 + len1] ^^^ 0x04uy; b)
          "last byte of the file", (fun b -> b[b.Length - 1] <- b[b.Length - 1] ^^^ 0xFFuy; b)
          "truncation", (fun b -> b[0 .. b.Length - 3]) ]
    for what, corrupt in corruptions do
        let bad = Path.Combine(tempDir (), Path.GetFileName path)
        File.WriteAllBytes(bad, corrupt (Array.copy good))
        match check bad with
        | Ok _ -> failwithf "check_tfevents.py accepted a file with a corrupted %s" what
        | Error(code, err) ->
            Assert.True((code = 1), sprintf "%s: exit %d, stderr %s" what code err)
            Assert.Contains((if what = "truncation" then "truncated" else "CRC mismatch"), err)
