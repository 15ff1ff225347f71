import Crypto
import Foundation

/// A document the federation CA signs: a DSSE envelope in its JSON form (payload type, base64
/// payload, signatures over the pre-authentication encoding). The CA key signs, so every node —
/// which already holds the CA certificate — can check a document it received from anyone, over
/// sync or on a USB stick. The payload bytes are signed as they are and never re-encoded.
public struct SignedDocument: Sendable, Hashable, Codable {
    public struct Signature: Sendable, Hashable, Codable {
        public var keyid: String
        public var sig: String
    }

    public var payloadType: String
    public var payload: String
    public var signatures: [Signature]

    /// DSSE PAE: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
    static func pae(_ type: String, _ body: [UInt8]) -> [UInt8] {
        Array("DSSEv1 \(type.utf8.count) \(type) \(body.count) ".utf8) + body
    }

    public init(payloadType: String, payload: [UInt8], signer: P256.Signing.PrivateKey) throws {
        self.payloadType = payloadType
        self.payload = Data(payload).base64EncodedString()
        let sig = try signer.signature(for: Self.pae(payloadType, payload))
        signatures = [Signature(keyid: "ca", sig: sig.derRepresentation.base64EncodedString())]
    }

    /// The payload bytes, only if a signature verifies under `key` and the type is `expectedType`.
    public func verifiedPayload(expectedType: String, key: P256.Signing.PublicKey) throws -> [UInt8] {
        guard payloadType == expectedType else {
            throw IdentityError("expected a \(expectedType) document, got \(payloadType)")
        }
        guard let body = Data(base64Encoded: payload) else { throw IdentityError("the document's payload is not base64") }
        let message = Self.pae(payloadType, Array(body))
        let valid = signatures.contains { s in
            guard let der = Data(base64Encoded: s.sig), let sig = try? P256.Signing.ECDSASignature(derRepresentation: der)
            else { return false }
            return key.isValidSignature(sig, for: message)
        }
        guard valid else { throw IdentityError("the document is not signed by this federation's CA") }
        return Array(body)
    }

    public func encoded() throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try e.encode(self)) + [0x0A]
    }

    public static func decode(_ bytes: [UInt8]) throws -> SignedDocument {
        do {
            return try JSONDecoder().decode(SignedDocument.self, from: Data(bytes))
        } catch {
            throw IdentityError("not a signed trust document (\(error))")
        }
    }
}

/// The registry: which Ed25519 key signs bundles for which node. Certificates carry identity
/// only; the bundle-signing key of each node comes from here (design.md §7).
public struct Registry: Sendable, Hashable, Codable {
    public static let payloadType = "application/vnd.ioc.registry.v1+json"

    public struct NodeKey: Sendable, Hashable, Codable {
        public var id: String
        /// Base64 of the raw 32-byte Ed25519 public key.
        public var signingKey: String
        public init(id: String, signingKey: String) {
            self.id = id
            self.signingKey = signingKey
        }
    }

    public var federation: String
    public var version: UInt64
    public var issuedAt: String
    public var nodes: [NodeKey]

    public init(federation: String, version: UInt64, issuedAt: Date, nodes: [NodeKey]) {
        self.federation = federation
        self.version = version
        self.issuedAt = ISO8601DateFormatter().string(from: issuedAt)
        self.nodes = nodes.sorted { $0.id < $1.id }
    }

    public func signingKey(of node: String) -> Curve25519.Signing.PublicKey? {
        guard let entry = nodes.first(where: { $0.id == node }), let raw = Data(base64Encoded: entry.signingKey) else {
            return nil
        }
        return try? Curve25519.Signing.PublicKey(rawRepresentation: raw)
    }
}

/// The denylist: certificates and signing keys the federation no longer trusts. swift-nio-ssl
/// and swift-certificates read no CRLs, so this signed, versioned list is our revocation; the
/// province distributes it through sync and nodes apply it without restarting.
public struct Denylist: Sendable, Hashable, Codable {
    public static let payloadType = "application/vnd.ioc.denylist.v1+json"

    public struct Entry: Sendable, Hashable, Codable {
        public var node: String
        /// Hex serial of a revoked TLS certificate.
        public var serial: String?
        /// Base64 raw Ed25519 key no longer accepted on bundles.
        public var signingKey: String?
        public var reason: String
        public var revokedAt: String

        public init(node: String, serial: String?, signingKey: String?, reason: String, revokedAt: Date) {
            self.node = node
            self.serial = serial
            self.signingKey = signingKey
            self.reason = reason
            self.revokedAt = ISO8601DateFormatter().string(from: revokedAt)
        }
    }

    public var federation: String
    public var version: UInt64
    public var issuedAt: String
    public var revoked: [Entry]

    public init(federation: String, version: UInt64, issuedAt: Date, revoked: [Entry]) {
        self.federation = federation
        self.version = version
        self.issuedAt = ISO8601DateFormatter().string(from: issuedAt)
        self.revoked = revoked
    }

    public static func empty(federation: String) -> Denylist {
        Denylist(federation: federation, version: 0, issuedAt: Date(timeIntervalSince1970: 0), revoked: [])
    }

    public func revokes(serial: String) -> Bool { revoked.contains { $0.serial == serial } }

    public func revokes(signingKey: Curve25519.Signing.PublicKey) -> Bool {
        let b64 = signingKey.rawRepresentation.base64EncodedString()
        return revoked.contains { $0.signingKey == b64 }
    }
}

extension SignedDocument {
    public init<T: Encodable>(signing value: T, type: String, by key: P256.Signing.PrivateKey) throws {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        try self.init(payloadType: type, payload: Array(try e.encode(value)), signer: key)
    }

    public func open<T: Decodable>(_: T.Type, type: String, key: P256.Signing.PublicKey) throws -> T {
        let body = try verifiedPayload(expectedType: type, key: key)
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw IdentityError("the signed \(type) document does not decode: \(error)")
        }
    }
}
