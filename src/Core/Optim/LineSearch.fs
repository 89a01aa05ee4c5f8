namespace Hybrid.Core.Optim

/// The outcome of a line search along d from x: the accepted step t, f(x + t·d), ∇f(x + t·d),
/// and the number of objective evaluations spent.
type LineSearchResult =
    { Step: float
      Value: float
      Grad: float[]
      Evals: int }

/// Step-length selection along a descent direction (Nocedal & Wright, ch. 3).
module LineSearch =

    /// f and ∇f at x + t·d.
    let private along (obj: Objective) (x: float[]) (t: float) (d: float[]) = obj.Eval (Vec.axpy t d x)

    /// Backtracking Armijo (N&W Alg. 3.1): t ← ρ·t until f(x + t d) ≤ f(x) + c1·t·∇f(x)ᵀd.
    /// Gives up after maxIter shrinks and returns the last (smallest) trial.
    let armijo (obj: Objective) (x: float[]) (fx: float) (gx: float[]) (d: float[]) (t0: float) (rho: float) (c1: float) (maxIter: int) =
        Guard.positive "armijo" "t0" t0
        Guard.inOpen01 "armijo" "rho" rho
        Guard.inOpen01 "armijo" "c1" c1
        let gtd = Vec.dot gx d
        let rec go t evals =
            let f, g = along obj x t d
            // sufficient decrease: f(x + t d) ≤ f(x) + c1 t ∇fᵀd
            if f <= fx + c1 * t * gtd || evals + 1 >= maxIter then { Step = t; Value = f; Grad = g; Evals = evals + 1 }
            else go (rho * t) (evals + 1)
        go t0 0

    /// Minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds (default [x1, x2]
    /// sorted); the bounds' midpoint when the cubic has no real minimiser (torch's `_cubic_interpolate`,
    /// N&W eq. 3.59).
    let cubicInterpolate (x1: float) (f1: float) (g1: float) (x2: float) (f2: float) (g2: float) (bounds: (float * float) option) =
        let xminBound, xmaxBound =
            match bounds with
            | Some b -> b
            | None -> if x1 <= x2 then x1, x2 else x2, x1
        // d1 = g1 + g2 − 3 (f1 − f2)/(x1 − x2);  d2 = √(d1² − g1 g2)
        let d1 = g1 + g2 - 3.0 * (f1 - f2) / (x1 - x2)
        let d2Square = d1 * d1 - g1 * g2
        if d2Square >= 0.0 then
            let d2 = sqrt d2Square
            let minPos =
                if x1 <= x2 then x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2.0 * d2))
                else x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2.0 * d2))
            min (max minPos xminBound) xmaxBound
        else (xminBound + xmaxBound) / 2.0

    /// Strong-Wolfe line search (N&W Alg. 3.5 bracketing + Alg. 3.6 zoom with cubic interpolation),
    /// a line-for-line port of torch.optim.lbfgs `_strong_wolfe`. f, g, gtd are the value, gradient and
    /// directional derivative ∇fᵀd at x; t the initial trial step. Accepts t when
    /// f(x + t d) ≤ f + c1 t gtd and |∇f(x + t d)ᵀd| ≤ −c2 gtd (or returns the best point found after maxLs).
    let strongWolfe (obj: Objective) (x: float[]) (t: float) (d: float[]) (f: float) (g: float[]) (gtd: float)
                    (c1: float) (c2: float) (toleranceChange: float) (maxLs: int) : LineSearchResult =
        let dNorm = Vec.normInf d
        let mutable t = t
        let mutable fNew, gNew = along obj x t d
        let mutable lsFuncEvals = 1
        let mutable gtdNew = Vec.dot gNew d
        let mutable tPrev, fPrev, gPrev, gtdPrev = 0.0, f, g, gtd
        let mutable isDone = false
        let mutable lsIter = 0
        let mutable bracket = [||]
        let mutable bracketF = [||]
        let mutable bracketG : float[][] = [||]
        let mutable bracketGtd = [| 0.0; 0.0 |]
        let mutable searching = true
        // bracketing phase: find an interval containing a strong-Wolfe point
        while searching && lsIter < maxLs do
            if fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev) then
                bracket <- [| tPrev; t |]; bracketF <- [| fPrev; fNew |]; bracketG <- [| gPrev; gNew |]; bracketGtd <- [| gtdPrev; gtdNew |]
                searching <- false
            elif abs gtdNew <= -c2 * gtd then
                bracket <- [| t |]; bracketF <- [| fNew |]; bracketG <- [| gNew |]
                isDone <- true
                searching <- false
            elif gtdNew >= 0.0 then
                bracket <- [| tPrev; t |]; bracketF <- [| fPrev; fNew |]; bracketG <- [| gPrev; gNew |]; bracketGtd <- [| gtdPrev; gtdNew |]
                searching <- false
            else
                // extrapolate: cubic step clamped to [t + 0.01 (t − tPrev), 10 t]
                let minStep = t + 0.01 * (t - tPrev)
                let maxStep = t * 10.0
                let tmp = t
                t <- cubicInterpolate tPrev fPrev gtdPrev t fNew gtdNew (Some (minStep, maxStep))
                tPrev <- tmp; fPrev <- fNew; gPrev <- gNew; gtdPrev <- gtdNew
                let fv, gv = along obj x t d
                fNew <- fv; gNew <- gv
                lsFuncEvals <- lsFuncEvals + 1
                gtdNew <- Vec.dot gNew d
                lsIter <- lsIter + 1
        if lsIter = maxLs then
            bracket <- [| 0.0; t |]; bracketF <- [| f; fNew |]; bracketG <- [| g; gNew |]
        // zoom phase: shrink the bracket until a point satisfies the strong-Wolfe conditions
        let mutable insufProgress = false
        let order () = if bracketF.[0] <= bracketF.[bracketF.Length - 1] then 0, 1 else 1, 0
        let mutable lowPos, highPos = order ()
        let mutable zooming = true
        while zooming && not isDone && lsIter < maxLs do
            if abs (bracket.[1] - bracket.[0]) * dNorm < toleranceChange then zooming <- false
            else
                t <- cubicInterpolate bracket.[0] bracketF.[0] bracketGtd.[0] bracket.[1] bracketF.[1] bracketGtd.[1] None
                let bMax, bMin = max bracket.[0] bracket.[1], min bracket.[0] bracket.[1]
                let eps = 0.1 * (bMax - bMin)
                // keep trials at least 10% of the bracket away from its ends
                if min (bMax - t) (t - bMin) < eps then
                    if insufProgress || t >= bMax || t <= bMin then
                        t <- if abs (t - bMax) < abs (t - bMin) then bMax - eps else bMin + eps
                        insufProgress <- false
                    else insufProgress <- true
                else insufProgress <- false
                let fv, gv = along obj x t d
                fNew <- fv; gNew <- gv
                lsFuncEvals <- lsFuncEvals + 1
                gtdNew <- Vec.dot gNew d
                lsIter <- lsIter + 1
                if fNew > f + c1 * t * gtd || fNew >= bracketF.[lowPos] then
                    // Armijo fails or no lower than the low end: t becomes the high end
                    bracket.[highPos] <- t; bracketF.[highPos] <- fNew; bracketG.[highPos] <- gNew; bracketGtd.[highPos] <- gtdNew
                    let lo, hi = if bracketF.[0] <= bracketF.[1] then 0, 1 else 1, 0
                    lowPos <- lo; highPos <- hi
                else
                    if abs gtdNew <= -c2 * gtd then isDone <- true
                    elif gtdNew * (bracket.[highPos] - bracket.[lowPos]) >= 0.0 then
                        // the old high end becomes the new low end
                        bracket.[highPos] <- bracket.[lowPos]; bracketF.[highPos] <- bracketF.[lowPos]
                        bracketG.[highPos] <- bracketG.[lowPos]; bracketGtd.[highPos] <- bracketGtd.[lowPos]
                    bracket.[lowPos] <- t; bracketF.[lowPos] <- fNew; bracketG.[lowPos] <- gNew; bracketGtd.[lowPos] <- gtdNew
        { Step = bracket.[lowPos]; Value = bracketF.[lowPos]; Grad = bracketG.[lowPos]; Evals = lsFuncEvals }
