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
    /// The signed bytes of the documents in force, handed to peers as they are.
    private var signed: [String: [UInt8]] = [:]
    /// Modification dates of the `--certs` files last read, so an unchanged file is not re-read.
    private var seenOnDisk: [String: Date] = [:]
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
        let reg = try registry.open(Registry.self, type: Registry.payloadType, key: key)
        guard reg.federation == federation else {
            throw IdentityError("the registry is for federation '\(reg.federation)', not '\(federation)'")
        }
        var snapshot = TrustSnapshot(
            federation: federation, ca: ca, knownNodes: knownNodes, registry: reg,
            denylist: .empty(federation: federation), validationTime: validationTime)
        var signed = ["registry": try registry.encoded()]
        // Then the newest of: the certs directory's denylist, and what earlier syncs stored.
        if let denylist {
            _ = try Self.adopt("denylist", try denylist.encoded(), into: &snapshot, &signed, caKey: key)
        }
        for kind in ["registry", "denylist"] {
            if let (_, bytes) = try store?.trustDocument(kind) {
                _ = try? Self.adopt(kind, bytes, into: &snapshot, &signed, caKey: key)
            }
        }
        current = snapshot
        self.signed = signed
    }

    public func snapshot() -> TrustSnapshot { current }

    /// The documents in force as signed bytes, for peers that lack them.
    public func documents() -> [String: [UInt8]] { signed }

    /// Verifies a signed registry or denylist and installs it when it is newer than the one in
    /// force (and stores it, so it survives a restart). Returns true when installed. A document
    /// not signed by the CA, or for another federation, is refused.
    @discardableResult
    public func install(kind: String, bytes: [UInt8]) throws -> Bool {
        guard try Self.adopt(kind, bytes, into: &current, &signed, caKey: caKey) else { return false }
        try store?.storeTrustDocument(kind, version: current.version(of: kind), bytes: bytes)
        if kind == "denylist" {
            logger.notice("installed denylist version \(current.denylist.version) (\(current.denylist.revoked.count) revoked)")
        } else {
            logger.info("installed registry version \(current.registry.version)")
        }
        return true
    }

    /// Puts a verified document into `snapshot` and `signed` when it is newer than the one there.
    private static func adopt(
        _ kind: String, _ bytes: [UInt8], into snapshot: inout TrustSnapshot, _ signed: inout [String: [UInt8]],
        caKey: P256.Signing.PublicKey
    ) throws -> Bool {
        let doc = try SignedDocument.decode(bytes)
        switch kind {
        case "registry":
            guard let r = try newer(doc, than: snapshot.registry, federation: snapshot.federation, caKey: caKey) else { return false }
            snapshot.registry = r
        case "denylist":
            guard let d = try newer(doc, than: snapshot.denylist, federation: snapshot.federation, caKey: caKey) else { return false }
            snapshot.denylist = d
        default:
            throw IdentityError("unknown trust document kind '\(kind)'")
        }
        signed[kind] = bytes
        return true
    }

    /// The document opened and checked, if it is newer than `installed`.
    private static func newer<T: TrustDocument>(
        _ doc: SignedDocument, than installed: T, federation: String, caKey: P256.Signing.PublicKey
    ) throws -> T? {
        let d = try doc.open(T.self, type: T.payloadType, key: caKey)
        guard d.federation == federation else {
            throw IdentityError("\(T.payloadType) document for another federation '\(d.federation)'")
        }
        return d.version > installed.version ? d : nil
    }

    /// Picks up documents written to the `--certs` directory by `iocnode certs revoke | issue`
    /// while the node runs (how the province learns of a revocation). Unchanged files are skipped.
    public func reloadFromDisk() {
        guard let certs else { return }
        for (kind, file) in [("registry", certs.registry), ("denylist", certs.denylist)] {
            let modified = (try? FileManager.default.attributesOfItem(atPath: file)[.modificationDate]) as? Date
            guard let modified, seenOnDisk[file] != modified, let data = FileManager.default.contents(atPath: file) else { continue }
            seenOnDisk[file] = modified
            do {
                try install(kind: kind, bytes: Array(data))
            } catch {
                logger.warning("ignoring \(file): \(error)")
            }
        }
    }
}

/// What the registry and the denylist have in common as signed, versioned federation documents.
protocol TrustDocument: Decodable {
    static var payloadType: String { get }
    var federation: String { get }
    var version: UInt64 { get }
}

extension Registry: TrustDocument {}
extension Denylist: TrustDocument {}

extension TrustSnapshot {
    func version(of kind: String) -> UInt64 { kind == "registry" ? registry.version : denylist.version }
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
