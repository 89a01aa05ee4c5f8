namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Runtime.Intrinsics
open Hybrid.Core.Backends

/// Max- and average-pooling over NCHW planes and their gradients (torch's window, padding, ceil mode and NaN rules).
module Pooling =

    open ConvShapes

    /// Planes (N·C) per parallel chunk for pooling over planes of `work` elements.
    let internal minPlanes (work: int) = max 1 (Par.grain / max 1 work)

    /// Take v (at flat index i) over the running best where v > best or v is NaN: branch-free, in lane 0 of a
    /// vector register (random data mispredicts an `if` about once a window).
    let inline internal takeMax<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (v: 'T) (i: int) (best: byref<Vector128<'T>>) (bestAt: byref<int>) =
        let v = Vector128.CreateScalarUnsafe v
        let take = Vector128.BitwiseOr(Vector128.GreaterThan(v, best), Vector128.OnesComplement(Vector128.Equals(v, v)))
        best <- Vector128.ConditionalSelect(take, v, best)
        let m = int (Vector128.ExtractMostSignificantBits take &&& 1u)
        bestAt <- bestAt + ((-m) &&& (i - bestAt))

    /// One plane of a 2×2, stride-2 max-pool, a window at a time: the plane of z at zOff (rows w long) into y (finish of
    /// each maximum) and ix (its flat index in the plane) at yOff, for ho × wo windows.
    let inline internal pool2x2Plane<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (z: 'T[]) (zOff: int) (w: int) (ho: int) (wo: int) ([<InlineIfLambda>] finish: 'T -> 'T) (y: 'T[]) (ix: int64[]) (yOff: int) =
        for oh in 0 .. ho - 1 do
            let r0 = 2 * oh * w
            for ow in 0 .. wo - 1 do
                let i = r0 + 2 * ow
                let mutable best = Vector128.CreateScalarUnsafe z.[zOff + i]
                let mutable bestAt = i
                takeMax z.[zOff + i + 1] (i + 1) &best &bestAt
                takeMax z.[zOff + i + w] (i + w) &best &bestAt
                takeMax z.[zOff + i + w + 1] (i + w + 1) &best &bestAt
                y.[yOff + oh * wo + ow] <- finish (best.ToScalar())
                ix.[yOff + oh * wo + ow] <- int64 bestAt

    /// maxPool2d's common case, 2×2 windows at stride 2 without padding or dilation: the four reads unrolled,
    /// in the general loop's order (so the same first maximum and NaN rule).
    let private maxPool2x2<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (planes: int) (h: int) (w: int) (ho: int) (wo: int) (y: 'T[]) (ix: int64[]) =
        Par.chunks planes (minPlanes (ho * wo * 4)) (fun s e ->
            for plane in s .. e - 1 do
                pool2x2Plane x (plane * h * w) w ho wo id y ix (plane * ho * wo))

    /// Max over each window (−∞ padding, dilation): the value and the flat index ih·W + iw of the first
    /// maximum within its plane; NaN counts as the maximum, as in torch.
    let maxPool2d<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int64[] * int[] =
        let n, c, h, w = xShape.[0], xShape.[1], xShape.[2], xShape.[3]
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let dh, dw = spec.Dilation
        let ho = Geometry.poolOutSize h kh sh ph dh spec.CeilMode
        let wo = Geometry.poolOutSize w kw sw pw dw spec.CeilMode
        // every output is written below
        let y = OutputArrays.rent<'T> (n * c * ho * wo)
        let ix = OutputArrays.rent<int64> y.Length
        if kh = 2 && kw = 2 && sh = 2 && sw = 2 && ph = 0 && pw = 0 && dh = 1 && dw = 1 && 2 * ho <= h && 2 * wo <= w then
            maxPool2x2 x (n * c) h w ho wo y ix
        else
            Par.chunks (n * c) (minPlanes (ho * wo * kh * kw)) (fun s e ->
                for plane in s .. e - 1 do
                    let xOff = plane * h * w
                    let yOff = plane * ho * wo
                    for oh in 0 .. ho - 1 do
                        let mutable hs = oh * sh - ph
                        let he = min (hs + (kh - 1) * dh + 1) h
                        while hs < 0 do hs <- hs + dh
                        for ow in 0 .. wo - 1 do
                            let mutable ws = ow * sw - pw
                            let we = min (ws + (kw - 1) * dw + 1) w
                            while ws < 0 do ws <- ws + dw
                            // branch-free select (random data mispredicts an `if` about once a window):
                            // take v where v > best or v is NaN, in lane 0 of a vector register
                            let mutable best = Vector128.CreateScalarUnsafe 'T.NegativeInfinity
                            let mutable bestAt = hs * w + ws
                            let mutable ih = hs
                            while ih < he do
                                let mutable iw = ws
                                while iw < we do
                                    let v = Vector128.CreateScalarUnsafe x.[xOff + ih * w + iw]
                                    let take = Vector128.BitwiseOr(Vector128.GreaterThan(v, best), Vector128.OnesComplement(Vector128.Equals(v, v)))
                                    best <- Vector128.ConditionalSelect(take, v, best)
                                    let m = int (Vector128.ExtractMostSignificantBits take &&& 1u)
                                    bestAt <- bestAt + ((-m) &&& (ih * w + iw - bestAt))
                                    iw <- iw + dw
                                ih <- ih + dh
                            y.[yOff + oh * wo + ow] <- best.ToScalar()
                            ix.[yOff + oh * wo + ow] <- int64 bestAt)
        y, ix, [| n; c; ho; wo |]

    /// ∂L/∂x of maxPool2d: each output's gradient goes to the input its index names (summed where shared).
    let maxPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (indices: int64[]) (inputShape: int[]) : 'T[] =
        let planes = inputShape.[0] * inputShape.[1]
        let hw = inputShape.[2] * inputShape.[3]
        let ohw = gShape.[2] * gShape.[3]
        let gx = OutputArrays.rentZeroed<'T> (planes * hw)
        Par.chunks planes (minPlanes ohw) (fun s e ->
            for plane in s .. e - 1 do
                let xOff = plane * hw
                for j in plane * ohw .. (plane + 1) * ohw - 1 do
                    let at = xOff + int indices.[j]
                    gx.[at] <- gx.[at] + g.[j])
        gx

    /// The window of output (oh, ow) clipped to the input, and torch's divisor: the window's size within
    /// the padded input (countIncludePad) or the number of real inputs in it.
    let inline private avgWindow (o: int) (k: int) (s: int) (p: int) (n: int) =
        let st = o * s - p
        let en = min (st + k) (n + p)
        let padded = en - st
        struct (max st 0, min en n, padded)

    /// Calls body xOff o hs he ws we count for every average-pooling window of every plane (planes split over the
    /// cores): xOff the plane's start in the input, o the output's flat index, [hs, he) × [ws, we) the window's rows
    /// and columns clipped to the plane, count torch's divisor (count_include_pad or the real inputs).
    let inline private forAvgWindows (planes: int) (h: int) (w: int) (ho: int) (wo: int) (spec: Pool2dSpec)
                                     ([<InlineIfLambda>] body: int -> int -> int -> int -> int -> int -> int -> unit) =
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        Par.chunks planes (minPlanes (ho * wo * kh * kw)) (fun s e ->
            for plane in s .. e - 1 do
                for oh in 0 .. ho - 1 do
                    let struct (hs, he, hp) = avgWindow oh kh sh ph h
                    for ow in 0 .. wo - 1 do
                        let struct (ws, we, wp) = avgWindow ow kw sw pw w
                        let count = if spec.CountIncludePad then hp * wp else (he - hs) * (we - ws)
                        body (plane * h * w) ((plane * ho + oh) * wo + ow) hs he ws we count)

    /// Mean over each window (no dilation), zero padding, divisor as torch's count_include_pad.
    let avgPool2d<'T when 'T :> IFloatingPointIeee754<'T>> (x: 'T[]) (xShape: int[]) (spec: Pool2dSpec) : 'T[] * int[] =
        let n, c, h, w = xShape.[0], xShape.[1], xShape.[2], xShape.[3]
        let kh, kw = spec.Kernel
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let ho = Geometry.poolOutSize h kh sh ph 1 spec.CeilMode
        let wo = Geometry.poolOutSize w kw sw pw 1 spec.CeilMode
        let y = OutputArrays.rentZeroed<'T> (n * c * ho * wo)
        forAvgWindows (n * c) h w ho wo spec (fun xOff o hs he ws we count ->
            let mutable sum = 'T.Zero
            for ih in hs .. he - 1 do
                for iw in ws .. we - 1 do
                    sum <- sum + x.[xOff + ih * w + iw]
            y.[o] <- sum / 'T.CreateTruncating count)
        y, [| n; c; ho; wo |]

    /// ∂L/∂x of avgPool2d: each output's gradient, divided by its window's divisor, added over the window.
    let avgPool2dBackward<'T when 'T :> IFloatingPointIeee754<'T>> (g: 'T[]) (gShape: int[]) (inputShape: int[]) (spec: Pool2dSpec) : 'T[] =
        let n, c, h, w = inputShape.[0], inputShape.[1], inputShape.[2], inputShape.[3]
        let gx = OutputArrays.rentZeroed<'T> (n * c * h * w)
        forAvgWindows (n * c) h w gShape.[2] gShape.[3] spec (fun xOff o hs he ws we count ->
            let share = g.[o] / 'T.CreateTruncating count
            for ih in hs .. he - 1 do
                for iw in ws .. we - 1 do
                    gx.[xOff + ih * w + iw] <- gx.[xOff + ih * w + iw] + share)
        gx
