import Foundation
import IOCAudit
import IOCModel
import IOCSharing
import IOCStore
import IOCTopology
import Logging
import ServiceLifecycle
import Synchronization

/// The sharing policy this node enforces, replaced as a whole when the topology file changes
/// (no restart, no resync). Read once per bundle, so a bundle is filtered or checked under exactly
/// one version. `nil` only for stores driven without a topology (benchmarks).
public final class SharingGate: Sendable {
    private let active: Mutex<ActivePolicy?>

    public init(_ policy: ActivePolicy?) { active = Mutex(policy) }

    public var current: ActivePolicy? { active.withLock { $0 } }

    public func install(_ policy: ActivePolicy) { active.withLock { $0 = policy } }
}

/// Builds this node's next bundle for a peer: the delta filtered by the policy in force, sealed
/// and stating that policy's version. The one path for HTTP push, HTTP pull and bundle files.
public struct Outbox: Sendable {
    public let store: NodeStore
    public let signer: BundleSigner
    public let sharing: SharingGate

    public init(store: NodeStore, signer: BundleSigner, sharing: SharingGate) {
        self.store = store
        self.signer = signer
        self.sharing = sharing
    }

    /// The oldest bundle `peer` has not acknowledged past `after`, else a new one (nil: nothing to say;
    /// with `fullOnly`, nothing that fills a bundle).
    public func next(
        to peer: String, after: UInt64 = 0, force: Bool = false, contentOnly: Bool = false, fullOnly: Bool = false
    ) throws -> OutboundBundle? {
        if let old = try store.firstUnacknowledged(peer, after: after) { return old }
        let policy = sharing.current
        let now = store.now()
        let signer = self.signer
        return try store.nextOutbound(to: peer, force: force, contentOnly: contentOnly, fullOnly: fullOnly, sharing: policy) {
            try signer.seal($0, policyVersion: policy?.version ?? 0, now: now)
        }
    }

    /// Up to `count` bundles for `peer` past `after` (unacknowledged ones first, then new ones),
    /// stopping before `bytes` would be exceeded (the first is always taken).
    public func batch(to peer: String, after: UInt64 = 0, count: Int, bytes: Int, contentOnly: Bool = false) throws
        -> [OutboundBundle]
    {
        var out: [OutboundBundle] = []
        var total = 0
        var last = after
        while out.count < count, let b = try next(to: peer, after: last, contentOnly: contentOnly) {
            if !out.isEmpty && total + b.envelope.count > bytes { break }
            out.append(b)
            total += b.envelope.count
            last = b.seq
        }
        return out
    }
}

extension NodeStore {
    /// Applies a new policy at this node: records it may no longer hold are purged (with receipts),
    /// and the topology text is kept so `bundle export/import` use the same policy. Does nothing
    /// when the policy is the one already applied. Returns the number of records purged.
    @discardableResult
    public func applyPolicy(_ policy: ActivePolicy, topologyText: String?) throws -> Int {
        let applied = try readSync { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'policy_fingerprint'")
        }
        guard applied != policy.fingerprint else { return 0 }
        let purged = try enforce(policy)
        try logAuditEvent(
            .policyApplied, reason: "fingerprint \(policy.fingerprint.prefix(16)); purged \(purged) record(s)",
            policyVersion: policy.version)
        try writeSync { tx in
            var rows: [(String, String)] = [("policy_fingerprint", policy.fingerprint), ("policy_version", "\(policy.version)")]
            if let topologyText { rows.append(("topology", topologyText)) }
            for (key, value) in rows {
                try tx.db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
            }
        }
        return purged
    }

    /// The topology text this node last applied (written by `serve`), if any.
    public func appliedTopologyText() throws -> String? {
        try readSync { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'topology'") }
    }
}

/// Watches the topology file and installs a changed sharing policy while the node runs: a grant
/// removed purges those records here within one check, and peers are re-evaluated on their next
/// sync (back-fill and purge notices). A file that no longer loads is reported and ignored: the
/// node keeps enforcing the last good policy.
public struct PolicyWatcher: Service {
    let path: String
    let nodeID: String
    let store: NodeStore
    let gate: SharingGate
    let interval: Duration
    let logger: Logger

    public init(path: String, nodeID: String, store: NodeStore, gate: SharingGate, interval: Duration, logger: Logger) {
        self.path = path
        self.nodeID = nodeID
        self.store = store
        self.gate = gate
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        let text = try? String(contentsOfFile: path, encoding: .utf8)
        if let text, let current = gate.current {
            let purged = try store.applyPolicy(current, topologyText: text)
            if purged > 0 { logger.notice("sharing policy v\(current.version) applied at start-up: purged \(purged) record(s)") }
        }
        await cancelWhenGracefulShutdown { await watch(from: text) }
    }

    func watch(from initial: String?) async {
        var lastText = initial
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8), text != lastText else { continue }
            lastText = text
            do {
                let topology = try TopologyLoader.parse(yaml: text, source: path)
                let policy = try ActivePolicy(topology: topology)
                guard topology.node(id: nodeID) != nil else {
                    logger.error("the changed topology \(path) no longer lists node '\(nodeID)'; still enforcing the previous policy")
                    continue
                }
                guard policy.fingerprint != gate.current?.fingerprint else { continue }
                gate.install(policy)
                let purged = try store.applyPolicy(policy, topologyText: text)
                logger.notice("sharing policy v\(policy.version) applied from \(path): purged \(purged) record(s)")
            } catch {
                logger.error("the changed topology \(path) was not applied; still enforcing the previous policy: \(error)")
            }
        }
    }
}
