/// A federation described as data: its units, its nodes and its sharing rules.
///
/// The 2025 reform made clear that administrative structure changes by decree, so the whole
/// federation lives in one YAML file (`Topology/<name>.yaml`) rather than in code. Every node loads
/// the same file and so agrees on who its parent is, which unit each node serves and what may flow
/// where. Values are plain data; `validated()` checks them and reports every problem at once.
///
/// Lookups go through an index built whenever `units` or `nodes` change. Equality and hashing
/// ignore the index (it is derived data). In an unvalidated topology with duplicate codes or ids,
/// lookups see the first declaration.
public struct Topology: Sendable, Hashable {
    /// Federation name, `[a-z0-9][a-z0-9.-]*` (e.g. `da-nang`); it names the trust domain.
    public var federation: String
    public var units: [AdminUnit] { didSet { index = Index(units: units, nodes: nodes) } }
    public var nodes: [NodeDescriptor] { didSet { index = Index(units: units, nodes: nodes) } }
    /// The raw `sharing:` section, kept verbatim (`.null` when absent); the sharing layer owns its
    /// meaning and validates it.
    public var sharing: JSONValue

    private var index: Index

    public init(federation: String, units: [AdminUnit], nodes: [NodeDescriptor], sharing: JSONValue = .null) {
        self.federation = federation
        self.units = units
        self.nodes = nodes
        self.sharing = sharing
        self.index = Index(units: units, nodes: nodes)
    }

    public static func == (lhs: Topology, rhs: Topology) -> Bool {
        lhs.federation == rhs.federation && lhs.units == rhs.units && lhs.nodes == rhs.nodes
            && lhs.sharing == rhs.sharing
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(federation)
        hasher.combine(units)
        hasher.combine(nodes)
        hasher.combine(sharing)
    }
}

// MARK: - Lookups

extension Topology {
    /// The node with this id, if any.
    public func node(id: String) -> NodeDescriptor? {
        index.nodeByID[id].map { nodes[$0] }
    }

    /// The unit with this code, if any.
    public func unit(code: String) -> AdminUnit? {
        index.unitByCode[code].map { units[$0] }
    }

    /// The province node (the root), if there is one.
    public var provinceNode: NodeDescriptor? {
        nodes.first { $0.mode == .province }
    }

    /// Nodes whose parent is `id`, in file order.
    public func children(ofNode id: String) -> [NodeDescriptor] {
        (index.nodeChildren[id] ?? []).map { nodes[$0] }
    }

    /// The parent of node `id`; `nil` for the root or an unknown id.
    public func parentNode(of id: String) -> NodeDescriptor? {
        node(id: id)?.parent.flatMap { node(id: $0) }
    }

    /// `code` and every unit whose parent chain reaches it; empty when `code` is unknown.
    ///
    /// This is the set a node serving `code` is responsible for (a province's wards and sectors).
    /// Cycle-safe, so it may be used on an unvalidated topology.
    public func unitAndDescendants(_ code: String) -> Set<String> {
        guard index.unitByCode[code] != nil else { return [] }
        var found: Set<String> = [code]
        var pending = [code]
        while let next = pending.popLast() {
            for child in index.unitChildren[next] ?? [] where found.insert(child).inserted {
                pending.append(child)
            }
        }
        return found
    }

    /// Whether `code` is `ancestor` or lies below it; same answer as
    /// `unitAndDescendants(ancestor).contains(code)` without building the set.
    public func isUnit(_ code: String, within ancestor: String) -> Bool {
        var current = code
        var seen: Set<String> = []
        while let entry = unit(code: current), seen.insert(current).inserted {
            if current == ancestor { return true }
            guard let parent = entry.parent else { return false }
            current = parent
        }
        return false
    }
}

// MARK: - Index

extension Topology {
    /// Derived lookup tables; first declaration wins for duplicate keys.
    private struct Index: Sendable {
        var unitByCode: [String: Int] = [:]
        var nodeByID: [String: Int] = [:]
        var unitChildren: [String: [String]] = [:]
        var nodeChildren: [String: [Int]] = [:]

        init(units: [AdminUnit], nodes: [NodeDescriptor]) {
            for (offset, unit) in units.enumerated() where unitByCode[unit.code] == nil {
                unitByCode[unit.code] = offset
                if let parent = unit.parent { unitChildren[parent, default: []].append(unit.code) }
            }
            for (offset, node) in nodes.enumerated() where nodeByID[node.id] == nil {
                nodeByID[node.id] = offset
                if let parent = node.parent { nodeChildren[parent, default: []].append(offset) }
            }
        }
    }
}
