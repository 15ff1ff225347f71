import IOCModel

/// Why it failed to decode: truncated input, a bad tag, or a length over a limit.
public struct DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "decode error: \(message)" }
}

/// Appends the wire format's primitives to a byte buffer. See docs/wire-format.md §1.
///
/// A compact tagged binary form rather than JSON: on Linux, Foundation's JSON coders cap a
/// decode + re-encode near 27k records/s (anchors/perf.md), below the apply target.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func raw(_ b: some Sequence<UInt8>) { bytes.append(contentsOf: b) }

    public mutating func u32be(_ v: UInt32) {
        bytes.append(UInt8(v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    /// LEB128 unsigned varint.
    public mutating func uvarint(_ v: UInt64) {
        var v = v
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func svarint(_ v: Int64) { uvarint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { buf in
            uvarint(UInt64(buf.count))
            bytes.append(contentsOf: buf)
        }
    }

    public mutating func blob(_ b: some Collection<UInt8>) {
        uvarint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    /// Value tags: 0 null, 1 false, 2 true, 3 int (zigzag varint), 4 double (IEEE 754 big-endian),
    /// 5 string, 6 array, 7 object (keys sorted by UTF-8 bytes, so equal values encode equally).
    public mutating func value(_ v: JSONValue) {
        switch v {
        case .null: u8(0)
        case .bool(let b): u8(b ? 2 : 1)
        case .int(let i):
            u8(3)
            svarint(i)
        case .double(let d):
            u8(4)
            let bits = d.bitPattern
            for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }
        case .string(let s):
            u8(5)
            string(s)
        case .array(let a):
            u8(6)
            uvarint(UInt64(a.count))
            for e in a { value(e) }
        case .object(let o):
            u8(7)
            object(o)
        }
    }

    /// An object body (count then sorted key/value pairs) without the tag.
    public mutating func object(_ o: [String: JSONValue]) {
        uvarint(UInt64(o.count))
        for k in o.keys.sorted(by: Self.utf8Less) {
            string(k)
            value(o[k]!)
        }
    }

    @inline(__always)
    public static func utf8Less(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
}

/// Reads the primitives written by ``BinaryWriter``, refusing truncated or malformed input.
public struct BinaryReader {
    public let bytes: ArraySlice<UInt8>
    public private(set) var offset: Int
    /// Nesting limit for arrays and objects: a hostile payload cannot blow the stack.
    static let depthMax = 32

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        offset = bytes.startIndex
    }

    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    public var isAtEnd: Bool { offset >= bytes.endIndex }
    public var remaining: Int { bytes.endIndex - offset }

    public mutating func u8() throws(DecodeError) -> UInt8 {
        guard offset < bytes.endIndex else { throw DecodeError("unexpected end of data") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func take(_ n: Int) throws(DecodeError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else { throw DecodeError("length \(n) runs past the end of data") }
        defer { offset += n }
        return bytes[offset..<offset + n]
    }

    public mutating func u32be() throws(DecodeError) -> UInt32 {
        let b = try take(4)
        return b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func uvarint() throws(DecodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64 else { throw DecodeError("varint too long") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    public mutating func svarint() throws(DecodeError) -> Int64 {
        let u = try uvarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func length(max: Int = 1 << 26) throws(DecodeError) -> Int {
        let n = try uvarint()
        guard n <= UInt64(max), n <= UInt64(remaining) else { throw DecodeError("length \(n) is too large") }
        return Int(n)
    }

    public mutating func string() throws(DecodeError) -> String {
        // Checked strictly by the receiver's validator, then built: `String(decoding:)` repairs
        // nothing in bytes that passed, so the string holds exactly the bytes sent.
        try utf8Bytes().withUnsafeBufferPointer { String(decoding: $0, as: UTF8.self) }
    }

    public mutating func blob() throws(DecodeError) -> ArraySlice<UInt8> { try take(try length()) }

    public mutating func value(depth: Int = 0) throws(DecodeError) -> JSONValue {
        guard depth < Self.depthMax else { throw DecodeError("values nested too deeply") }
        switch try u8() {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(try svarint())
        case 4:
            let b = try take(8)
            return .double(Double(bitPattern: b.reduce(0) { $0 << 8 | UInt64($1) }))
        case 5: return .string(try string())
        case 6:
            let n = try length(max: remaining)
            var a: [JSONValue] = []
            a.reserveCapacity(n)
            for _ in 0..<n { a.append(try value(depth: depth + 1)) }
            return .array(a)
        case 7: return .object(try object(depth: depth + 1))
        case let t: throw DecodeError("unknown value tag \(t)")
        }
    }

    /// Reads a string and checks that it is UTF-8, building nothing.
    public mutating func skipString() throws(DecodeError) { _ = try utf8Bytes() }

    /// A string's bytes, checked to be UTF-8 but not turned into a `String`.
    mutating func utf8Bytes() throws(DecodeError) -> ArraySlice<UInt8> {
        let b = try take(try length())
        guard b.withUnsafeBytes(UTF8Validation.isValid) else { throw DecodeError("string is not valid UTF-8") }
        return b
    }

    /// Checks a value exactly as ``value(depth:)`` would (tags, lengths, nesting, UTF-8) and
    /// builds nothing: for fields a receiver stores verbatim but does not look at.
    public mutating func skipValue(depth: Int = 0) throws(DecodeError) {
        guard depth < Self.depthMax else { throw DecodeError("values nested too deeply") }
        switch try u8() {
        case 0, 1, 2: return
        case 3: _ = try svarint()
        case 4: _ = try take(8)
        case 5: try skipString()
        case 6:
            let n = try length(max: remaining)
            for _ in 0..<n { try skipValue(depth: depth + 1) }
        case 7:
            let n = try length(max: remaining)
            for _ in 0..<n {
                try skipString()
                try skipValue(depth: depth + 1)
            }
        case let t: throw DecodeError("unknown value tag \(t)")
        }
    }

    /// The members of an object whose key `keeping` selects, by the selection's index (nil:
    /// absent); the others are checked by ``skipValue(depth:)`` and dropped, so the same bytes
    /// fail here exactly when they fail in ``object(depth:)``. Keys are matched as bytes, without
    /// building or hashing a string: writers emit them sorted, so one forward walk over the
    /// (sorted) selection finds them, and keys out of order (a foreign writer) only restart the
    /// walk. A repeated key keeps its last value, as in ``object(depth:)``.
    public mutating func fields(depth: Int = 0, keeping: FieldSelection) throws(DecodeError) -> SelectedFields {
        let n = try length(max: remaining)
        var values = [JSONValue?](repeating: nil, count: keeping.names.count)
        var next = 0
        var previous: ArraySlice<UInt8> = []
        for i in 0..<n {
            let key = try utf8Bytes()
            if i > 0, previous.withUnsafeBytes({ p in key.withUnsafeBytes { FieldSelection.order(p, $0) } }) >= 0 { next = 0 }
            previous = key
            if let found = keeping.index(of: key, from: &next) {
                values[found] = try value(depth: depth)
            } else {
                try skipValue(depth: depth)
            }
        }
        return SelectedFields(selection: keeping, values: values)
    }

    public mutating func object(depth: Int = 0) throws(DecodeError) -> [String: JSONValue] {
        let n = try length(max: remaining)
        var o: [String: JSONValue] = [:]
        o.reserveCapacity(n)
        for _ in 0..<n {
            let k = try string()
            o[k] = try value(depth: depth)
        }
        return o
    }
}

/// Object keys to keep when decoding part of a body (``BinaryReader/fields(depth:keeping:)``),
/// held as sorted UTF-8 bytes so encoded keys are matched without hashing.
public struct FieldSelection: Sendable {
    let names: [String]
    /// Every name's UTF-8 bytes, back to back, and where each one is: one buffer, so matching a
    /// key walks raw bytes with no array per name to retain.
    private let keyBytes: [UInt8]
    private let keyRanges: [Range<Int>]

    public init(_ names: some Sequence<String>) {
        let sorted = Set(names).sorted(by: BinaryWriter.utf8Less)
        self.names = sorted
        var bytes: [UInt8] = []
        var ranges: [Range<Int>] = []
        for name in sorted {
            let start = bytes.count
            bytes += name.utf8
            ranges.append(start..<bytes.count)
        }
        keyBytes = bytes
        keyRanges = ranges
    }

    /// The index of `key`, searching forward from `next` (left at the first key not below it).
    func index(of key: ArraySlice<UInt8>, from next: inout Int) -> Int? {
        keyBytes.withUnsafeBytes { all in
            key.withUnsafeBytes { key in
                while next < keyRanges.count {
                    let order = Self.order(UnsafeRawBufferPointer(rebasing: all[keyRanges[next]]), key)
                    if order < 0 {
                        next += 1
                    } else {
                        return order == 0 ? next : nil
                    }
                }
                return nil
            }
        }
    }

    /// Byte-wise order of two keys (negative, zero or positive), the order of
    /// `lexicographicallyPrecedes`: keys are short, and a body's every key is compared with a few
    /// of the selection's.
    static func order(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        for i in 0..<Swift.min(a.count, b.count) where a[i] != b[i] { return Int(a[i]) - Int(b[i]) }
        return a.count - b.count
    }

    /// The index of `name`, or nil when the selection does not hold it. Only names as long as
    /// the one asked (in UTF-8) are compared: no string is hashed.
    public func index(of name: String) -> Int? {
        let length = name.utf8.count
        for i in keyRanges.indices where keyRanges[i].count == length && names[i] == name { return i }
        return nil
    }
}

/// The fields a ``FieldSelection`` picked out of a body, in an array by the selection's index:
/// a receiver that reads a few fields of each of thousands of creates builds no dictionary
/// per entry and hashes no key, neither to store a field nor to look one up.
public struct SelectedFields: Sendable {
    public let selection: FieldSelection
    /// By the selection's index; nil where the body does not hold the field.
    let values: [JSONValue?]

    /// The field's value as stored (`.null` included); nil when absent or not selected.
    public subscript(name: String) -> JSONValue? {
        selection.index(of: name).flatMap { values[$0] }
    }

    /// The fields present, as a body dictionary.
    public var body: [String: JSONValue] {
        var body: [String: JSONValue] = [:]
        for (name, value) in zip(selection.names, values) { body[name] = value }
        return body
    }
}
