namespace Hybrid.Core

/// Element types a tensor can hold.
type DType =
    | Float32
    | Float64
    /// Integer indices (argmax, gather, class targets); only layout ops and comparisons accept them.
    | Int64
    /// Bytes per element.
    member d.Size = match d with Float32 -> 4 | Float64 | Int64 -> 8
    /// True for float32 and float64.
    member d.IsFloat = match d with Int64 -> false | _ -> true
    override d.ToString() = match d with Float32 -> "float32" | Float64 -> "float64" | Int64 -> "int64"

/// Where a tensor's storage lives. `Cpu` is the managed SIMD backend; ILGPU devices slot in beside it.
[<CustomEquality; NoComparison>]
type Device =
    | Cpu
    | Ilgpu of kind: string * index: int
    override d.ToString() = match d with Cpu -> "cpu" | Ilgpu (k, i) -> sprintf "%s:%d" k i
    override d.Equals(o) = match o with :? Device as e -> d.ToString() = e.ToString() | _ -> false
    override d.GetHashCode() = d.ToString().GetHashCode()
