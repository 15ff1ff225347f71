/// A parsed C2SP signed note: the text (ending in a newline) and its signature lines. Parsing is
/// separate from verification so that tools can add cosignature lines to a note without trusting
/// it, and verifiers decide which lines matter.
public struct SignedNote: Sendable, Equatable {
    /// One `— <name> base64(keyID ‖ signature)` line.
    public struct Signature: Sendable, Equatable {
        public let name: String
        public let keyID: UInt32
        /// The bytes after the key ID (64 for Ed25519, 72 for a timestamped cosignature).
        public let signature: [UInt8]

        public init(name: String, keyID: UInt32, signature: [UInt8]) {
            self.name = name
            self.keyID = keyID
            self.signature = signature
        }

        /// The line, including its final newline.
        public var line: String { "— \(name) \(Bytes.base64(Bytes.uint32BE(keyID) + signature))\n" }
    }

    /// Upper bound on signature lines we accept (the spec asks for at least 16).
    public static let maxSignatures = 64
    /// Upper bound on a note's size; checkpoints are a few hundred bytes.
    public static let maxBytes = 1 << 16

    public let text: String
    public private(set) var signatures: [Signature]

    public init(text: String, signatures: [Signature]) throws(AuditError) {
        try Self.checkText(text)
        self.text = text
        self.signatures = signatures
    }

    /// Parses a note: text, then a blank line, then one or more signature lines.
    public init(parsing note: String) throws(AuditError) {
        let bytes = Array(note.utf8)
        guard bytes.count <= Self.maxBytes else {
            throw AuditError(.malformedNote, "note is \(bytes.count) bytes; the limit is \(Self.maxBytes)")
        }
        guard note.hasSuffix("\n") else { throw AuditError(.malformedNote, "note must end with a newline") }
        for b in bytes where b < 0x20 && b != 0x0A {
            throw AuditError(.malformedNote, "note contains control character 0x\(Bytes.hex([b])); only newline is allowed")
        }
        // The text is separated from the signatures by the last blank line.
        guard let sep = note.range(of: "\n\n", options: .backwards) else {
            throw AuditError(.malformedNote, "note has no blank line separating the text from its signatures")
        }
        let text = String(note[..<note.index(after: sep.lowerBound)])
        let sigBlock = note[sep.upperBound...]
        var signatures = [Signature]()
        for line in sigBlock.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            guard signatures.count < Self.maxSignatures else {
                throw AuditError(.malformedNote, "note has more than \(Self.maxSignatures) signatures")
            }
            signatures.append(try Self.parseLine(line))
        }
        guard !signatures.isEmpty else { throw AuditError(.malformedNote, "note has no signature lines") }
        try self.init(text: text, signatures: signatures)
    }

    static func parseLine(_ line: Substring) throws(AuditError) -> Signature {
        guard line.hasPrefix("— ") else {
            throw AuditError(.malformedNote, "signature line '\(line.prefix(40))' must start with an em dash and a space")
        }
        let rest = line.dropFirst(2)
        let fields = rest.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 2, !fields[0].isEmpty else {
            throw AuditError(.malformedNote, "signature line must be '— <name> <base64>'")
        }
        guard let raw = Bytes.fromBase64(String(fields[1])), raw.count > 4 else {
            throw AuditError(.malformedNote, "signature of '\(fields[0])' is not base64 of a key ID and a signature")
        }
        return Signature(name: String(fields[0]), keyID: Bytes.readUInt32BE(raw.prefix(4)), signature: Array(raw.dropFirst(4)))
    }

    static func checkText(_ text: String) throws(AuditError) {
        guard text.hasSuffix("\n") else { throw AuditError(.malformedNote, "note text must end with a newline") }
        guard !text.hasSuffix("\n\n") else {
            throw AuditError(.malformedNote, "note text must not end with a blank line (it would be mistaken for the signature separator)")
        }
        for b in text.utf8 where b < 0x20 && b != 0x0A {
            throw AuditError(.malformedNote, "note text contains control character 0x\(Bytes.hex([b]))")
        }
    }

    /// Adds a signature line (e.g. a peer's cosignature) keeping the existing ones.
    public mutating func add(_ signature: Signature) { signatures.append(signature) }

    /// The serialized note: text, blank line, signature lines.
    public var serialized: String { text + "\n" + signatures.map(\.line).joined() }
}
