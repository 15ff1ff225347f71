/// A C2SP tlog-checkpoint body: origin, tree size, root hash. The value a node signs and peers
/// cosign. Parsing is strict (no extension lines, canonical decimal and base64) so that one tree
/// head has exactly one byte form.
///
/// Origins used by IOC Federation: `<federation>/log/<node-id>` for a node's audit log and
/// `<federation>/journal/<node-id>` for a node's journal.
public struct Checkpoint: Sendable, Equatable, Hashable {
    public let origin: String
    public let size: Int
    /// 32-byte RFC 6962 root.
    public let root: [UInt8]

    public init(origin: String, size: Int, root: [UInt8]) throws(AuditError) {
        guard !origin.isEmpty, !origin.contains("\n"), origin.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            throw AuditError(.malformedCheckpoint, "checkpoint origin must be a non-empty single line without control characters")
        }
        guard size >= 0 else { throw AuditError(.malformedCheckpoint, "checkpoint size must not be negative") }
        guard root.count == Merkle.hashSize else {
            throw AuditError(.malformedCheckpoint, "checkpoint root must be 32 bytes, got \(root.count)")
        }
        self.origin = origin
        self.size = size
        self.root = root
    }

    /// Parses `<origin>\n<size>\n<base64 root>\n`.
    public init(parsingBody body: String) throws(AuditError) {
        guard body.hasSuffix("\n") else { throw AuditError(.malformedCheckpoint, "checkpoint body must end with a newline") }
        let lines = body.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 3 else {
            throw AuditError(.malformedCheckpoint, "checkpoint body must have exactly 3 lines (origin, size, root); got \(lines.count)")
        }
        guard let size = Bytes.parseCanonicalDecimal(lines[1]) else {
            throw AuditError(.malformedCheckpoint, "checkpoint size '\(lines[1].prefix(24))' is not a decimal without leading zeros")
        }
        guard let root = Bytes.fromBase64(String(lines[2])), root.count == Merkle.hashSize else {
            throw AuditError(.malformedCheckpoint, "checkpoint root must be canonical base64 of 32 bytes")
        }
        try self.init(origin: String(lines[0]), size: size, root: root)
    }

    /// The note text.
    public var body: String { "\(origin)\n\(size)\n\(Bytes.base64(root))\n" }

    /// Root as base64 (as in the note).
    public var rootBase64: String { Bytes.base64(root) }

    /// Signs this checkpoint as a signed note.
    public func signed(by signer: NoteSigner) throws(AuditError) -> String { try signer.sign(body) }

    /// Verifies a signed checkpoint note with the log key and parses its body.
    public static func verified(_ note: String, logKey: NoteVerifierKey) throws(AuditError) -> (Checkpoint, SignedNote) {
        let verified = try NoteVerifier(keys: [logKey]).verify(note)
        return (try Checkpoint(parsingBody: verified.text), verified.note)
    }

    /// Origin of a node's audit log.
    public static func logOrigin(federation: String, node: String) -> String { "\(federation)/log/\(node)" }
    /// Origin of a node's journal.
    public static func journalOrigin(federation: String, node: String) -> String { "\(federation)/journal/\(node)" }
}
