namespace Hybrid.Core.Backends.Cpu

open System
open System.Threading.Tasks

/// Splitting loops over the machine's cores: small work runs inline, large work in a few chunks.
module Par =
    /// Work below this many elements runs on the calling thread (thread hand-off costs ~µs).
    let grain = 1 <<< 15

    /// The same for elementwise ops of a few cycles an element (add, mul, relu, comparisons): a 2-way
    /// hand-off costs 10-20 µs here, what one core needs for ~250K such elements (measured: a 65K-element
    /// add took 7.6 µs inline and 20 µs split over the two cores).
    let cheapGrain = 1 <<< 18

    /// Calls body(start, stop) over [0, n) in at most ProcessorCount chunks of at least `minChunk`.
    let chunks (n: int) (minChunk: int) (body: int -> int -> unit) =
        let p = Environment.ProcessorCount
        let k = min p (max 1 (n / max 1 minChunk))
        if k <= 1 then body 0 n
        else
            let size = (n + k - 1) / k
            Parallel.For(0, k, fun c ->
                let s = c * size
                let e = min n (s + size)
                if s < e then body s e) |> ignore

    /// Elementwise chunks: inline under `grain` elements.
    let elementwise (n: int) (body: int -> int -> unit) = chunks n grain body

    /// Chunks of a cheap elementwise op: inline under `cheapGrain` elements.
    let elementwiseCheap (n: int) (body: int -> int -> unit) = chunks n cheapGrain body
