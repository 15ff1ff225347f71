import Crypto

/// Signs notes (checkpoints) with an Ed25519 key under a key name, producing signed-note v1 lines
/// that Go's `sumdb/note` accepts. The node holds one for its audit log.
public struct NoteSigner: Sendable {
    public let name: String
    let privateKey: Curve25519.Signing.PrivateKey
    /// The matching public key in vkey form (type 0x01).
    public let verifierKey: NoteVerifierKey

    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(AuditError) {
        self.name = name
        self.privateKey = privateKey
        self.verifierKey = try NoteVerifierKey(name: name, type: .ed25519, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Parses Go's private key form `PRIVATE+KEY+name+hex8+base64(0x01 ‖ seed)`.
    public init(parsingPrivateKey text: String) throws(AuditError) {
        let parts = text.split(separator: "+", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "PRIVATE", parts[1] == "KEY" else {
            throw AuditError(.malformedKey, "a private note key is PRIVATE+KEY+name+keyid+base64")
        }
        guard let material = Bytes.fromBase64(String(parts[4])), material.count == 33, material[0] == NoteKeyType.ed25519.rawValue else {
            throw AuditError(.malformedKey, "private key material must be base64 of 0x01 followed by a 32-byte Ed25519 seed")
        }
        let key: Curve25519.Signing.PrivateKey
        do { key = try Curve25519.Signing.PrivateKey(rawRepresentation: material.dropFirst()) } catch {
            throw AuditError(.malformedKey, "invalid Ed25519 seed: \(error)")
        }
        try self.init(name: String(parts[2]), privateKey: key)
        guard Bytes.hex(Bytes.uint32BE(verifierKey.keyID)) == parts[3] else {
            throw AuditError(.malformedKey, "key ID \(parts[3]) does not match the private key of '\(name)'")
        }
    }

    /// Go's private key text form; keep it secret.
    public var privateKeyText: String {
        "PRIVATE+KEY+\(name)+\(Bytes.hex(Bytes.uint32BE(verifierKey.keyID)))+\(Bytes.base64([0x01] + Array(privateKey.rawRepresentation)))"
    }

    /// The signature line over `text` (which must end with a newline).
    public func signature(for text: String) throws(AuditError) -> SignedNote.Signature {
        try SignedNote.checkText(text)
        let sig: [UInt8]
        do { sig = Array(try privateKey.signature(for: Array(text.utf8))) } catch {
            throw AuditError(.io, "Ed25519 signing failed: \(error)")
        }
        return SignedNote.Signature(name: name, keyID: verifierKey.keyID, signature: sig)
    }

    /// Signs `text` and returns the whole signed note: text, blank line, signature line.
    public func sign(_ text: String) throws(AuditError) -> String {
        try SignedNote(text: text, signatures: [signature(for: text)]).serialized
    }
}
