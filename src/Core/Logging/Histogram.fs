namespace Hybrid.Core.Logging

open System

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

    open Protobuf

    /// The protobuf bytes of a Summary.Value { tag = 1; histo = 5 } holding the histogram of `values`.
    let summaryValue (tag: string) (bins: int) (values: float[]) : byte[] =
        let lo, hi, sum, sumSq, limits, counts = buckets bins values
        let h = ResizeArray()
        fixed64 h 1 lo
        fixed64 h 2 hi
        fixed64 h 3 (float values.Length)
        fixed64 h 4 sum
        fixed64 h 5 sumSq
        lengthDelimited h 6 (packedDoubles limits)
        lengthDelimited h 7 (packedDoubles counts)
        message (fun out -> str out 1 tag; lengthDelimited out 5 (h.ToArray()))
