namespace Hybrid.Core

open System

/// Differentiable matrix products: matmul (torch.matmul's rank rules), mm, bmm, dot, outer, mT, and
/// `linear` (a Linear layer's x·Wᵀ + b). Products and their gradients never materialise a transpose:
/// they go through RawTensor.MatmulT, which hands the transposes to BLAS.
module Linalg =

    /// op(A)·op(B) for rank >= 2 with broadcast batch dims, op = transpose of the last two dims where flagged.
    /// Backward, from C = op(A)op(B) (each also an mmT, so it differentiates again), summed over broadcast batch dims:
    ///   C = A B    : dA = g Bᵀ,   dB = Aᵀ g
    ///   C = A Bᵀ   : dA = g B,    dB = gᵀ A
    ///   C = Aᵀ B   : dA = B gᵀ,   dB = A g
    ///   C = Aᵀ Bᵀ  : dA = Bᵀ gᵀ,  dB = gᵀ Aᵀ
    let rec internal mmT (transA: bool) (transB: bool) (a: Tensor) (b: Tensor) : Tensor =
        let value = a.Raw.MatmulT(b.Raw, transA, transB)
        Tensor.Record("matmul", value, [| a; b |], fun g ->
            let da () =
                match transA, transB with
                | false, false -> mmT false true g b
                | false, true -> mmT false false g b
                | true, false -> mmT false true b g
                | true, true -> mmT true true b g
            let db () =
                match transA, transB with
                | false, false -> mmT true false a g
                | false, true -> mmT true false g a
                | true, false -> mmT false false a g
                | true, true -> mmT true true g a
            [| (if a.RequiresGrad then Tensor.SumTo(da (), a.Shape) else null)
               (if b.RequiresGrad then Tensor.SumTo(db (), b.Shape) else null) |])

    let private innerError (op: string) (a: Tensor) (b: Tensor) (ka: int) (kb: int) : 'a =
        invalidArg "b" (sprintf "%s: shapes %s and %s do not agree on the inner dimension (%d vs %d)" op (Shape.show a.Shape) (Shape.show b.Shape) ka kb)

    /// The broadcast batch dims of two rank >= 2 shapes, or an error naming both full shapes.
    let private batchOf (op: string) (a: int[]) (b: int[]) =
        let ba, bb = a.[.. a.Length - 3], b.[.. b.Length - 3]
        try Shape.broadcast op ba bb
        with :? ArgumentException ->
            invalidArg "b" (sprintf "%s: batch dimensions %s and %s of shapes %s and %s cannot be broadcast" op (Shape.show ba) (Shape.show bb) (Shape.show a) (Shape.show b))

    /// torch.matmul: 1-D·1-D is the dot product (a scalar); 2-D·2-D the matrix product; a 1-D operand is
    /// promoted to a matrix ([k] -> [1,k] on the left, [k,1] on the right) and the added dim removed after;
    /// higher ranks are batches of matrices with batch dims broadcast. Gradients are summed over broadcast dims.
    let matmul (a: Tensor) (b: Tensor) =
        Tensor.Agree("matmul", a, b)
        if a.Rank = 0 || b.Rank = 0 then
            invalidArg "b" (sprintf "matmul: shapes %s and %s: both arguments need at least one dimension" (Shape.show a.Shape) (Shape.show b.Shape))
        let ka = a.Shape.[a.Rank - 1]
        let kb = if b.Rank = 1 then b.Shape.[0] else b.Shape.[b.Rank - 2]
        if ka <> kb then innerError "matmul" a b ka kb
        match a.Rank, b.Rank with
        | 1, 1 -> Reshaping.reshape [||] (mmT false false (Reshaping.reshape [| 1; ka |] a) (Reshaping.reshape [| kb; 1 |] b))
        | 1, _ ->
            let c = mmT false false (Reshaping.reshape [| 1; ka |] a) b
            Reshaping.reshape (Array.removeAt (c.Rank - 2) c.Shape) c
        | _, 1 ->
            let c = mmT false false a (Reshaping.reshape [| kb; 1 |] b)
            Reshaping.reshape (Array.removeAt (c.Rank - 1) c.Shape) c
        | _ ->
            batchOf "matmul" a.Shape b.Shape |> ignore
            mmT false false a b

    /// torch.mm: the product of two matrices [m,k]·[k,n] -> [m,n] (no broadcasting).
    let mm (a: Tensor) (b: Tensor) =
        Tensor.Agree("mm", a, b)
        if a.Rank <> 2 || b.Rank <> 2 then
            invalidArg "b" (sprintf "mm: expected two 2-D tensors, got shapes %s and %s" (Shape.show a.Shape) (Shape.show b.Shape))
        if a.Shape.[1] <> b.Shape.[0] then innerError "mm" a b a.Shape.[1] b.Shape.[0]
        mmT false false a b

    /// torch.bmm: batches of matrix products [B,m,k]·[B,k,n] -> [B,m,n] (same batch size, no broadcasting).
    let bmm (a: Tensor) (b: Tensor) =
        Tensor.Agree("bmm", a, b)
        if a.Rank <> 3 || b.Rank <> 3 then
            invalidArg "b" (sprintf "bmm: expected two 3-D tensors, got shapes %s and %s" (Shape.show a.Shape) (Shape.show b.Shape))
        if a.Shape.[0] <> b.Shape.[0] then
            invalidArg "b" (sprintf "bmm: shapes %s and %s have different batch sizes (%d vs %d)" (Shape.show a.Shape) (Shape.show b.Shape) a.Shape.[0] b.Shape.[0])
        if a.Shape.[2] <> b.Shape.[1] then innerError "bmm" a b a.Shape.[2] b.Shape.[1]
        mmT false false a b

    /// torch.dot: Σᵢ aᵢbᵢ of two vectors of the same length (a scalar).
    let dot (a: Tensor) (b: Tensor) =
        Tensor.Agree("dot", a, b)
        if a.Rank <> 1 || b.Rank <> 1 || a.Shape.[0] <> b.Shape.[0] then
            invalidArg "b" (sprintf "dot: expected two 1-D tensors of the same length, got shapes %s and %s" (Shape.show a.Shape) (Shape.show b.Shape))
        matmul a b

    /// torch.outer: (u vᵀ)ᵢⱼ = uᵢvⱼ of two vectors [m] and [n] -> [m,n].
    let outer (u: Tensor) (v: Tensor) =
        Tensor.Agree("outer", u, v)
        if u.Rank <> 1 || v.Rank <> 1 then
            invalidArg "v" (sprintf "outer: expected two 1-D tensors, got shapes %s and %s" (Shape.show u.Shape) (Shape.show v.Shape))
        mmT false false (Reshaping.reshape [| u.Shape.[0]; 1 |] u) (Reshaping.reshape [| 1; v.Shape.[0] |] v)

    /// torch.Tensor.mT: the transpose of the last two dims (rank >= 2; batch dims untouched).
    let mT (x: Tensor) =
        if x.Rank < 2 then
            invalidArg "x" (sprintf "mT: expected a tensor of rank >= 2, got shape %s" (Shape.show x.Shape))
        Reshaping.transpose -2 -1 x

    /// torch.nn.functional.linear: y = x·Wᵀ + b for x [..., in], weight [out, in], bias [out] or null -> [..., out].
    /// The leading dims of x are folded into rows (a free reshape) and Wᵀ is read in place by BLAS (transB):
    /// no transpose is copied, forward or backward (dx = g·W, dW = gᵀ·x, db = Σ_rows g); the bias is added by the
    /// product itself (RawTensor.LinearT: BLAS accumulates x·Wᵀ onto rows holding b).
    let linear (x: Tensor) (weight: Tensor) (bias: Tensor) =
        Tensor.Agree("linear", x, weight)
        if weight.Rank <> 2 then
            invalidArg "weight" (sprintf "linear: weight must be 2-D [out, in], got shape %s" (Shape.show weight.Shape))
        let outF, inF = weight.Shape.[0], weight.Shape.[1]
        if x.Rank = 0 || x.Shape.[x.Rank - 1] <> inF then
            invalidArg "x" (sprintf "linear: input of shape %s does not match weight of shape %s (last dim %s vs in_features %d)" (Shape.show x.Shape) (Shape.show weight.Shape) (if x.Rank = 0 then "none" else string x.Shape.[x.Rank - 1]) inF)
        if not (isNull bias) then
            Tensor.Agree("linear", x, bias)
            if bias.Shape <> [| outF |] then
                invalidArg "bias" (sprintf "linear: bias of shape %s does not match weight of shape %s (expected [%d])" (Shape.show bias.Shape) (Shape.show weight.Shape) outF)
        // x·Wᵀ (+ b) on rows [rows, in]; with a bias, one op whose value is one gemm accumulated onto the bias rows
        let rowsLinear (x2: Tensor) =
            if isNull bias then mmT false true x2 weight
            else
                Tensor.Record("linear", x2.Raw.LinearT(weight.Raw, bias.Raw), [| x2; weight; bias |], fun g ->
                    [| (if x2.RequiresGrad then mmT false false g weight else null)
                       (if weight.RequiresGrad then mmT true false g x2 else null)
                       (if bias.RequiresGrad then Tensor.SumTo(g, bias.Shape) else null) |])
        if x.Rank = 2 then rowsLinear x
        else
            let lead = x.Shape.[.. x.Rank - 2]
            let rows = Shape.numel lead
            let y2 = rowsLinear (Reshaping.reshape [| rows; inF |] x)
            Reshaping.reshape (Array.append lead [| outF |]) y2
