import Crypto

/// A C2SP tlog-cosignature v1 (Ed25519, type 0x04): a witness's timestamped statement that a
/// checkpoint is the largest consistent tree head it has seen. Peers exchange these on every sync
/// so that a node showing two histories is caught offline.
public struct Cosignature: Sendable, Equatable {
    public let name: String
    public let keyID: UInt32
    /// POSIX seconds at which the witness signed.
    public let timestamp: UInt64
    /// 64-byte Ed25519 signature.
    public let signature: [UInt8]

    /// The message a witness signs: `cosignature/v1\ntime <t>\n` followed by the checkpoint body.
    public static func message(for checkpoint: Checkpoint, timestamp: UInt64) -> [UInt8] {
        Array("cosignature/v1\ntime \(timestamp)\n".utf8) + Array(checkpoint.body.utf8)
    }

    /// Reads a note signature line as a cosignature (keyID ‖ u64 timestamp ‖ 64-byte sig).
    public init(_ line: SignedNote.Signature) throws(AuditError) {
        guard line.signature.count == 72 else {
            throw AuditError(.malformedCosignature, "cosignature by '\(line.name)' must hold an 8-byte timestamp and a 64-byte signature; got \(line.signature.count) bytes")
        }
        let ts = Bytes.readUInt64BE(line.signature.prefix(8))
        guard ts <= UInt64(Int64.max) else {
            throw AuditError(.malformedCosignature, "cosignature timestamp of '\(line.name)' exceeds 2^63-1")
        }
        self.name = line.name
        self.keyID = line.keyID
        self.timestamp = ts
        self.signature = Array(line.signature.dropFirst(8))
    }

    init(name: String, keyID: UInt32, timestamp: UInt64, signature: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.timestamp = timestamp
        self.signature = signature
    }

    /// The note signature line form.
    public var noteSignature: SignedNote.Signature {
        SignedNote.Signature(name: name, keyID: keyID, signature: Bytes.uint64BE(timestamp) + signature)
    }
}

/// A witness: cosigns checkpoints of other nodes' logs with its own Ed25519 key (never the log key).
public struct CosignatureSigner: Sendable {
    public let name: String
    let privateKey: Curve25519.Signing.PrivateKey
    /// The witness public key in vkey form (type 0x04).
    public let verifierKey: NoteVerifierKey

    public init(name: String, privateKey: Curve25519.Signing.PrivateKey) throws(AuditError) {
        self.name = name
        self.privateKey = privateKey
        self.verifierKey = try NoteVerifierKey(name: name, type: .cosignatureV1, publicKey: Array(privateKey.publicKey.rawRepresentation))
    }

    /// Cosigns `checkpoint` at `timestamp` (POSIX seconds).
    public func cosign(_ checkpoint: Checkpoint, timestamp: UInt64) throws(AuditError) -> Cosignature {
        guard timestamp <= UInt64(Int64.max) else { throw AuditError(.invalidArgument, "timestamp exceeds 2^63-1") }
        let sig: [UInt8]
        do { sig = Array(try privateKey.signature(for: Cosignature.message(for: checkpoint, timestamp: timestamp))) } catch {
            throw AuditError(.io, "Ed25519 signing failed: \(error)")
        }
        return Cosignature(name: name, keyID: verifierKey.keyID, timestamp: timestamp, signature: sig)
    }

    /// Adds this witness's cosignature line to a signed checkpoint note and returns the new note.
    public func cosign(note: String, timestamp: UInt64) throws(AuditError) -> String {
        var parsed = try SignedNote(parsing: note)
        let checkpoint = try Checkpoint(parsingBody: parsed.text)
        parsed.add(try cosign(checkpoint, timestamp: timestamp).noteSignature)
        return parsed.serialized
    }
}

/// Checks cosignatures by one witness key (type 0x04).
public struct CosignatureVerifier: Sendable {
    public let key: NoteVerifierKey

    public init(key: NoteVerifierKey) throws(AuditError) {
        guard key.type == .cosignatureV1 else {
            throw AuditError(.invalidArgument, "witness key '\(key.name)' must be of type 0x04 (cosignature/v1)")
        }
        self.key = key
    }

    /// True when `cosignature` is by this key and valid over `checkpoint`.
    public func isValid(_ cosignature: Cosignature, for checkpoint: Checkpoint) -> Bool {
        guard cosignature.name == key.name, cosignature.keyID == key.keyID, let pub = key.signingKey else { return false }
        return pub.isValidSignature(cosignature.signature, for: Cosignature.message(for: checkpoint, timestamp: cosignature.timestamp))
    }

    /// Finds this witness's line in a cosigned checkpoint note and verifies it. Throws when the
    /// line is absent, malformed or invalid; returns the checkpoint and the cosignature.
    public func verify(note: String) throws(AuditError) -> (Checkpoint, Cosignature) {
        let parsed = try SignedNote(parsing: note)
        let checkpoint = try Checkpoint(parsingBody: parsed.text)
        guard let line = parsed.signatures.first(where: { $0.name == key.name && $0.keyID == key.keyID }) else {
            throw AuditError(.noTrustedSignature, "checkpoint of '\(checkpoint.origin)' at size \(checkpoint.size) carries no cosignature by witness '\(key.name)'")
        }
        let cosig = try Cosignature(line)
        guard isValid(cosig, for: checkpoint) else {
            throw AuditError(.signatureInvalid, "cosignature by witness '\(key.name)' over '\(checkpoint.origin)' size \(checkpoint.size) does not verify")
        }
        return (checkpoint, cosig)
    }
}
