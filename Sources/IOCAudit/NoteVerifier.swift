/// Verifies signed notes against a set of trusted Ed25519 (type 0x01) keys, with the signed-note
/// rules: lines from unknown keys are ignored, a known key whose signature fails rejects the whole
/// note, and at least one known key must have signed.
public struct NoteVerifier: Sendable {
    public let keys: [NoteVerifierKey]

    public init(keys: [NoteVerifierKey]) throws(AuditError) {
        guard keys.allSatisfy({ $0.type == .ed25519 }) else {
            throw AuditError(.invalidArgument, "NoteVerifier takes Ed25519 (type 0x01) keys; use CosignatureVerifier for witness keys")
        }
        self.keys = keys
    }

    /// The outcome: the note's text and the names of the trusted keys that signed it.
    public struct Verified: Sendable, Equatable {
        public let note: SignedNote
        public let signers: [String]
        public var text: String { note.text }
    }

    public func verify(_ note: String) throws(AuditError) -> Verified {
        try verify(SignedNote(parsing: note))
    }

    public func verify(_ note: SignedNote) throws(AuditError) -> Verified {
        var signers = [String]()
        let message = Array(note.text.utf8)
        for sig in note.signatures {
            guard let key = keys.first(where: { $0.name == sig.name && $0.keyID == sig.keyID }) else { continue }
            guard sig.signature.count == 64, let pub = key.signingKey,
                  pub.isValidSignature(sig.signature, for: message) else {
                throw AuditError(.signatureInvalid, "signature by '\(key.name)' (key \(Bytes.hex(Bytes.uint32BE(key.keyID)))) does not verify; the note was altered or signed by another key")
            }
            if !signers.contains(key.name) { signers.append(key.name) }
        }
        guard !signers.isEmpty else {
            let names = keys.map { $0.name }.joined(separator: ", ")
            throw AuditError(.noTrustedSignature, "note carries no signature from a trusted key (trusted: \(names))")
        }
        return Verified(note: note, signers: signers)
    }
}
