namespace Hybrid.Core.Optim

open System
open Hybrid.Core

/// Dense float64 vector arithmetic for the small linear algebra of line searches and quasi-Newton
/// updates (flat parameter vectors of a few thousand entries at most).
module Vec =
    /// xᵀy.
    let dot (x: float[]) (y: float[]) =
        let mutable s = 0.0
        for i in 0 .. x.Length - 1 do s <- s + x.[i] * y.[i]
        s
    /// x + a·y.
    let axpy (a: float) (y: float[]) (x: float[]) = Array.init x.Length (fun i -> x.[i] + a * y.[i])
    /// a·x.
    let scale (a: float) (x: float[]) = Array.map (fun v -> a * v) x
    /// x − y.
    let sub (x: float[]) (y: float[]) = Array.init x.Length (fun i -> x.[i] - y.[i])
    /// −x.
    let neg (x: float[]) = Array.map (fun v -> -v) x
    /// ‖x‖∞ = max |xᵢ| (0 for an empty vector).
    let normInf (x: float[]) = Array.fold (fun m v -> max m (abs v)) 0.0 x
    /// ‖x‖₂.
    let norm (x: float[]) = sqrt (dot x x)
    /// ‖x‖₁.
    let norm1 (x: float[]) = Array.sumBy abs x

/// Small dense matrices stored row-major in float[] (n×n). Factorisations and solves are in LinalgDecomp.
module Dense =
    /// The n×n identity scaled by a.
    let identity (n: int) (a: float) = Array.init (n * n) (fun k -> if k / n = k % n then a else 0.0)
    /// M·v for a row-major n×n M.
    let mulVec (n: int) (m: float[]) (v: float[]) =
        Array.init n (fun i ->
            let mutable s = 0.0
            for j in 0 .. n - 1 do s <- s + m.[i * n + j] * v.[j]
            s)

/// A smooth objective on a flat parameter vector: its value and gradient at a point.
/// Points and gradients travel as float64 arrays; `DType` is the dtype the tensors are evaluated in.
type Objective =
    { /// Number of parameters.
      Dim: int
      /// Dtype of the parameter tensor handed to the user's function.
      DType: DType
      /// (f(x), ∇f(x)).
      Eval: float[] -> float * float[] }

/// Build objectives from tensor functions (gradient from the tape) or explicit gradients.
module Objective =
    let private checkDType (op: string) (dtype: DType) =
        if not dtype.IsFloat then invalidArg "dtype" (sprintf "%s: parameters must be float32 or float64, got %O" op dtype)

    /// The flat parameter vector as a rank-1 tensor of the objective's dtype.
    let toTensor (dtype: DType) (x: float[]) : Tensor =
        match dtype with
        | Float32 -> Create.ofFloat32 (Array.map float32 x) [| x.Length |]
        | _ -> Create.ofFloat64 (Array.copy x) [| x.Length |]

    let private scalarOf (op: string) (y: Tensor) =
        if y.Numel <> 1 then invalidOp (sprintf "%s: the objective returned a tensor of shape %s (expected a scalar loss)" op (Shape.show y.Shape))
        y.Item

    /// f: Tensor → scalar Tensor, gradient by reverse mode (`Tape.gradWith`), evaluated in `dtype`.
    let ofTensorFn (dtype: DType) (dim: int) (f: Tensor -> Tensor) : Objective =
        checkDType "objective" dtype
        { Dim = dim
          DType = dtype
          Eval = fun x ->
            use _ = GradMode.EnableGrad()
            let xt = toTensor dtype x
            xt.RequiresGrad <- true
            let y = f xt
            let v = scalarOf "objective" y
            let g = if y.RequiresGrad then (Tape.gradWith [| y |] null [| xt |] false false).[0].ToFloat64Array() else Array.zeroCreate dim
            v, g }

    /// f and an explicit gradient function, both on tensors.
    let ofTensorFns (dtype: DType) (dim: int) (f: Tensor -> Tensor) (grad: Tensor -> Tensor) : Objective =
        checkDType "objective" dtype
        { Dim = dim
          DType = dtype
          Eval = fun x ->
            let xt = toTensor dtype x
            use _ = GradMode.NoGrad()
            scalarOf "objective" (f xt), (grad xt).ToFloat64Array() }

    /// f and ∇f on float64 arrays (no tensors involved).
    let ofArrays (dim: int) (f: float[] -> float) (grad: float[] -> float[]) : Objective =
        { Dim = dim; DType = Float64; Eval = fun x -> f x, grad x }

    /// Evaluate at a tensor point (checks it is a rank-1 vector of the objective's size).
    let evalAt (op: string) (obj: Objective) (x: Tensor) =
        if x.Rank <> 1 || x.Numel <> obj.Dim then
            invalidArg "x" (sprintf "%s: parameters must be a flat vector of %d elements, got shape %s" op obj.Dim (Shape.show x.Shape))
        let xs = x.ToFloat64Array()
        xs, obj.Eval xs

/// Argument checks shared by the optimizers: each throws before any state changes, naming the argument.
module internal Guard =
    let positive (op: string) (name: string) (v: float) =
        if Double.IsNaN v || not (v > 0.0) then
            raise (ArgumentOutOfRangeException(name, v, sprintf "%s: %s must be a positive number, got %g" op name v))
    let nonNegative (op: string) (name: string) (v: float) =
        if Double.IsNaN v || v < 0.0 then
            raise (ArgumentOutOfRangeException(name, v, sprintf "%s: %s must be >= 0, got %g" op name v))
    let atLeast (op: string) (name: string) (lo: int) (v: int) =
        if v < lo then
            raise (ArgumentOutOfRangeException(name, v, sprintf "%s: %s must be >= %d, got %d" op name lo v))
    let inOpen01 (op: string) (name: string) (v: float) =
        if Double.IsNaN v || not (v > 0.0 && v < 1.0) then
            raise (ArgumentOutOfRangeException(name, v, sprintf "%s: %s must lie in (0, 1), got %g" op name v))
