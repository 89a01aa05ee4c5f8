namespace Hybrid.Core.Data

open System
open System.IO
open System.Buffers.Binary
open System.Runtime.InteropServices
open System.Text
open System.Text.Json
open System.Text.Json.Nodes
open Hybrid.Core

/// The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes
/// of JSON `{name: {"dtype": "F32"|"F64"|"I64", "shape": [..], "data_offsets": [begin, end]}, ...}` with
/// an optional `"__metadata__": {string: string}`, then the raw little-endian data; offsets are
/// relative to the data start and the tensors tile the data without holes or overlaps.
module Safetensors =
    let private fail (name: string) (what: string) : 'a =
        raise (InvalidDataException(sprintf "safetensors: %s: %s" name what))

    let private code (d: DType) = match d with Float32 -> "F32" | Float64 -> "F64" | Int64 -> "I64"

    let private dtypeOf (name: string) (tensor: string) (s: string) =
        match s with
        | "F32" -> Float32
        | "F64" -> Float64
        | "I64" -> Int64
        | other -> fail name (sprintf "tensor '%s' has dtype %s (supported: F32, F64, I64)" tensor other)

    let private bytesOf (t: Tensor) : byte[] =
        match t.DType with
        | Float32 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToFloat32Array())).ToArray()
        | Float64 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToFloat64Array())).ToArray()
        | Int64 -> MemoryMarshal.AsBytes(ReadOnlySpan(t.ToInt64Array())).ToArray()

    let private checkEndianness () =
        if not BitConverter.IsLittleEndian then
            raise (PlatformNotSupportedException "safetensors: only little-endian machines are supported")

    /// Encodes named tensors (written in name order) and string metadata as safetensors bytes.
    let serialize (tensors: Map<string, Tensor>) (metadata: Map<string, string>) : byte[] =
        checkEndianness ()
        if tensors.ContainsKey "__metadata__" then
            invalidArg "tensors" "safetensors: '__metadata__' is reserved and cannot name a tensor"
        let header = JsonObject()
        if not metadata.IsEmpty then
            let m = JsonObject()
            for KeyValue(k, v) in metadata do m[k] <- JsonValue.Create v
            header["__metadata__"] <- m
        let data = ResizeArray<byte[]>()
        let mutable offset = 0L
        for KeyValue(name, t) in tensors do
            let b = bytesOf t
            let entry = JsonObject()
            entry["dtype"] <- JsonValue.Create(code t.DType)
            entry["shape"] <- JsonArray(t.Shape |> Array.map (fun d -> JsonValue.Create(int64 d) :> JsonNode))
            entry["data_offsets"] <- JsonArray(JsonValue.Create offset, JsonValue.Create(offset + int64 b.Length))
            header[name] <- entry
            offset <- offset + int64 b.Length
            data.Add b
        let json = Encoding.UTF8.GetBytes(header.ToJsonString())
        // pad the header with spaces so the data starts 8-byte aligned
        let padded = (json.Length + 7) / 8 * 8
        let out = Array.zeroCreate<byte> (8 + padded + int offset)
        BinaryPrimitives.WriteUInt64LittleEndian(Span(out, 0, 8), uint64 padded)
        Array.blit json 0 out 8 json.Length
        Array.fill out (8 + json.Length) (padded - json.Length) (byte ' ')
        let mutable pos = 8 + padded
        for b in data do
            Array.blit b 0 out pos b.Length
            pos <- pos + b.Length
        out

    let private tensorOf (dtype: DType) (shape: int[]) (span: ReadOnlySpan<byte>) =
        match dtype with
        | Float32 -> Create.ofFloat32 (MemoryMarshal.Cast<byte, float32>(span).ToArray()) shape
        | Float64 -> Create.ofFloat64 (MemoryMarshal.Cast<byte, float>(span).ToArray()) shape
        | Int64 -> Create.ofInt64 (MemoryMarshal.Cast<byte, int64>(span).ToArray()) shape

    /// Decodes safetensors bytes into named tensors and metadata; `name` names the source in errors.
    let deserialize (name: string) (bytes: byte[]) : Map<string, Tensor> * Map<string, string> =
        checkEndianness ()
        if bytes.Length < 8 then fail name (sprintf "truncated: %d bytes, shorter than the 8-byte header length" bytes.Length)
        let n = BinaryPrimitives.ReadUInt64LittleEndian(ReadOnlySpan(bytes, 0, 8))
        if n > uint64 (bytes.Length - 8) then
            fail name (sprintf "truncated: header length %d exceeds the %d bytes after it" n (bytes.Length - 8))
        let n = int n
        let header =
            try JsonNode.Parse(ReadOnlySpan(bytes, 8, n)) with :? JsonException as e -> fail name (sprintf "header is not valid JSON (%s)" e.Message)
        let header = match header with :? JsonObject as o -> o | _ -> fail name "header is not a JSON object"
        let dataStart = 8 + n
        let dataLength = int64 (bytes.Length - dataStart)
        let mutable metadata = Map.empty
        let entries = ResizeArray()
        for KeyValue(key, node) in header do
            if key = "__metadata__" then
                match node with
                | :? JsonObject as m ->
                    for KeyValue(k, v) in m do
                        let s = try v.GetValue<string>() with _ -> fail name (sprintf "__metadata__ value of '%s' is not a string" k)
                        metadata <- metadata.Add(k, s)
                | _ -> fail name "__metadata__ is not a JSON object"
            else
                let entry = match node with :? JsonObject as o -> o | _ -> fail name (sprintf "tensor '%s' is not a JSON object" key)
                let field (f: string) = match entry[f] with null -> fail name (sprintf "tensor '%s' lacks \"%s\"" key f) | v -> v
                let ints (f: string) =
                    try (field f).AsArray() |> Seq.map (fun v -> v.GetValue<int64>()) |> Seq.toArray
                    with :? InvalidOperationException | :? FormatException -> fail name (sprintf "tensor '%s': \"%s\" is not an array of integers" key f)
                let dtype = dtypeOf name key (try (field "dtype").GetValue<string>() with :? InvalidOperationException -> fail name (sprintf "tensor '%s': dtype is not a string" key))
                let shape = ints "shape"
                if shape |> Array.exists (fun d -> d < 0L || d > int64 Int32.MaxValue) then
                    fail name (sprintf "tensor '%s' has an invalid shape %A" key shape)
                let offsets = ints "data_offsets"
                if offsets.Length <> 2 then fail name (sprintf "tensor '%s': data_offsets must hold 2 integers (got %d)" key offsets.Length)
                let b, e = offsets[0], offsets[1]
                let shape = shape |> Array.map int
                if b < 0L || e < b || e > dataLength then
                    fail name (sprintf "tensor '%s': data_offsets [%d,%d] lie outside the %d data bytes" key b e dataLength)
                // counted in int64 before any allocation: a header may declare more than an array holds
                let count = Shape.numel64 shape
                if count > Shape.maxElements || count > dataLength / int64 dtype.Size then
                    fail name (sprintf "tensor '%s': %s %s declares %d elements (%s bytes), more than the %d data bytes hold%s" key (code dtype) (Shape.show shape) count
                                   (if count > Int64.MaxValue / 8L then "over 9.2e18" else string (count * int64 dtype.Size)) dataLength
                                   (if count > Shape.maxElements then sprintf " or an array can hold (%d elements)" Shape.maxElements else ""))
                let expected = count * int64 dtype.Size
                if e - b <> expected then
                    fail name (sprintf "tensor '%s': %s %s needs %d bytes but data_offsets [%d,%d] give %d" key (code dtype) (Shape.show shape) expected b e (e - b))
                entries.Add((key, dtype, shape, b, e))
        // the tensors must tile the data exactly: sorted by offset, each begins where the previous ends
        let sorted = entries |> Seq.sortBy (fun (_, _, _, b, e) -> b, e) |> Seq.toArray
        let mutable pos = 0L
        for key, _, _, b, e in sorted do
            if b <> pos then fail name (sprintf "tensor '%s' begins at data byte %d but the previous tensor ends at %d (hole or overlap)" key b pos)
            pos <- e
        if pos <> dataLength then
            fail name (sprintf "the tensors cover %d data bytes but the file holds %d after the header" pos dataLength)
        let tensors =
            sorted
            |> Array.map (fun (key, dtype, shape, b, e) -> key, tensorOf dtype shape (ReadOnlySpan(bytes, dataStart + int b, int (e - b))))
            |> Map.ofArray
        tensors, metadata

    /// Writes named tensors and string metadata to a safetensors file, atomically (a temporary file
    /// in the same folder, fsynced, then renamed): a crash or a full disk leaves the old file whole.
    let saveWithMetadata (path: string) (tensors: Map<string, Tensor>) (metadata: Map<string, string>) =
        Hybrid.Core.Durability.AtomicFile.writeAllBytes "a safetensors file" path (serialize tensors metadata)

    /// Writes named tensors to a safetensors file.
    let save (path: string) (tensors: Map<string, Tensor>) = saveWithMetadata path tensors Map.empty

    /// Reads a safetensors file: its tensors and its metadata (empty when absent).
    let loadWithMetadata (path: string) : Map<string, Tensor> * Map<string, string> =
        if not (File.Exists path) then raise (FileNotFoundException(sprintf "safetensors: file not found: %s" path, path))
        deserialize path (File.ReadAllBytes path)

    /// Reads the tensors of a safetensors file.
    let load (path: string) : Map<string, Tensor> = fst (loadWithMetadata path)
