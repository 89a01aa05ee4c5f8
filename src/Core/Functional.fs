namespace Hybrid.Core

open System

/// Functional autodiff over functions of several tensors, shaped like torch.autograd.functional and
/// torch.func: grad, vjp, jacobian, hessian, hvp. Built on `Tape.gradWith`.
///
/// Inputs: with createGraph = false each input is replaced by a fresh leaf sharing its value (the caller's
/// graph is neither extended nor freed, and the results are constants). With createGraph = true an input that
/// requires grad is passed through an identity op on the tape, so the results stay differentiable with respect to
/// the caller's tensors (torch's `create_graph=True`), and no graph is freed.
///
/// An input the output does not depend on gets a zero derivative (torch's strict = False).
module Functional =

    /// The input as the function will see it (see the module's comment).
    let private prepare (createGraph: bool) (x: Tensor) =
        if isNull x then invalidArg "inputs" "autograd: an input tensor is null"
        if not x.DType.IsFloat then
            invalidArg "inputs" (sprintf "autograd: inputs must be float32 or float64, got an %O tensor of shape %s" x.DType (Shape.show x.Shape))
        if createGraph && x.RequiresGrad then
            Tensor.Record("alias", x.Raw, [| x |], fun g -> [| g |])
        else Tensor(x.Raw, null, true)

    let private prepareAll (createGraph: bool) (xs: Tensor[]) =
        if isNull xs || xs.Length = 0 then invalidArg "inputs" "autograd: expected at least one input tensor, got none"
        Array.map (prepare createGraph) xs

    let private checkOutput (op: string) (y: Tensor) =
        if isNull y then invalidOp (sprintf "%s: the function returned null (expected a tensor)" op)
        if not y.DType.IsFloat then
            invalidOp (sprintf "%s: the function returned an %O tensor of shape %s (expected float32 or float64)" op y.DType (Shape.show y.Shape))

    let private checkScalar (op: string) (y: Tensor) =
        checkOutput op y
        if y.Numel <> 1 then
            invalidOp (sprintf "%s: the function returned a tensor of shape %s; it must return a single value (a scalar)" op (Shape.show y.Shape))

    /// Σ seeds·∂outputs/∂inputs, with zeros for every input when no output is on the tape.
    let private vjpOf (outputs: Tensor[]) (seeds: Tensor[]) (inputs: Tensor[]) (retain: bool) (create: bool) =
        let live = Array.zip outputs seeds |> Array.filter (fun (o, _) -> o.RequiresGrad)
        if live.Length = 0 then inputs |> Array.map Create.zerosLike
        else Tape.gradWith (Array.map fst live) (Array.map snd live) inputs retain create

    /// The one-hot tensor eₖ of `like`'s shape, dtype and device.
    let private basis (like: Tensor) (k: int) =
        let e = Array.zeroCreate like.Numel
        e.[k] <- 1.0
        Tensor((like.Raw.Backend.FromFloat64(e, like.Shape)).Cast like.DType)

    /// The value as returned to the caller: detached unless the result is to stay on the graph.
    let private result (createGraph: bool) (y: Tensor) = if createGraph then y else Tensor(y.Raw)

    /// Rows ∂y[k]/∂x for every element k of y, stacked into shape y.Shape ++ x.Shape for each input x.
    let private jacobianRows (y: Tensor) (inputs: Tensor[]) (createGraph: bool) =
        let m = y.Numel
        let rows = Array.init m (fun k -> vjpOf [| y |] [| basis y k |] inputs true createGraph)
        inputs |> Array.mapi (fun j x ->
            let shape = Array.append y.Shape x.Shape
            if m = 0 then Tensor(x.Raw.Backend.Zeros(shape, x.DType))
            else
                let stacked = Reshaping.stack 0 (rows |> Array.map (fun r -> r.[j]))
                Reshaping.reshape shape stacked)

    /// f(ins) with recording on (the caller may be inside a noGrad scope).
    let private call (f: Tensor[] -> Tensor) (ins: Tensor[]) =
        use _ = GradMode.EnableGrad()
        f ins

    /// torch.func.grad / torch.autograd.grad of a scalar function: (f(xs), ∇ₓᵢ f for each input).
    let grad (f: Tensor[] -> Tensor) (xs: Tensor[]) (createGraph: bool) =
        let ins = prepareAll createGraph xs
        let y = call f ins
        checkScalar "grad" y
        let gs = vjpOf [| y |] [| Create.onesLike y |] ins createGraph createGraph
        result createGraph y, gs

    /// torch.autograd.functional.vjp: (f(xs), vᵀ·∂f/∂xᵢ for each input); v has f's output shape
    /// (null allowed for a scalar output, meaning 1).
    let vjp (f: Tensor[] -> Tensor) (xs: Tensor[]) (v: Tensor) (createGraph: bool) =
        let ins = prepareAll createGraph xs
        let y = call f ins
        checkOutput "vjp" y
        let seed =
            if isNull v then
                if y.Numel <> 1 then invalidArg "v" (sprintf "vjp: the function's output has shape %s; pass v of that shape (v may be omitted only for a scalar output)" (Shape.show y.Shape))
                Create.onesLike y
            elif v.Shape <> y.Shape then
                invalidArg "v" (sprintf "vjp: v of shape %s does not match the function's output of shape %s" (Shape.show v.Shape) (Shape.show y.Shape))
            else v
        result createGraph y, vjpOf [| y |] [| seed |] ins createGraph createGraph

    /// torch.autograd.functional.jacobian: for each input xᵢ, ∂f/∂xᵢ of shape f(xs).Shape ++ xᵢ.Shape.
    let jacobian (f: Tensor[] -> Tensor) (xs: Tensor[]) (createGraph: bool) =
        let ins = prepareAll createGraph xs
        let y = call f ins
        checkOutput "jacobian" y
        let js = jacobianRows y ins createGraph
        if createGraph then js else js |> Array.map (fun t -> Tensor(t.Raw))

    /// torch.autograd.functional.hessian of a scalar function: H.[i].[j] = ∂²f/∂xᵢ∂xⱼ of shape xᵢ.Shape ++ xⱼ.Shape.
    let hessian (f: Tensor[] -> Tensor) (xs: Tensor[]) (createGraph: bool) =
        let ins = prepareAll createGraph xs
        use _ = GradMode.EnableGrad()
        let y = f ins
        checkScalar "hessian" y
        let gs = vjpOf [| y |] [| Create.onesLike y |] ins true true
        gs |> Array.map (fun gi ->
            let hs = jacobianRows gi ins createGraph
            if createGraph then hs else hs |> Array.map (fun t -> Tensor(t.Raw)))

    /// torch.autograd.functional.hvp: (f(xs), H·v), where (H·v)ᵢ = Σⱼ ∂²f/∂xᵢ∂xⱼ vⱼ, by double backward:
    /// ∇ₓ(∇f(x) · v). vs has one tensor per input, each of its input's shape.
    let hvp (f: Tensor[] -> Tensor) (xs: Tensor[]) (vs: Tensor[]) (createGraph: bool) =
        if isNull vs || isNull xs || vs.Length <> xs.Length then
            invalidArg "v" (sprintf "hvp: expected one v per input (%d inputs), got %d" (if isNull xs then 0 else xs.Length) (if isNull vs then 0 else vs.Length))
        Array.iteri2 (fun i (x: Tensor) (v: Tensor) ->
            if isNull v then invalidArg "v" (sprintf "hvp: v %d is null" i)
            if not (isNull x) && v.Shape <> x.Shape then
                invalidArg "v" (sprintf "hvp: v %d of shape %s does not match input %d of shape %s" i (Shape.show v.Shape) i (Shape.show x.Shape))) xs vs
        let ins = prepareAll createGraph xs
        use _ = GradMode.EnableGrad()
        let y = f ins
        checkScalar "hvp" y
        let gs = vjpOf [| y |] [| Create.onesLike y |] ins true true
        let products = Array.map2 (fun (g: Tensor) (v: Tensor) -> Reduction.sum (g * Pointwise.cast g.DType v)) gs vs
        let dot = Array.reduce (+) products
        let hv = vjpOf [| dot |] [| Create.onesLike dot |] ins createGraph createGraph
        result createGraph y, (if createGraph then hv else hv |> Array.map (fun t -> Tensor(t.Raw)))
