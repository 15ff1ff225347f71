import Crypto

/// A public key in the C2SP "vkey" text form `name+hex8(keyID)+base64(type ‖ pubkey)`, the form
/// Go's `sumdb/note` and every witness tool exchange, so our keys can be pasted into them.
public struct NoteVerifierKey: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let name: String
    public let type: NoteKeyType
    /// 32-byte Ed25519 public key.
    public let publicKey: [UInt8]
    /// SHA-256(name ‖ 0x0A ‖ type ‖ publicKey)[:4] as a big-endian integer.
    public let keyID: UInt32

    public init(name: String, type: NoteKeyType, publicKey: [UInt8]) throws(AuditError) {
        try Self.checkName(name)
        guard publicKey.count == 32 else {
            throw AuditError(.malformedKey, "an Ed25519 public key has 32 bytes, got \(publicKey.count)")
        }
        self.name = name
        self.type = type
        self.publicKey = publicKey
        self.keyID = Self.keyID(name: name, type: type, publicKey: publicKey)
    }

    /// Parses `name+hex8+base64`; the embedded key ID must match the one recomputed from the key.
    public init(parsing text: String) throws(AuditError) {
        let trimmed = text.hasSuffix("\n") ? String(text.dropLast()) : text
        let parts = trimmed.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw AuditError(.malformedKey, "a verifier key is name+keyid+base64 (three fields separated by '+'); got \(parts.count) fields")
        }
        guard parts[1].count == 8, let idBytes = Bytes.fromHex(String(parts[1])) else {
            throw AuditError(.malformedKey, "key ID '\(parts[1])' must be 8 lower-case hex digits")
        }
        guard let material = Bytes.fromBase64(String(parts[2])), let first = material.first else {
            throw AuditError(.malformedKey, "key material of '\(parts[0])' is not canonical base64")
        }
        guard let type = NoteKeyType(rawValue: first) else {
            throw AuditError(.malformedKey, "unsupported signature type 0x\(Bytes.hex([first])) for key '\(parts[0])'; expected 0x01 (Ed25519) or 0x04 (cosignature)")
        }
        try self.init(name: String(parts[0]), type: type, publicKey: Array(material.dropFirst()))
        let claimed = Bytes.readUInt32BE(idBytes[...])
        guard claimed == keyID else {
            throw AuditError(.malformedKey, "key ID \(parts[1]) of '\(name)' does not match the key (expected \(Bytes.hex(Bytes.uint32BE(keyID))))")
        }
    }

    /// The vkey text form.
    public var text: String {
        "\(name)+\(Bytes.hex(Bytes.uint32BE(keyID)))+\(Bytes.base64([type.rawValue] + publicKey))"
    }

    public var description: String { text }

    /// Key ID as defined by signed-note: first four bytes of SHA-256(name ‖ 0x0A ‖ type ‖ key).
    public static func keyID(name: String, type: NoteKeyType, publicKey: [UInt8]) -> UInt32 {
        Bytes.readUInt32BE(Bytes.sha256(Array(name.utf8), [0x0A, type.rawValue], publicKey).prefix(4))
    }

    /// Key names must be non-empty, without Unicode spaces or '+', and without control characters.
    static func checkName(_ name: String) throws(AuditError) {
        guard !name.isEmpty else { throw AuditError(.malformedKey, "key name must not be empty") }
        for scalar in name.unicodeScalars {
            if scalar == "+" || scalar.properties.isWhitespace || scalar.value < 0x20 || scalar.value == 0x7f {
                throw AuditError(.malformedKey, "key name '\(name)' must not contain spaces, '+' or control characters")
            }
        }
    }

    /// The swift-crypto public key.
    var signingKey: Curve25519.Signing.PublicKey? { try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey) }
}
