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

    // The reverse walk shared by `propagate` and `propagateWith`: seeds accumulate from the roots through every
    // recorded rule; with a callback, leaves are also counted down by their consumers and reported when final.
    let private walk (roots: Tensor[]) (seeds: Tensor[]) (retainGraph: bool) (createGraph: bool) (onLeafFinal: (Tensor -> Tensor -> unit) voption) =
        let grads = Dictionary<Tensor, Tensor>(HashIdentity.Reference)
        for r, s in Array.zip roots seeds do accumulate grads r s
        let order = topo roots
        // check before changing anything: a freed node anywhere means no gradient is written
        for t in order do
            if not t.IsLeaf && t.Node.IsFreed then
                invalidOp (sprintf "backward: the graph through '%s' (output shape %s) was already freed by an earlier backward; pass retainGraph=true to the first backward to go through it twice" t.Node.Op (Shape.show t.Shape))
        // fire: report a leaf's gradient once; countDown: one consumer of x has passed its contribution back
        let fire, countDown =
            match onLeafFinal with
            | ValueNone -> ignore, ignore
            | ValueSome onLeafFinal ->
                // remaining consumers of each leaf (a node using a leaf twice counts twice and counts down twice)
                let pending = Dictionary<Tensor, int>(HashIdentity.Reference)
                for t in order do
                    if not t.IsLeaf then
                        for x in t.Node.Inputs do
                            if x.IsLeaf && x.RequiresGrad then
                                pending.[x] <- (match pending.TryGetValue x with | true, c -> c + 1 | _ -> 1)
                let fired = HashSet<Tensor>(HashIdentity.Reference)
                let fire (x: Tensor) =
                    match grads.TryGetValue x with
                    | true, g when fired.Add x -> onLeafFinal x g
                    | _ -> ()
                let countDown (x: Tensor) =
                    if x.IsLeaf && x.RequiresGrad then
                        let c = pending.[x] - 1
                        pending.[x] <- c
                        if c = 0 then fire x
                fire, countDown
        use _ = if createGraph then GradMode.EnableGrad() else GradMode.NoGrad()
        for t in order do
            if not t.IsLeaf then
                let node = t.Node
                match grads.TryGetValue t with
                | true, g ->
                    let gin = node.Backward g
                    if not retainGraph then node.Free()
                    for i in 0 .. node.Inputs.Length - 1 do
                        let x = node.Inputs.[i]
                        let gx = gin.[i]
                        if x.RequiresGrad && not (isNull gx) then
                            if gx.Shape <> x.Shape then
                                invalidOp (sprintf "backward: the rule of '%s' gave a gradient of shape %s for an input of shape %s" node.Op (Shape.show gx.Shape) (Shape.show x.Shape))
                            accumulate grads x gx
                        countDown x
                | _ ->
                    let inputs = node.Inputs
                    if not retainGraph then node.Free()
                    for x in inputs do countDown x
        if onLeafFinal.IsSome then
            for t in order do
                if t.IsLeaf && t.RequiresGrad then fire t
        grads

    /// Propagate seeds from roots to every tensor on the graph; returns all gradients by tensor.
    /// Frees each visited node unless retainGraph. With createGraph the rules record, so the result
    /// can be differentiated again.
    let propagate (roots: Tensor[]) (seeds: Tensor[]) (retainGraph: bool) (createGraph: bool) =
        walk roots seeds retainGraph createGraph ValueNone

    /// `propagate`, calling `onLeafFinal leaf gradient` once for each leaf that requires grad as soon as its
    /// gradient is final: every node that consumes the leaf has passed its contribution back. Consumers are counted
    /// over the topological order first, then counted down as the walk visits them (a visited node whose
    /// gradient is absent still counts down), so a leaf is final right after its last consumer; leaves reached by
    /// no recorded node (a root that is a leaf) are final at the end. This is the gradient-ready hook that
    /// data-parallel training starts a bucket's allreduce from while the rest of backward runs.
    let propagateWith (roots: Tensor[]) (seeds: Tensor[]) (retainGraph: bool) (createGraph: bool) (onLeafFinal: Tensor -> Tensor -> unit) =
        walk roots seeds retainGraph createGraph (ValueSome onLeafFinal)

    /// Callbacks of one backward-hook registration: `LeafReady leaf` after the leaf's Grad holds its final value
    /// for this backward, and `Finished ()` when the backward that reached any of the registered leaves ends.
    type BackwardHook =
        abstract LeafReady: Tensor -> unit
        abstract Finished: unit -> unit

    /// The registered hooks with the leaves each watches (torch's per-tensor post-accumulate-grad hooks and the
    /// autograd engine's final callback). Empty in ordinary training, where backward takes the unhooked path.
    let private hooks = List<HashSet<Tensor> * BackwardHook>()

    /// Watch `leaves` during every later backward until the returned value is disposed.
    let registerHook (leaves: Tensor seq) (hook: BackwardHook) : IDisposable =
        let entry = (HashSet<Tensor>(leaves, HashIdentity.Reference), hook)
        lock hooks (fun () -> hooks.Add entry)
        { new IDisposable with member _.Dispose() = lock hooks (fun () -> hooks.Remove entry |> ignore) }

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
        let active = lock hooks (fun () -> hooks.ToArray())
        if active.Length = 0 then
            let grads = propagate [| root |] [| seed |] retainGraph createGraph
            use _ = if createGraph then GradMode.EnableGrad() else GradMode.NoGrad()
            for KeyValue (t, g) in grads do
                if t.IsLeaf && t.RequiresGrad then
                    t.Grad <- if isNull t.Grad then g else t.Grad + g
        else
            // hooked: each leaf's Grad is written as soon as it is final, then its watchers are told
            let reached = HashSet<BackwardHook>(HashIdentity.Reference)
            let onLeaf (t: Tensor) (g: Tensor) =
                t.Grad <- if isNull t.Grad then g else t.Grad + g
                for leaves, h in active do
                    if leaves.Contains t then
                        reached.Add h |> ignore
                        h.LeafReady t
            propagateWith [| root |] [| seed |] retainGraph createGraph onLeaf |> ignore
            for _, h in active do
                if reached.Contains h then h.Finished()

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
