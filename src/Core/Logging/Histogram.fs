namespace Hybrid.Core.Logging

open System
open System.Buffers.Binary
open System.Text

/// TensorBoard histograms (tensorflow/core/framework/summary.proto, HistogramProto): min, max, count, sum, sum of
/// squares and equal-width buckets, each bucket's upper edge in bucket_limit and its count in bucket.
module Histogram =
    /// The statistics of `values` in `bins` equal-width buckets over [min, max] (one bucket when all values are equal);
    /// non-finite values are refused, since TensorBoard cannot place them.
    let buckets (bins: int) (values: float[]) : float * float * float * float * float[] * float[] =
        if bins < 1 then invalidArg "bins" (sprintf "histogram: bins %d must be at least 1" bins)
        if values.Length = 0 then invalidArg "values" "histogram: no values"
        match values |> Array.tryFindIndex (Double.IsFinite >> not) with
        | Some i -> invalidArg "values" (sprintf "histogram: value %d is %g (only finite values can be binned)" i values[i])
        | None -> ()
        let lo, hi = Array.min values, Array.max values
        let sum = Array.sum values
        let sumSq = values |> Array.sumBy (fun v -> v * v)
        if hi = lo then lo, hi, sum, sumSq, [| hi |], [| float values.Length |]
        else
            let width = (hi - lo) / float bins
            let counts = Array.zeroCreate<float> bins
            for v in values do
                let b = min (bins - 1) (int ((v - lo) / width))
                counts[b] <- counts[b] + 1.0
            // the last edge is exactly max, so the largest value lies inside its bucket
            let limits = Array.init bins (fun i -> if i = bins - 1 then hi else lo + width * float (i + 1))
            lo, hi, sum, sumSq, limits, counts

    let private varint (out: ResizeArray<byte>) (v: uint64) =
        let mutable v = v
        while v >= 0x80UL do
            out.Add(byte (v &&& 0x7FUL) ||| 0x80uy)
            v <- v >>> 7
        out.Add(byte v)

    let private double (out: ResizeArray<byte>) (field: int) (v: float) =
        varint out (uint64 ((field <<< 3) ||| 1))
        let b = Array.zeroCreate<byte> 8
        BinaryPrimitives.WriteDoubleLittleEndian(Span b, v)
        out.AddRange b

    let private bytes (out: ResizeArray<byte>) (field: int) (b: byte[]) =
        varint out (uint64 ((field <<< 3) ||| 2))
        varint out (uint64 b.Length)
        out.AddRange b

    let private packed (vs: float[]) =
        let b = Array.zeroCreate<byte> (8 * vs.Length)
        vs |> Array.iteri (fun i v -> BinaryPrimitives.WriteDoubleLittleEndian(Span(b, 8 * i, 8), v))
        b

    /// The protobuf bytes of a Summary.Value { tag = 1; histo = 5 } holding the histogram of `values`.
    let summaryValue (tag: string) (bins: int) (values: float[]) : byte[] =
        let lo, hi, sum, sumSq, limits, counts = buckets bins values
        let h = ResizeArray()
        double h 1 lo
        double h 2 hi
        double h 3 (float values.Length)
        double h 4 sum
        double h 5 sumSq
        bytes h 6 (packed limits)
        bytes h 7 (packed counts)
        let out = ResizeArray()
        bytes out 1 (Encoding.UTF8.GetBytes tag)
        bytes out 5 (h.ToArray())
        out.ToArray()
