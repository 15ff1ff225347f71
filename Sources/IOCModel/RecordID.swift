import Foundation

/// A globally unique, time-ordered record or entry identifier (UUIDv7 layout, RFC 9562).
///
/// Why time-ordered: SQLite B-tree indexes on random UUIDv4 keys rewrite random pages on every
/// commit and fall to 10–18k rows/s at a million rows; keys that grow with time stay at 64–90k rows/s
/// (anchors/perf.md). The lowercase text form sorts in creation order, so cursors are plain ids.
public struct RecordID: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The UUID as two big-endian halves: inline, so ids cost no allocation to copy, hash or compare.
    let high: UInt64
    let low: UInt64

    /// The 16 bytes of the UUID, big-endian.
    public var bytes: [UInt8] {
        Swift.withUnsafeBytes(of: (high.bigEndian, low.bigEndian)) { Array($0) }
    }

    /// The 16 bytes without an allocation, valid only inside `body`.
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        let pair = (high.bigEndian, low.bigEndian)
        return try Swift.withUnsafeBytes(of: pair) { raw throws(E) in try body(raw) }
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let parsed = bytes.withContiguousStorageIfAvailable { buf -> (UInt64, UInt64) in
            let raw = UnsafeRawBufferPointer(buf)
            return (
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            )
        }
        if let (h, l) = parsed {
            high = h
            low = l
        } else {
            let a = Array(bytes)
            high = a[0..<8].reduce(0) { $0 << 8 | UInt64($1) }
            low = a[8..<16].reduce(0) { $0 << 8 | UInt64($1) }
        }
    }

    /// Parses the canonical `8-4-4-4-12` hex form (any case).
    public init?(_ text: String) {
        let hex = text.utf8.filter { $0 != UInt8(ascii: "-") }
        guard text.utf8.count == 36, hex.count == 32 else { return nil }
        for (i, c) in text.utf8.enumerated() where [8, 13, 18, 23].contains(i) {
            if c != UInt8(ascii: "-") { return nil }
        }
        var out = [UInt8]()
        out.reserveCapacity(16)
        var it = hex.makeIterator()
        while let hi = it.next(), let lo = it.next() {
            guard let h = Self.nibble(hi), let l = Self.nibble(lo) else { return nil }
            out.append(h << 4 | l)
        }
        self.init(bytes: out)
    }

    /// A new id for the given instant: 48 bits of Unix milliseconds, version 7, then random bits.
    public static func generate(at date: Date = Date()) -> RecordID {
        var rng = SystemRandomNumberGenerator()
        return generate(milliseconds: UInt64(max(0, date.timeIntervalSince1970 * 1000)), using: &rng)
    }

    /// An id whose 12 `rand_a` bits hold `sequence` (RFC 9562 §6.2, method 1), so ids made within
    /// one millisecond still sort in creation order.
    public static func generate(milliseconds: UInt64, sequence: UInt16, using rng: inout some RandomNumberGenerator) -> RecordID {
        var b = generate(milliseconds: milliseconds, using: &rng).bytes
        b[6] = 0x70 | UInt8((sequence >> 8) & 0x0F)
        b[7] = UInt8(truncatingIfNeeded: sequence)
        return RecordID(bytes: b)!
    }

    public static func generate(milliseconds: UInt64, using rng: inout some RandomNumberGenerator) -> RecordID {
        var b = [UInt8](repeating: 0, count: 16)
        for i in 0..<6 { b[i] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - i))) }
        let r1 = rng.next() as UInt64
        let r2 = rng.next() as UInt64
        for i in 6..<16 { b[i] = UInt8(truncatingIfNeeded: (i < 11 ? r1 : r2) >> (8 * (i % 8))) }
        b[6] = 0x70 | (b[6] & 0x0F)
        b[8] = 0x80 | (b[8] & 0x3F)
        return RecordID(bytes: b)!
    }

    /// Milliseconds since the Unix epoch encoded in the id.
    public var milliseconds: UInt64 { high >> 16 }

    public var description: String {
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let h = Array(hex)
        return String(h[0..<8]) + "-" + String(h[8..<12]) + "-" + String(h[12..<16]) + "-" + String(h[16..<20]) + "-"
            + String(h[20..<32])
    }

    public static func < (a: RecordID, b: RecordID) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let id = RecordID(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a UUID"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
