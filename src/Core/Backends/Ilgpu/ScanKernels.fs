namespace Hybrid.Core.Backends.Ilgpu

open ILGPU

/// The running-sum and running-product kernel of the ILGPU backend (the CPU's `Scan.run`): one thread per line of
/// [outer, dim, inner], accumulating in float64 and rounding once per element, forwards or from the end (reverse = 1).
type ScanKernels =
    /// Inclusive scan (prod = 1: product, else sum) of lines, written once over the element type (read through 'W).
    static member Scan<'T, 'W when 'T: unmanaged and 'T: struct and 'T: (new: unit -> 'T) and 'T :> System.ValueType and 'W: struct and 'W :> IWiden<'T>>(i: Index1D, x: ArrayView<'T>, y: ArrayView<'T>, dim: int, inner: int, prod: int, reverse: int) =
        let mutable w = Unchecked.defaultof<'W>
        let o = i.X / inner
        let c = i.X % inner
        let mutable acc = if prod = 1 then 1.0 else 0.0
        for j in 0 .. dim - 1 do
            let k = if reverse = 1 then dim - 1 - j else j
            let at = (o * dim + k) * inner + c
            acc <- if prod = 1 then acc * w.Widen x.[at] else acc + w.Widen x.[at]
            y.[at] <- w.Narrow acc
