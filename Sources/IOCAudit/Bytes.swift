import Crypto
import Foundation

/// Small byte helpers shared by every format in this module (hex, base64, SHA-256), kept in one
/// place so that every encoder agrees on the exact alphabet and padding.
enum Bytes {
    static func sha256(_ parts: [UInt8]...) -> [UInt8] {
        var hasher = SHA256()
        for part in parts { hasher.update(data: part) }
        return Array(hasher.finalize())
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lower-case hex only: upper-case would give two spellings of one value.
    static func fromHex(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

    /// Standard padded base64 only, and only its canonical spelling (re-encoding must round-trip),
    /// so that one value has one text form.
    static func fromBase64(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text) else { return nil }
        let bytes = [UInt8](data)
        guard base64(bytes) == text else { return nil }
        return bytes
    }

    static func uint32BE(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)]
    }

    static func uint64BE(_ v: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(v >> (56 - 8 * UInt64($0)) & 0xff) }
    }

    static func readUInt32BE(_ b: ArraySlice<UInt8>) -> UInt32 {
        b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    static func readUInt64BE(_ b: ArraySlice<UInt8>) -> UInt64 {
        b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    /// Decimal without sign or leading zeros ("0" itself is allowed), as every C2SP format wants.
    static func parseCanonicalDecimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.count <= 19, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        if text.count > 1 && text.first == "0" { return nil }
        return Int(text)
    }
}
