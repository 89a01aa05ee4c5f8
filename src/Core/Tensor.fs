namespace Hybrid.Core

open System
open Hybrid.Core.Backends

/// Whether ops record onto the tape, per thread. `Tensor.noGrad()` scopes turn it off.
type GradMode private () =
    [<ThreadStatic; DefaultValue>]
    static val mutable private disabled: bool
    /// True unless inside a noGrad scope.
    static member Enabled = not GradMode.disabled
    /// Turn recording off until the returned scope is disposed (nests).
    static member NoGrad() : IDisposable =
        let prev = GradMode.disabled
        GradMode.disabled <- true
        { new IDisposable with member _.Dispose() = GradMode.disabled <- prev }
    /// Turn recording on until disposed (used by create-graph backward inside noGrad code).
    static member EnableGrad() : IDisposable =
        let prev = GradMode.disabled
        GradMode.disabled <- false
        { new IDisposable with member _.Dispose() = GradMode.disabled <- prev }

/// A tensor: a raw value on a device, plus its place on the tape. Ops never mutate a tensor's value;
/// only `Grad` (accumulated by backward) and `RequiresGrad` of a leaf change.
[<AllowNullLiteral>]
type Tensor internal (raw: RawTensor, node: Node, requiresGrad: bool) =
    let mutable requiresGrad = requiresGrad
    let mutable grad: Tensor = null

    /// Wrap a raw value as a leaf.
    new(raw: RawTensor) = Tensor(raw, null, false)

    /// The value on its backend.
    member _.Raw = raw
    /// The op that produced this tensor (null for a leaf).
    member _.Node = node
    /// A leaf was created by the user (not by a recorded op).
    member _.IsLeaf = isNull node
    member _.Shape = raw.Shape
    member _.DType = raw.DType
    member _.Device = raw.Device
    member _.Numel = raw.Numel
    member _.Rank = raw.Rank
    /// Whether gradients flow to this tensor. Settable on leaves only.
    member _.RequiresGrad
        with get () = requiresGrad
        and set v =
            if not (isNull node) && not v then
                invalidOp (sprintf "requiresGrad: cannot turn off gradients of a non-leaf tensor produced by '%s' (use detach)" node.Op)
            requiresGrad <- v
    /// Accumulated gradient (null until a backward reaches this leaf).
    member _.Grad with get () = grad and set (v: Tensor) = grad <- v

    /// A float64 copy of the values.
    member _.ToArray() = raw.ToFloat64Array()
    /// A float32 copy of the values.
    member _.ToFloat32Array() = raw.ToFloat32Array()
    /// A float64 copy of the values.
    member _.ToFloat64Array() = raw.ToFloat64Array()
    /// An int64 copy of the values (truncated for floats).
    member _.ToInt64Array() = raw.ToInt64Array()
    /// The single value of a one-element tensor.
    member t.Item =
        if raw.Numel <> 1 then invalidOp (sprintf "item: tensor of shape %s has %d elements (expected 1)" (Shape.show raw.Shape) raw.Numel)
        raw.ToFloat64Array().[0]

    override t.ToString() =
        let vals = raw.ToFloat64Array()
        let shown = if vals.Length <= 8 then String.Join(", ", vals) else String.Join(", ", vals.[.. 5]) + ", ..."
        sprintf "tensor([%s], shape=%s, dtype=%O%s)" shown (Shape.show raw.Shape) raw.DType (if requiresGrad then ", requiresGrad" else "")

    // ---- recording

    /// The result of an op: on the tape when recording is on and an input requires grad.
    /// `backward` maps the output's gradient to one gradient per input (null where an input needs none).
    static member internal Record(op: string, value: RawTensor, inputs: Tensor[], backward: Tensor -> Tensor[]) =
        if GradMode.Enabled && Array.exists (fun (t: Tensor) -> t.RequiresGrad) inputs then
            Tensor(value, Node(op, inputs, backward), true)
        else Tensor(value, null, false)

    /// Check two operands share a dtype and a device.
    static member internal Agree(op: string, a: Tensor, b: Tensor) =
        if a.DType <> b.DType then
            invalidArg "b" (sprintf "%s: dtypes %O and %O differ (shapes %s and %s); cast one first" op a.DType b.DType (Shape.show a.Shape) (Shape.show b.Shape))
        if a.Device <> b.Device then
            invalidArg "b" (sprintf "%s: tensors are on different devices (%O and %O)" op a.Device b.Device)
        if not a.DType.IsFloat then
            invalidArg "a" (sprintf "%s: not defined for %O tensors (expected float32 or float64)" op a.DType)

    /// Sum a broadcast gradient back down to `shape` (the reverse of broadcasting).
    static member SumTo(g: Tensor, shape: int[]) : Tensor =
        if g.Shape = shape then g
        else
            let lead = g.Rank - shape.Length
            let dims =
                [| for i in 0 .. g.Rank - 1 do
                     if i < lead || shape.[i - lead] = 1 && g.Shape.[i] <> 1 then yield i |]
            let summed = g.Raw.SumDims(dims, true)
            let value = summed.Reshape shape
            let gShape = g.Shape
            Tensor.Record("sum_to", value, [| g |], fun gg -> [| Tensor.Expand(gg, gShape) |])

    /// Broadcast to `shape` (materialised on the CPU backend).
    static member Expand(x: Tensor, shape: int[]) : Tensor =
        if x.Shape = shape then x
        else
            let target = Shape.broadcast "expand" x.Shape shape
            if target <> shape then invalidArg "shape" (sprintf "expand: cannot expand shape %s to %s" (Shape.show x.Shape) (Shape.show shape))
            let xShape = x.Shape
            Tensor.Record("expand", x.Raw.Expand shape, [| x |], fun g -> [| Tensor.SumTo(g, xShape) |])

    /// A pointwise op whose derivative is `dydx x y` (y is the recorded output; the derivative is a tensor
    /// expression, so it differentiates again).
    static member internal Pointwise(op: UnaryOp, name: string, x: Tensor, dydx: Tensor -> Tensor -> Tensor) =
        if not x.DType.IsFloat then invalidArg "x" (sprintf "%s: not defined for %O tensors (expected float32 or float64)" name x.DType)
        let y = ref null
        y.Value <- Tensor.Record(name, x.Raw.Unary op, [| x |], fun g -> [| g * dydx x y.Value |])
        y.Value

    static member internal Scalar(like: Tensor, v: float) = Tensor(like.Raw.Backend.Full([||], v, like.DType))

    // ---- arithmetic with broadcasting
    static member (+)(a: Tensor, b: Tensor) : Tensor =
        Tensor.Agree("add", a, b)
        Tensor.Record("add", a.Raw.Binary(Add, b.Raw), [| a; b |], fun g ->
            [| (if a.RequiresGrad then Tensor.SumTo(g, a.Shape) else null)
               (if b.RequiresGrad then Tensor.SumTo(g, b.Shape) else null) |])
    static member (-)(a: Tensor, b: Tensor) : Tensor =
        Tensor.Agree("sub", a, b)
        Tensor.Record("sub", a.Raw.Binary(Sub, b.Raw), [| a; b |], fun g ->
            [| (if a.RequiresGrad then Tensor.SumTo(g, a.Shape) else null)
               (if b.RequiresGrad then Tensor.SumTo(-g, b.Shape) else null) |])
    static member (*)(a: Tensor, b: Tensor) : Tensor =
        Tensor.Agree("mul", a, b)
        Tensor.Record("mul", a.Raw.Binary(Mul, b.Raw), [| a; b |], fun g ->
            [| (if a.RequiresGrad then Tensor.SumTo(g * b, a.Shape) else null)
               (if b.RequiresGrad then Tensor.SumTo(g * a, b.Shape) else null) |])
    static member (/)(a: Tensor, b: Tensor) : Tensor =
        Tensor.Agree("div", a, b)
        Tensor.Record("div", a.Raw.Binary(Div, b.Raw), [| a; b |], fun g ->
            [| (if a.RequiresGrad then Tensor.SumTo(g / b, a.Shape) else null)
               (if b.RequiresGrad then Tensor.SumTo(-(g * a) / (b * b), b.Shape) else null) |])
    static member (~-)(a: Tensor) : Tensor =
        Tensor.Record("neg", a.Raw.Unary Neg, [| a |], fun g -> [| -g |])
    static member (+)(a: Tensor, c: float) : Tensor =
        Tensor.Record("add_scalar", a.Raw.Unary(AddScalar c), [| a |], fun g -> [| g |])
    static member (+)(c: float, a: Tensor) : Tensor = a + c
    static member (-)(a: Tensor, c: float) : Tensor = a + (-c)
    static member (-)(c: float, a: Tensor) : Tensor = (-a) + c
    static member (*)(a: Tensor, c: float) : Tensor =
        Tensor.Record("mul_scalar", a.Raw.Unary(MulScalar c), [| a |], fun g -> [| g * c |])
    static member (*)(c: float, a: Tensor) : Tensor = a * c
    static member (/)(a: Tensor, c: float) : Tensor = a * (1.0 / c)
    static member (/)(c: float, a: Tensor) : Tensor =
        let r = a.Raw.Unary Reciprocal
        Tensor.Record("rdiv_scalar", r.Unary(MulScalar c), [| a |], fun g -> [| -(g * c) / (a * a) |])

/// One recorded op: its inputs and the rule that maps the output's gradient to theirs.
and [<AllowNullLiteral>] Node(op: string, inputs: Tensor[], backward: Tensor -> Tensor[]) =
    let mutable backward = backward
    /// The op's name, for error messages.
    member _.Op = op
    /// The op's inputs.
    member _.Inputs = inputs
    /// The backward rule; null once the graph has been freed.
    member _.Backward = backward
    /// Free the closure (and what it captures) after a backward without retainGraph.
    member _.Free() = backward <- Unchecked.defaultof<_>
    /// True once freed.
    member _.IsFreed = obj.ReferenceEquals(backward, null)
