import Crypto
import IOCModel

/// Who may receive which records: the `sharing:` section of the topology, decoded once.
///
/// Default deny: a node holds a record only when it created it or a rule grants it. Local-only
/// kinds (reporter contacts: citizens' personal data) are never granted, whatever the rules say.
/// The sender filters with this policy and the receiver re-checks with its own copy, so a record
/// reaches a node only when both agree (design.md §5).
public struct SharingPolicy: Sendable, Hashable {
    /// Stated in every bundle; bump it whenever the rules change.
    public var version: UInt64
    public var rules: [SharingRule]

    public init(version: UInt64, rules: [SharingRule]) {
        self.version = version
        self.rules = rules
    }

    /// `true` when `node` may hold the record described by `facts`.
    public func mayHold(_ facts: RecordFacts, node: NodeDescriptor, in topology: Topology) -> Bool {
        if !facts.origin.isEmpty && facts.origin == node.id { return true }
        guard let kind = RecordKind(rawValue: facts.kind), !kind.isLocalOnly else { return false }
        return rules.contains { $0.grants(facts, kind: kind, to: node, in: topology) }
    }

    /// A stable digest of everything a verdict depends on: the rules and the units and nodes of
    /// the topology. Senders re-evaluate every record for a peer when it changes.
    public func fingerprint(topology: Topology) -> String {
        var text = "v\(version)\n"
        for r in rules { text += r.canonical + "\n" }
        for u in topology.units.sorted(by: { $0.code < $1.code }) {
            text += "u \(u.code) \(u.parent ?? "-") \(u.categories.sorted().joined(separator: ","))\n"
        }
        for n in topology.nodes.sorted(by: { $0.id < $1.id }) {
            text += "n \(n.id) \(n.mode.rawValue) \(n.unit) \(n.parent ?? "-")\n"
        }
        return SHA256.hash(data: Array(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

/// One grant: records of these kinds go to these nodes, when the record relates to the node as
/// `scope` says and flows in `direction` from the node that created it.
public struct SharingRule: Sendable, Hashable {
    /// How a record must relate to the receiving node.
    public enum Scope: String, Sendable, Hashable, CaseIterable {
        /// Every record of the kinds.
        case all
        /// The record's own, assigned or target unit is the node's unit or inside it.
        case unit
        /// The record's area (an alert's area units, else its assigned or target unit, else its
        /// own unit) is inside the node's unit or contains it: a province-wide alert reaches every
        /// ward, an alert for one ward only that ward.
        case area
        /// The record's category is one the node's (sector) unit handles.
        case category
    }

    /// Where the receiving node stands from the node that created the record, in the node tree.
    public enum Direction: String, Sendable, Hashable, CaseIterable {
        /// To an ancestor (a ward's report to the province).
        case up
        /// To a descendant (the province's alert to a ward).
        case down
        /// To a node that is neither (a ward's report to a sector OC, through the province).
        case lateral
        case any
    }

    /// A mode (`province`, `district`, `sector`) or a node id.
    public enum Audience: Sendable, Hashable {
        case mode(NodeMode)
        case node(String)
    }

    public var name: String?
    public var kinds: Set<RecordKind>
    public var to: [Audience]
    public var direction: Direction
    public var scope: Scope
    /// When not empty, only records with one of these categories.
    public var categories: Set<String>

    public init(
        name: String? = nil, kinds: Set<RecordKind>, to: [Audience], direction: Direction = .any, scope: Scope = .all,
        categories: Set<String> = []
    ) {
        self.name = name
        self.kinds = kinds
        self.to = to
        self.direction = direction
        self.scope = scope
        self.categories = categories
    }

    func grants(_ facts: RecordFacts, kind: RecordKind, to node: NodeDescriptor, in topology: Topology) -> Bool {
        guard kinds.contains(kind) else { return false }
        guard to.contains(where: { $0.matches(node) }) else { return false }
        if !categories.isEmpty {
            guard let c = facts.category, categories.contains(c) else { return false }
        }
        guard direction == .any || Self.direction(from: facts.origin, to: node.id, in: topology) == direction else {
            return false
        }
        switch scope {
        case .all:
            return true
        case .unit:
            return facts.units.contains { topology.isUnit($0, within: node.unit) }
        case .area:
            return facts.area.contains {
                topology.isUnit($0, within: node.unit) || topology.isUnit(node.unit, within: $0)
            }
        case .category:
            guard let c = facts.category, let unit = topology.unit(code: node.unit) else { return false }
            return unit.categories.contains(c)
        }
    }

    /// Up, down or lateral from `origin` to `node`; nil when the origin is unknown or is the node.
    static func direction(from origin: String, to node: String, in topology: Topology) -> Direction? {
        guard !origin.isEmpty, origin != node, topology.node(id: origin) != nil else { return nil }
        if ancestors(of: origin, in: topology).contains(node) { return .up }
        if ancestors(of: node, in: topology).contains(origin) { return .down }
        return .lateral
    }

    static func ancestors(of node: String, in topology: Topology) -> [String] {
        var out: [String] = []
        var current = topology.node(id: node)?.parent
        while let p = current, !out.contains(p), out.count < topology.nodes.count {
            out.append(p)
            current = topology.node(id: p)?.parent
        }
        return out
    }

    var canonical: String {
        let audience = to.map { a -> String in
            switch a {
            case .mode(let m): "mode:\(m.rawValue)"
            case .node(let n): "node:\(n)"
            }
        }
        return [
            kinds.map(\.rawValue).sorted().joined(separator: ","), audience.joined(separator: ","), direction.rawValue,
            scope.rawValue, categories.sorted().joined(separator: ","),
        ].joined(separator: "|")
    }
}

extension SharingRule.Audience {
    func matches(_ node: NodeDescriptor) -> Bool {
        switch self {
        case .mode(let m): node.mode == m
        case .node(let id): node.id == id
        }
    }
}
