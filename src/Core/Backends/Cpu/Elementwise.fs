namespace Hybrid.Core.Backends.Cpu

open System
open System.Numerics
open System.Numerics.Tensors
open System.Runtime.Intrinsics
open System.Runtime.Intrinsics.X86
open Hybrid.Core.Backends

/// Generic SIMD kernels over spans for float32 and float64 (System.Numerics.Tensors does the vector work).
module Elementwise =

    /// v's lanes reordered by idx: one vpermps where AVX2 is there (Vector256.Shuffle is fast only for indices the JIT
    /// sees as constants, which a vector held in a local is not).
    let inline internal permute (v: Vector256<float32>) (idx: Vector256<int>) =
        if Avx2.IsSupported then Avx2.PermuteVar8x32(v, idx) else Vector256.Shuffle(v, idx)

    /// The even and the odd elements of the 16 floats at p[at..]: (p[at], p[at + 2], ..., p[at + 14]) and
    /// (p[at + 1], ..., p[at + 15]). Unchecked: the caller keeps the 16 inside p.
    let inline internal deinterleave (p: float32[]) (at: int) =
        let evenOdd = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7)
        let p0 = &System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference p
        let a = permute (Vector256.LoadUnsafe(&p0, unativeint at)) evenOdd
        let b = permute (Vector256.LoadUnsafe(&p0, unativeint (at + 8))) evenOdd
        struct (Vector256.Create(a.GetLower(), b.GetLower()), Vector256.Create(a.GetUpper(), b.GetUpper()))

    let inline private cast<'T when 'T :> INumberBase<'T>> (x: float) : 'T = 'T.CreateTruncating x
    /// IEEE comparisons without F#'s structural (slow, NaN-unaware) generic comparison.
    let inline gt<'T when 'T :> IComparisonOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_GreaterThan(a, b)
    let inline ge<'T when 'T :> IComparisonOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_GreaterThanOrEqual(a, b)
    let inline lt<'T when 'T :> IComparisonOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_LessThan(a, b)
    let inline le<'T when 'T :> IComparisonOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_LessThanOrEqual(a, b)
    let inline eq<'T when 'T :> IEqualityOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_Equality(a, b)
    let inline ne<'T when 'T :> IEqualityOperators<'T, 'T, bool>> (a: 'T) (b: 'T) = 'T.op_Inequality(a, b)
    /// A span's read-only view.
    let inline ro (s: Span<'T>) : ReadOnlySpan<'T> = Span<'T>.op_Implicit s
    let inline private toF<'T when 'T :> INumberBase<'T>> (x: 'T) : float = Double.CreateTruncating x

    /// y = op(x), same length.
    let unary<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (op: UnaryOp) (x: ReadOnlySpan<'T>) (y: Span<'T>) =
        match op with
        | Neg -> TensorPrimitives.Negate(x, y)
        | Abs -> TensorPrimitives.Abs(x, y)
        | Exp -> TensorPrimitives.Exp(x, y)
        | Log -> TensorPrimitives.Log(x, y)
        | Sqrt -> TensorPrimitives.Sqrt(x, y)
        | Sin -> TensorPrimitives.Sin(x, y)
        | Cos -> TensorPrimitives.Cos(x, y)
        | Tanh -> TensorPrimitives.Tanh(x, y)
        | Sigmoid -> TensorPrimitives.Sigmoid(x, y)
        | Relu -> TensorPrimitives.Max(x, 'T.Zero, y)
        | Square -> TensorPrimitives.Multiply(x, x, y)
        | Reciprocal -> TensorPrimitives.Divide('T.One, x, y)
        | Log1p -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (ScalarMath.log1p (toF x.[i]))
        | Expm1 -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (ScalarMath.expm1 (toF x.[i]))
        // the C runtime's float64 functions, rounded once: TensorPrimitives' vector sinh loses tiny arguments
        | Tan -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Tan (toF x.[i]))
        | Atan -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Atan (toF x.[i]))
        | Asin -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Asin (toF x.[i]))
        | Acos -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Acos (toF x.[i]))
        | Sinh -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Sinh (toF x.[i]))
        | Cosh -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (Math.Cosh (toF x.[i]))
        | Asinh -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (ScalarMath.asinh (toF x.[i]))
        | AddScalar c -> TensorPrimitives.Add(x, cast<'T> c, y)
        | MulScalar c -> TensorPrimitives.Multiply(x, cast<'T> c, y)
        | PowScalar p when p = 2.0 -> TensorPrimitives.Multiply(x, x, y)
        | PowScalar p -> TensorPrimitives.Pow(x, cast<'T> p, y)
        | Clamp (lo, hi) ->
            TensorPrimitives.Max(x, cast<'T> lo, y)
            TensorPrimitives.Min(ro y, cast<'T> hi, y)
        | Sign -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (float ('T.Sign x.[i]))
        | Positive ->
            // [x > 0] a vector at a time (NaN compares false: 0), the tail element by element
            let w = Vector<'T>.Count
            let mutable i = 0
            while i + w <= x.Length do
                Vector.ConditionalSelect(Vector.GreaterThan(Vector<'T>(x.Slice i), Vector<'T>.Zero), Vector<'T>.One, Vector<'T>.Zero).CopyTo(y.Slice i)
                i <- i + w
            while i < x.Length do
                y.[i] <- (if gt x.[i] 'T.Zero then 'T.One else 'T.Zero)
                i <- i + 1
        | Erf -> for i in 0 .. x.Length - 1 do y.[i] <- cast<'T> (ScalarMath.erf (toF x.[i]))
        | Softplus ->
            // softplus(x) = max(x,0) + log1p(exp(-|x|)), stable for large |x|
            for i in 0 .. x.Length - 1 do
                let v = toF x.[i]
                y.[i] <- cast<'T> (Math.Max(v, 0.0) + ScalarMath.log1p (Math.Exp(-(Math.Abs v))))
        | Gelu ->
            // gelu(x) = x·Φ(x) = x·½(1 + erf(x/√2))
            for i in 0 .. x.Length - 1 do
                let v = toF x.[i]
                y.[i] <- cast<'T> (0.5 * v * (1.0 + ScalarMath.erf (v / sqrt 2.0)))
        | LeakyRelu s ->
            let s = cast<'T> s
            for i in 0 .. x.Length - 1 do
                let v = x.[i]
                y.[i] <- if gt v 'T.Zero then v else s * v
        | Elu a ->
            let a = cast<'T> a
            for i in 0 .. x.Length - 1 do
                let v = x.[i]
                y.[i] <- if gt v 'T.Zero then v else a * ('T.Exp v - 'T.One)

    /// relu's backward in one pass: y = g·[x > 0] = (x > 0 ? g : 0) (NaN compares false: 0), a vector at a time.
    let reluBackward<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (g: ReadOnlySpan<'T>) (x: ReadOnlySpan<'T>) (y: Span<'T>) =
        let w = Vector<'T>.Count
        let mutable i = 0
        while i + w <= x.Length do
            Vector.ConditionalSelect(Vector.GreaterThan(Vector<'T>(x.Slice i), Vector<'T>.Zero), Vector<'T>(g.Slice i), Vector<'T>.Zero).CopyTo(y.Slice i)
            i <- i + w
        while i < x.Length do
            y.[i] <- (if gt x.[i] 'T.Zero then g.[i] else 'T.Zero)
            i <- i + 1

    let inline private b2t<'T when 'T :> INumberBase<'T>> (c: bool) = if c then 'T.One else 'T.Zero

    let private compareLoop<'T when 'T :> IFloatingPointIeee754<'T>> (op: BinaryOp) (a: ReadOnlySpan<'T>) (sa: int) (b: ReadOnlySpan<'T>) (sb: int) (y: Span<'T>) =
        for i in 0 .. y.Length - 1 do
            let u = a.[i * sa]
            let v = b.[i * sb]
            y.[i] <-
                match op with
                | Eq -> b2t (eq u v) | Ne -> b2t (ne u v) | Lt -> b2t (lt u v)
                | Le -> b2t (le u v) | Gt -> b2t (gt u v) | _ -> b2t (ge u v)

    /// y = a op b where both runs have y's length.
    let binarySS<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (op: BinaryOp) (a: ReadOnlySpan<'T>) (b: ReadOnlySpan<'T>) (y: Span<'T>) =
        match op with
        | Add -> TensorPrimitives.Add(a, b, y)
        | Sub -> TensorPrimitives.Subtract(a, b, y)
        | Mul -> TensorPrimitives.Multiply(a, b, y)
        | Div -> TensorPrimitives.Divide(a, b, y)
        | Pow -> TensorPrimitives.Pow(a, b, y)
        | Maximum -> TensorPrimitives.Max(a, b, y)
        | Minimum -> TensorPrimitives.Min(a, b, y)
        // element by element: a vectorised hypot would square its inputs (overflow above 1e154)
        | Atan2 -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Atan2(a.[i], b.[i])
        | Hypot -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Hypot(a.[i], b.[i])
        | _ -> compareLoop op a 1 b 1 y

    /// y = a op s where s is a scalar.
    let binarySV<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (op: BinaryOp) (a: ReadOnlySpan<'T>) (s: 'T) (y: Span<'T>) =
        match op with
        | Add -> TensorPrimitives.Add(a, s, y)
        | Sub -> TensorPrimitives.Subtract(a, s, y)
        | Mul -> TensorPrimitives.Multiply(a, s, y)
        | Div -> TensorPrimitives.Divide(a, s, y)
        | Pow -> TensorPrimitives.Pow(a, s, y)
        | Maximum -> TensorPrimitives.Max(a, s, y)
        | Minimum -> TensorPrimitives.Min(a, s, y)
        | Atan2 -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Atan2(a.[i], s)
        | Hypot -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Hypot(a.[i], s)
        | _ -> compareLoop op a 1 (ReadOnlySpan<'T>([| s |])) 0 y

    /// y = s op b where s is a scalar.
    let binaryVS<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (op: BinaryOp) (s: 'T) (b: ReadOnlySpan<'T>) (y: Span<'T>) =
        match op with
        | Add -> TensorPrimitives.Add(b, s, y)
        | Sub -> TensorPrimitives.Subtract(s, b, y)
        | Mul -> TensorPrimitives.Multiply(b, s, y)
        | Div -> TensorPrimitives.Divide(s, b, y)
        | Pow -> TensorPrimitives.Pow(s, b, y)
        | Maximum -> TensorPrimitives.Max(b, s, y)
        | Minimum -> TensorPrimitives.Min(b, s, y)
        | Atan2 -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Atan2(s, b.[i])
        | Hypot -> for i in 0 .. y.Length - 1 do y.[i] <- 'T.Hypot(s, b.[i])
        | _ -> compareLoop op (ReadOnlySpan<'T>([| s |])) 0 b 1 y

    /// Ops of a few cycles an element, split over the cores only for large tensors (`Par.cheapGrain`).
    let isCheapBinary (op: BinaryOp) = match op with Pow | Atan2 | Hypot -> false | _ -> true

    /// Unary ops of a few cycles an element (no transcendental function).
    let isCheapUnary (op: UnaryOp) =
        match op with
        | Neg | Abs | Relu | Sign | Square | Reciprocal | LeakyRelu _ | Clamp _ | AddScalar _ | MulScalar _ | Positive -> true
        | _ -> false

    /// out = a op b with NumPy broadcasting; the innermost run goes through the SIMD span kernels.
    let binary<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (op: BinaryOp) (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) (outShape: int[]) : 'T[] =
        let n = Hybrid.Core.Shape.numel outShape
        // every element is written below, so the output is not zeroed first
        let y = OutputArrays.rent<'T> n
        if n > 0 then
            let split = if isCheapBinary op then Par.elementwiseCheap else Par.elementwise
            if a.Length = n && b.Length = n then
                split n (fun s e -> binarySS op (ReadOnlySpan(a, s, e - s)) (ReadOnlySpan(b, s, e - s)) (Span(y, s, e - s)))
            elif b.Length = 1 && a.Length = n then
                split n (fun s e -> binarySV op (ReadOnlySpan(a, s, e - s)) b.[0] (Span(y, s, e - s)))
            elif a.Length = 1 && b.Length = n then
                split n (fun s e -> binaryVS op a.[0] (ReadOnlySpan(b, s, e - s)) (Span(y, s, e - s)))
            else
                let rank = outShape.Length
                let sa = Geometry.broadcastStrides aShape outShape
                let sb = Geometry.broadcastStrides bShape outShape
                let inner = outShape.[rank - 1]
                let outer = n / inner
                let ia, ib = sa.[rank - 1], sb.[rank - 1]
                Par.chunks outer (max 1 (Par.grain / max 1 inner)) (fun s e ->
                    let idx = Array.zeroCreate<int> rank
                    // position idx at row s
                    let mutable r = s
                    for d in rank - 2 .. -1 .. 0 do
                        idx.[d] <- r % outShape.[d]
                        r <- r / outShape.[d]
                    for row in s .. e - 1 do
                        let mutable oa = 0
                        let mutable ob = 0
                        for d in 0 .. rank - 2 do
                            oa <- oa + idx.[d] * sa.[d]
                            ob <- ob + idx.[d] * sb.[d]
                        let dst = Span(y, row * inner, inner)
                        match ia, ib with
                        | 1, 1 -> binarySS op (ReadOnlySpan(a, oa, inner)) (ReadOnlySpan(b, ob, inner)) dst
                        | 1, 0 -> binarySV op (ReadOnlySpan(a, oa, inner)) b.[ob] dst
                        | 0, 1 -> binaryVS op a.[oa] (ReadOnlySpan(b, ob, inner)) dst
                        | _ ->
                            // both broadcast along the last dim: one value
                            let v = Array.zeroCreate<'T> 1
                            binarySS op (ReadOnlySpan(a, oa, 1)) (ReadOnlySpan(b, ob, 1)) (Span v)
                            dst.Fill v.[0]
                        // advance the row index
                        let mutable d = rank - 2
                        let mutable carry = true
                        while carry && d >= 0 do
                            idx.[d] <- idx.[d] + 1
                            if idx.[d] = outShape.[d] then idx.[d] <- 0; d <- d - 1
                            else carry <- false)
        y

    /// Materialise `x` (of `shape`) broadcast to `outShape`.
    let expand<'T> (x: 'T[]) (shape: int[]) (outShape: int[]) : 'T[] =
        let n = Hybrid.Core.Shape.numel outShape
        let y = OutputArrays.rentZeroed<'T> n
        if n > 0 then
            let rank = outShape.Length
            let sx = Geometry.broadcastStrides shape outShape
            let idx = Array.zeroCreate<int> rank
            let inner = outShape.[rank - 1]
            let ix = sx.[rank - 1]
            for row in 0 .. n / inner - 1 do
                let mutable o = 0
                for d in 0 .. rank - 2 do o <- o + idx.[d] * sx.[d]
                if ix = 1 then Array.blit x o y (row * inner) inner
                else Array.fill y (row * inner) inner x.[o]
                let mutable d = rank - 2
                let mutable carry = true
                while carry && d >= 0 do
                    idx.[d] <- idx.[d] + 1
                    if idx.[d] = outShape.[d] then idx.[d] <- 0; d <- d - 1
                    else carry <- false
        y

    /// Sum over one dim of a tensor viewed as [outer, dim, inner].
    let sumDim<'T when 'T :> IFloatingPointIeee754<'T> and 'T: (new: unit -> 'T) and 'T: struct and 'T :> ValueType>
        (x: 'T[]) (outer: int) (dim: int) (inner: int) : 'T[] =
        let y = OutputArrays.rentZeroed<'T> (outer * inner)
        if inner = 1 then
            Par.chunks outer (max 1 (Par.grain / max 1 dim)) (fun s e ->
                for o in s .. e - 1 do y.[o] <- TensorPrimitives.Sum(ReadOnlySpan(x, o * dim, dim)))
        else
            Par.chunks outer (max 1 (Par.grain / max 1 (dim * inner))) (fun s e ->
                for o in s .. e - 1 do
                    let dst = Span(y, o * inner, inner)
                    for k in 0 .. dim - 1 do
                        TensorPrimitives.Add(ro dst, ReadOnlySpan(x, (o * dim + k) * inner, inner), dst))
        y

    /// Max (or min) over one dim of [outer, dim, inner]: values and the index of the first extreme.
    let extremeDim<'T when 'T :> IFloatingPointIeee754<'T>> (isMax: bool) (x: 'T[]) (outer: int) (dim: int) (inner: int) : 'T[] * int64[] =
        let y = OutputArrays.rentZeroed<'T> (outer * inner)
        let ix = OutputArrays.rentZeroed<int64> (outer * inner)
        for o in 0 .. outer - 1 do
            for i in 0 .. inner - 1 do
                let mutable best = x.[o * dim * inner + i]
                let mutable bi = 0
                for k in 1 .. dim - 1 do
                    let v = x.[(o * dim + k) * inner + i]
                    if (isMax && (gt v best || ('T.IsNaN v && not ('T.IsNaN best)))) || (not isMax && (lt v best || ('T.IsNaN v && not ('T.IsNaN best)))) then
                        best <- v
                        bi <- k
                y.[o * inner + i] <- best
                ix.[o * inner + i] <- int64 bi
        y, ix

    /// out = cond ? a : b, all three broadcast to outShape (cond is nonzero = true).
    let where<'T when 'T :> IFloatingPointIeee754<'T>> (c: 'T[]) (cShape: int[]) (a: 'T[]) (aShape: int[]) (b: 'T[]) (bShape: int[]) (outShape: int[]) : 'T[] =
        let n = Hybrid.Core.Shape.numel outShape
        let c' = if c.Length = n then c else expand c cShape outShape
        let a' = if a.Length = n then a else expand a aShape outShape
        let b' = if b.Length = n then b else expand b bShape outShape
        Array.init n (fun i -> if ne c'.[i] 'T.Zero then a'.[i] else b'.[i])
