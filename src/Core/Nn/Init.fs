namespace Hybrid.Core

open System

/// Fan mode for Kaiming initialisation: preserve the variance of the forward or the backward pass.
type FanMode =
    | FanIn
    | FanOut

/// Weight-initialisation strategies (torch.nn.init): each returns a new leaf of the given shape,
/// drawn from a seeded generator. Shapes are [out, in] for linear weights, [out, in/groups, kH, kW] for conv.
module Init =

    /// fan_in and fan_out of a weight shape (torch's _calculate_fan_in_and_fan_out).
    let fans (op: string) (shape: int[]) =
        if shape.Length < 2 then
            invalidArg "shape" (sprintf "%s: fan in and fan out need a shape of rank >= 2 (got %s)" op (Shape.show shape))
        let receptive = Shape.numel shape.[2..]
        shape.[1] * receptive, shape.[0] * receptive

    /// The recommended gain of a nonlinearity (torch.nn.init.calculate_gain).
    let gain (nonlinearity: string) (param: float) =
        match nonlinearity.ToLowerInvariant() with
        | "linear" | "identity" | "sigmoid" | "conv1d" | "conv2d" | "conv3d" -> 1.0
        | "tanh" -> 5.0 / 3.0
        | "relu" -> sqrt 2.0
        | "leaky_relu" -> sqrt (2.0 / (1.0 + param * param))
        | "selu" -> 0.75
        | other -> invalidArg "nonlinearity" (sprintf "init.gain: unknown nonlinearity '%s' (expected linear, sigmoid, tanh, relu, leaky_relu, selu)" other)

    /// U(a, b).
    let uniform (gen: Generator) (dtype: DType) (shape: int[]) (a: float) (b: float) =
        if not (a <= b) then invalidArg "b" (sprintf "init.uniform: lower bound %g exceeds upper bound %g" a b)
        Create.uniform gen dtype shape a b

    /// N(mean, std²).
    let normal (gen: Generator) (dtype: DType) (shape: int[]) (mean: float) (std: float) =
        if not (std >= 0.0) then invalidArg "std" (sprintf "init.normal: std must be >= 0 (got %g)" std)
        Create.randn gen dtype shape * std + mean

    /// Constant value.
    let constant (dtype: DType) (shape: int[]) (value: float) = Create.full dtype shape value

    /// Xavier/Glorot uniform: U(−a, a), a = gain·√(6 / (fan_in + fan_out)).
    let xavierUniform (gen: Generator) (dtype: DType) (shape: int[]) (gain: float) =
        let fi, fo = fans "init.xavierUniform" shape
        let a = gain * sqrt (6.0 / float (fi + fo))
        uniform gen dtype shape (-a) a

    /// Xavier/Glorot normal: N(0, σ²), σ = gain·√(2 / (fan_in + fan_out)).
    let xavierNormal (gen: Generator) (dtype: DType) (shape: int[]) (gain: float) =
        let fi, fo = fans "init.xavierNormal" shape
        normal gen dtype shape 0.0 (gain * sqrt (2.0 / float (fi + fo)))

    let private fan (op: string) (shape: int[]) (mode: FanMode) =
        let fi, fo = fans op shape
        match mode with FanIn -> fi | FanOut -> fo

    /// Kaiming/He uniform: U(−b, b), b = gain(nonlinearity, a)·√(3 / fan).
    let kaimingUniform (gen: Generator) (dtype: DType) (shape: int[]) (a: float) (mode: FanMode) (nonlinearity: string) =
        let b = gain nonlinearity a * sqrt (3.0 / float (fan "init.kaimingUniform" shape mode))
        uniform gen dtype shape (-b) b

    /// Kaiming/He normal: N(0, σ²), σ = gain(nonlinearity, a) / √fan.
    let kaimingNormal (gen: Generator) (dtype: DType) (shape: int[]) (a: float) (mode: FanMode) (nonlinearity: string) =
        let std = gain nonlinearity a / sqrt (float (fan "init.kaimingNormal" shape mode))
        normal gen dtype shape 0.0 std

    /// A (semi-)orthogonal matrix times gain (Saxe et al. 2013): QR of a Gaussian matrix with the signs of R's diagonal.
    let orthogonal (gen: Generator) (dtype: DType) (shape: int[]) (gain: float) =
        if shape.Length < 2 then
            invalidArg "shape" (sprintf "init.orthogonal: needs a shape of rank >= 2 (got %s)" (Shape.show shape))
        let rows = shape.[0]
        let cols = Shape.numel shape / rows
        // orthonormalise the columns of a tall Gaussian matrix by modified Gram-Schmidt
        let tall = max rows cols
        let short = min rows cols
        let q = Array.init short (fun _ -> Array.init tall (fun _ -> gen.NextNormal()))
        for j in 0 .. short - 1 do
            for i in 0 .. j - 1 do
                let d = Array.fold2 (fun s a b -> s + a * b) 0.0 q.[i] q.[j]
                for k in 0 .. tall - 1 do q.[j].[k] <- q.[j].[k] - d * q.[i].[k]
            let n = sqrt (Array.sumBy (fun v -> v * v) q.[j])
            for k in 0 .. tall - 1 do q.[j].[k] <- q.[j].[k] / n
        // rows x cols: columns of q when rows >= cols, else its transpose
        let data =
            Array.init (rows * cols) (fun idx ->
                let r, c = idx / cols, idx % cols
                gain * (if rows >= cols then q.[c].[r] else q.[r].[c]))
        let t = Create.ofFloat64 data shape
        Tensor(t.Raw.Cast dtype)

    /// torch's default for Linear and Conv weights: kaiming_uniform(a = √5), i.e. U(−1/√fan_in, 1/√fan_in).
    let torchDefaultWeight (gen: Generator) (dtype: DType) (shape: int[]) =
        kaimingUniform gen dtype shape (sqrt 5.0) FanIn "leaky_relu"

    /// torch's default bias for Linear and Conv: U(−1/√fan_in, 1/√fan_in).
    let torchDefaultBias (gen: Generator) (dtype: DType) (fanIn: int) (outFeatures: int) =
        let b = if fanIn > 0 then 1.0 / sqrt (float fanIn) else 0.0
        uniform gen dtype [| outFeatures |] (-b) b
