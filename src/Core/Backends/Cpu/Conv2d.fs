namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open Hybrid.Core
open Hybrid.Core.Backends

/// conv2d and its two gradients as gemms over the batch column matrix (im2col + gemm).
/// Shapes and arguments arrive validated (Ops/Convolution.fs checks them); these are the loops.
module Conv2d =

    open ConvShapes
    open Im2col

    /// y[n, o] = b[o] + Σ_{c,kh,kw} w[o, c, kh, kw] · x[n, g·Cg + c, oh·s − p + kh·d, ...] (b = null: no bias):
    /// per group, one gemm over the whole batch, Y_g [Og, N·L] = W_g [Og, K] · col [K, N·L], then scattered to
    /// NCHW with the bias added in the same pass.
    let conv2dBias<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (bias: 'T[]) (spec: Conv2dSpec) : 'T[] * int[] =
        let g = geo xShape wShape spec
        let nl = g.N * g.L
        // every element is written by the gemm or the row copies below
        let y = OutputArrays.rent<'T> (g.N * g.O * g.L)
        let hasBias = not (isNull bias)
        for gi in 0 .. g.G - 1 do
            let struct (col, colOff, cols) = columns false x g gi
            if g.N = 1 then
                gemmT false false g.Og nl g.K w (gi * g.Og * g.K) col colOff y (gi * g.Og * g.L)
                if hasBias then
                    for o in gi * g.Og .. (gi + 1) * g.Og - 1 do
                        let r = Span<'T>(y, o * g.L, g.L)
                        TensorPrimitives.Add(Elementwise.ro r, bias.[o], r)
            else
                let z = Scratch<'T>.Take(GemmSlot, g.Og * nl)
                gemmT false false g.Og nl g.K w (gi * g.Og * g.K) col colOff z 0
                Par.chunks g.N (minSamples (g.Og * g.L)) (fun s e ->
                    for n in s .. e - 1 do
                        for o in 0 .. g.Og - 1 do
                            let src = ReadOnlySpan<'T>(z, o * nl + n * g.L, g.L)
                            let dst = Span<'T>(y, (n * g.O + gi * g.Og + o) * g.L, g.L)
                            if hasBias then TensorPrimitives.Add(src, bias.[gi * g.Og + o], dst) else src.CopyTo dst)
                Scratch<'T>.Give(GemmSlot, z)
            release cols
        y, [| g.N; g.O; g.Ho; g.Wo |]

    /// conv2dBias without a bias.
    let conv2d<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (xShape: int[]) (w: 'T[]) (wShape: int[]) (spec: Conv2dSpec) : 'T[] * int[] =
        conv2dBias x xShape w wShape null spec

    /// Adds group gi's ∂L/∂x into gx from its gradient rows gg [Og, N·L] (at ggOff): col [K, N·L] = W_gᵀ [K, Og] · gg
    /// (one gemm), then col2im sample by sample (parallel over the batch); a 1×1 kernel reading x as is writes gx directly.
    let internal inputGradFromRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gg: 'T[]) (ggOff: int) (geo: Geo) (gi: int) (w: 'T[]) (gx: 'T[]) =
        let nl = geo.N * geo.L
        if columnsAreInput geo then
            gemmT true false geo.K nl geo.Og w (gi * geo.Og * geo.K) gg ggOff gx (gi * geo.Cg * geo.H * geo.W)
        else
            let col = Scratch<'T>.Take(ColSlot, geo.K * nl)
            gemmT true false geo.K nl geo.Og w (gi * geo.Og * geo.K) gg ggOff col 0
            Par.chunks geo.N (minSamples (geo.K * geo.L)) (fun s e ->
                for n in s .. e - 1 do
                    col2im col (n * geo.L) nl geo gx ((n * geo.C + gi * geo.Cg) * geo.H * geo.W))
            Scratch<'T>.Give(ColSlot, col)

    /// Writes group gi's ∂L/∂w into gw from its gradient rows gg [Og, N·L] (at ggOff): ∂W_g [Og, K] = gg · colᵀ [N·L, K],
    /// one gemm over the whole batch, with the columns conv2d's forward kept where it built them from the same x.
    let internal weightGradFromRows<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (gg: 'T[]) (ggOff: int) (geo: Geo) (gi: int) (x: 'T[]) (gw: 'T[]) =
        let struct (col, colOff, cols) = columns true x geo gi
        gemmT false true geo.Og geo.K (geo.N * geo.L) gg ggOff col colOff gw (gi * geo.Og * geo.K)
        release cols

    /// ∂L/∂x of conv2d: per group, the gradient's rows gathered to [Og, N·L], then `inputGradFromRows`.
    let conv2dBackwardInput<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (w: 'T[]) (wShape: int[]) (inputShape: int[]) (spec: Conv2dSpec) : 'T[] =
        ignore gShape
        let geo = geo inputShape wShape spec
        let gx = OutputArrays.rentZeroed<'T> (Shape.numel inputShape)
        for gi in 0 .. geo.G - 1 do
            let struct (gg, ggOff, ggScratch) = gatherRows g geo gi
            inputGradFromRows gg ggOff geo gi w gx
            if ggScratch then Scratch<'T>.Give(GemmSlot, gg)
        gx

    /// ∂L/∂w of conv2d: per group, the gradient's rows gathered to [Og, N·L], then `weightGradFromRows`.
    let conv2dBackwardWeight<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: 'T[]) (gShape: int[]) (x: 'T[]) (xShape: int[]) (weightShape: int[]) (spec: Conv2dSpec) : 'T[] =
        ignore gShape
        let geo = geo xShape weightShape spec
        let gw = OutputArrays.rentZeroed<'T> (Shape.numel weightShape)
        for gi in 0 .. geo.G - 1 do
            let struct (gg, ggOff, ggScratch) = gatherRows g geo gi
            weightGradFromRows gg ggOff geo gi x gw
            if ggScratch then Scratch<'T>.Give(GemmSlot, gg)
        gw
