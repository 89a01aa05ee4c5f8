namespace Hybrid.Core

open System
open System.Collections.Generic

/// Reverse mode over the recorded graph: backward, and the functional grad / hvp / hessian / jacobian.
module Tape =

    /// Nodes reachable from `roots`, ordered so each tensor comes after every tensor that uses it.
    let private topo (roots: Tensor[]) =
        let order = List<Tensor>()
        let seen = HashSet<Tensor>(HashIdentity.Reference)
        // iterative post-order DFS (deep graphs of long training loops must not overflow the stack)
        let stack = Stack<Tensor * bool>()
        for r in roots do stack.Push((r, false))
        while stack.Count > 0 do
            let t, expanded = stack.Pop()
            if expanded then order.Add t
            elif seen.Add t then
                stack.Push((t, true))
                if not t.IsLeaf then
                    for i in t.Node.Inputs do
                        if i.RequiresGrad && not (seen.Contains i) then stack.Push((i, false))
        order.Reverse()
        order

    let private accumulate (grads: Dictionary<Tensor, Tensor>) (t: Tensor) (g: Tensor) =
        match grads.TryGetValue t with
        | true, prev -> grads.[t] <- prev + g
        | _ -> grads.[t] <- g

    /// Propagate seeds from roots to every tensor on the graph; returns all gradients by tensor.
    /// Frees each visited node unless retainGraph. With createGraph the rules record, so the result
    /// can be differentiated again.
    let propagate (roots: Tensor[]) (seeds: Tensor[]) (retainGraph: bool) (createGraph: bool) =
        let grads = Dictionary<Tensor, Tensor>(HashIdentity.Reference)
        for r, s in Array.zip roots seeds do accumulate grads r s
        let order = topo roots
        // check before changing anything: a freed node anywhere means no gradient is written
        for t in order do
            if not t.IsLeaf && t.Node.IsFreed then
                invalidOp (sprintf "backward: the graph through '%s' (output shape %s) was already freed by an earlier backward; pass retainGraph=true to the first backward to go through it twice" t.Node.Op (Shape.show t.Shape))
        use _ = if createGraph then GradMode.EnableGrad() else GradMode.NoGrad()
        for t in order do
            if not t.IsLeaf then
                match grads.TryGetValue t with
                | true, g ->
                    let node = t.Node
                    let gin = node.Backward g
                    if not retainGraph then node.Free()
                    for i in 0 .. node.Inputs.Length - 1 do
                        let x = node.Inputs.[i]
                        let gx = gin.[i]
                        if x.RequiresGrad && not (isNull gx) then
                            if gx.Shape <> x.Shape then
                                invalidOp (sprintf "backward: the rule of '%s' gave a gradient of shape %s for an input of shape %s" node.Op (Shape.show gx.Shape) (Shape.show x.Shape))
                            accumulate grads x gx
                | _ -> if not retainGraph then t.Node.Free()
        grads

    let private seedFor (op: string) (t: Tensor) (gradOutput: Tensor) =
        if isNull gradOutput then
            if t.Numel <> 1 then
                invalidOp (sprintf "%s: a tensor of shape %s is not a scalar; pass an output gradient of that shape" op (Shape.show t.Shape))
            Create.onesLike t
        else
            if gradOutput.Shape <> t.Shape then
                invalidArg "gradOutput" (sprintf "%s: output gradient of shape %s does not match the output's shape %s" op (Shape.show gradOutput.Shape) (Shape.show t.Shape))
            gradOutput

    /// torch's tensor.backward: accumulate d(root)/d(leaf) into each leaf's Grad.
    let backwardWith (root: Tensor) (gradOutput: Tensor) (retainGraph: bool) (createGraph: bool) =
        if not root.RequiresGrad then
            invalidOp (sprintf "backward: the tensor of shape %s does not require grad and has no graph" (Shape.show root.Shape))
        let seed = seedFor "backward" root gradOutput
        let grads = propagate [| root |] [| seed |] retainGraph createGraph
        use _ = if createGraph then GradMode.EnableGrad() else GradMode.NoGrad()
        for KeyValue (t, g) in grads do
            if t.IsLeaf && t.RequiresGrad then
                t.Grad <- if isNull t.Grad then g else t.Grad + g

    /// Backward of a scalar loss.
    let backward (root: Tensor) = backwardWith root null false false

    /// torch.autograd.grad: gradients of `outputs` (weighted by `gradOutputs`, or ones for scalars)
    /// with respect to `inputs`, returned rather than accumulated. A zero tensor where an input is unreached.
    let gradWith (outputs: Tensor[]) (gradOutputs: Tensor[]) (inputs: Tensor[]) (retainGraph: bool) (createGraph: bool) =
        for o in outputs do
            if not o.RequiresGrad then invalidOp (sprintf "grad: an output of shape %s does not require grad" (Shape.show o.Shape))
        let seeds = outputs |> Array.mapi (fun i o -> seedFor "grad" o (if isNull gradOutputs then null else gradOutputs.[i]))
        let grads = propagate outputs seeds retainGraph createGraph
        inputs |> Array.map (fun x -> match grads.TryGetValue x with | true, g -> g | _ -> Create.zerosLike x)

    /// ∇f(x) of a scalar function; zeros where f does not depend on x (torch.autograd.functional's strict = False).
    let grad (f: Tensor -> Tensor) (x: Tensor) =
        let x = Tensor(x.Raw, null, true)
        let y = f x
        if not y.RequiresGrad then
            // still a scalar function: the same check as a recorded output gets
            seedFor "grad" y null |> ignore
            Create.zerosLike x
        else (gradWith [| y |] null [| x |] false false).[0]

    /// Hessian-vector product H(x)·v by double backward: ∇ₓ(∇f(x) · v). Where ∇f does not depend on x (f linear, or
    /// piecewise linear: relu, abs, max, selections; or f constant) H·v is zero; strict = false (torch's default)
    /// returns those zeros, strict = true raises instead, as torch.autograd.functional.hvp(..., strict=True).
    let hvpWith (strict: bool) (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) =
        if v.Shape <> x.Shape then invalidArg "v" (sprintf "hvp: v of shape %s does not match x of shape %s" (Shape.show v.Shape) (Shape.show x.Shape))
        let x = Tensor(x.Raw, null, true)
        use _ = GradMode.EnableGrad()
        let y = f x
        seedFor "hvp" y null |> ignore
        if not y.RequiresGrad then
            if strict then
                invalidOp "hvp: the output of the function does not depend on its input (not allowed with strict = true; strict = false returns zeros)"
            Create.zerosLike x
        else
            let g = (gradWith [| y |] null [| x |] true true).[0]
            if not g.RequiresGrad then
                if strict then
                    invalidOp "hvp: the gradient of the function does not depend on its input, so its Hessian is zero (the function is linear or piecewise linear there, e.g. relu, abs, max); this is not allowed with strict = true (strict = false returns zeros)"
                Create.zerosLike x
            else
                let dot = Reduction.sum (g * v)
                (gradWith [| dot |] null [| x |] false false).[0]

    /// Hessian-vector product H(x)·v by double backward, with torch's default strict = false (zeros where the gradient
    /// does not depend on x); see `hvpWith`.
    let hvp (f: Tensor -> Tensor) (x: Tensor) (v: Tensor) = hvpWith false f x v

    /// The full Hessian of a scalar function of a tensor, as an [n, n] matrix (n = x.Numel), one `hvpWith strict` per
    /// row: zeros where the gradient does not depend on x unless strict (then it raises, as torch's hessian(strict=True)).
    let hessianWith (strict: bool) (f: Tensor -> Tensor) (x: Tensor) =
        let n = x.Numel
        let rows =
            Array.init n (fun i ->
                let e = Array.zeroCreate n
                e.[i] <- 1.0
                let v = Tensor(Create.ofFloat64 e x.Shape |> fun t -> t.Raw.Cast x.DType)
                (hvpWith strict f x v).Raw.Reshape [| n |])
        let data = rows |> Array.collect (fun r -> r.ToFloat64Array())
        let h = Create.ofFloat64 data [| n; n |]
        Tensor(h.Raw.Cast x.DType)

    /// The full Hessian of a scalar function (torch's default strict = false: zeros where the gradient does not depend
    /// on x); see `hessianWith`.
    let hessian (f: Tensor -> Tensor) (x: Tensor) = hessianWith false f x

    /// The Jacobian of f at x, as an [m, n] matrix (m = output elements, n = x.Numel).
    let jacobian (f: Tensor -> Tensor) (x: Tensor) =
        let x = Tensor(x.Raw, null, true)
        let y = f x
        let m, n = y.Numel, x.Numel
        let rows =
            Array.init m (fun i ->
                let e = Array.zeroCreate m
                e.[i] <- 1.0
                let seed = Tensor((Create.ofFloat64 e y.Shape).Raw.Cast y.DType)
                if y.RequiresGrad then (gradWith [| y |] [| seed |] [| x |] true false).[0].ToFloat64Array()
                else Array.zeroCreate n)
        Tensor((Create.ofFloat64 (Array.concat rows) [| m; n |]).Raw.Cast x.DType)
