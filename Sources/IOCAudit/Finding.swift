/// One result of an audit check: a stable code, a severity that decides the exit status, and a
/// message naming the first bad entry, tile or checkpoint so an operator knows where to look.
public struct Finding: Sendable, Equatable {
    /// How bad it is. `failure` means the log is not what it claims (exit 1); `incomplete` means
    /// the input lacks something needed to decide (exit 2); `warning` and `info` never fail.
    public enum Severity: String, Sendable, Equatable, Comparable {
        case info, warning, incomplete, failure

        var rank: Int { switch self { case .info: 0; case .warning: 1; case .incomplete: 2; case .failure: 3 } }
        public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
    }

    /// Stable finding codes; scripts match on the raw values.
    public enum Code: String, Sendable, Equatable {
        case missingInput = "input.missing"
        case malformedInput = "input.malformed"
        case checkpointSignature = "checkpoint.signature"
        case checkpointMalformed = "checkpoint.malformed"
        case checkpointOrigin = "checkpoint.origin"
        case entriesMissing = "entries.missing"
        case entriesMalformed = "entries.malformed"
        case rootMismatch = "log.root_mismatch"
        case missingTile = "tile.missing"
        case tileMismatch = "tile.mismatch"
        case eventMalformed = "event.malformed"
        case eventAuthor = "event.author"
        case earlierCheckpointSignature = "history.checkpoint_signature"
        case rollback = "history.rollback"
        case inconsistentCheckpoint = "history.inconsistent"
        case cosignatureInvalid = "cosignature.invalid"
        case cosignatureKeyMissing = "cosignature.key_missing"
        case cosignatureInconsistent = "cosignature.inconsistent"
        case witnessKeyMismatch = "cosignature.witness_key_mismatch"
        case inclusionProof = "proof.inclusion"
        case receiptMissing = "crosscheck.receipt_missing"
        case pending = "crosscheck.pending"
        case unsentReceipt = "crosscheck.unsent_receipt"
        case fork = "crosscheck.fork"
        case sequenceGap = "crosscheck.sequence_gap"
        case knowledgeDecreased = "crosscheck.knowledge_decreased"
        case cosignedTreeMismatch = "crosscheck.cosigned_tree_mismatch"
        case peerMissing = "crosscheck.peer_missing"
        /// The log and witness keys are not tied to the CA-signed registry (`trust/` in an export).
        case keyBinding = "keys.binding"
        case verified = "ok"
    }

    public let code: Code
    public let severity: Severity
    public let message: String
    /// Path, entry index or node the finding is about (for machines); may be empty.
    public let subject: String

    public init(_ code: Code, _ severity: Severity, _ message: String, subject: String = "") {
        self.code = code
        self.severity = severity
        self.message = message
        self.subject = subject
    }

    var json: CanonicalJSON {
        .object(["code": .string(code.rawValue), "severity": .string(severity.rawValue), "message": .string(message), "subject": .string(subject)])
    }
}
