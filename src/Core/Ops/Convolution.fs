namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// Differentiable 2-D convolution and pooling over NCHW tensors (torch.nn.functional's conventions).
/// Every backward rule is itself made of these ops, so gradients differentiate again:
/// with ⟨conv(x, w), g⟩ = ⟨x, convᵀₓ(g, w)⟩ = ⟨w, convᵀ_w(g, x)⟩, each of the three bilinear maps
/// is the adjoint of the others in one argument.
module Convolution =

    let private pair (a, b) = sprintf "(%d, %d)" a b

    let private floatOnly (op: string) (name: string) (t: Tensor) =
        if not t.DType.IsFloat then
            invalidArg name (sprintf "%s: %s of shape %s is %O (expected float32 or float64)" op name (Shape.show t.Shape) t.DType)

    let private positive (op: string) (name: string) (a: int, b: int) =
        if a <= 0 || b <= 0 then
            raise (ArgumentOutOfRangeException(name, sprintf "%s: %s %s must be positive" op name (pair (a, b))))

    let private nonNegative (op: string) (name: string) (a: int, b: int) =
        if a < 0 || b < 0 then
            raise (ArgumentOutOfRangeException(name, sprintf "%s: %s %s must be non-negative" op name (pair (a, b))))

    /// Check a conv2d call: input [N, C, H, W], weight [O, C/groups, kH, kW], bias [O] or null,
    /// geometry, and a non-empty output. Throws before any work with a message naming the shapes.
    let private checkConv (op: string) (xShape: int[]) (x: Tensor) (w: Tensor) (bias: Tensor) (spec: Conv2dSpec) =
        if xShape.Length <> 4 then
            invalidArg "input" (sprintf "%s: input of shape %s must have rank 4 [N, C, H, W]" op (Shape.show xShape))
        if w.Rank <> 4 then
            invalidArg "weight" (sprintf "%s: weight of shape %s must have rank 4 [O, C/groups, kH, kW]" op (Shape.show w.Shape))
        if not (isNull x) then
            floatOnly op "input" x
            Tensor.Agree(op, x, w)
        floatOnly op "weight" w
        positive op "stride" spec.Stride
        positive op "dilation" spec.Dilation
        nonNegative op "padding" spec.Padding
        let g = spec.Groups
        if g <= 0 then raise (ArgumentOutOfRangeException("groups", sprintf "%s: groups %d must be positive" op g))
        let c, o = xShape.[1], w.Shape.[0]
        if c % g <> 0 then
            invalidArg "groups" (sprintf "%s: groups %d does not divide the input's %d channels (input shape %s)" op g c (Shape.show xShape))
        if o % g <> 0 then
            invalidArg "groups" (sprintf "%s: groups %d does not divide the weight's %d output channels (weight shape %s)" op g o (Shape.show w.Shape))
        if w.Shape.[1] * g <> c then
            invalidArg "weight"
                (sprintf "%s: input of shape %s has %d channels but weight of shape %s expects %d (= %d per group x %d groups)"
                    op (Shape.show xShape) c (Shape.show w.Shape) (w.Shape.[1] * g) w.Shape.[1] g)
        if Array.exists (fun d -> d <= 0) w.Shape then
            invalidArg "weight" (sprintf "%s: weight of shape %s has an empty dimension" op (Shape.show w.Shape))
        if not (isNull bias) then
            Tensor.Agree(op, w, bias)
            if bias.Shape <> [| o |] then
                invalidArg "bias" (sprintf "%s: bias of shape %s does not match the weight's %d output channels (expected [%d])" op (Shape.show bias.Shape) o o)
        let (sh, sw), (ph, pw), (dh, dw) = spec.Stride, spec.Padding, spec.Dilation
        let ho = Geometry.convOutSize xShape.[2] w.Shape.[2] sh ph dh
        let wo = Geometry.convOutSize xShape.[3] w.Shape.[3] sw pw dw
        if ho <= 0 || wo <= 0 then
            invalidArg "input"
                (sprintf "%s: output size [%d,%d] is not positive: input of shape %s (padded by %s) is smaller than the dilated kernel of weight %s (dilation %s)"
                    op ho wo (Shape.show xShape) (pair spec.Padding) (Shape.show w.Shape) (pair spec.Dilation))

    /// Shape of conv2d's output for an input of shape xShape.
    let private convOutShape (xShape: int[]) (wShape: int[]) (spec: Conv2dSpec) =
        let (sh, sw), (ph, pw), (dh, dw) = spec.Stride, spec.Padding, spec.Dilation
        [| xShape.[0]; wShape.[0]; Geometry.convOutSize xShape.[2] wShape.[2] sh ph dh; Geometry.convOutSize xShape.[3] wShape.[3] sw pw dw |]

    // The three mutually recursive bilinear maps. Their backward rules (from the adjoint identities above):
    //   y  = conv(x, w):        ∂x = convᵀₓ(g, w),   ∂w = convᵀ_w(g, x)
    //   gx = convᵀₓ(g, w):      ∂g = conv(ĝ, w),     ∂w = convᵀ_w(g, ĝ)
    //   gw = convᵀ_w(g, x):     ∂g = conv(x, ĝ),     ∂x = convᵀₓ(g, ĝ)
    let rec private convRaw (spec: Conv2dSpec) (x: Tensor) (w: Tensor) : Tensor =
        Tensor.Record("conv2d", x.Raw.Conv2d(w.Raw, spec), [| x; w |], fun g ->
            [| (if x.RequiresGrad then backInput spec x.Shape g w else null)
               (if w.RequiresGrad then backWeight spec w.Shape g x else null) |])

    and private backInput (spec: Conv2dSpec) (inputShape: int[]) (g: Tensor) (w: Tensor) : Tensor =
        Tensor.Record("conv2d_backward_input", g.Raw.Conv2dBackwardInput(w.Raw, inputShape, spec), [| g; w |], fun gg ->
            [| (if g.RequiresGrad then convRaw spec gg w else null)
               (if w.RequiresGrad then backWeight spec w.Shape g gg else null) |])

    and private backWeight (spec: Conv2dSpec) (weightShape: int[]) (g: Tensor) (x: Tensor) : Tensor =
        Tensor.Record("conv2d_backward_weight", g.Raw.Conv2dBackwardWeight(x.Raw, weightShape, spec), [| g; x |], fun gg ->
            [| (if g.RequiresGrad then convRaw spec x gg else null)
               (if x.RequiresGrad then backInput spec x.Shape g gg else null) |])

    let private spec (stride: int * int) (padding: int * int) (dilation: int * int) (groups: int) : Conv2dSpec =
        { Stride = stride; Padding = padding; Dilation = dilation; Groups = groups }

    /// The gradients of conv(x, w) + b for the output gradient g: ∂x, ∂w, and ∂b when there is a bias (null where an
    /// input asks for none).
    // ∂x, ∂w as conv's; ∂b[o] = Σ_{n,h,w} g[n,o,h,w] (a sum whose backward is the broadcast again)
    let private convGrads (sp: Conv2dSpec) (x: Tensor) (w: Tensor) (bias: Tensor) (g: Tensor) : Tensor[] =
        let gx = if x.RequiresGrad then backInput sp x.Shape g w else null
        let gw = if w.RequiresGrad then backWeight sp w.Shape g x else null
        if isNull bias then [| gx; gw |]
        else
            let o = bias.Shape.[0]
            [| gx; gw; (if bias.RequiresGrad then Reshaping.reshape [| o |] (Tensor.SumTo(g, [| 1; o; 1; 1 |])) else null) |]

    /// conv(x, w) + b[o] broadcast over (n, h, w), the bias added while the convolution writes its output.
    let private convBias (sp: Conv2dSpec) (x: Tensor) (w: Tensor) (bias: Tensor) : Tensor =
        Tensor.Record("conv2d", x.Raw.Conv2dBias(w.Raw, bias.Raw, sp), [| x; w; bias |], convGrads sp x w bias)

    /// torch.nn.functional.conv2d: x [N, C, H, W] ⋆ weight [O, C/groups, kH, kW] (+ bias [O], or null)
    /// -> [N, O, H', W'] with H' = ⌊(H + 2p − d(kH − 1) − 1)/s⌋ + 1 (likewise W').
    /// y[n,o,i,j] = b[o] + Σ_{c,u,v} w[o,c,u,v] · x[n, group(o)·C/groups + c, i·s − p + u·d, j·s − p + v·d].
    let conv2d (x: Tensor) (weight: Tensor) (bias: Tensor) (stride: int * int) (padding: int * int) (dilation: int * int) (groups: int) : Tensor =
        let sp = spec stride padding dilation groups
        checkConv "conv2d" x.Shape x weight bias sp
        if isNull bias then convRaw sp x weight else convBias sp x weight bias

    /// conv2d with the same stride, padding and dilation along both axes.
    let conv2dSquare (x: Tensor) (weight: Tensor) (bias: Tensor) (stride: int) (padding: int) (dilation: int) (groups: int) : Tensor =
        conv2d x weight bias (stride, stride) (padding, padding) (dilation, dilation) groups

    /// The gradient of conv2d with respect to its input (torch.nn.grad.conv2d_input), differentiable in
    /// grad [N, O, H', W'] and weight: Σ over every output that reads x[n,c,h,w] of g · w.
    let conv2dBackwardInput (inputShape: int[]) (grad: Tensor) (weight: Tensor) (stride: int * int) (padding: int * int) (dilation: int * int) (groups: int) : Tensor =
        let sp = spec stride padding dilation groups
        let op = "conv2d_backward_input"
        checkConv op inputShape null weight null sp
        floatOnly op "grad" grad
        Tensor.Agree(op, grad, weight)
        let expected = convOutShape inputShape weight.Shape sp
        if grad.Shape <> expected then
            invalidArg "grad" (sprintf "%s: grad of shape %s does not match conv2d's output %s for input %s and weight %s" op (Shape.show grad.Shape) (Shape.show expected) (Shape.show inputShape) (Shape.show weight.Shape))
        backInput sp inputShape grad weight

    /// The gradient of conv2d with respect to its weight (torch.nn.grad.conv2d_weight), differentiable in
    /// grad [N, O, H', W'] and input: Σ_{n,i,j} g[n,o,i,j] · x[n, c, i·s − p + u·d, j·s − p + v·d].
    let conv2dBackwardWeight (weightShape: int[]) (grad: Tensor) (x: Tensor) (stride: int * int) (padding: int * int) (dilation: int * int) (groups: int) : Tensor =
        let sp = spec stride padding dilation groups
        let op = "conv2d_backward_weight"
        if weightShape.Length <> 4 then
            invalidArg "weightShape" (sprintf "%s: weight shape %s must have rank 4 [O, C/groups, kH, kW]" op (Shape.show weightShape))
        if Array.exists (fun d -> d <= 0) weightShape then
            invalidArg "weightShape" (sprintf "%s: weight shape %s has a non-positive dimension" op (Shape.show weightShape))
        floatOnly op "grad" grad
        floatOnly op "input" x
        Tensor.Agree(op, grad, x)
        // validate the geometry against a stand-in weight of the right shape (no data is read)
        let w = Tensor(x.Raw.Backend.Zeros(weightShape, x.DType))
        checkConv op x.Shape x w null sp
        let expected = convOutShape x.Shape weightShape sp
        if grad.Shape <> expected then
            invalidArg "grad" (sprintf "%s: grad of shape %s does not match conv2d's output %s for input %s and weight %s" op (Shape.show grad.Shape) (Shape.show expected) (Shape.show x.Shape) (Shape.show weightShape))
        backWeight sp weightShape grad x

    // ---- pooling

    /// Check a pooling call; returns the output shape. torch's rules: rank 4 input, positive kernel,
    /// stride and dilation, padding at most half the kernel, positive output.
    let private checkPool (op: string) (x: Tensor) (sp: Pool2dSpec) =
        if x.Rank <> 4 then
            invalidArg "input" (sprintf "%s: input of shape %s must have rank 4 [N, C, H, W]" op (Shape.show x.Shape))
        floatOnly op "input" x
        positive op "kernel" sp.Kernel
        positive op "stride" sp.Stride
        positive op "dilation" sp.Dilation
        nonNegative op "padding" sp.Padding
        let (kh, kw), (ph, pw) = sp.Kernel, sp.Padding
        if ph > kh / 2 || pw > kw / 2 then
            raise (ArgumentOutOfRangeException("padding", sprintf "%s: padding %s must be at most half the kernel %s" op (pair sp.Padding) (pair sp.Kernel)))
        let (sh, sw), (dh, dw) = sp.Stride, sp.Dilation
        let ho = Geometry.poolOutSize x.Shape.[2] kh sh ph dh sp.CeilMode
        let wo = Geometry.poolOutSize x.Shape.[3] kw sw pw dw sp.CeilMode
        if ho <= 0 || wo <= 0 then
            invalidArg "input"
                (sprintf "%s: output size [%d,%d] is not positive: input of shape %s (padded by %s) is smaller than the kernel %s (dilation %s)"
                    op ho wo (Shape.show x.Shape) (pair sp.Padding) (pair sp.Kernel) (pair sp.Dilation))

    /// Gather per plane: out[n,c,j] = src[n,c,idx[n,c,j]] — the adjoint of max-pool's backward scatter.
    let rec private gatherPlanes (idx: RawTensor) (inputShape: int[]) (src: Tensor) : Tensor =
        let n, c = src.Shape.[0], src.Shape.[1]
        let outShape = idx.Shape
        let flatIdx = idx.Reshape [| n; c; outShape.[2] * outShape.[3] |]
        let value = src.Raw.Reshape([| n; c; src.Shape.[2] * src.Shape.[3] |]).Gather(2, flatIdx).Reshape outShape
        Tensor.Record("max_pool2d_gather", value, [| src |], fun g -> [| scatterPlanes idx inputShape g |])

    /// Route each g to the input position its index names (summed where shared): max-pool's backward.
    and private scatterPlanes (idx: RawTensor) (inputShape: int[]) (g: Tensor) : Tensor =
        Tensor.Record("max_pool2d_backward", g.Raw.MaxPool2dBackward(idx, inputShape), [| g |], fun gg ->
            [| gatherPlanes idx inputShape gg |])

    /// torch.nn.functional.max_pool2d: the max over each kernel window of x [N, C, H, W]
    /// (padding counts as −∞, dilation spaces the window, ceilMode rounds the output size up).
    /// ∂y/∂x routes g to the (first) maximum of each window.
    let maxPool2d (kernel: int * int) (stride: int * int) (padding: int * int) (dilation: int * int) (ceilMode: bool) (x: Tensor) : Tensor =
        let sp = { Kernel = kernel; Stride = stride; Padding = padding; Dilation = dilation; CeilMode = ceilMode; CountIncludePad = true }
        checkPool "max_pool2d" x sp
        let y, idx = x.Raw.MaxPool2d sp
        let xShape = x.Shape
        Tensor.Record("max_pool2d", y, [| x |], fun g -> [| scatterPlanes idx xShape g |])

    /// max_pool2d with a square kernel, stride and padding; no dilation, floor mode.
    let maxPool2dSquare (kernel: int) (stride: int) (padding: int) (x: Tensor) : Tensor =
        maxPool2d (kernel, kernel) (stride, stride) (padding, padding) (1, 1) false x

    // avg-pool is linear, y = A x; its backward is Aᵀ g, and the backward of that is A ĝ again.
    let rec private avgRaw (sp: Pool2dSpec) (x: Tensor) : Tensor =
        let xShape = x.Shape
        Tensor.Record("avg_pool2d", x.Raw.AvgPool2d sp, [| x |], fun g -> [| avgBack sp xShape g |])

    and private avgBack (sp: Pool2dSpec) (inputShape: int[]) (g: Tensor) : Tensor =
        Tensor.Record("avg_pool2d_backward", g.Raw.AvgPool2dBackward(inputShape, sp), [| g |], fun gg -> [| avgRaw sp gg |])

    /// torch.nn.functional.avg_pool2d: the mean over each kernel window of x [N, C, H, W], zero padding;
    /// the divisor is the window's size within the padded input (countIncludePad) or its count of real inputs.
    let avgPool2d (kernel: int * int) (stride: int * int) (padding: int * int) (ceilMode: bool) (countIncludePad: bool) (x: Tensor) : Tensor =
        let sp = { Kernel = kernel; Stride = stride; Padding = padding; Dilation = (1, 1); CeilMode = ceilMode; CountIncludePad = countIncludePad }
        checkPool "avg_pool2d" x sp
        avgRaw sp x

    /// avg_pool2d with a square kernel, stride and padding; floor mode, padding counted.
    let avgPool2dSquare (kernel: int) (stride: int) (padding: int) (x: Tensor) : Tensor =
        avgPool2d (kernel, kernel) (stride, stride) (padding, padding) false true x

    // ---- conv2d → relu → max-pool 2 as one op

    /// max_pool2d(relu(conv2d(x, weight, bias)), 2): the block of a small CNN as one op. Equal to the three ops composed,
    /// in value and in every derivative; the CPU backend pools each 2×2 window as the gemm's output is read and skips the
    /// conv and relu outputs (and their gradients) altogether.
    // y = max_{2×2} relu(z), z = conv(x, w) + b;  ∂z = scatter(g·[y > 0]) to each window's first maximum (relu is monotone,
    // so pooling before it picks the same input), then ∂x, ∂w, ∂b as conv2d's
    let conv2dReluMaxPool2d (x: Tensor) (weight: Tensor) (bias: Tensor) (stride: int * int) (padding: int * int) (dilation: int * int) (groups: int) : Tensor =
        let sp = spec stride padding dilation groups
        let op = "conv2d_relu_max_pool2d"
        checkConv op x.Shape x weight bias sp
        let zShape = convOutShape x.Shape weight.Shape sp
        if zShape.[2] < 2 || zShape.[3] < 2 then
            invalidArg "input" (sprintf "%s: conv output %s is smaller than the 2×2 pooling window (input %s, weight %s)" op (Shape.show zShape) (Shape.show x.Shape) (Shape.show weight.Shape))
        let y, idx = x.Raw.Conv2dReluMaxPool(weight.Raw, (if isNull bias then Unchecked.defaultof<_> else bias.Raw), sp, zShape)
        let hasBias = not (isNull bias)
        let inputs = if hasBias then [| x; weight; bias |] else [| x; weight |]
        Tensor.Record(op, y, inputs, fun g ->
            if not GradMode.Enabled then
                let gx, gw, gb =
                    g.Raw.Conv2dReluMaxPoolBackward(y, idx, x.Raw, weight.Raw, sp, zShape, hasBias && bias.RequiresGrad, x.RequiresGrad, weight.RequiresGrad)
                let wrap (r: Backends.RawTensor) = if isNull (box r) then null else Tensor r
                if hasBias then [| wrap gx; wrap gw; wrap gb |] else [| wrap gx; wrap gw |]
            else
                // recorded, so that the gradient differentiates again: the mask [y > 0] is a constant
                convGrads sp x weight bias (scatterPlanes idx zShape (g * Tensor(y.Unary Positive))))

    /// conv2dReluMaxPool2d with the same stride, padding and dilation along both axes.
    let conv2dReluMaxPool2dSquare (x: Tensor) (weight: Tensor) (bias: Tensor) (stride: int) (padding: int) (dilation: int) (groups: int) : Tensor =
        conv2dReluMaxPool2d x weight bias (stride, stride) (padding, padding) (dilation, dilation) groups
