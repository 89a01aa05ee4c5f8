namespace Hybrid.Core

open System

/// Differentiable distances and normalisation with torch's conventions at the kinks: the p-norm with a zero
/// gradient where the norm is 0 (torch's norm and cdist backward), torch.cdist, cosine_similarity and
/// nn.functional.normalize. Built from differentiable ops, so every gradient differentiates again.
module Distance =

    let private floatsOnly (op: string) (x: Tensor) =
        if not x.DType.IsFloat then
            invalidArg "x" (sprintf "%s: not defined for %O tensors of shape %s (expected float32 or float64)" op x.DType (Shape.show x.Shape))

    let private resolveDims (op: string) (x: Tensor) (dims: int[]) =
        if x.Rank = 0 then [||] else dims |> Array.map (Shape.normDim op x.Rank) |> Array.distinct |> Array.sort

    /// The p-norm over `dims`, for any p ≥ 0 or +∞, with torch's subgradients: 0 where the norm is 0 (and, for p < 1,
    /// where the element is 0); for p = ∞ every
    /// element tied for the largest |x| takes the full gradient (as torch's cdist and norm backward).
    // ‖x‖ₚ = (Σ|xᵢ|ᵖ)^(1/p);  ∂‖x‖ₚ/∂xᵢ = sign(xᵢ)·(|xᵢ|/‖x‖ₚ)^(p−1) (0 where ‖x‖ₚ = 0, or xᵢ = 0 and p < 1);  ∂‖x‖∞/∂xᵢ = sign(xᵢ)·[|xᵢ| = ‖x‖∞];  ‖x‖₀ = #{xᵢ ≠ 0}
    let pnorm (p: float) (dims: int[]) (keepDim: bool) (x: Tensor) =
        floatsOnly "norm" x
        if Double.IsNaN p || p < 0.0 then
            invalidArg "p" (sprintf "norm: order p=%g is not supported (expected p >= 0 or +infinity)" p)
        let ds = resolveDims "norm" x dims
        let zero = Tensor(x.Raw.Backend.Full([||], 0.0, x.DType))
        if p = 2.0 || p = 1.0 then Reduction.norm p ds keepDim x
        elif p = 0.0 then
            // the count of nonzeros is piecewise constant: on the graph (as torch), with a zero gradient
            let xShape = x.Shape
            let kept = Shape.reduced xShape ds true
            Tensor.Record("norm", (Reduction.sumDims ds keepDim (Pointwise.ne x zero)).Raw, [| x |], fun g ->
                [| Tensor.Expand(Reshaping.reshapeRaw g kept, xShape) * zero |])
        else
            let value =
                use _ = GradMode.NoGrad()
                (Reduction.norm p ds keepDim x).Raw
            let xShape = x.Shape
            let kept = Shape.reduced xShape ds true
            let y = ref null
            y.Value <-
                Tensor.Record("norm", value, [| x |], fun g ->
                    let spread (t: Tensor) = Tensor.Expand(Reshaping.reshapeRaw t kept, xShape)
                    let n = spread y.Value
                    // torch's rule: 0 where the norm is 0, and (p < 1) where xᵢ = 0; elsewhere the formula, on safe values
                    let keep = Pointwise.ne n zero * (if p < 1.0 then Pointwise.ne x zero else Pointwise.ne n zero)
                    let one = zero + 1.0
                    let s = Pointwise.sign x
                    let local =
                        if Double.IsPositiveInfinity p then s * Pointwise.eq (Pointwise.abs x) n
                        else s * Pointwise.powScalar (p - 1.0) (Pointwise.where keep (Pointwise.abs x) one / Pointwise.where keep n one)
                    [| Pointwise.where keep (spread g * local) zero |])
            y.Value

    /// torch.cdist: the p-norm distances between the rows of x1 [..., P, M] and of x2 [..., R, M] -> [..., P, R],
    /// batch dims broadcast. Computed directly from the differences (torch's exact path, never the matmul
    /// expansion), so distances of 0 are exactly 0 and take a zero gradient for every p.
    let cdist (p: float) (x1: Tensor) (x2: Tensor) =
        Tensor.Agree("cdist", x1, x2)
        if x1.Rank < 2 || x2.Rank < 2 then
            invalidArg "x2" (sprintf "cdist: expected tensors of rank >= 2, got shapes %s and %s" (Shape.show x1.Shape) (Shape.show x2.Shape))
        let m1, m2 = x1.Shape.[x1.Rank - 1], x2.Shape.[x2.Rank - 1]
        if m1 <> m2 then
            invalidArg "x2" (sprintf "cdist: shapes %s and %s have different row sizes (%d vs %d)" (Shape.show x1.Shape) (Shape.show x2.Shape) m1 m2)
        let b1, b2 = x1.Shape.[.. x1.Rank - 3], x2.Shape.[.. x2.Rank - 3]
        (try Shape.broadcast "cdist" b1 b2
         with :? ArgumentException ->
             invalidArg "x2" (sprintf "cdist: batch dims %s and %s of shapes %s and %s cannot be broadcast" (Shape.show b1) (Shape.show b2) (Shape.show x1.Shape) (Shape.show x2.Shape)))
        |> ignore
        // δ[..., i, j, :] = x1[..., i, :] − x2[..., j, :]
        let diff = Reshaping.unsqueeze -2 x1 - Reshaping.unsqueeze -3 x2
        pnorm p [| -1 |] false diff

    /// x with the gradient of the identity but the value max(x, lo): torch clamps these under no_grad.
    let private clampValueOnly (lo: float) (x: Tensor) =
        let shift =
            use _ = GradMode.NoGrad()
            Pointwise.clamp lo Double.PositiveInfinity x - x
        x + Tensor(shift.Raw)

    /// torch.nn.functional.cosine_similarity: Σ x1·x2 / √(max(‖x1‖², ε²)·max(‖x2‖², ε²)) along `dim` of the broadcast
    /// inputs. As torch 1.13, the squared norms are clamped in value only: the gradient flows as if unclamped.
    let cosineSimilarity (dim: int) (eps: float) (x1: Tensor) (x2: Tensor) =
        Tensor.Agree("cosine_similarity", x1, x2)
        let shape = Shape.broadcast "cosine_similarity" x1.Shape x2.Shape
        let d = Shape.normDim "cosine_similarity" shape.Length dim
        if shape.Length = 0 then invalidArg "x1" "cosine_similarity: expected tensors with at least one dim, got shape []"
        let lead = shape.Length
        let align (t: Tensor) = if t.Rank < lead then Reshaping.reshape (Array.append (Array.create (lead - t.Rank) 1) t.Shape) t else t
        let a, b = align x1, align x2
        let sq (t: Tensor) = clampValueOnly (eps * eps) (Reduction.sumDims [| d |] false (t * t))
        Reduction.sumDims [| d |] false (a * b) / Pointwise.sqrt (sq a * sq b)

    /// torch.nn.functional.normalize: x / max(‖x‖ₚ, ε) with the p-norm over `dim` (kept, broadcast back).
    /// Where the norm is below ε the denominator is the constant ε (clamp_min's gradient is 0 there).
    let normalize (p: float) (dim: int) (eps: float) (x: Tensor) =
        floatsOnly "normalize" x
        if x.Rank = 0 then invalidArg "x" "normalize: expected a tensor with at least one dim, got shape []"
        let d = Shape.normDim "normalize" x.Rank dim
        x / Pointwise.clamp eps Double.PositiveInfinity (pnorm p [| d |] true x)
