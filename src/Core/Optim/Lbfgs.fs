namespace Hybrid.Core.Optim

open System
open Hybrid.Core

/// Line search used by L-BFGS (torch's `line_search_fn`).
type LbfgsLineSearch =
    /// No search: move by lr (torch's None).
    | NoLineSearch
    /// torch's "strong_wolfe" (c1 = 1e-4, c2 = 0.9, 25 evaluations).
    | StrongWolfe

/// torch.optim.LBFGS options, same names, meanings and defaults.
type LbfgsHyper =
    { Lr: float
      /// Most inner iterations per step.
      MaxIter: int
      /// Most objective evaluations per step (torch: max_iter·5/4).
      MaxEval: int
      /// Stop when ‖∇f‖∞ ≤ this.
      ToleranceGrad: float
      /// Stop when the loss or the step changes less than this.
      ToleranceChange: float
      /// Number of (s, y) pairs kept.
      HistorySize: int
      LineSearch: LbfgsLineSearch }

/// torch's LBFGS state, field for field (all plain values: serializable exactly). Empty arrays and NaN
/// stand for torch's missing entries before the first step.
type LbfgsState =
    { FuncEvals: int
      NIter: int
      /// Last search direction d.
      D: float[]
      /// Last step length t.
      T: float
      /// y vectors (oldest first).
      OldDirs: float[][]
      /// s vectors (oldest first).
      OldStps: float[][]
      /// ρᵢ = 1/(yᵢᵀsᵢ).
      Ro: float[]
      /// γ = yᵀs / yᵀy, the initial inverse-Hessian scale.
      HDiag: float
      PrevFlatGrad: float[]
      PrevLoss: float
      /// Two-loop scratch αᵢ (torch keeps it in the state).
      Al: float[] }

/// One `step`: the new state, the new parameters, and the loss at the parameters the step started from
/// (what torch's `step(closure)` returns).
type LbfgsStepResult =
    { State: LbfgsState
      Params: Tensor
      Loss: float }

/// L-BFGS equal to torch.optim.LBFGS (1.13): one `step` = one `optimizer.step(closure)`.
module Lbfgs =

    /// torch's defaults: lr 1, max_iter 20, max_eval 25, tolerance_grad 1e-7, tolerance_change 1e-9,
    /// history_size 100, no line search.
    let defaults =
        { Lr = 1.0; MaxIter = 20; MaxEval = 25; ToleranceGrad = 1e-7; ToleranceChange = 1e-9; HistorySize = 100; LineSearch = NoLineSearch }

    /// torch's option names; maxEval None gives max_iter·5/4; lineSearchFn is null/"" or "strong_wolfe".
    let create (lr: float) (maxIter: int) (maxEval: int option) (toleranceGrad: float) (toleranceChange: float) (historySize: int) (lineSearchFn: string) =
        let ls =
            match lineSearchFn with
            | null | "" -> NoLineSearch
            | "strong_wolfe" -> StrongWolfe
            | other -> invalidArg "lineSearchFn" (sprintf "lbfgs: line_search_fn must be None or \"strong_wolfe\", got \"%s\"" other)
        { Lr = lr; MaxIter = maxIter; MaxEval = defaultArg maxEval (maxIter * 5 / 4); ToleranceGrad = toleranceGrad
          ToleranceChange = toleranceChange; HistorySize = historySize; LineSearch = ls }

    /// Throws (naming the argument and its value) on a bad option.
    let check (h: LbfgsHyper) =
        Hyper.lr "lbfgs" h.Lr
        Guard.atLeast "lbfgs" "maxIter" 1 h.MaxIter
        Guard.atLeast "lbfgs" "maxEval" 1 h.MaxEval
        Guard.nonNegative "lbfgs" "toleranceGrad" h.ToleranceGrad
        Guard.nonNegative "lbfgs" "toleranceChange" h.ToleranceChange
        Guard.atLeast "lbfgs" "historySize" 1 h.HistorySize

    /// The state before the first step.
    let init () =
        { FuncEvals = 0; NIter = 0; D = [||]; T = nan; OldDirs = [||]; OldStps = [||]; Ro = [||]
          HDiag = nan; PrevFlatGrad = [||]; PrevLoss = nan; Al = [||] }

    /// Two-loop recursion (N&W Alg. 7.4): r = H·(−g) with H₀ = hDiag·I, torch's order of operations.
    let private twoLoop (g: float[]) (oldDirs: float[][]) (oldStps: float[][]) (ro: float[]) (hDiag: float) (al: float[]) =
        let q = Vec.neg g
        for i in oldDirs.Length - 1 .. -1 .. 0 do
            al.[i] <- Vec.dot oldStps.[i] q * ro.[i]
            let y = oldDirs.[i]
            for k in 0 .. q.Length - 1 do q.[k] <- q.[k] + (-al.[i]) * y.[k]
        let r = Vec.scale hDiag q
        for i in 0 .. oldDirs.Length - 1 do
            let beI = Vec.dot oldDirs.[i] r * ro.[i]
            let s = oldStps.[i]
            for k in 0 .. r.Length - 1 do r.[k] <- r.[k] + (al.[i] - beI) * s.[k]
        r

    /// One torch `LBFGS.step(closure)`: up to maxIter L-BFGS iterations from x, each with a fixed step lr
    /// (the first scaled by min(1, 1/‖g‖₁)) or a strong-Wolfe search. The objective is the closure.
    let step (hyper: LbfgsHyper) (obj: Objective) (state: LbfgsState) (x: Tensor) : LbfgsStepResult =
        check hyper
        let x0, (origLoss, g0) = Objective.evalAt "lbfgs" obj x
        let mutable x = Array.copy x0
        let mutable loss = origLoss
        let mutable flatGrad = g0
        let mutable currentEvals = 1
        let mutable funcEvals = state.FuncEvals + 1
        let mutable stateNIter = state.NIter
        let mutable optCond = Vec.normInf flatGrad <= hyper.ToleranceGrad
        let mutable d, t = state.D, state.T
        let mutable oldDirs, oldStps, ro = state.OldDirs, state.OldStps, state.Ro
        let mutable hDiag = state.HDiag
        let mutable prevFlatGrad, prevLoss = state.PrevFlatGrad, state.PrevLoss
        let mutable al = Array.copy state.Al
        if optCond then
            // already optimal: torch returns before touching anything but func_evals
            { State = { state with FuncEvals = funcEvals }; Params = Objective.toTensor obj.DType x0; Loss = origLoss }
        else
        let mutable nIter = 0
        let mutable running = true
        while running && nIter < hyper.MaxIter do
            nIter <- nIter + 1
            stateNIter <- stateNIter + 1
            // direction: steepest descent first, then the L-BFGS two-loop product
            if stateNIter = 1 then
                d <- Vec.neg flatGrad
                oldDirs <- [||]; oldStps <- [||]; ro <- [||]
                hDiag <- 1.0
            else
                let y = Vec.sub flatGrad prevFlatGrad
                let s = Vec.scale t d
                let ys = Vec.dot y s
                if ys > 1e-10 then
                    let keep (a: 'a[]) = if a.Length = hyper.HistorySize then a.[1..] else a
                    oldDirs <- Array.append (keep oldDirs) [| y |]
                    oldStps <- Array.append (keep oldStps) [| s |]
                    ro <- Array.append (keep ro) [| 1.0 / ys |]
                    hDiag <- ys / Vec.dot y y
                if al.Length = 0 then al <- Array.zeroCreate hyper.HistorySize
                d <- twoLoop flatGrad oldDirs oldStps ro hDiag al
            prevFlatGrad <- Array.copy flatGrad
            prevLoss <- loss
            // step length: min(1, 1/‖g‖₁)·lr on the very first iteration, lr afterwards
            t <- if stateNIter = 1 then min 1.0 (1.0 / Vec.norm1 flatGrad) * hyper.Lr else hyper.Lr
            let gtd = Vec.dot flatGrad d
            if gtd > -hyper.ToleranceChange then running <- false
            else
                let mutable lsFuncEvals = 0
                match hyper.LineSearch with
                | StrongWolfe ->
                    let ls = LineSearch.strongWolfe obj x t d loss flatGrad gtd 1e-4 0.9 hyper.ToleranceChange 25
                    loss <- ls.Value; flatGrad <- ls.Grad; t <- ls.Step; lsFuncEvals <- ls.Evals
                    x <- Vec.axpy t d x
                    optCond <- Vec.normInf flatGrad <= hyper.ToleranceGrad
                | NoLineSearch ->
                    x <- Vec.axpy t d x
                    // re-evaluate only if not in the last iteration
                    if nIter <> hyper.MaxIter then
                        let f, g = obj.Eval x
                        loss <- f; flatGrad <- g
                        optCond <- Vec.normInf flatGrad <= hyper.ToleranceGrad
                        lsFuncEvals <- 1
                currentEvals <- currentEvals + lsFuncEvals
                funcEvals <- funcEvals + lsFuncEvals
                // stopping conditions
                if nIter = hyper.MaxIter then running <- false
                elif currentEvals >= hyper.MaxEval then running <- false
                elif optCond then running <- false
                elif Vec.normInf (Vec.scale t d) <= hyper.ToleranceChange then running <- false
                elif abs (loss - prevLoss) < hyper.ToleranceChange then running <- false
        { State =
            { FuncEvals = funcEvals; NIter = stateNIter; D = d; T = t; OldDirs = oldDirs; OldStps = oldStps; Ro = ro
              HDiag = hDiag; PrevFlatGrad = prevFlatGrad; PrevLoss = prevLoss; Al = al }
          Params = Objective.toTensor obj.DType x
          Loss = origLoss }

    /// Call `step` `steps` times from x0; returns the parameters after each step (x0's first) and the
    /// loss each step returned.
    let minimize (hyper: LbfgsHyper) (obj: Objective) (x0: Tensor) (steps: int) =
        check hyper
        Guard.atLeast "lbfgs" "steps" 0 steps
        let rec go k (s: LbfgsState) (x: Tensor) ps losses =
            if k = steps then List.rev ps |> Array.ofList, List.rev losses |> Array.ofList
            else
                let r = step hyper obj s x
                go (k + 1) r.State r.Params (r.Params :: ps) (r.Loss :: losses)
        go 0 (init ()) x0 [ x0 ] []
