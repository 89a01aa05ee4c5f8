namespace Hybrid.Core.Backends

open System

/// Scalar float64 math that the backends share where .NET's own loses digits: erf, log1p, expm1 and asinh. Plain
/// static functions, so the CPU's element loops and the ILGPU kernels call the same formula.
module ScalarMath =

    /// Abramowitz-Stegun 7.1.26 is too coarse for gradient checks; this is erf by W. J. Cody's rational
    /// approximations (|rel err| < 1e-15), evaluated in float64.
    let erf (x: float) =
        let ax = abs x
        let r =
            if ax < 0.5 then
                let t = x * x
                let p = (((0.1857777061846031526730 * t + 3.161123743870565596947) * t + 113.8641541510501556495) * t + 377.4852376853020208137) * t + 3209.377589138469472562
                let q = (((t + 23.60129095234412093499) * t + 244.0246379344441733056) * t + 1282.616526077372275645) * t + 2844.236833439170622273
                x * p / q
            elif ax < 4.0 then
                let p = ((((((( 2.15311535474403846343e-8 * ax + 0.564188496988670089180) * ax + 8.88314979438837594118) * ax + 66.1191906371416294775) * ax + 298.635138197400131132) * ax + 881.952221241769090411) * ax + 1712.04761263407058314) * ax + 2051.07837782607146532) * ax + 1230.33935479799725272
                let q = ((((((( ax + 15.7449261107098347253) * ax + 117.693950891312499305) * ax + 537.181101862009857509) * ax + 1621.38957456669018874) * ax + 3290.79923573345962678) * ax + 4362.61909014324715820) * ax + 3439.36767414372163696) * ax + 1230.33935480374942043
                let v = 1.0 - exp (-ax * ax) * p / q
                if x < 0.0 then -v else v
            else
                let z = 1.0 / (ax * ax)
                let p = ((((0.0163153871373020978498 * z + 0.305326634961232344035) * z + 0.360344899949804439429) * z + 0.125781726111229246204) * z + 0.0160837851487422766278) * z + 6.58749161529837803157e-4
                let q = ((((z + 2.56852019228982242072) * z + 1.87295284992346725209) * z + 0.527905102951428412248) * z + 0.0605183413124413191178) * z + 2.33520497626869185443e-3
                let v = (1.0 / sqrt Math.PI - z * p / q) / ax
                let v = 1.0 - exp (-ax * ax) * v
                if x < 0.0 then -v else v
        r

    /// log(1 + x), accurate for tiny x (.NET's LogP1 is log(x + 1), which loses every digit of x below 1e-16):
    /// Goldberg's trick, log(u)·x/(u − 1) with u = 1 + x rounded, which cancels u's rounding error.
    let log1p (x: float) =
        let u = 1.0 + x
        if u = 1.0 then x
        elif u = Double.PositiveInfinity then u
        else Math.Log u * x / (u - 1.0)

    /// eˣ − 1, accurate for tiny x (.NET's ExpM1 is exp(x) − 1): Kahan's (u − 1)·x/log(u) with u = eˣ rounded.
    let expm1 (x: float) =
        let u = Math.Exp x
        if u = 1.0 then x
        elif u = Double.PositiveInfinity then u
        else
            let um1 = u - 1.0
            if um1 = -1.0 then -1.0 else um1 * x / Math.Log u

    /// asinh x = sign(x)·log1p(|x| + x²/(1 + √(1 + x²))), the form that keeps tiny x exact; log|x| + log 2 above 1e8
    /// (where √(1 + x²) = |x| and x² would overflow near 1e154).
    let asinh (x: float) =
        let a = Math.Abs x
        let r = if a > 1e8 then Math.Log a + 0.69314718055994530942 else log1p (a + a * a / (1.0 + Math.Sqrt(1.0 + a * a)))
        if x < 0.0 then -r else r
