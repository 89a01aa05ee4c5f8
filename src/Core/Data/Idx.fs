namespace Hybrid.Core.Data

open System
open System.IO
open System.IO.Compression
open System.Buffers.Binary

/// Images in IDX form: `Count` images of `Rows` x `Cols` bytes, row-major, one image after another.
type IdxImages =
    { Count: int
      Rows: int
      Cols: int
      /// Count * Rows * Cols bytes, image-major then row-major.
      Pixels: byte[] }

/// The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian int32
/// magic number 0x00000803 (uint8, 3 dims) or 0x00000801 (uint8, 1 dim), then one big-endian int32 per
/// dimension, then the bytes. Files may be gzip-compressed (detected by the magic bytes 1f 8b).
module Idx =
    /// Magic number of a uint8 tensor with 3 dimensions [n, rows, cols] (images).
    let imagesMagic = 0x00000803
    /// Magic number of a uint8 tensor with 1 dimension [n] (labels).
    let labelsMagic = 0x00000801

    let private fail (name: string) (what: string) : 'a =
        raise (InvalidDataException(sprintf "idx: %s: %s" name what))

    /// True when the bytes start with the gzip magic 1f 8b.
    let isGzip (bytes: byte[]) = bytes.Length >= 2 && bytes[0] = 0x1fuy && bytes[1] = 0x8buy

    /// Decompresses gzip bytes (or returns plain bytes as they are); `name` names the source in errors.
    let decompress (name: string) (bytes: byte[]) =
        if not (isGzip bytes) then bytes
        else
            try
                use input = new MemoryStream(bytes)
                use gz = new GZipStream(input, CompressionMode.Decompress)
                use output = new MemoryStream()
                gz.CopyTo output
                output.ToArray()
            with
            | :? InvalidDataException
            | :? EndOfStreamException as e -> fail name (sprintf "corrupted gzip stream (%s)" e.Message)

    /// Reads a file's bytes, decompressing gzip; a missing file gives FileNotFoundException naming it.
    let readBytes (path: string) =
        if not (File.Exists path) then
            raise (FileNotFoundException(sprintf "idx: file not found: %s" path, path))
        decompress path (File.ReadAllBytes path)

    let private header (name: string) (bytes: byte[]) (magic: int) (dims: int) (kind: string) =
        let headerBytes = 4 + 4 * dims
        if bytes.Length >= 4 then
            let found = BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(bytes, 0, 4))
            if found <> magic then
                fail name (sprintf "bad magic number 0x%08x (expected 0x%08x for %s)" found magic kind)
        if bytes.Length < headerBytes then
            fail name (sprintf "truncated: %d bytes, shorter than the %d-byte header of an IDX %s file" bytes.Length headerBytes kind)
        let sizes = Array.init dims (fun d -> BinaryPrimitives.ReadInt32BigEndian(ReadOnlySpan(bytes, 4 + 4 * d, 4)))
        if sizes |> Array.exists (fun s -> s < 0) then
            fail name (sprintf "negative dimension in header %A" sizes)
        let declared = sizes |> Array.fold (fun acc s -> acc * int64 s) 1L
        let actual = int64 (bytes.Length - headerBytes)
        if declared <> actual then
            let shape = sizes |> Array.map string |> String.concat "x"
            let what = if actual < declared then "truncated" else "size mismatch"
            fail name (sprintf "%s: header declares %s = %d bytes of data but the file holds %d" what shape declared actual)
        sizes, headerBytes

    /// Parses IDX image bytes (already decompressed or gzip); `name` names the source in errors.
    let parseImages (name: string) (bytes: byte[]) : IdxImages =
        let bytes = decompress name bytes
        let sizes, off = header name bytes imagesMagic 3 "images"
        { Count = sizes[0]; Rows = sizes[1]; Cols = sizes[2]; Pixels = bytes[off..] }

    /// Parses IDX label bytes (already decompressed or gzip); `name` names the source in errors.
    let parseLabels (name: string) (bytes: byte[]) : byte[] =
        let bytes = decompress name bytes
        let _, off = header name bytes labelsMagic 1 "labels"
        bytes[off..]

    /// Reads an IDX images file (plain or gzip).
    let readImages (path: string) : IdxImages = parseImages path (readBytes path)

    /// Reads an IDX labels file (plain or gzip).
    let readLabels (path: string) : byte[] = parseLabels path (readBytes path)

    let private int32BE (v: int) =
        let b = Array.zeroCreate<byte> 4
        BinaryPrimitives.WriteInt32BigEndian(Span b, v)
        b

    let private gzipBytes (bytes: byte[]) =
        use output = new MemoryStream()
        (use gz = new GZipStream(output, CompressionLevel.SmallestSize)
         gz.Write(bytes, 0, bytes.Length))
        output.ToArray()

    /// Encodes images as IDX bytes, gzip-compressed when `gzip` is true.
    let encodeImages (gzip: bool) (images: IdxImages) =
        let expected = images.Count * images.Rows * images.Cols
        if images.Pixels.Length <> expected then
            invalidArg "images" (sprintf "idx.encodeImages: %d pixels do not fill %d images of %dx%d (%d expected)" images.Pixels.Length images.Count images.Rows images.Cols expected)
        let raw = Array.concat [ int32BE imagesMagic; int32BE images.Count; int32BE images.Rows; int32BE images.Cols; images.Pixels ]
        if gzip then gzipBytes raw else raw

    /// Encodes labels as IDX bytes, gzip-compressed when `gzip` is true.
    let encodeLabels (gzip: bool) (labels: byte[]) =
        let raw = Array.concat [ int32BE labelsMagic; int32BE labels.Length; labels ]
        if gzip then gzipBytes raw else raw

    /// Writes an IDX images file; gzip-compressed when the path ends in ".gz".
    let writeImages (path: string) (images: IdxImages) =
        File.WriteAllBytes(path, encodeImages (path.EndsWith ".gz") images)

    /// Writes an IDX labels file; gzip-compressed when the path ends in ".gz".
    let writeLabels (path: string) (labels: byte[]) =
        File.WriteAllBytes(path, encodeLabels (path.EndsWith ".gz") labels)

    /// The first `n` images (all of them when n >= Count).
    let takeImages (n: int) (images: IdxImages) =
        let n = min n images.Count
        { images with Count = n; Pixels = images.Pixels[.. n * images.Rows * images.Cols - 1] }
