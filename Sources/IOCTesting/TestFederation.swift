import Foundation
import IOCIdentity
import IOCNode
import IOCSharing
import IOCStore

/// A federation's certificates and keys generated in code for a test, against a fixed reference
/// time (no committed fixtures that expire), plus the signed-bundle plumbing around them.
public struct TestFederation: Sendable {
    /// 2026-01-01T00:00:00Z: certificates are issued relative to it and verified at it.
    public static let referenceTime = Date(timeIntervalSince1970: 1_767_225_600)

    public let federation: String
    public let certs: CertsDirectory
    public let nodes: [String]
    /// The sharing policy both ends use (the sample rules over `TopologyFixtures.small()`).
    public var sharing: SharingGate

    /// Writes a CA, node certificates (valid 60 days from `now`) and signing keys under `root/certs`.
    public init(root: String, federation: String = "test", nodes: [String], now: Date = TestFederation.referenceTime) throws {
        self.federation = federation
        self.nodes = nodes
        sharing = SharingGate(try ActivePolicy(topology: TopologyFixtures.small()))
        certs = CertsDirectory(path: root + "/certs")
        var hosts: [String: [String]] = [:]
        for n in nodes { hosts[n] = ["127.0.0.1", "localhost"] }
        try certs.initialise(federation: federation, nodes: nodes, hosts: hosts, now: now, force: true)
    }

    public func signer(_ node: String) throws -> BundleSigner {
        BundleSigner(nodeID: node, key: try certs.readSigningKey(node))
    }

    public func credentials(_ node: String) throws -> NodeCredentials { try NodeCredentials(certs: certs, nodeID: node) }

    /// What `store`'s node trusts, validating certificates at `validationTime`.
    public func trust(for store: NodeStore?, validationTime: Date? = TestFederation.referenceTime) throws -> TrustStore {
        try TrustStore(
            federation: federation, ca: try certs.readCA(), knownNodes: Set(nodes),
            registry: try certs.readDocument(certs.registry)!, denylist: try certs.readDocument(certs.denylist), store: store,
            certs: certs, validationTime: validationTime)
    }

    public func receiver(_ store: NodeStore) throws -> BundleReceiver {
        BundleReceiver(store: store, trust: try trust(for: store), limits: store.limits, sharing: sharing)
    }

    /// Every bundle `from` has for `to`, signed, verified and received in process.
    @discardableResult
    public func transfer(from: NodeStore, to: NodeStore) async throws -> [Receipt] {
        var envelopes: [[UInt8]] = []
        try BundleExchange(store: from, signer: try signer(from.nodeID), sharing: sharing).export(to: to.nodeID) {
            envelopes.append($0)
        }
        let receiver = try receiver(to)
        var receipts: [Receipt] = []
        for e in envelopes { receipts.append(try await receiver.receive(e, transportPeer: nil)) }
        return receipts
    }
}
