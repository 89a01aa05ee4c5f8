namespace Hybrid.Core.Backends.Cpu

open System
open Hybrid.Core
open Hybrid.Core.Backends

/// Data movement without arithmetic: permute, slice, concat, gather and scatter over row-major arrays.
module Layout =

    /// y = x with its dims permuted: y.shape[i] = x.shape[dims[i]].
    let permute<'T> (x: 'T[]) (shape: int[]) (dims: int[]) : 'T[] =
        let rank = shape.Length
        let n = x.Length
        let y = OutputArrays.rentZeroed<'T> n
        if n > 0 then
            let outShape = dims |> Array.map (fun d -> shape.[d])
            let inStrides = Shape.strides shape
            // stride in x of each output dim
            let st = dims |> Array.map (fun d -> inStrides.[d])
            let inner = outShape.[rank - 1]
            let si = st.[rank - 1]
            let idx = Array.zeroCreate<int> rank
            for row in 0 .. n / inner - 1 do
                let mutable o = 0
                for d in 0 .. rank - 2 do o <- o + idx.[d] * st.[d]
                let baseY = row * inner
                for j in 0 .. inner - 1 do
                    y.[baseY + j] <- x.[o + j * si]
                let mutable d = rank - 2
                let mutable carry = true
                while carry && d >= 0 do
                    idx.[d] <- idx.[d] + 1
                    if idx.[d] = outShape.[d] then idx.[d] <- 0; d <- d - 1
                    else carry <- false
        y

    /// Visit every element of a slice: f (flat index in the full tensor) (flat index in the slice).
    let private iterSlice (shape: int[]) (starts: int[]) (stops: int[]) (steps: int[]) (f: int -> int -> unit) =
        let outShape = Geometry.sliceShape starts stops steps
        let n = Shape.numel outShape
        if n > 0 then
            let rank = shape.Length
            let st = Shape.strides shape
            let idx = Array.zeroCreate<int> rank
            for k in 0 .. n - 1 do
                let mutable o = 0
                for d in 0 .. rank - 1 do o <- o + (starts.[d] + idx.[d] * steps.[d]) * st.[d]
                f o k
                let mutable d = rank - 1
                let mutable carry = true
                while carry && d >= 0 do
                    idx.[d] <- idx.[d] + 1
                    if idx.[d] = outShape.[d] then idx.[d] <- 0; d <- d - 1
                    else carry <- false

    /// Elements starts..stops-1 by steps along each dim.
    let slice<'T> (x: 'T[]) (shape: int[]) (starts: int[]) (stops: int[]) (steps: int[]) : 'T[] =
        let y = OutputArrays.rentZeroed<'T> (Shape.numel (Geometry.sliceShape starts stops steps))
        iterSlice shape starts stops steps (fun o k -> y.[k] <- x.[o])
        y

    /// Zeros of fullShape with g written at the slice.
    let sliceScatter<'T> (g: 'T[]) (fullShape: int[]) (starts: int[]) (stops: int[]) (steps: int[]) : 'T[] =
        let y = OutputArrays.rentZeroed<'T> (Shape.numel fullShape)
        iterSlice fullShape starts stops steps (fun o k -> y.[o] <- g.[k])
        y

    /// Concatenate along dim; every part has the same shape except at dim.
    let concat<'T> (parts: ('T[] * int[])[]) (dim: int) : 'T[] * int[] =
        let shape0 = snd parts.[0]
        let outShape = Array.copy shape0
        outShape.[dim] <- parts |> Array.sumBy (fun (_, s) -> s.[dim])
        let outer = Shape.numel shape0.[.. dim - 1]
        let inner = Shape.numel shape0.[dim + 1 ..]
        let y = OutputArrays.rentZeroed<'T> (Shape.numel outShape)
        let rowOut = outShape.[dim] * inner
        let mutable offset = 0
        for (x, s) in parts do
            let row = s.[dim] * inner
            for o in 0 .. outer - 1 do
                Array.blit x (o * row) y (o * rowOut + offset) row
            offset <- offset + row
        y, outShape
