namespace Hybrid.Core.Search

open System

/// An explicit, immutable random-number state for the samplers: SplitMix64 (Steele, Lea & Flood,
/// "Fast splittable pseudorandom number generators", OOPSLA 2014),
/// z = (s += 0x9E3779B97F4A7C15); z = (z ^ z>>30)·0xBF58476D1CE4E5B9; z = (z ^ z>>27)·0x94D049BB133111EB; z ^ z>>31.
/// Only integer arithmetic, so the same seed gives the same stream on every .NET version and platform
/// (unlike System.Random, whose algorithm is unspecified).
[<Struct>]
type Rng =
    { State: uint64 }

/// A mutable cursor over an Rng, for the inner loops of one sampler call; it never escapes the call.
[<Sealed; AllowNullLiteral>]
type RngStream(start: Rng) =
    let mutable s = start.State
    /// The next 64 random bits.
    member _.NextUInt64() =
        s <- s + 0x9E3779B97F4A7C15UL
        let mutable z = s
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)
    /// Uniform in [0, 1), 53 random bits.
    member this.NextFloat() = float (this.NextUInt64() >>> 11) * (1.0 / 9007199254740992.0)
    /// Uniform in (0, 1): never 0, so its logarithm is finite.
    member this.NextOpenFloat() = (float (this.NextUInt64() >>> 11) + 0.5) * (1.0 / 9007199254740992.0)
    /// Uniform integer in [0, n), n > 0, without modulo bias (Lemire's rejection on the 64-bit product).
    member this.NextInt(n: int64) : int64 =
        if n <= 0L then invalidArg "n" (sprintf "rng: NextInt needs n > 0, got %d" n)
        let un = uint64 n
        let threshold = (0UL - un) % un
        let mutable r = 0UL
        let mutable lo = 0UL
        let mutable hi = 0UL
        let mutable go = true
        while go do
            r <- this.NextUInt64()
            hi <- Math.BigMul(r, un, &lo)
            if lo >= threshold then go <- false
        int64 hi
    /// Standard normal by the polar method (Marsaglia & Bray 1964): only arithmetic, log and sqrt.
    member this.NextNormal() =
        let mutable u = 0.0
        let mutable v = 0.0
        let mutable q = 2.0
        while q >= 1.0 || q = 0.0 do
            u <- 2.0 * this.NextFloat() - 1.0
            v <- 2.0 * this.NextFloat() - 1.0
            q <- u * u + v * v
        u * sqrt (-2.0 * log q / q)
    /// The state after everything drawn so far.
    member _.Current = { State = s }

/// Seeding, deriving and splitting Rng values.
module Rng =
    let private mix (z0: uint64) =
        let mutable z = z0
        z <- (z ^^^ (z >>> 30)) * 0xBF58476D1CE4E5B9UL
        z <- (z ^^^ (z >>> 27)) * 0x94D049BB133111EBUL
        z ^^^ (z >>> 31)

    /// The state for a seed.
    let create (seed: uint64) : Rng = { State = mix (seed + 0x9E3779B97F4A7C15UL) }

    /// An independent stream keyed by a number (e.g. trial n's rng = derive studyRng n): depends only on
    /// (rng, key), so a trial's draws do not depend on how many other trials a worker saw.
    let derive (key: int64) (rng: Rng) : Rng = { State = mix (rng.State ^^^ mix (uint64 key + 0xD1B54A32D192ED03UL)) }

    /// Two independent states from one.
    let split (rng: Rng) : Rng * Rng = derive 1L rng, derive 2L rng

    /// One draw: 64 bits and the next state.
    let next (rng: Rng) : uint64 * Rng =
        let s = RngStream rng
        let x = s.NextUInt64()
        x, s.Current

    /// A mutable cursor starting at this state.
    let stream (rng: Rng) = RngStream rng
