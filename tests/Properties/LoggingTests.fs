module Hybrid.Tests.LoggingTests

open System
open System.IO
open System.Text
open Xunit
open FsCheck.Xunit
open Hybrid.Core.Logging
open Hybrid.Tests.DataTests

[<Fact>]
let ``crc32c of 123456789 is 0xE3069283`` () =
    Assert.Equal(0xE3069283u, Crc32c.ofArray (Encoding.ASCII.GetBytes "123456789"))
    Assert.Equal(0u, Crc32c.ofArray [||])
    // RFC 3720 B.4: 32 bytes of zeros
    Assert.Equal(0x8A9136AAu, Crc32c.ofArray (Array.zeroCreate 32))

[<Property(MaxTest = 50)>]
let ``unmask inverts mask`` (crc: uint32) = Crc32c.unmask (Crc32c.mask crc) = crc

[<Fact>]
let ``mask rotates right by 15 and adds 0xa282ead8`` () =
    Assert.Equal(0xa282ead8u, Crc32c.mask 0u)
    Assert.Equal((0x00020000u + 0xa282ead8u), Crc32c.mask 1u)

[<Fact>]
let ``a record is length, masked crc of length, payload, masked crc of payload`` () =
    let payload = Encoding.ASCII.GetBytes "hello"
    let r = TensorBoard.frameRecord payload
    Assert.Equal(8 + 4 + 5 + 4, r.Length)
    Assert.Equal(5UL, BitConverter.ToUInt64(r, 0))
    Assert.Equal(Crc32c.mask (Crc32c.ofArray r[0..7]), BitConverter.ToUInt32(r, 8))
    Assert.Equal<byte[]>(payload, r[12..16])
    Assert.Equal(Crc32c.mask (Crc32c.ofArray payload), BitConverter.ToUInt32(r, 17))

[<Fact>]
let ``the file version event encodes as protobuf fields 1, 2 and 3`` () =
    let bytes = TensorBoard.encodeEvent { WallTime = 1.5; Step = 300L; FileVersion = Some "brain.Event:2"; Scalars = [] }
    let expected =
        Array.concat [ [| 0x09uy |]; BitConverter.GetBytes 1.5        // wall_time: key 1<<3|1, fixed64
                       [| 0x10uy; 0xACuy; 0x02uy |]                     // step: key 2<<3|0, varint 300
                       [| 0x1Auy; 13uy |]; Encoding.ASCII.GetBytes "brain.Event:2" ] // file_version: key 3<<3|2
    Assert.Equal<byte[]>(expected, bytes)

[<Fact>]
let ``a scalar summary nests Summary and Value messages`` () =
    let bytes = TensorBoard.encodeEvent { WallTime = 0.0; Step = 1L; FileVersion = None; Scalars = [ "loss", 0.25f ] }
    // value = 0A 04 "loss" 15 <0.25f>; summary = 0A 0B value; event field 5 = 2A 0D summary
    let value = Array.concat [ [| 0x0Auy; 4uy |]; Encoding.ASCII.GetBytes "loss"; [| 0x15uy |]; BitConverter.GetBytes 0.25f ]
    let tail = Array.concat [ [| 0x2Auy; 13uy; 0x0Auy; 11uy |]; value ]
    Assert.Equal<byte[]>(tail, bytes[bytes.Length - tail.Length ..])

[<Property(MaxTest = 50)>]
let ``events round-trip through encode and decode`` (step: int64) (wall: float) (values: (string * float32) list) =
    let wall = if Double.IsNaN wall then 0.0 else wall
    let values = values |> List.filter (fun (t, v) -> not (isNull t) && not (Single.IsNaN v))
    let e = { WallTime = wall; Step = step; FileVersion = None; Scalars = values }
    TensorBoard.decodeEvent (TensorBoard.encodeEvent e) = e

[<Fact>]
let ``the summary writer's file reads back with the file version first`` () =
    let dir = tempDir ()
    let path =
        use w = new SummaryWriter(dir)
        w.AddScalar("train/loss", 0.75, 10L)
        w.AddScalars(20L, [ "train/loss", 0.5; "val/accuracy", 0.875 ])
        w.Path
    Assert.StartsWith("events.out.tfevents.", Path.GetFileName path)
    let events = TensorBoard.readEvents path
    Assert.Equal(3, events.Length)
    Assert.Equal(Some "brain.Event:2", events[0].FileVersion)
    Assert.Equal<(string * float32) list>([ "train/loss", 0.75f ], events[1].Scalars)
    Assert.Equal(10L, events[1].Step)
    Assert.Equal<(string * float32) list>([ "train/loss", 0.5f; "val/accuracy", 0.875f ], events[2].Scalars)
    Assert.Equal(20L, events[2].Step)
    Assert.InRange(events[2].WallTime, events[0].WallTime, events[0].WallTime + 60.0)
    // two writers in the same second get two files
    use w2 = new SummaryWriter(dir)
    use w3 = new SummaryWriter(dir)
    Assert.NotEqual<string>(w2.Path, w3.Path)

[<Fact>]
let ``a flipped payload byte or a truncated record is caught by the reader`` () =
    let r = Array.append (TensorBoard.frameRecord [| 1uy; 2uy; 3uy |]) (TensorBoard.frameRecord [| 4uy; 5uy |])
    Assert.Equal<byte[] list>([ [| 1uy; 2uy; 3uy |]; [| 4uy; 5uy |] ], TensorBoard.parseRecords "f" r)
    let bad = Array.copy r
    bad[13] <- bad[13] ^^^ 1uy
    let e = Assert.Throws<InvalidDataException>(fun () -> TensorBoard.parseRecords "f" bad |> ignore)
    Assert.Contains("f: record 0 at byte 0: payload CRC mismatch", e.Message)
    let badLen = Array.copy r
    badLen[19] <- badLen[19] ^^^ 1uy
    let e = Assert.Throws<InvalidDataException>(fun () -> TensorBoard.parseRecords "f" badLen |> ignore)
    Assert.Contains("record 1 at byte 19: length CRC mismatch", e.Message)
    let e = Assert.Throws<InvalidDataException>(fun () -> TensorBoard.parseRecords "f" r[.. r.Length - 2] |> ignore)
    Assert.Contains("record 1 at byte 19: truncated: length 2 needs 6 bytes after the header but 5 remain", e.Message)

// ---- CSV metrics ----

let row step = { Step = step; Epoch = 2; TrainLoss = 0.123456789; ValLoss = nan; Accuracy = 0.875; Lr = 1e-3; Seconds = 12.5 }

[<Fact>]
let ``metrics rows are written with a header in invariant culture`` () =
    let prev = Globalization.CultureInfo.CurrentCulture
    try
        Globalization.CultureInfo.CurrentCulture <- Globalization.CultureInfo("fr-FR")
        let p = Path.Combine(tempDir (), "run", "metrics.csv")
        do
            use w = new MetricsWriter(p)
            w.Append(row 100L)
        do
            use w = new MetricsWriter(p) // appending keeps one header
            w.Append({ row 200L with ValLoss = 0.5 })
        Assert.Equal<string[]>(
            [| "step,epoch,train_loss,val_loss,accuracy,lr,seconds"
               "100,2,0.123456789,,0.875,0.001,12.5"
               "200,2,0.123456789,0.5,0.875,0.001,12.5" |], File.ReadAllLines p)
    finally
        Globalization.CultureInfo.CurrentCulture <- prev

[<Property(MaxTest = 50)>]
let ``metrics rows round-trip exactly`` (step: int64) (epoch: int) (a: float) (b: float) =
    let r = { Step = step; Epoch = epoch; TrainLoss = a; ValLoss = b; Accuracy = 0.1; Lr = 3e-4; Seconds = 1.0 / 3.0 }
    let back = Metrics.parse "x" (Metrics.format r)
    let same (x: float) (y: float) = (Double.IsNaN x && Double.IsNaN y) || x = y
    back.Step = r.Step && back.Epoch = r.Epoch && same back.TrainLoss r.TrainLoss && same back.ValLoss r.ValLoss
    && back.Lr = r.Lr && back.Seconds = r.Seconds

[<Fact>]
let ``reading a metrics file returns its rows and names bad lines`` () =
    let p = Path.Combine(tempDir (), "m.csv")
    File.WriteAllLines(p, [| Metrics.header; Metrics.format (row 1L); "2,0,abc,,,," |])
    let e = Assert.Throws<InvalidDataException>(fun () -> Metrics.read p |> ignore)
    Assert.Contains(p + " line 3: train_loss = 'abc' is not a number", e.Message)
    File.WriteAllLines(p, [| Metrics.header; Metrics.format (row 1L); Metrics.format (row 2L) |])
    let rows = Metrics.read p
    Assert.Equal(2, rows.Length)
    Assert.Equal(2L, rows[1].Step)
    Assert.True(Double.IsNaN rows[0].ValLoss)
    Assert.Equal(0.123456789, rows[0].TrainLoss)
