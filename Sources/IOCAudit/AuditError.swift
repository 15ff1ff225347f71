/// The one error type of this module: a stable machine-readable code plus a message that says what
/// was wrong and what to do about it. Typed so that callers (the node, the CLI) can map codes to
/// exit statuses without string matching.
public struct AuditError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable identifiers; never renamed, because reports and scripts match on them.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        case malformedProof = "merkle.malformed_proof"
        case malformedKey = "note.malformed_key"
        case malformedNote = "note.malformed"
        case signatureInvalid = "note.signature_invalid"
        case noTrustedSignature = "note.no_trusted_signature"
        case malformedCheckpoint = "checkpoint.malformed"
        case malformedCosignature = "cosignature.malformed"
        case entryTooLarge = "tiles.entry_too_large"
        case malformedBundle = "tiles.malformed_bundle"
        case missingFile = "io.missing_file"
        case io = "io.error"
        case malformedJSON = "json.malformed"
        case malformedEvent = "event.malformed"
        case unknownEventType = "event.unknown_type"
        case invalidArgument = "argument.invalid"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "[\(code.rawValue)] \(message)" }
}
