namespace Hybrid.Core.Backends.Ilgpu

open ILGPU

/// The running-sum and running-product kernels of the ILGPU backend (the CPU's `Scan.run`): one thread per line of
/// [outer, dim, inner], accumulating in float64 and rounding once per element, forwards or from the end (reverse = 1).
type ScanKernels =
    /// Inclusive scan (prod = 1: product, else sum) of float32 lines.
    static member Scan32(i: Index1D, x: ArrayView<float32>, y: ArrayView<float32>, dim: int, inner: int, prod: int, reverse: int) =
        let o = i.X / inner
        let c = i.X % inner
        let mutable acc = if prod = 1 then 1.0 else 0.0
        for j in 0 .. dim - 1 do
            let k = if reverse = 1 then dim - 1 - j else j
            let at = (o * dim + k) * inner + c
            acc <- if prod = 1 then acc * float x.[at] else acc + float x.[at]
            y.[at] <- float32 acc
    /// Inclusive scan (prod = 1: product, else sum) of float64 lines.
    static member Scan64(i: Index1D, x: ArrayView<float>, y: ArrayView<float>, dim: int, inner: int, prod: int, reverse: int) =
        let o = i.X / inner
        let c = i.X % inner
        let mutable acc = if prod = 1 then 1.0 else 0.0
        for j in 0 .. dim - 1 do
            let k = if reverse = 1 then dim - 1 - j else j
            let at = (o * dim + k) * inner + c
            acc <- if prod = 1 then acc * x.[at] else acc + x.[at]
            y.[at] <- acc
