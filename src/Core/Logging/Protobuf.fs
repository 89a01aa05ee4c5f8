namespace Hybrid.Core.Logging

open System
open System.Buffers.Binary
open System.Text

/// The protobuf wire format (developers.google.com/protocol-buffers/docs/encoding) that TensorBoard's event files,
/// histograms and hyperparameters, and ONNX models (Onnx/OnnxWriter.fs), are written in: key = (field_number << 3) | wire_type, with wire types
/// 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32; everything little-endian.
module internal Protobuf =
    /// An unsigned LEB128 varint.
    let varint (out: ResizeArray<byte>) (v: uint64) =
        let mutable v = v
        while v >= 0x80UL do
            out.Add(byte (v &&& 0x7FUL) ||| 0x80uy)
            v <- v >>> 7
        out.Add(byte v)

    /// A field's key.
    let key (out: ResizeArray<byte>) (field: int) (wire: int) = varint out (uint64 ((field <<< 3) ||| wire))

    /// A varint field (integers, bools, enums).
    let varintField (out: ResizeArray<byte>) (field: int) (v: uint64) =
        key out field 0
        varint out v

    /// A length-delimited field: bytes, a nested message or a packed array.
    let lengthDelimited (out: ResizeArray<byte>) (field: int) (bytes: byte[]) =
        key out field 2
        varint out (uint64 bytes.Length)
        out.AddRange bytes

    /// A UTF-8 string field.
    let str (out: ResizeArray<byte>) (field: int) (s: string) = lengthDelimited out field (Encoding.UTF8.GetBytes s)

    /// A double field (fixed64).
    let fixed64 (out: ResizeArray<byte>) (field: int) (v: float) =
        key out field 1
        let b = Array.zeroCreate<byte> 8
        BinaryPrimitives.WriteDoubleLittleEndian(Span b, v)
        out.AddRange b

    /// A float field (fixed32).
    let fixed32 (out: ResizeArray<byte>) (field: int) (v: float32) =
        key out field 5
        let b = Array.zeroCreate<byte> 4
        BinaryPrimitives.WriteSingleLittleEndian(Span b, v)
        out.AddRange b

    /// The payload of a packed repeated double field.
    let packedDoubles (vs: float[]) =
        let b = Array.zeroCreate<byte> (8 * vs.Length)
        vs |> Array.iteri (fun i v -> BinaryPrimitives.WriteDoubleLittleEndian(Span(b, 8 * i, 8), v))
        b

    /// The payload of a packed repeated float field (fixed32 each).
    let packedFloats (vs: float32[]) =
        let b = Array.zeroCreate<byte> (4 * vs.Length)
        vs |> Array.iteri (fun i v -> BinaryPrimitives.WriteSingleLittleEndian(Span(b, 4 * i, 4), v))
        b

    /// The payload of a packed repeated sfixed64 field (8 bytes each, two's complement).
    let packedSfixed64s (vs: int64[]) =
        let b = Array.zeroCreate<byte> (8 * vs.Length)
        vs |> Array.iteri (fun i v -> BinaryPrimitives.WriteInt64LittleEndian(Span(b, 8 * i, 8), v))
        b

    /// The bytes of a message written by `build`.
    let message (build: ResizeArray<byte> -> unit) =
        let out = ResizeArray()
        build out
        out.ToArray()
