namespace Hybrid.Core.Optim

open System
open Hybrid.Core
open Hybrid.Core.Backends
open Hybrid.Core.Backends.Cpu

/// An optax-style gradient transformation: Update maps (state, updates, params) to (state', updates').
/// Transforms compose with `chain`; `toOptimizer` adds the updates to the parameters. These run one pass
/// per transform (not fused): the named optimizers (Adam, AdamW, SGD, ...) are the fused hot path.
type GradientTransformation =
    { /// The initial state for these parameters.
      Init: Tensor[] -> OptimState
      /// (state, updates, params) -> (state', updates').
      Update: OptimState -> Tensor[] -> Tensor[] -> OptimState * Tensor[] }

/// optax's transforms (optax/_src/transform.py, alias.py), with torch's placement of eps.
module Transform =
    let private raw (t: Tensor) = t.Raw
    let private add (a: RawTensor) (b: RawTensor) = a.Binary(Add, b)
    let private mul (a: RawTensor) (b: RawTensor) = a.Binary(Mul, b)
    let private scale (c: float) (a: RawTensor) = a.Unary(MulScalar c)
    let private stateless name (f: Tensor[] -> Tensor[] -> Tensor[]) =
        { Init = fun _ -> { Name = name; Step = 0L; Slots = [||]; Buffers = [||]; Scalars = [||]; Inner = [||] }
          Update = fun s u p ->
            if s.Name <> name then invalidOp (sprintf "%s: the state was made by '%s'" name s.Name)
            if u.Length <> p.Length then invalidArg "updates" (sprintf "%s: %d updates for %d parameters" name u.Length p.Length)
            { s with Step = s.Step + 1L }, f u p }

    /// u ← u + λθ (L2 regularization, coupled to the later scaling).
    let addWeightDecay (wd: float) =
        Hyper.nonNegative "add_weight_decay" "weightDecay" wd
        stateless "add_weight_decay" (fun u p -> Array.map2 (fun (u: Tensor) (p: Tensor) -> Tensor(add u.Raw (scale wd p.Raw))) u p)

    /// u ← −γu (optax.scale_by_learning_rate: descent direction).
    let scaleByLr (lr: float) =
        Hyper.lr "scale_by_lr" lr
        stateless "scale_by_lr" (fun u _ -> u |> Array.map (fun u -> Tensor(scale (-lr) u.Raw)))

    /// u ← clip_by_global_norm(u) (torch's clip_grad_norm_ formula).
    let clipByGlobalNorm (maxNorm: float) =
        Clip.byGlobalNorm maxNorm [||] |> ignore
        stateless "clip_by_global_norm" (fun u _ -> fst (Clip.byGlobalNorm maxNorm u))

    let private moments name slots (f: OptimState -> RawTensor[] -> RawTensor -> RawTensor[] * RawTensor) =
        { Init = fun ps -> Step.init name slots (fun _ p -> Step.zerosLike p) [||] ps
          Update = fun s u p ->
            Step.check name s u p
            let s1 = { s with Step = s.Step + 1L }
            let out = Array.map2 (f s1) s.Buffers (u |> Array.map raw)
            { s1 with Buffers = Array.map fst out }, out |> Array.map (snd >> Tensor) }

    /// Adam's scaling (Kingma & Ba 2015): m ← β₁m + (1−β₁)u; v ← β₂v + (1−β₂)u²;
    /// u ← (m/(1−β₁ᵗ)) / (√v/√(1−β₂ᵗ) + ε).
    let scaleByAdam (b1: float) (b2: float) (eps: float) =
        Adam.checkCommon "scale_by_adam" 0.0 b1 b2 eps 0.0
        moments "scale_by_adam" [| "mu"; "nu" |] (fun s bufs u ->
            let t = float s.Step
            let m = add (scale b1 bufs.[0]) (scale (1.0 - b1) u)
            let v = add (scale b2 bufs.[1]) (mul (scale (1.0 - b2) u) u)
            let denom = (scale (1.0 / sqrt (1.0 - b2 ** t)) (v.Unary Sqrt)).Unary(AddScalar eps)
            [| m; v |], (scale (1.0 / (1.0 - b1 ** t)) m).Binary(Div, denom))

    /// RMSprop's scaling (Hinton, lecture 6e): v ← αv + (1−α)u²; u ← u/(√v + ε) (eps outside the root, as torch).
    let scaleByRms (alpha: float) (eps: float) =
        Hyper.unitOpen "scale_by_rms" "alpha" alpha
        Hyper.positive "scale_by_rms" "eps" eps
        moments "scale_by_rms" [| "nu" |] (fun _ bufs u ->
            let v = add (scale alpha bufs.[0]) (mul (scale (1.0 - alpha) u) u)
            [| v |], u.Binary(Div, (v.Unary Sqrt).Unary(AddScalar eps)))

    /// Applies the transforms in order; the state's Inner holds each member's state.
    let chain (ts: GradientTransformation list) =
        let ts = Array.ofList ts
        { Init = fun ps -> { Name = "chain"; Step = 0L; Slots = [||]; Buffers = [||]; Scalars = [||]; Inner = ts |> Array.map (fun t -> t.Init ps) }
          Update = fun s u p ->
            if s.Name <> "chain" || s.Inner.Length <> ts.Length then
                invalidOp (sprintf "chain: the state was made by '%s' with %d members (expected 'chain' with %d)" s.Name s.Inner.Length ts.Length)
            let inner = Array.zeroCreate ts.Length
            let mutable u = u
            for i in 0 .. ts.Length - 1 do
                let si, ui = ts.[i].Update s.Inner.[i] u p
                inner.[i] <- si
                u <- ui
            { s with Step = s.Step + 1L; Inner = inner }, u }

    /// θ ← θ + u.
    let applyUpdates (ps: Tensor[]) (updates: Tensor[]) =
        Array.map2 (fun (p: Tensor) (u: Tensor) -> let t = Tensor(add p.Raw u.Raw) in (if p.RequiresGrad then t.RequiresGrad <- true); t) ps updates

    /// A transform as an optimizer: θ ← θ + transform(g). The in-place variant copies the result into the
    /// parameters' storage.
    let toOptimizer (name: string) (t: GradientTransformation) : Optimizer<OptimState> =
        let update s g p = let s', u = t.Update s g p in s', applyUpdates p u
        { Name = name; Init = t.Init; Update = update
          UpdateInPlace = fun s g p ->
            let s', ps' = update s g p
            Array.iter2 (fun (p: Tensor) (q: Tensor) ->
                match p.Raw, q.Raw with
                | (:? CpuRawTensor as a), (:? CpuRawTensor as b) ->
                    (match a.Storage, b.Storage with
                     | F32 x, F32 y -> Array.blit y 0 x 0 x.Length
                     | F64 x, F64 y -> Array.blit y 0 x 0 x.Length
                     | _ -> invalidOp (sprintf "%s: dtype changed" name))
                | _ -> invalidOp (sprintf "%s: in-place update needs cpu tensors" name)) p ps'
            s' }
