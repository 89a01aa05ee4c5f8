namespace Hybrid.Core.Optim

open System
open System.Numerics
open System.Runtime.Intrinsics
open System.Threading.Tasks

/// A scalar of a float type with arithmetic operators, so that an update rule's scalar `Invoke` reads
/// like its `Vector256` twin (F# cannot use `+` on a bare generic 'T outside inline code).
[<Struct; NoEquality; NoComparison>]
type Num<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>> =
    /// The wrapped value.
    val V: 'T
    /// Wrap a value.
    new(v) = { V = v }
    static member (+)(a: Num<'T>, b: Num<'T>) = Num<'T>('T.op_Addition(a.V, b.V))
    static member (-)(a: Num<'T>, b: Num<'T>) = Num<'T>('T.op_Subtraction(a.V, b.V))
    static member (*)(a: Num<'T>, b: Num<'T>) = Num<'T>('T.op_Multiply(a.V, b.V))
    static member (/)(a: Num<'T>, b: Num<'T>) = Num<'T>('T.op_Division(a.V, b.V))
    static member (~-)(a: Num<'T>) = Num<'T>('T.op_UnaryNegation a.V)
    /// Square root (IEEE, correctly rounded like Vector256.Sqrt).
    static member Sqrt(a: Num<'T>) = Num<'T>('T.Sqrt a.V)
    /// Absolute value.
    static member Abs(a: Num<'T>) = Num<'T>('T.Abs a.V)
    /// The larger of two values (NaN propagates, as torch.maximum and Vector256.Max).
    static member Max(a: Num<'T>, b: Num<'T>) = Num<'T>('T.Max(a.V, b.V))
    /// The smaller of two values.
    static member Min(a: Num<'T>, b: Num<'T>) = Num<'T>('T.Min(a.V, b.V))
    /// a > b.
    static member Gt(a: Num<'T>, b: Num<'T>) = 'T.op_GreaterThan(a.V, b.V)
    /// a < b.
    static member Lt(a: Num<'T>, b: Num<'T>) = 'T.op_LessThan(a.V, b.V)
    /// torch.sign: -1, 0 or 1.
    static member Sign(a: Num<'T>) =
        if 'T.op_GreaterThan(a.V, 'T.Zero) then Num<'T>('T.One)
        elif 'T.op_LessThan(a.V, 'T.Zero) then Num<'T>('T.op_UnaryNegation 'T.One)
        else Num<'T>('T.Zero)

/// A switch inside a rule, stored as a byte: .NET's bool is not blittable, and ILGPU rejects a kernel
/// argument (the rule struct) that holds one ("Type 'AdamRule`1[System.Single]' is not blittable").
[<Struct; NoEquality; NoComparison>]
type Flag =
    /// 1 for on, 0 for off.
    val Value: byte
    /// A flag from a bool.
    new(on: bool) = { Value = if on then 1uy else 0uy }
    /// True when on.
    member f.On = f.Value <> 0uy

/// Vector256 helpers the rules share with the scalar side.
module V =
    /// A float64 hyperparameter in the rule's element type.
    let inline ofFloat<'T when 'T :> INumberBase<'T>> (x: float) : 'T = 'T.CreateTruncating x
    /// Broadcast a scalar.
    let inline all (x: 'T) = Vector256.Create<'T> x
    /// torch.sign on lanes: -1, 0 or 1.
    let inline sign (x: Vector256<'T>) =
        let z = Vector256<'T>.Zero
        let one = Vector256<'T>.One
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, z), one,
            Vector256.ConditionalSelect(Vector256.LessThan(x, z), -one, z))

/// The values one update rule sees at one element (or one vector of elements): the parameter P and
/// up to three state slots A, B, C. The rule reads them and writes their new values in place.
[<Struct; NoEquality; NoComparison>]
type Lane<'V> = { mutable P: 'V; mutable A: 'V; mutable B: 'V; mutable C: 'V }

/// The per-element rule of an optimizer, written once in the TensorPrimitives manner: a scalar `Invoke`
/// (what an ILGPU kernel specializes on) and a `Vector256` `Invoke` (the SIMD CPU loop), side by side.
/// Both must compute the same IEEE operations in the same order (no FMA), so results do not depend on
/// which lanes take the vector path.
/// Implementations mark both `AggressiveInlining`: the driver's loop then keeps the lanes in registers instead of
/// calling the rule once per vector with the lanes spilled to memory (a call costs more than a memory-bound rule).
type IRule<'T when 'T: struct and 'T :> IFloatingPointIeee754<'T>> =
    /// One element: g is the gradient, x the parameter and state slots, updated in place.
    abstract Invoke: g: Num<'T> * x: byref<Lane<Num<'T>>> -> unit
    /// Vector256<'T>.Count elements at once.
    abstract Invoke: g: Vector256<'T> * x: byref<Lane<Vector256<'T>>> -> unit

/// The CPU driver: one fused pass of a rule over p, g and the state slots, multi-threaded for large
/// tensors. `src` and `dst` hold [| p; a; b; c |] (null for a slot the rule does not use); dst may be src
/// (in place) or fresh arrays (pure).
module Fused =
    /// Elements per thread below which the pass stays on the calling thread.
    let grain = 1 <<< 16

    let inline private load (a: 'T[]) (i: int) = if isNull a then Vector256<'T>.Zero else Vector256.LoadUnsafe(&a.[i])
    let inline private store (a: 'T[]) (i: int) (v: Vector256<'T>) = if not (isNull a) then v.StoreUnsafe(&a.[i])
    let inline private get (a: 'T[]) (i: int) = if isNull a then Num<'T>('T.Zero) else Num<'T>(a.[i])
    let inline private set (a: 'T[]) (i: int) (v: Num<'T>) = if not (isNull a) then a.[i] <- v.V

    /// Runs the rule over elements [s, e).
    let private span<'T, 'R when 'T: struct and 'T :> IFloatingPointIeee754<'T> and 'R: struct and 'R :> IRule<'T>>
        (rule: 'R) (g: 'T[]) (src: 'T[][]) (dst: 'T[][]) (s: int) (e: int) =
        let mutable rule = rule
        let p, a, b, c = src.[0], src.[1], src.[2], src.[3]
        let p', a', b', c' = dst.[0], dst.[1], dst.[2], dst.[3]
        let w = Vector256<'T>.Count
        let mutable i = s
        while i + w <= e do
            let mutable x = { P = load p i; A = load a i; B = load b i; C = load c i }
            rule.Invoke(Vector256.LoadUnsafe(&g.[i]), &x)
            store p' i x.P; store a' i x.A; store b' i x.B; store c' i x.C
            i <- i + w
        while i < e do
            let mutable x = { P = get p i; A = get a i; B = get b i; C = get c i }
            rule.Invoke(Num<'T>(g.[i]), &x)
            set p' i x.P; set a' i x.A; set b' i x.B; set c' i x.C
            i <- i + 1

    /// One fused pass over n = g.Length elements, split into vector-aligned chunks over the cores.
    let run<'T, 'R when 'T: struct and 'T :> IFloatingPointIeee754<'T> and 'R: struct and 'R :> IRule<'T>>
        (rule: 'R) (g: 'T[]) (src: 'T[][]) (dst: 'T[][]) =
        let n = g.Length
        let w = Vector256<'T>.Count
        let k = min Environment.ProcessorCount (max 1 (n / grain))
        if k <= 1 then span rule g src dst 0 n
        else
            let size = ((n + k - 1) / k + w - 1) / w * w
            Parallel.For(0, k, fun c ->
                let s = c * size
                let e = min n (s + size)
                if s < e then span rule g src dst s e) |> ignore
