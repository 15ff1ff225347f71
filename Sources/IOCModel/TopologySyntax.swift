import Foundation

/// Lexical checks for topology values, written out by hand so the model needs no regex engine.
enum TopologySyntax {
    /// `[a-z0-9][a-z0-9-]*`, or `[a-z0-9][a-z0-9.-]*` when `allowingDots`.
    static func isSlug(_ text: String, allowingDots: Bool) -> Bool {
        let bytes = Array(text.utf8)
        guard let head = bytes.first, isLowerAlnum(head) else { return false }
        return bytes.dropFirst().allSatisfy {
            isLowerAlnum($0) || $0 == UInt8(ascii: "-") || (allowingDots && $0 == UInt8(ascii: "."))
        }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// A real proleptic-Gregorian day written `YYYY-MM-DD` (so `2025-02-29` is refused).
    static func isCalendarDate(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
            let year = number(bytes[0..<4]), let month = number(bytes[5..<7]), let day = number(bytes[8..<10]),
            (1...12).contains(month)
        else { return false }
        let isLeap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    /// `http://host:port` or `https://host:port`: explicit port 1–65535, no user, path, query or
    /// fragment, so clients can append API paths without guessing.
    static func isBaseURL(_ text: String) -> Bool {
        guard let parts = URLComponents(string: text),
            let scheme = parts.scheme, scheme == "http" || scheme == "https",
            let host = parts.host, !host.isEmpty,
            let port = parts.port, (1...65_535).contains(port)
        else { return false }
        return parts.user == nil && parts.password == nil && parts.path.isEmpty && parts.query == nil
            && parts.fragment == nil
    }
}
