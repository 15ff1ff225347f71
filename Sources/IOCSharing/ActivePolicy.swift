import IOCModel

/// The policy a node enforces right now, with the topology it is read against: what the store
/// needs to filter a delta for a peer and to re-check what a peer sends. Replaced as a whole when
/// the topology file changes, so a verdict never mixes two versions.
public struct ActivePolicy: Sendable {
    public let policy: SharingPolicy
    public let topology: Topology
    /// Changes whenever any verdict could change (see ``SharingPolicy/fingerprint(topology:)``).
    public let fingerprint: String

    public init(policy: SharingPolicy, topology: Topology) {
        self.policy = policy
        self.topology = topology
        fingerprint = policy.fingerprint(topology: topology)
    }

    /// Decodes the topology's `sharing:` section.
    public init(topology: Topology) throws(TopologyError) {
        self.init(policy: try SharingPolicy(topology: topology), topology: topology)
    }

    public var version: UInt64 { policy.version }

    /// Whether `peer` may hand node `me` journal positions written by `origin`. Changes flow along
    /// the node tree: a parent relays everyone's, a child only its own and its subtree's. A node
    /// that forges another origin's entries is refused, whatever it signed.
    public func mayForward(origin: String, from peer: String, to me: String) -> Bool {
        if origin == peer || topology.node(id: me)?.parent == peer { return true }
        return SharingRule.ancestors(of: origin, in: topology).contains(peer)
    }

    /// `true` when node `id` may hold the record; a node not in the topology may hold nothing.
    public func mayHold(_ facts: RecordFacts, node id: String) -> Bool {
        guard let node = topology.node(id: id) else { return false }
        return policy.mayHold(facts, node: node, in: topology)
    }
}
