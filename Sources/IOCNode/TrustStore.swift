import Crypto
import Foundation
import IOCIdentity
import IOCStore
import Logging
import X509

/// What a node trusts, kept current while it runs: the CA, the topology's nodes, and the newest
/// CA-signed registry and denylist it has seen — from its `--certs` directory, from its database,
/// or from a peer through sync. A newer denylist takes effect on the next handshake, request and
/// bundle, without a restart.
public actor TrustStore {
    public nonisolated let federation: String
    nonisolated let caKey: P256.Signing.PublicKey
    private var current: TrustSnapshot
    private let store: NodeStore?
    private let certs: CertsDirectory?
    private let logger: Logger

    public init(
        federation: String, ca: Certificate, knownNodes: Set<String>, registry: SignedDocument, denylist: SignedDocument?,
        store: NodeStore?, certs: CertsDirectory?, validationTime: Date? = nil, logger: Logger = Logger(label: "iocnode.trust")
    ) throws {
        guard let key = P256.Signing.PublicKey(ca.publicKey) else {
            throw IdentityError("the federation CA key is not P-256")
        }
        self.federation = federation
        caKey = key
        self.store = store
        self.certs = certs
        self.logger = logger
        var reg = try registry.open(Registry.self, type: Registry.payloadType, key: key)
        var deny = try denylist?.open(Denylist.self, type: Denylist.payloadType, key: key) ?? .empty(federation: federation)
        // The database may hold newer documents received through sync.
        if let store {
            if let (_, bytes) = try store.trustDocument("registry"),
                let newer = try? SignedDocument.decode(bytes).open(Registry.self, type: Registry.payloadType, key: key),
                newer.version > reg.version
            {
                reg = newer
            }
            if let (_, bytes) = try store.trustDocument("denylist"),
                let newer = try? SignedDocument.decode(bytes).open(Denylist.self, type: Denylist.payloadType, key: key),
                newer.version > deny.version
            {
                deny = newer
            }
        }
        guard reg.federation == federation else {
            throw IdentityError("the registry is for federation '\(reg.federation)', not '\(federation)'")
        }
        current = TrustSnapshot(
            federation: federation, ca: ca, knownNodes: knownNodes, registry: reg, denylist: deny, validationTime: validationTime)
    }

    public func snapshot() -> TrustSnapshot { current }

    /// The current documents as signed bytes, for peers that lack them.
    public func documents() throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for kind in ["registry", "denylist"] {
            if let stored = try store?.trustDocument(kind) { out[kind] = stored.bytes }
        }
        return out
    }

    /// Verifies a signed registry or denylist and installs it when it is newer than the current
    /// one. Returns true when installed. A document not signed by the CA is refused.
    @discardableResult
    public func install(kind: String, bytes: [UInt8]) throws -> Bool {
        let doc = try SignedDocument.decode(bytes)
        switch kind {
        case "registry":
            let r = try doc.open(Registry.self, type: Registry.payloadType, key: caKey)
            guard r.federation == federation else { throw IdentityError("registry for another federation '\(r.federation)'") }
            try store?.storeTrustDocument(kind, version: r.version, bytes: bytes)
            guard r.version > current.registry.version else { return false }
            current.registry = r
            logger.info("installed registry version \(r.version)")
        case "denylist":
            let d = try doc.open(Denylist.self, type: Denylist.payloadType, key: caKey)
            guard d.federation == federation else { throw IdentityError("denylist for another federation '\(d.federation)'") }
            try store?.storeTrustDocument(kind, version: d.version, bytes: bytes)
            guard d.version > current.denylist.version else { return false }
            current.denylist = d
            logger.notice("installed denylist version \(d.version) (\(d.revoked.count) revoked)")
        default:
            throw IdentityError("unknown trust document kind '\(kind)'")
        }
        return true
    }

    /// Picks up documents written to the `--certs` directory by `iocnode certs revoke | issue`
    /// while the node runs (how the province learns of a revocation).
    public func reloadFromDisk() {
        guard let certs else { return }
        for (kind, file) in [("registry", certs.registry), ("denylist", certs.denylist)] {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do {
                try install(kind: kind, bytes: Array(data))
            } catch {
                logger.warning("ignoring \(file): \(error)")
            }
        }
    }
}

/// A node's own identity material, read once at start-up from its `--certs` directory.
public struct NodeCredentials: Sendable {
    public var nodeID: String
    public var certs: CertsDirectory
    public var ca: Certificate
    public var caPEM: [UInt8]
    public var certificatePEM: [UInt8]
    public var privateKeyPEM: [UInt8]
    public var signingKey: Curve25519.Signing.PrivateKey
    public var registry: SignedDocument
    public var denylist: SignedDocument?

    public init(certs: CertsDirectory, nodeID: String) throws {
        self.nodeID = nodeID
        self.certs = certs
        func bytes(_ file: String, _ what: String) throws -> [UInt8] {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw IdentityError(
                    "Cannot read \(what) at \(file). Create the federation's certificates with `iocnode certs init --topology FILE --out \(certs.path)` (or `iocnode certs issue` for one node), or pass --certs DIR.")
            }
            return Array(data)
        }
        caPEM = try bytes(certs.caCertificate, "the federation CA certificate")
        ca = try Certificate(pemEncoded: String(decoding: caPEM, as: UTF8.self))
        certificatePEM = try bytes(certs.tlsCertificate(nodeID), "the TLS certificate of node '\(nodeID)'")
        privateKeyPEM = try bytes(certs.tlsKey(nodeID), "the TLS key of node '\(nodeID)'")
        signingKey = try Ed25519PEM.privateKey(
            from: String(decoding: try bytes(certs.signingKey(nodeID), "the signing key of node '\(nodeID)'"), as: UTF8.self))
        registry = try SignedDocument.decode(try bytes(certs.registry, "the registry"))
        denylist = try certs.readDocument(certs.denylist)
        let mode = (try? FileManager.default.attributesOfItem(atPath: certs.tlsKey(nodeID))[.posixPermissions] as? Int) ?? 0
        if mode & 0o077 != 0 {
            throw IdentityError(
                "\(certs.tlsKey(nodeID)) is readable by other users (mode \(String(mode, radix: 8))); run `chmod 600` on it.")
        }
    }
}
