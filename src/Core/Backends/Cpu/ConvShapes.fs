namespace Hybrid.Core.Backends.Cpu

open Hybrid.Core.Backends

/// The geometry of 2-D convolution and pooling over NCHW arrays as the CPU kernels use it (the output lengths are
/// `Geometry`'s): the range of outputs that read inside the input, and one conv2d call's sizes (`Geo`).
module ConvShapes =

    /// Outputs o in [lo, hi) read an in-bounds input: 0 <= o·s + off < n.
    let inline internal validRange (off: int) (s: int) (n: int) (outLen: int) =
        let lo = if off >= 0 then 0 else min outLen ((-off + s - 1) / s)
        let hi = if n - 1 - off < 0 then 0 else min outLen ((n - 1 - off) / s + 1)
        struct (lo, max lo hi)

    /// The geometry of one conv2d call, with the per-group gemm sizes.
    [<Struct>]
    type internal Geo =
        { N: int; C: int; H: int; W: int; O: int; G: int; Cg: int; Og: int
          KH: int; KW: int; SH: int; SW: int; PH: int; PW: int; DH: int; DW: int
          Ho: int; Wo: int
          /// Rows of a column matrix: Cg·kH·kW.
          K: int
          /// Columns of a column matrix: Ho·Wo.
          L: int }
        /// A 1×1, stride-1, unpadded kernel: the column matrix is the input itself.
        member g.Pointwise = g.KH = 1 && g.KW = 1 && g.SH = 1 && g.SW = 1 && g.PH = 0 && g.PW = 0

    let internal geo (xShape: int[]) (wShape: int[]) (spec: Conv2dSpec) =
        let sh, sw = spec.Stride
        let ph, pw = spec.Padding
        let dh, dw = spec.Dilation
        let kh, kw = wShape.[2], wShape.[3]
        let ho = Geometry.convOutSize xShape.[2] kh sh ph dh
        let wo = Geometry.convOutSize xShape.[3] kw sw pw dw
        { N = xShape.[0]; C = xShape.[1]; H = xShape.[2]; W = xShape.[3]; O = wShape.[0]; G = spec.Groups
          Cg = xShape.[1] / spec.Groups; Og = wShape.[0] / spec.Groups
          KH = kh; KW = kw; SH = sh; SW = sw; PH = ph; PW = pw; DH = dh; DW = dw
          Ho = ho; Wo = wo; K = wShape.[1] * kh * kw; L = ho * wo }
