namespace Hybrid.Core.Backends

open Hybrid.Core

/// The backend seam: a dense row-major tensor value on one device, with the primitive ops every
/// backend implements. Nothing here knows about gradients; the tape works one level up, on `Tensor`.
/// Raw tensors are immutable: every op returns a new one (Reshape may share storage, never mutates).
[<AbstractClass>]
type RawTensor(shape: int[], dtype: DType, device: Device) =
    /// Dimensions, row-major.
    member _.Shape = shape
    /// Element type.
    member _.DType = dtype
    /// Where the storage lives.
    member _.Device = device
    /// Number of elements.
    member _.Numel = Shape.numel shape
    /// Rank (number of dimensions).
    member _.Rank = shape.Length

    /// The factory of this tensor's backend (creates tensors on the same device).
    abstract Backend: Backend

    // ---- host transfer and types
    abstract ToFloat32Array: unit -> float32[]
    abstract ToFloat64Array: unit -> float[]
    abstract ToInt64Array: unit -> int64[]
    abstract Cast: DType -> RawTensor

    // ---- layout (Layout.fs on the CPU)
    abstract Reshape: int[] -> RawTensor
    abstract Permute: dims: int[] -> RawTensor
    abstract Expand: int[] -> RawTensor
    /// Elements start..stop-1 by step along each dim (all three arrays of length Rank, already validated).
    abstract Slice: starts: int[] * stops: int[] * steps: int[] -> RawTensor
    /// The inverse of Slice for gradients: zeros of `fullShape` with this tensor written at the slice.
    abstract SliceScatter: fullShape: int[] * starts: int[] * stops: int[] * steps: int[] -> RawTensor
    /// Concatenate this tensor and `others` along `dim`.
    abstract Concat: others: RawTensor[] * dim: int -> RawTensor
    /// out[..., i, ...] = x[..., index[i], ...] along `dim` (index is int64, rank 1).
    abstract IndexSelect: dim: int * index: RawTensor -> RawTensor
    /// Zeros of `fullShape` with this tensor added at rows `index` along `dim` (backward of IndexSelect).
    abstract IndexAdd: fullShape: int[] * dim: int * index: RawTensor -> RawTensor
    /// torch.gather: out[i][j] = x[index[i][j]][j] along dim 0 (and likewise for other dims).
    abstract Gather: dim: int * index: RawTensor -> RawTensor
    /// A copy of this tensor with src added at the positions index names along dim (torch.scatter_add).
    abstract ScatterAdd: dim: int * index: RawTensor * src: RawTensor -> RawTensor

    // ---- pointwise (Elementwise.fs on the CPU)
    abstract Unary: UnaryOp -> RawTensor
    abstract Binary: BinaryOp * RawTensor -> RawTensor
    /// this is the condition (nonzero = true): out = cond ? a : b, broadcast.
    abstract Where: a: RawTensor * b: RawTensor -> RawTensor

    // ---- reductions (Reduce.fs on the CPU)
    abstract SumDims: dims: int[] * keepDim: bool -> RawTensor
    /// Max (isMax) or min over one dim: values and int64 indices.
    abstract ExtremeDim: isMax: bool * dim: int * keepDim: bool -> RawTensor * RawTensor
    abstract Softmax: dim: int -> RawTensor
    /// Inclusive running sum or product along `dim` (from the end when reverse), same shape.
    abstract Scan: op: ScanOp * dim: int * reverse: bool -> RawTensor
    abstract LogSoftmax: dim: int -> RawTensor

    // ---- linear algebra and convolution (Matmul.fs, Conv2d.fs, Pooling.fs, ConvReluPool.fs on the CPU)
    /// Matrix product with batch dims broadcast: [..., m, k] x [..., k, n] -> [..., m, n].
    abstract Matmul: RawTensor -> RawTensor
    /// op(this) · op(other) with batch dims broadcast, where op transposes the last two dims when its flag
    /// is set (BLAS's transA/transB). The default materialises the transposes; a backend overrides it to
    /// read them in place (the CPU one passes the flags to BLAS).
    abstract MatmulT: other: RawTensor * transA: bool * transB: bool -> RawTensor
    default t.MatmulT(other, transA, transB) =
        let tr (x: RawTensor) =
            let r = x.Rank
            x.Permute(Array.append [| 0 .. r - 3 |] [| r - 1; r - 2 |])
        (if transA then tr t else t).Matmul(if transB then tr other else other)
    /// A linear layer's x·Wᵀ + b: this [m, k], weight [n, k], bias [n] broadcast over the rows -> [m, n]. The default
    /// is MatmulT then a broadcast add; a backend overrides it to start the output at the bias and accumulate the
    /// product into it (one BLAS call with beta = 1, no second pass).
    abstract LinearT: weight: RawTensor * bias: RawTensor -> RawTensor
    default x.LinearT(weight, bias) = x.MatmulT(weight, false, true).Binary(Add, bias)
    /// input [N, C, H, W] * weight [O, C/groups, kH, kW] -> [N, O, H', W'].
    abstract Conv2d: weight: RawTensor * spec: Conv2dSpec -> RawTensor
    /// Conv2d plus a per-output-channel bias [O]: y[n,o,i,j] = conv(x, w)[n,o,i,j] + b[o]. The default adds
    /// the broadcast bias after the convolution; a backend overrides it to add it while writing the output.
    abstract Conv2dBias: weight: RawTensor * bias: RawTensor * spec: Conv2dSpec -> RawTensor
    default t.Conv2dBias(weight, bias, spec) =
        t.Conv2d(weight, spec).Binary(Add, bias.Reshape [| 1; bias.Numel; 1; 1 |])
    /// relu's backward, g·[x > 0] (0 at 0 and at NaN); this is g, x has the same shape. The default builds the
    /// mask and multiplies; a backend overrides it with one pass.
    abstract ReluBackward: x: RawTensor -> RawTensor
    default g.ReluBackward x = g.Binary(Mul, x.Unary Positive)
    /// Gradient of Conv2d with respect to its input; this is grad [N, O, H', W'].
    abstract Conv2dBackwardInput: weight: RawTensor * inputShape: int[] * spec: Conv2dSpec -> RawTensor
    /// Gradient of Conv2d with respect to its weight; this is grad [N, O, H', W'].
    abstract Conv2dBackwardWeight: input: RawTensor * weightShape: int[] * spec: Conv2dSpec -> RawTensor
    /// Max pooling: values and the flat (per-plane) int64 index of each chosen element.
    abstract MaxPool2d: Pool2dSpec -> RawTensor * RawTensor
    /// Gradient of MaxPool2d: this is grad, routed to the chosen positions of an input of inputShape.
    abstract MaxPool2dBackward: indices: RawTensor * inputShape: int[] -> RawTensor
    /// max_pool2d(relu(conv2d(this, weight) + bias), 2) (bias may be null) and the pool's int64 indices into the planes of
    /// the conv output, whose shape is convShape. The default runs the three ops; a backend overrides it to pool the
    /// product as it leaves the gemm.
    abstract Conv2dReluMaxPool: weight: RawTensor * bias: RawTensor * spec: Conv2dSpec * convShape: int[] -> RawTensor * RawTensor
    default x.Conv2dReluMaxPool(weight, bias, spec, convShape) =
        ignore convShape
        let z = if isNull (box bias) then x.Conv2d(weight, spec) else x.Conv2dBias(weight, bias, spec)
        z.Unary(Relu).MaxPool2d { Kernel = (2, 2); Stride = (2, 2); Padding = (0, 0); Dilation = (1, 1); CeilMode = false; CountIncludePad = true }
    /// Gradients of Conv2dReluMaxPool; this is grad, y and indices its outputs: (∂input or null unless needInput,
    /// ∂weight or null unless needWeight, ∂bias or null unless hasBias). The default routes g·[y > 0] through the pool's
    /// backward into the conv output's shape, then runs the conv's backward ops and sums the bias gradient.
    abstract Conv2dReluMaxPoolBackward:
        y: RawTensor * indices: RawTensor * input: RawTensor * weight: RawTensor * spec: Conv2dSpec * convShape: int[] *
        hasBias: bool * needInput: bool * needWeight: bool -> RawTensor * RawTensor * RawTensor
    default g.Conv2dReluMaxPoolBackward(y, indices, input, weight, spec, convShape, hasBias, needInput, needWeight) =
        let gz = g.ReluBackward(y).MaxPool2dBackward(indices, convShape)
        (if needInput then gz.Conv2dBackwardInput(weight, input.Shape, spec) else Unchecked.defaultof<_>),
        (if needWeight then gz.Conv2dBackwardWeight(input, weight.Shape, spec) else Unchecked.defaultof<_>),
        (if hasBias then gz.SumDims([| 0; 2; 3 |], false) else Unchecked.defaultof<_>)
    abstract AvgPool2d: Pool2dSpec -> RawTensor
    /// Gradient of AvgPool2d: this is grad, spread over each window of an input of inputShape.
    abstract AvgPool2dBackward: inputShape: int[] * spec: Pool2dSpec -> RawTensor

/// Creates raw tensors on one device.
and [<AbstractClass>] Backend(device: Device) =
    /// The device this backend allocates on.
    member _.Device = device
    abstract Zeros: shape: int[] * dtype: DType -> RawTensor
    abstract Full: shape: int[] * value: float * dtype: DType -> RawTensor
    abstract FromFloat32: data: float32[] * shape: int[] -> RawTensor
    abstract FromFloat64: data: float[] * shape: int[] -> RawTensor
    abstract FromInt64: data: int64[] * shape: int[] -> RawTensor
    /// Move a tensor from any device onto this one.
    abstract Import: RawTensor -> RawTensor
