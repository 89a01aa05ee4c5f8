namespace Hybrid.Core

open System

/// Differentiable reductions.
module Reduction =

    /// Σ over `dims` (negative dims count from the end); keepDim keeps them as size 1.
    let sumDims (dims: int[]) (keepDim: bool) (x: Tensor) =
        let ds = dims |> Array.map (Shape.normDim "sum" x.Rank) |> Array.distinct
        let ds = if x.Rank = 0 then [||] else ds
        let xShape = x.Shape
        let value = if ds.Length = 0 then x.Raw else x.Raw.SumDims(ds, keepDim)
        // d(Σx)/dx = 1: the gradient is broadcast back over the reduced dims
        Tensor.Record("sum", value, [| x |], fun g ->
            let kept = Shape.reduced xShape ds true
            [| Tensor.Expand(Reshaping.reshapeRaw g kept, xShape) |])

    /// Σ of every element (a scalar).
    let sum (x: Tensor) = sumDims [| 0 .. x.Rank - 1 |] false x

    /// Dims resolved against the rank (negative count from the end), deduplicated and sorted.
    let private resolveDims (op: string) (x: Tensor) (dims: int[]) =
        if x.Rank = 0 then
            dims |> Array.iter (Shape.normDim op 0 >> ignore)
            [||]
        else dims |> Array.map (Shape.normDim op x.Rank) |> Array.distinct |> Array.sort

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    /// Mean over `dims` (negative dims count from the end); keepDim keeps them as size 1.
    // mean = Σx / n, n = the product of the reduced dims
    let meanDims (dims: int[]) (keepDim: bool) (x: Tensor) =
        floatsOnly "mean" x
        let ds = resolveDims "mean" x dims
        let n = ds |> Array.fold (fun acc d -> acc * x.Shape.[d]) 1
        sumDims ds keepDim x / float n

    /// Mean of every element (a scalar; NaN for an empty tensor, as torch).
    let mean (x: Tensor) = meanDims [| 0 .. x.Rank - 1 |] false x

    /// A 0/1 mask of x's shape with a 1 at each selected index along `dim` (indices of the reduced shape).
    let private selectionMask (x: Tensor) (dim: int) (indices: int64[]) =
        let shape = x.Shape
        let outer = Array.fold (*) 1 shape.[.. dim - 1]
        let k = shape.[dim]
        let inner = Array.fold (*) 1 shape.[dim + 1 ..]
        let mask = Array.zeroCreate<float> x.Numel
        for o in 0 .. outer - 1 do
            for i in 0 .. inner - 1 do
                mask.[(o * k + int indices.[o * inner + i]) * inner + i] <- 1.0
        Tensor(x.Raw.Backend.FromFloat64(mask, shape).Cast x.DType)

    let private extremeDim (isMax: bool) (op: string) (dim: int) (keepDim: bool) (x: Tensor) =
        floatsOnly op x
        let d = Shape.normDim op x.Rank dim
        if x.Rank > 0 && x.Shape.[d] = 0 then
            invalidArg "x" (sprintf "%s: dim %d of shape %s is empty (expected at least one element to select)" op dim (Shape.show x.Shape))
        if x.Rank = 0 then
            Reshaping.reshape [||] x, Tensor(x.Raw.Backend.FromInt64([| 0L |], [||]))
        else
            let values, indices = x.Raw.ExtremeDim(isMax, d, keepDim)
            let xShape = x.Shape
            let kept = Shape.reduced xShape [| d |] true
            // the gradient flows to the selected element only (the first on ties)
            let y =
                Tensor.Record(op, values, [| x |], fun g ->
                    let spread = Tensor.Expand(Reshaping.reshapeRaw g kept, xShape)
                    [| spread * selectionMask x d (indices.ToInt64Array()) |])
            y, Tensor(indices)

    /// Max over one dim: (values, int64 indices of the first maximum). The gradient goes to the selected elements.
    let maxDim (dim: int) (keepDim: bool) (x: Tensor) = extremeDim true "max" dim keepDim x

    /// Min over one dim: (values, int64 indices of the first minimum). The gradient goes to the selected elements.
    let minDim (dim: int) (keepDim: bool) (x: Tensor) = extremeDim false "min" dim keepDim x

    // torch 1.13's evenly_distribute_backward: the gradient of max/min over all elements is split evenly among the
    // elements equal to the result (all NaNs when the result is NaN): ∂y/∂xᵢ = [xᵢ = y] / #{j : xⱼ = y}
    let private extremeAll (isMax: bool) (op: string) (x: Tensor) =
        if x.Numel = 0 then
            invalidArg "x" (sprintf "%s: tensor of shape %s is empty (expected at least one element)" op (Shape.show x.Shape))
        floatsOnly op x
        let value =
            use _ = GradMode.NoGrad()
            fst (extremeDim isMax op 0 false (Reshaping.reshape [| -1 |] x))
        let xShape = x.Shape
        let xRaw = x.Raw
        Tensor.Record(op, value.Raw, [| x |], fun g ->
            let y = value.ToFloat64Array().[0]
            let mask = xRaw.ToFloat64Array() |> Array.map (fun e -> if e = y || (Double.IsNaN y && Double.IsNaN e) then 1.0 else 0.0)
            let ties = Array.sum mask
            let maskT = Tensor(xRaw.Backend.FromFloat64(mask, xShape).Cast x.DType)
            [| Tensor.Expand(Reshaping.reshapeRaw g (Array.create xShape.Length 1), xShape) * maskT / ties |])

    /// The largest element (a scalar); the gradient is split evenly among the elements equal to it (torch 1.13).
    let max (x: Tensor) = extremeAll true "max" x

    /// The smallest element (a scalar); the gradient is split evenly among the elements equal to it (torch 1.13).
    let min (x: Tensor) = extremeAll false "min" x

    /// Int64 indices of the first maximum along `dim` (not differentiable).
    let argmax (dim: int) (x: Tensor) =
        use _ = GradMode.NoGrad()
        snd (extremeDim true "argmax" dim false x)

    /// Int64 indices of the first minimum along `dim` (not differentiable).
    let argmin (dim: int) (x: Tensor) =
        use _ = GradMode.NoGrad()
        snd (extremeDim false "argmin" dim false x)

    /// log Σ exp(x) over `dims`, stable for large |x|; keepDim keeps them as size 1.
    // logsumexp(x) = m + log Σ exp(x − m), m = max x (a constant: the value does not depend on it)
    let logsumexp (dims: int[]) (keepDim: bool) (x: Tensor) =
        floatsOnly "logsumexp" x
        let ds = resolveDims "logsumexp" x dims
        let m = ds |> Array.fold (fun (r: Backends.RawTensor) d -> fst (r.ExtremeDim(true, d, true))) x.Raw
        // an all −∞ (or +∞) slice keeps m = 0 so that x − m stays meaningful, as torch
        let finite = m.ToFloat64Array() |> Array.map (fun v -> if Double.IsInfinity v then 0.0 else v)
        let m = Tensor(m.Backend.FromFloat64(finite, m.Shape).Cast x.DType)
        let s = m + Pointwise.log (sumDims ds true (Pointwise.exp (x - m)))
        if keepDim then s else Reshaping.reshape (Shape.reduced x.Shape ds false) s

    /// Variance over `dims` with Bessel's `correction` (torch.var: 1 is the unbiased default, 0 the
    /// population variance); keepDim keeps the dims as size 1.
    // var = Σ(x − mean)² / max(0, n − correction)
    let var (dims: int[]) (correction: int) (keepDim: bool) (x: Tensor) =
        floatsOnly "var" x
        let ds = resolveDims "var" x dims
        let n = ds |> Array.fold (fun acc d -> acc * x.Shape.[d]) 1
        let d = x - meanDims ds true x
        sumDims ds keepDim (d * d) / float (Operators.max 0 (n - correction))

    /// Standard deviation over `dims` with Bessel's `correction` (torch.std).
    // std = √var; ∂std/∂var = 1/(2·std), taken as 0 where std = 0 (torch 1.13's std_backward masks it there, so a
    // constant input gets a zero gradient rather than NaN)
    let std (dims: int[]) (correction: int) (keepDim: bool) (x: Tensor) =
        let v = var dims correction keepDim x
        let y = ref null
        y.Value <-
            Tensor.Record("std", v.Raw.Unary Backends.UnaryOp.Sqrt, [| v |], fun g ->
                let s = y.Value
                let zero = Tensor(s.Raw.Backend.Full([||], 0.0, s.DType))
                let isZero = Pointwise.eq s zero
                let safe = Pointwise.where isZero (zero + 1.0) s
                [| Pointwise.where isZero zero (g / (safe * 2.0)) |])
        y.Value

    /// Unbiased variance of every element (torch.var(x)).
    let varAll (x: Tensor) = var [| 0 .. x.Rank - 1 |] 1 false x

    /// Unbiased standard deviation of every element (torch.std(x)).
    let stdAll (x: Tensor) = std [| 0 .. x.Rank - 1 |] 1 false x

    /// Euclidean norm over dims: √Σx², with gradient x/‖x‖ (0 where the norm is 0, as torch).
    // ∂‖x‖₂/∂x = x / ‖x‖₂
    let private norm2 (ds: int[]) (keepDim: bool) (x: Tensor) =
        let xShape = x.Shape
        let kept = Shape.reduced xShape ds true
        let value = x.Raw.Binary(Backends.BinaryOp.Mul, x.Raw)
        let value = (if ds.Length = 0 then value else value.SumDims(ds, keepDim)).Unary Backends.UnaryOp.Sqrt
        let y = ref null
        y.Value <-
            Tensor.Record("norm", value, [| x |], fun g ->
                let spread (t: Tensor) = Tensor.Expand(Reshaping.reshapeRaw t kept, xShape)
                let yk = spread y.Value
                let zero = Tensor(yk.Raw.Backend.Full([||], 0.0, x.DType))
                let isZero = Pointwise.eq yk zero
                let safe = Pointwise.where isZero (zero + 1.0) yk
                [| spread g * x / safe |])
        y.Value

    /// The p-norm over `dims` (torch.linalg.vector_norm): p = 2 (Euclidean), 1, +∞ (max |x|), −∞ (min |x|),
    /// or any p > 0: (Σ|x|ᵖ)^(1/p). keepDim keeps the dims as size 1.
    // ‖x‖ₚ = (Σ|xᵢ|ᵖ)^(1/p);  ‖x‖∞ = max |xᵢ|
    let norm (p: float) (dims: int[]) (keepDim: bool) (x: Tensor) =
        floatsOnly "norm" x
        let ds = resolveDims "norm" x dims
        let extreme isMax =
            let t = ds |> Array.fold (fun t d -> fst (extremeDim isMax "norm" d true t)) (Pointwise.abs x)
            if keepDim then t else Reshaping.reshape (Shape.reduced x.Shape ds false) t
        if p = 2.0 then norm2 ds keepDim x
        elif p = 1.0 then sumDims ds keepDim (Pointwise.abs x)
        elif Double.IsPositiveInfinity p then extreme true
        elif Double.IsNegativeInfinity p then extreme false
        elif p > 0.0 then Pointwise.powScalar (1.0 / p) (sumDims ds keepDim (Pointwise.powScalar p (Pointwise.abs x)))
        else invalidArg "p" (sprintf "norm: order p=%g is not supported (expected p > 0 or ±infinity)" p)

    /// The p-norm of every element (a scalar).
    let normAll (p: float) (x: Tensor) = norm p [| 0 .. x.Rank - 1 |] false x
