/// Strict UTF-8 validation for the receive path.
///
/// The receiver checks every string of every received entry, so validation touches every
/// byte that arrives. The standard library's validator (behind `UTF8Span(validating:)`)
/// is scalar and branches on each lead byte; on text that interleaves ASCII with 2- and
/// 3-byte sequences, such as Vietnamese, those branches mispredict constantly. This one
/// checks 16 bytes at a time with branch-free SIMD comparisons (plain SSE2 on x86-64),
/// and skips all-ASCII blocks after one word test.
enum UTF8Validation {
    /// Whether `bytes` is well-formed UTF-8 (Unicode 15, Table 3-7): no overlong forms,
    /// no surrogates (U+D800–DFFF), nothing above U+10FFFF, no truncated sequences,
    /// no stray continuation bytes.
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var errors = SIMDMask<SIMD16<Int8>>(repeating: false)
        var i = 0
        if count >= 16 {
            // The first block has no bytes before it; later blocks read theirs from memory.
            errors = blockErrors(word(base, 0), word(base, 8), before: 0)
            i = 16
            while i &+ 16 <= count {
                // Skip the full check when these 16 bytes and the 3 before them are ASCII.
                if (word(base, i &- 3) | word(base, i) | word(base, i &+ 8)) & highBits != 0 {
                    errors .|= blockErrors(base, at: i)
                }
                i &+= 16
            }
        }
        // The last 0...15 bytes, zero-filled to a block. The zero just past the end must
        // not be needed as a continuation byte: that rejects truncated sequences.
        let (low, high) = partialBlock(base + i, count: count &- i)
        let lastFour = i == 0 ? 0 : UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i &- 4, as: UInt32.self))
        errors .|= blockErrors(low, high, before: UInt64(lastFour &>> 8))  // the 3 bytes before i
        return !isAnySet(errors)
    }

    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// Little-endian 8-byte load: byte `k` lands in bits `8k ..< 8k + 8` on any platform.
    @inline(__always)
    private static func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// The `count` (0...15) bytes at `p` as a zero-filled 16-byte block `(low, high)`,
    /// read with overlapping loads that stay inside the bytes (no byte loop, no memcpy).
    @inline(__always)
    private static func partialBlock(_ p: UnsafeRawPointer, count: Int) -> (UInt64, UInt64) {
        func byte(_ k: Int) -> UInt64 { UInt64(p.load(fromByteOffset: k, as: UInt8.self)) &<< (8 &* k) }
        func word32(_ k: Int) -> UInt64 {
            UInt64(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: k, as: UInt32.self))) &<< (8 &* k)
        }
        switch count {
        // The second word holds bytes count-8 ..< count; shift out those already in `low`.
        case 9...: return (word(p, 0), word(p, count &- 8) &>> (8 &* (16 &- count)))
        case 8: return (word(p, 0), 0)
        // Overlapping parts hold the same bytes at the same places, so OR-ing is exact.
        case 4...: return (word32(0) | word32(count &- 4), 0)
        case 1...: return (byte(0) | byte(count &>> 1) | byte(count &- 1), 0)
        default: return (0, 0)
        }
    }

    /// Errors in the block `(low, high)`, preceded by the 3 bytes in the low 24 bits of
    /// `before` (the nearest one in bits 16..<24). The copies of the block shifted by 1,
    /// 2 and 3 bytes that the check needs are made with 128-bit shifts of the two words.
    @inline(__always)
    private static func blockErrors(_ low: UInt64, _ high: UInt64, before: UInt64) -> SIMDMask<SIMD16<Int8>> {
        if (low | high | before) & highBits == 0 { return SIMDMask(repeating: false) }  // all ASCII
        func vector(_ low: UInt64, _ high: UInt64) -> SIMD16<UInt8> {  // byte k goes to lane k
            unsafeBitCast((low.littleEndian, high.littleEndian), to: SIMD16<UInt8>.self)
        }
        func shifted(_ n: UInt64) -> SIMD16<UInt8> {
            vector(low &<< (8 &* n) | before &>> (8 &* (3 &- n)), high &<< (8 &* n) | low &>> (64 &- 8 &* n))
        }
        return blockErrors(vector(low, high), shifted(1), shifted(2), shifted(3))
    }

    /// Errors among the 16 bytes at `p + i`, which must be preceded by 3 readable bytes.
    @inline(__always)
    private static func blockErrors(_ p: UnsafeRawPointer, at i: Int) -> SIMDMask<SIMD16<Int8>> {
        func load(_ offset: Int) -> SIMD16<UInt8> {
            p.loadUnaligned(fromByteOffset: i &+ offset, as: SIMD16<UInt8>.self)
        }
        return blockErrors(load(0), load(-1), load(-2), load(-3))
    }

    /// Errors in `byte`, given each lane's previous bytes at distance 1, 2 and 3.
    @inline(__always)
    private static func blockErrors(
        _ byte: SIMD16<UInt8>, _ prev1: SIMD16<UInt8>, _ prev2: SIMD16<UInt8>, _ prev3: SIMD16<UInt8>
    ) -> SIMDMask<SIMD16<Int8>> {
        // Vector-vs-vector comparisons only: the vector-vs-scalar overloads (and `any`)
        // compile to per-lane loops.
        func splat(_ value: UInt8) -> SIMD16<UInt8> { SIMD16(repeating: value) }

        // A byte must be a continuation (80...BF) exactly when one of the previous three
        // bytes is a lead byte whose sequence reaches it. (This also catches a lead byte
        // interrupting a sequence: it sits where a continuation is required.)
        let isContinuation = (byte .>= splat(0x80)) .& (byte .<= splat(0xBF))
        let needsContinuation = (prev1 .>= splat(0xC0)) .| (prev2 .>= splat(0xE0)) .| (prev3 .>= splat(0xF0))
        // C0 and C1 could only start overlong 2-byte forms; F5...FF lie above U+10FFFF.
        let neverValid = (byte .> splat(0xF4)) .| (byte .== splat(0xC0)) .| (byte .== splat(0xC1))
        var errors = (isContinuation .^ needsContinuation) .| neverValid

        // Lead bytes whose second byte has a narrower range than 80...BF (Table 3-7).
        // They are rare in practice, so look for them before checking the ranges.
        let e0 = prev1 .== splat(0xE0), ed = prev1 .== splat(0xED)
        let f0 = prev1 .== splat(0xF0), f4 = prev1 .== splat(0xF4)
        if isAnySet(e0 .| ed .| f0 .| f4) {
            errors .|= (e0 .& (byte .< splat(0xA0)))  // overlong 3-byte form
                .| (ed .& (byte .> splat(0x9F)))  // surrogate
                .| (f0 .& (byte .< splat(0x90)))  // overlong 4-byte form
                .| (f4 .& (byte .> splat(0x8F)))  // above U+10FFFF
        }
        return errors
    }

    /// Whether any lane of `mask` is set, tested as two words.
    @inline(__always)
    private static func isAnySet(_ mask: SIMDMask<SIMD16<Int8>>) -> Bool {
        let (low, high) = unsafeBitCast(mask, to: (UInt64, UInt64).self)
        return low | high != 0
    }
}
