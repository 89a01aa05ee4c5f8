namespace Hybrid.Core.Logging

open System

/// CRC-32C (Castagnoli; RFC 3720 §B.4): reflected polynomial 0x82F63B78, initial value and final xor
/// 0xFFFFFFFF. crc32c("123456789") = 0xE3069283. TFRecord framing stores it masked.
module Crc32c =
    let private table =
        Array.init 256 (fun n ->
            let mutable c = uint32 n
            for _ in 0 .. 7 do
                c <- if c &&& 1u <> 0u then 0x82F63B78u ^^^ (c >>> 1) else c >>> 1
            c)

    /// The CRC-32C of the bytes.
    let compute (bytes: ReadOnlySpan<byte>) : uint32 =
        let mutable crc = 0xFFFFFFFFu
        for b in bytes do
            crc <- table[int ((crc ^^^ uint32 b) &&& 0xFFu)] ^^^ (crc >>> 8)
        crc ^^^ 0xFFFFFFFFu

    /// The CRC-32C of an array.
    let ofArray (bytes: byte[]) = compute (ReadOnlySpan bytes)

    /// TFRecord's mask: ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8 (a CRC of data holding CRCs stays informative).
    let mask (crc: uint32) = ((crc >>> 15) ||| (crc <<< 17)) + 0xa282ead8u

    /// The inverse of `mask`.
    let unmask (masked: uint32) =
        let rot = masked - 0xa282ead8u
        (rot >>> 17) ||| (rot <<< 15)
