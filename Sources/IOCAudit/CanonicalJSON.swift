import Foundation

/// A deliberately small JSON model with one byte form per value: object keys sorted by UTF-16 code
/// units (as RFC 8785), no whitespace, integers only (no floats), strings NFC-normalized and
/// escaped minimally. Audit entries and reports use it so equal values hash equally.
public indirect enum CanonicalJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// Maximum nesting accepted by the parser (audit values are shallow).
    static let maxDepth = 16

    /// The canonical UTF-8 bytes.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        write(into: &out)
        return out
    }

    /// The canonical text.
    public var text: String { String(decoding: bytes, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .int(let i): out += Array(String(i).utf8)
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let keys = members.keys.map { $0.precomposedStringWithCanonicalMapping }
                .sorted { Array($0.utf16).lexicographicallyPrecedes(Array($1.utf16)) }
            let normalized = Dictionary(members.map { ($0.key.precomposedStringWithCanonicalMapping, $0.value) }, uniquingKeysWith: { a, _ in a })
            for (i, key) in keys.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                normalized[key]?.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.precomposedStringWithCanonicalMapping.utf8 {
            switch b {
            case UInt8(ascii: "\""): out += [0x5c, 0x22]
            case UInt8(ascii: "\\"): out += [0x5c, 0x5c]
            case 0x08: out += [0x5c, UInt8(ascii: "b")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0c: out += [0x5c, UInt8(ascii: "f")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0..<0x20: out += Array("\\u00".utf8) + Array(Bytes.hex([b]).utf8)
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Strict parse: rejects floats, exponents, duplicate keys, trailing data and deep nesting.
    public static func parse(_ bytes: [UInt8]) throws(AuditError) -> CanonicalJSON {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.i == bytes.count else { throw parser.error("trailing data") }
        return value
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        func error(_ what: String) -> AuditError { AuditError(.malformedJSON, "invalid JSON at byte \(i): \(what)") }

        mutating func skipWhitespace() {
            while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 }
        }

        mutating func literal(_ word: String) throws(AuditError) {
            let w = Array(word.utf8)
            guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw error("expected \(word)") }
            i += w.count
        }

        mutating func value(depth: Int) throws(AuditError) -> CanonicalJSON {
            guard depth < CanonicalJSON.maxDepth else { throw error("nesting deeper than \(CanonicalJSON.maxDepth)") }
            skipWhitespace()
            guard i < bytes.count else { throw error("unexpected end") }
            switch bytes[i] {
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                i += 1
                var items = [CanonicalJSON]()
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    items.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard i < bytes.count else { throw error("unterminated array") }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    guard bytes[i] == UInt8(ascii: ",") else { throw error("expected , or ]") }
                    i += 1
                }
            case UInt8(ascii: "{"):
                i += 1
                var members = [String: CanonicalJSON]()
                skipWhitespace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
                    let key = try string()
                    guard members[key] == nil else { throw error("duplicate key \"\(key)\"") }
                    skipWhitespace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected :") }
                    i += 1
                    members[key] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard i < bytes.count else { throw error("unterminated object") }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    guard bytes[i] == UInt8(ascii: ",") else { throw error("expected , or }") }
                    i += 1
                }
            default:
                return .int(try integer())
            }
        }

        mutating func integer() throws(AuditError) -> Int64 {
            let start = i
            if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            while i < bytes.count, (48...57).contains(bytes[i]) { i += 1 }
            if i < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[i]) {
                throw error("only integers are allowed")
            }
            let text = String(decoding: bytes[start..<i], as: UTF8.self)
            let digits = text.hasPrefix("-") ? text.dropFirst() : Substring(text)
            guard !digits.isEmpty, !(digits.count > 1 && digits.first == "0"), let v = Int64(text) else {
                throw error("invalid integer '\(text)'")
            }
            return v
        }

        mutating func string() throws(AuditError) -> String {
            i += 1  // opening quote
            var out = [UInt8]()
            while true {
                guard i < bytes.count else { throw error("unterminated string") }
                let b = bytes[i]
                i += 1
                switch b {
                case UInt8(ascii: "\""):
                    guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
                    return s
                case UInt8(ascii: "\\"):
                    guard i < bytes.count else { throw error("unterminated escape") }
                    let e = bytes[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5c)
                    case UInt8(ascii: "/"): out.append(0x2f)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0c)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var unit = try hex4()
                        if (0xD800...0xDBFF).contains(unit) {
                            guard i + 1 < bytes.count, bytes[i] == 0x5c, bytes[i + 1] == UInt8(ascii: "u") else { throw error("lone surrogate") }
                            i += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("bad surrogate pair") }
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(unit) else { throw error("invalid code point") }
                        out += Array(String(Character(scalar)).utf8)
                    default: throw error("invalid escape")
                    }
                case 0..<0x20: throw error("control character in string")
                default: out.append(b)
                }
            }
        }

        mutating func hex4() throws(AuditError) -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else {
                throw error("invalid \\u escape")
            }
            i += 4
            return v
        }
    }
}
