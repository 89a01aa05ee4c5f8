/// `hybrid demo`: fit a linear model y = Xw + b by full-batch gradient descent on the tape and
/// print the loss falling — the smallest end-to-end use of tensors, backward and an update.
module Hybrid.Cli.Demo

open Hybrid.Core

let run (steps: int) (lr: float) =
    let gen = Generator(42)
    let n, d = 256, 8
    let x = Create.randn gen Float64 [| n; d |]
    let wTrue = Create.randn gen Float64 [| d; 1 |]
    let noise = Create.randn gen Float64 [| n; 1 |] * 0.01
    let y = Reduction.sumDims [| 1 |] true (x * Reshaping.reshape [| 1; d |] wTrue) + noise
    let mutable w = Create.zeros Float64 [| d; 1 |]
    let mutable b = Create.zeros Float64 [| 1 |]
    printfn "fitting y = Xw + b (%d samples, %d features) by gradient descent, lr %g" n d lr
    for step in 0 .. steps do
        w.RequiresGrad <- true
        b.RequiresGrad <- true
        let pred = Reduction.sumDims [| 1 |] true (x * Reshaping.reshape [| 1; d |] w) + b
        let err = pred - y
        let loss = Reduction.sum (err * err) / float n
        Tape.backward loss
        if step % (max 1 (steps / 10)) = 0 then printfn "step %4d  loss %.6e" step loss.Item
        // θ ← θ − η ∇L(θ)
        use _ = GradMode.NoGrad()
        w <- w - w.Grad * lr
        b <- b - b.Grad * lr
    0
