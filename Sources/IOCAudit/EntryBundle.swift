/// tlog-tiles entry bundles: each entry as a big-endian uint16 length followed by its bytes. The
/// uint16 prefix is why no audit entry may exceed 65,535 bytes.
public enum EntryBundle {
    public static let maxEntrySize = 65_535

    public static func encode(_ entries: [[UInt8]]) throws(AuditError) -> [UInt8] {
        var out = [UInt8]()
        for (i, e) in entries.enumerated() {
            guard e.count <= maxEntrySize else {
                throw AuditError(.entryTooLarge, "entry \(i) in bundle is \(e.count) bytes; tlog-tiles entries are limited to \(maxEntrySize)")
            }
            out.append(UInt8(e.count >> 8))
            out.append(UInt8(e.count & 0xff))
            out.append(contentsOf: e)
        }
        return out
    }

    /// Decodes a bundle; fails on a truncated length or body, naming the offset.
    public static func decode(_ bytes: [UInt8]) throws(AuditError) -> [[UInt8]] {
        var entries = [[UInt8]]()
        var i = 0
        while i < bytes.count {
            guard i + 2 <= bytes.count else {
                throw AuditError(.malformedBundle, "entry bundle ends inside a length prefix at byte \(i) (entry \(entries.count))")
            }
            let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            i += 2
            guard i + n <= bytes.count else {
                throw AuditError(.malformedBundle, "entry \(entries.count) claims \(n) bytes but the bundle has \(bytes.count - i) left")
            }
            entries.append(Array(bytes[i..<i + n]))
            i += n
        }
        return entries
    }
}
