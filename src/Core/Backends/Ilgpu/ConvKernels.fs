namespace Hybrid.Core.Backends.Ilgpu

open System
open System.Numerics
open ILGPU
open ILGPU.Runtime

/// The convolution and pooling kernels of the ILGPU backend. Same semantics as the CPU's `Conv` module.
/// Each kernel is written once over the element type 'T, read and written through an `IWiden` struct 'W (sums and
/// comparisons in float64), as the reductions of `TensorKernels`; ILGPU specializes it per type.
///
/// Conv geometry travels in `g` = [N; C; H; W; G; Cg; kH; kW; sH; sW; pH; pW; dH; dW; Ho; Wo].
/// The column matrix is laid out [G, K, N·L] (K = Cg·kH·kW rows (c, kh, kw), L = Ho·Wo), so that each
/// group's product is ONE gemm over the whole batch: y_g [Og, N·L] = W_g [Og, K] · col_g [K, N·L].
///
/// Pool geometry travels in `p` = [H; W; Ho; Wo; kH; kW; sH; sW; pH; pW; dH; dW; countIncludePad].
type ConvKernels =
    /// torch's divisor of the average window of output o along one axis: the window within the padded
    /// input (countIncludePad = 1) or the real inputs in it.
    static member AvgCount(o: int, k: int, s: int, p: int, n: int, includePad: int) : int =
        let st = o * s - p
        let en = Math.Min(st + k, n + p)
        if includePad = 1 then en - st else Math.Min(en, n) - Math.Max(st, 0)

    /// The first window o whose span [o·s − p, o·s − p + k) holds input v: ⌈(v + p − k + 1) / s⌉, at least 0.
    static member FirstWindow(v: int, k: int, s: int, p: int) : int =
        let num = v + p - k + 1
        if num <= 0 then 0 else (num + s - 1) / s

    /// col[g, (c,kh,kw), n, (oh,ow)] = x[n, g·Cg + c, oh·sH − pH + kh·dH, ow·sW − pW + kw·dW] (0 outside).
    /// One thread per column element.
    static member Im2col<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, x: ArrayView<'T>, col: ArrayView<'T>, g: ArrayView<int>) =
        let mutable e = Unchecked.defaultof<'W>
        let n, c, h, w = g.[0], g.[1], g.[2], g.[3]
        let cg, kh, kw = g.[5], g.[6], g.[7]
        let ho, wo = g.[14], g.[15]
        let ow = i.X % wo
        let oh = (i.X / wo) % ho
        let s = (i.X / (wo * ho)) % n
        let jw = (i.X / (wo * ho * n)) % kw
        let jh = (i.X / (wo * ho * n * kw)) % kh
        let ci = (i.X / (wo * ho * n * kw * kh)) % cg
        let gi = i.X / (wo * ho * n * kw * kh * cg)
        let ih = oh * g.[8] - g.[10] + jh * g.[12]
        let iw = ow * g.[9] - g.[11] + jw * g.[13]
        let inside = ih >= 0 && ih < h && iw >= 0 && iw < w
        col.[i.X] <- if inside then x.[((s * c + gi * cg + ci) * h + ih) * w + iw] else e.Narrow 0.0

    /// The adjoint of Im2col, as a gather (no atomics): x[n, ch, ih, iw] = Σ_{kh,kw} col[g, (c,kh,kw), n, (oh,ow)]
    /// over the (oh, ow) with oh·sH − pH + kh·dH = ih and ow·sW − pW + kw·dW = iw. One thread per input element.
    static member Col2im<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, col: ArrayView<'T>, x: ArrayView<'T>, g: ArrayView<int>) =
        let mutable e = Unchecked.defaultof<'W>
        let n, c, h, w = g.[0], g.[1], g.[2], g.[3]
        let cg, kh, kw = g.[5], g.[6], g.[7]
        let sh, sw, ph, pw, dh, dw = g.[8], g.[9], g.[10], g.[11], g.[12], g.[13]
        let ho, wo = g.[14], g.[15]
        let iw = i.X % w
        let ih = (i.X / w) % h
        let ch = (i.X / (w * h)) % c
        let s = i.X / (w * h * c)
        let gi = ch / cg
        let ci = ch % cg
        let l = ho * wo
        let mutable acc = 0.0
        for jh in 0 .. kh - 1 do
            let th = ih + ph - jh * dh
            if th >= 0 && th % sh = 0 && th / sh < ho then
                let oh = th / sh
                for jw in 0 .. kw - 1 do
                    let tw = iw + pw - jw * dw
                    if tw >= 0 && tw % sw = 0 && tw / sw < wo then
                        let row = ((gi * cg + ci) * kh + jh) * kw + jw
                        acc <- acc + e.Widen col.[(row * n + s) * l + oh * wo + tw / sw]
        x.[i.X] <- e.Narrow acc

    /// Max over each window (−∞ padding, dilation): the value and the per-plane flat index ih·W + iw of the
    /// first maximum; a NaN is taken as the maximum (as torch and the CPU kernel). One thread per output.
    static member MaxPool<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, x: ArrayView<'T>, y: ArrayView<'T>, ix: ArrayView<int64>, p: ArrayView<int>) =
        let mutable e = Unchecked.defaultof<'W>
        let h, w, ho, wo = p.[0], p.[1], p.[2], p.[3]
        let kh, kw, sh, sw, ph, pw, dh, dw = p.[4], p.[5], p.[6], p.[7], p.[8], p.[9], p.[10], p.[11]
        let ow = i.X % wo
        let oh = (i.X / wo) % ho
        let plane = i.X / (wo * ho)
        let mutable hs = oh * sh - ph
        let he = Math.Min(hs + (kh - 1) * dh + 1, h)
        while hs < 0 do hs <- hs + dh
        let mutable ws = ow * sw - pw
        let we = Math.Min(ws + (kw - 1) * dw + 1, w)
        while ws < 0 do ws <- ws + dw
        let mutable best = Double.NegativeInfinity
        let mutable bestAt = hs * w + ws
        let mutable ih = hs
        while ih < he do
            let mutable iw = ws
            while iw < we do
                let v = e.Widen x.[plane * h * w + ih * w + iw]
                if v > best || v <> v then
                    best <- v
                    bestAt <- ih * w + iw
                iw <- iw + dw
            ih <- ih + dh
        y.[i.X] <- e.Narrow best
        ix.[i.X] <- int64 bestAt

    /// Mean over each window (zero padding, no dilation), divisor as torch's count_include_pad. One thread per output.
    static member AvgPool<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, x: ArrayView<'T>, y: ArrayView<'T>, p: ArrayView<int>) =
        let mutable e = Unchecked.defaultof<'W>
        let h, w, ho, wo = p.[0], p.[1], p.[2], p.[3]
        let kh, kw, sh, sw, ph, pw = p.[4], p.[5], p.[6], p.[7], p.[8], p.[9]
        let ow = i.X % wo
        let oh = (i.X / wo) % ho
        let plane = i.X / (wo * ho)
        let hs = oh * sh - ph
        let ws = ow * sw - pw
        let mutable sum = 0.0
        for ih in Math.Max(hs, 0) .. Math.Min(Math.Min(hs + kh, h + ph), h) - 1 do
            for iw in Math.Max(ws, 0) .. Math.Min(Math.Min(ws + kw, w + pw), w) - 1 do
                sum <- sum + e.Widen x.[plane * h * w + ih * w + iw]
        let count = ConvKernels.AvgCount(oh, kh, sh, ph, h, p.[12]) * ConvKernels.AvgCount(ow, kw, sw, pw, w, p.[12])
        y.[i.X] <- e.Narrow (sum / float count)

    /// ∂L/∂x of average pooling as a gather (no atomics): gx[ih, iw] = Σ over the windows holding (ih, iw) of
    /// g / divisor, in the CPU kernel's (oh, ow) order. One thread per input element.
    static member AvgPoolBack<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, g: ArrayView<'T>, gx: ArrayView<'T>, p: ArrayView<int>) =
        let mutable e = Unchecked.defaultof<'W>
        let h, w, ho, wo = p.[0], p.[1], p.[2], p.[3]
        let kh, kw, sh, sw, ph, pw = p.[4], p.[5], p.[6], p.[7], p.[8], p.[9]
        let iw = i.X % w
        let ih = (i.X / w) % h
        let plane = i.X / (w * h)
        let mutable acc = 0.0
        for oh in ConvKernels.FirstWindow(ih, kh, sh, ph) .. Math.Min(ho - 1, (ih + ph) / sh) do
            let ch = ConvKernels.AvgCount(oh, kh, sh, ph, h, p.[12])
            for ow in ConvKernels.FirstWindow(iw, kw, sw, pw) .. Math.Min(wo - 1, (iw + pw) / sw) do
                let count = ch * ConvKernels.AvgCount(ow, kw, sw, pw, w, p.[12])
                acc <- acc + e.Widen g.[(plane * ho + oh) * wo + ow] / float count
        gx.[i.X] <- e.Narrow acc

    /// ∂L/∂x of max pooling: gx[plane, ix[j]] += g[j] (atomic: windows overlap; one kernel per type, as ILGPU's
    /// Atomic.Add is one overload per type). One thread per output.
    static member MaxPoolBack32(i: Index1D, g: ArrayView<float32>, ix: ArrayView<int64>, gx: ArrayView<float32>, ohw: int, hw: int) =
        Atomic.Add(&gx.[(i.X / ohw) * hw + int ix.[i.X]], g.[i.X]) |> ignore

    static member MaxPoolBack64(i: Index1D, g: ArrayView<float>, ix: ArrayView<int64>, gx: ArrayView<float>, ohw: int, hw: int) =
        Atomic.Add(&gx.[(i.X / ohw) * hw + int ix.[i.X]], g.[i.X]) |> ignore
