namespace Hybrid.Core.Logging

open System
open System.IO
open System.Buffers.Binary
open System.Text

/// A TensorBoard event (tensorflow/core/util/event.proto), the fields Hybrid writes: wall time,
/// step, the file version (first record only) and scalar summaries.
type Event =
    { /// Seconds since the Unix epoch.
      WallTime: float
      Step: int64
      /// "brain.Event:2" on the first record of a file.
      FileVersion: string option
      /// Summary values: (tag, simple_value).
      Scalars: (string * float32) list }

/// TensorBoard event files: TFRecord framing (uint64 length, masked CRC-32C of the length bytes,
/// payload, masked CRC-32C of the payload; all little-endian) around protobuf-encoded `Event`s.
module TensorBoard =
    /// The file version TensorBoard expects in the first record.
    let fileVersion = "brain.Event:2"

    open Protobuf

    // Summary.Value { string tag = 1; float simple_value = 2; }
    let private encodeValue (tag: string, v: float32) =
        let out = ResizeArray()
        lengthDelimited out 1 (Encoding.UTF8.GetBytes tag)
        fixed32 out 2 v
        out.ToArray()

    /// Protobuf bytes of an Event { double wall_time = 1; int64 step = 2; string file_version = 3;
    /// Summary summary = 5 } with Summary { repeated Value value = 1 }.
    let encodeEvent (e: Event) : byte[] =
        let out = ResizeArray()
        fixed64 out 1 e.WallTime
        key out 2 0
        varint out (uint64 e.Step)
        e.FileVersion |> Option.iter (fun v -> lengthDelimited out 3 (Encoding.UTF8.GetBytes v))
        if not e.Scalars.IsEmpty then
            let summary = ResizeArray()
            for s in e.Scalars do lengthDelimited summary 1 (encodeValue s)
            lengthDelimited out 5 (summary.ToArray())
        out.ToArray()

    /// The fields of a protobuf message: (field number, wire type, payload bytes or varint value).
    let private fields (what: string) (bytes: byte[]) =
        let fail msg : 'a = raise (InvalidDataException(sprintf "tensorboard: malformed %s: %s" what msg))
        let mutable pos = 0
        let readVarint () =
            let mutable result = 0UL
            let mutable shift = 0
            let mutable fin = false
            while not fin do
                if pos >= bytes.Length then fail "varint runs past the end"
                if shift > 63 then fail "varint longer than 10 bytes"
                let b = bytes[pos]
                pos <- pos + 1
                result <- result ||| (uint64 (b &&& 0x7Fuy) <<< shift)
                shift <- shift + 7
                fin <- b < 0x80uy
            result
        let take (n: int) =
            if n < 0 || pos + n > bytes.Length then fail (sprintf "field of %d bytes at %d runs past the end (%d bytes)" n pos bytes.Length)
            let s = bytes[pos .. pos + n - 1]
            pos <- pos + n
            s
        [ while pos < bytes.Length do
            let k = readVarint ()
            let field, wire = int (k >>> 3), int (k &&& 7UL)
            match wire with
            | 0 -> yield field, wire, BitConverter.GetBytes(readVarint ())
            | 1 -> yield field, wire, take 8
            | 2 -> yield field, wire, take (int (readVarint ()))
            | 5 -> yield field, wire, take 4
            | w -> fail (sprintf "unsupported wire type %d for field %d" w field) ]

    /// Decodes an Event's protobuf bytes (unknown fields are skipped).
    let decodeEvent (bytes: byte[]) : Event =
        let mutable e = { WallTime = 0.0; Step = 0L; FileVersion = None; Scalars = [] }
        for field, wire, b in fields "Event" bytes do
            match field, wire with
            | 1, 1 -> e <- { e with WallTime = BinaryPrimitives.ReadDoubleLittleEndian(ReadOnlySpan b) }
            | 2, 0 -> e <- { e with Step = BitConverter.ToInt64(b, 0) }
            | 3, 2 -> e <- { e with FileVersion = Some(Encoding.UTF8.GetString b) }
            | 5, 2 ->
                let values =
                    [ for f, w, v in fields "Summary" b do
                        if f = 1 && w = 2 then
                            let mutable tag, value = "", 0.0f
                            for f2, w2, x in fields "Summary.Value" v do
                                if f2 = 1 && w2 = 2 then tag <- Encoding.UTF8.GetString x
                                elif f2 = 2 && w2 = 5 then value <- BinaryPrimitives.ReadSingleLittleEndian(ReadOnlySpan x)
                            yield tag, value ]
                e <- { e with Scalars = e.Scalars @ values }
            | _ -> ()
        e

    /// One TFRecord: uint64 length, masked CRC-32C of those 8 bytes, payload, masked CRC-32C of the payload.
    let frameRecord (payload: byte[]) : byte[] =
        let out = Array.zeroCreate<byte> (8 + 4 + payload.Length + 4)
        BinaryPrimitives.WriteUInt64LittleEndian(Span(out, 0, 8), uint64 payload.Length)
        BinaryPrimitives.WriteUInt32LittleEndian(Span(out, 8, 4), Crc32c.mask (Crc32c.compute (ReadOnlySpan(out, 0, 8))))
        Array.blit payload 0 out 12 payload.Length
        BinaryPrimitives.WriteUInt32LittleEndian(Span(out, 12 + payload.Length, 4), Crc32c.mask (Crc32c.ofArray payload))
        out

    /// The payloads of the TFRecords in `bytes`, both CRCs verified; `name` names the source in errors.
    let parseRecords (name: string) (bytes: byte[]) : byte[] list =
        let fail (i: int) (at: int) msg : 'a = raise (InvalidDataException(sprintf "tensorboard: %s: record %d at byte %d: %s" name i at msg))
        let rec go (i: int) (pos: int) acc =
            if pos = bytes.Length then List.rev acc
            else
                if bytes.Length - pos < 12 then fail i pos (sprintf "truncated header (%d of 12 bytes)" (bytes.Length - pos))
                let len = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, pos, 8))
                let stored = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, pos + 8, 4))
                let computed = Crc32c.mask (Crc32c.compute (ReadOnlySpan(bytes, pos, 8)))
                if stored <> computed then fail i pos (sprintf "length CRC mismatch (stored 0x%08x, computed 0x%08x)" stored computed)
                let remaining = bytes.Length - pos - 12
                if len + 4UL > uint64 remaining then
                    fail i pos (sprintf "truncated: length %d needs %d bytes after the header but %d remain" len (len + 4UL) remaining)
                let len = int len
                let payload = bytes[pos + 12 .. pos + 12 + len - 1]
                let stored = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, pos + 12 + len, 4))
                let computed = Crc32c.mask (Crc32c.ofArray payload)
                if stored <> computed then fail i pos (sprintf "payload CRC mismatch (stored 0x%08x, computed 0x%08x)" stored computed)
                go (i + 1) (pos + 16 + len) (payload :: acc)
        go 0 0 []

    /// Reads the events of an event file, verifying every CRC.
    let readEvents (path: string) : Event list =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "tensorboard: file not found: %s" path, path))
        parseRecords path (File.ReadAllBytes path) |> List.map decodeEvent

    /// The complete records at the start of `bytes`: a torn last record (a process killed mid-write)
    /// or any damaged one ends the list instead of raising, as TensorBoard's reader stops there.
    let private leadingRecords (bytes: byte[]) : byte[] list =
        let rec go (pos: int) acc =
            if bytes.Length - pos < 16 then List.rev acc
            else
                let len = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, pos, 8))
                let okHeader = BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, pos + 8, 4)) = Crc32c.mask (Crc32c.compute (ReadOnlySpan(bytes, pos, 8)))
                if not okHeader || len + 16UL > uint64 (bytes.Length - pos) then List.rev acc
                else
                    let len = int len
                    let payload = bytes[pos + 12 .. pos + 12 + len - 1]
                    if BinaryPrimitives.ReadUInt32LittleEndian(ReadOnlySpan(bytes, pos + 12 + len, 4)) <> Crc32c.mask (Crc32c.ofArray payload) then List.rev acc
                    else go (pos + 16 + len) (payload :: acc)
        go 0 []

    /// Rewrites an event file (atomically) without the events past `step` and without a torn tail,
    /// so a run resumed from a checkpoint at `step` logs no step twice: what torch's SummaryWriter
    /// purge_step asks TensorBoard to hide, removed from the file itself so every reader agrees.
    let purgeAfter (path: string) (step: int64) =
        let kept =
            leadingRecords (File.ReadAllBytes path)
            |> List.filter (fun r -> try (decodeEvent r).Step <= step with _ -> false)
        Hybrid.Core.Durability.AtomicFile.writeAllBytes "the TensorBoard event file" path (kept |> List.map frameRecord |> Array.concat)

    /// Seconds since the Unix epoch, now.
    let wallTime () = float (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) / 1000.0

/// Writes scalars to `<logDir>/events.out.tfevents.<unix time>.<host>` for TensorBoard
/// (`tensorboard --logdir <logDir>`). Each call appends and flushes one record.
type SummaryWriter(logDir: string) =
    do Directory.CreateDirectory logDir |> ignore
    let path =
        let stem = Path.Combine(logDir, sprintf "events.out.tfevents.%d.%s" (DateTimeOffset.UtcNow.ToUnixTimeSeconds()) Environment.MachineName)
        Seq.initInfinite (fun i -> if i = 0 then stem else sprintf "%s.%d" stem i) |> Seq.find (File.Exists >> not)
    let stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read)
    let write' (payload: byte[]) =
        let r = TensorBoard.frameRecord payload
        lock stream (fun () ->
            stream.Write(r, 0, r.Length)
            stream.Flush())
    let write (e: Event) = write' (TensorBoard.encodeEvent e)
    do write { WallTime = TensorBoard.wallTime (); Step = 0L; FileVersion = Some TensorBoard.fileVersion; Scalars = [] }
    /// The event file being written.
    member _.Path = path
    /// Logs one scalar under `tag` at `step`.
    member _.AddScalar(tag: string, value: float, step: int64) =
        write { WallTime = TensorBoard.wallTime (); Step = step; FileVersion = None; Scalars = [ tag, float32 value ] }
    /// Logs several scalars at one step in a single event.
    member _.AddScalars(step: int64, scalars: (string * float) seq) =
        write { WallTime = TensorBoard.wallTime (); Step = step; FileVersion = None; Scalars = [ for t, v in scalars -> t, float32 v ] }
    /// Logs the histogram of `values` (`bins` equal-width buckets) under `tag` at `step`.
    member w.AddHistogram(tag: string, values: float[], step: int64, bins: int) =
        w.AddSummaryValue(step, Histogram.summaryValue tag bins values)
    /// Logs a run's hyperparameters (numbers, strings or bools) for TensorBoard's HPARAMS tab, with the final
    /// `metrics` as scalars under their tags, as torch's add_hparams (three plugin events, then the scalars).
    member w.AddHparams(hparams: (string * obj) seq, metrics: (string * float) seq, step: int64) =
        let metrics = List.ofSeq metrics
        for v in HParams.summaryValues hparams (List.map fst metrics) do w.AddSummaryValue(step, v)
        if not metrics.IsEmpty then w.AddScalars(step, metrics)
    /// Writes one event whose summary holds one pre-encoded Summary.Value.
    member _.AddSummaryValue(step: int64, value: byte[]) =
        // Event { wall_time = 1; step = 2; summary = 5 { value = 1 } }: the Summary.Value bytes framed by hand,
        // as Event above holds scalars only
        let head = TensorBoard.encodeEvent { WallTime = TensorBoard.wallTime (); Step = step; FileVersion = None; Scalars = [] }
        let len (n: int) =
            let out = ResizeArray<byte>()
            let mutable v = uint64 n
            while v >= 0x80UL do
                out.Add(byte (v &&& 0x7FUL) ||| 0x80uy)
                v <- v >>> 7
            out.Add(byte v)
            out.ToArray()
        let summary = Array.concat [ [| 0x0Auy |]; len value.Length; value ]
        write' (Array.concat [ head; [| 0x2Auy |]; len summary.Length; summary ])
    /// Closes the file.
    member _.Dispose() = stream.Dispose()
    interface IDisposable with
        member w.Dispose() = w.Dispose()
