import Foundation

extension Topology {
    /// Every problem in `topology`, in a stable order (federation, units, nodes, then whole-graph
    /// checks); empty when the topology is usable.
    ///
    /// `rejectedUnitCodes` / `rejectedNodeIDs` name entries a caller has already refused (for
    /// example a unit whose `level` did not parse): references to them are not reported again, so
    /// one typo yields one problem rather than a cascade. Locations use indices into `units` and
    /// `nodes`; messages name codes and ids, never indices.
    public static func validate(
        _ topology: Topology, rejectedUnitCodes: Set<String> = [], rejectedNodeIDs: Set<String> = []
    ) -> [TopologyProblem] {
        var validator = TopologyValidator(
            topology: topology, rejectedUnitCodes: rejectedUnitCodes, rejectedNodeIDs: rejectedNodeIDs)
        validator.run()
        return validator.problems
    }

    /// This topology, if it has no problems; otherwise a ``TopologyError`` listing all of them.
    public func validated() throws(TopologyError) -> Topology {
        let problems = Self.validate(self)
        guard problems.isEmpty else { throw TopologyError(problems: problems) }
        return self
    }
}

/// Runs every check over a topology, collecting problems instead of stopping at the first.
struct TopologyValidator {
    let topology: Topology
    let rejectedUnitCodes: Set<String>
    let rejectedNodeIDs: Set<String>
    private(set) var problems: [TopologyProblem] = []
    /// First index of each unit code / node id, so duplicates are reported at the later entries.
    private let firstUnit: [String: Int]
    private let firstNode: [String: Int]

    init(topology: Topology, rejectedUnitCodes: Set<String>, rejectedNodeIDs: Set<String>) {
        self.topology = topology
        self.rejectedUnitCodes = rejectedUnitCodes
        self.rejectedNodeIDs = rejectedNodeIDs
        var firstUnit: [String: Int] = [:]
        for (offset, unit) in topology.units.enumerated() where firstUnit[unit.code] == nil {
            firstUnit[unit.code] = offset
        }
        var firstNode: [String: Int] = [:]
        for (offset, node) in topology.nodes.enumerated() where firstNode[node.id] == nil {
            firstNode[node.id] = offset
        }
        self.firstUnit = firstUnit
        self.firstNode = firstNode
    }

    mutating func run() {
        checkFederation()
        for (offset, unit) in topology.units.enumerated() { check(unit, at: "units[\(offset)]", offset: offset) }
        for (offset, node) in topology.nodes.enumerated() { check(node, at: "nodes[\(offset)]", offset: offset) }
        checkProvinceNodeExists()
        checkCycles(
            what: "unit", path: "units",
            entries: topology.units.map { ($0.code, $0.parent) }, first: firstUnit)
        checkCycles(
            what: "node", path: "nodes",
            entries: topology.nodes.map { ($0.id, $0.parent) }, first: firstNode)
    }

    private mutating func report(_ location: String, _ message: String) {
        problems.append(TopologyProblem(location: location, message: message))
    }

    // MARK: Federation

    private mutating func checkFederation() {
        let name = topology.federation
        if name.isEmpty {
            report("federation", "the federation name is empty; give a lowercase name such as da-nang")
        } else if !TopologySyntax.isSlug(name, allowingDots: true) {
            report(
                "federation",
                "federation name '\(name)' must match [a-z0-9][a-z0-9.-]* (lowercase letters, digits, "
                    + "'.' and '-'), e.g. da-nang; it names the federation's trust domain")
        }
    }

    // MARK: Units

    private mutating func check(_ unit: AdminUnit, at path: String, offset: Int) {
        let code = unit.code
        if code.isEmpty {
            report("\(path).code", "the unit code is empty")
        } else if let first = firstUnit[code], first != offset {
            report("\(path).code", "duplicate unit code '\(code)': an earlier unit already uses it")
        }
        if unit.name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            report("\(path).name", "unit '\(code)' has an empty name")
        }
        if let parent = unit.parent, !isKnownUnit(parent) {
            report("\(path).parent", "unit '\(code)' names parent '\(parent)', which is not a unit in this topology")
        }
        checkDates(of: unit, at: path)
        for (position, successor) in unit.successors.enumerated() where !isKnownUnit(successor) {
            report(
                "\(path).successors[\(position)]",
                "unit '\(code)' names successor '\(successor)', which is not a unit in this topology")
        }
        checkSector(of: unit, at: path)
    }

    private mutating func checkDates(of unit: AdminUnit, at path: String) {
        let from = unit.validFrom.flatMap { checkedDate($0, at: "\(path).validFrom") }
        let to = unit.validTo.flatMap { checkedDate($0, at: "\(path).validTo") }
        if let from, let to, to < from {
            report(
                "\(path).validTo",
                "unit '\(unit.code)' ends (validTo \(to)) before it starts (validFrom \(from))")
        }
    }

    /// The date if it is a real `YYYY-MM-DD` day, else reports it and returns `nil`.
    private mutating func checkedDate(_ text: String, at location: String) -> String? {
        if TopologySyntax.isCalendarDate(text) { return text }
        report(location, "'\(text)' is not a real date in YYYY-MM-DD form (e.g. 2025-07-01)")
        return nil
    }

    private mutating func checkSector(of unit: AdminUnit, at path: String) {
        if unit.level == .sector {
            if (unit.sector ?? "").isEmpty {
                report(
                    "\(path).sector",
                    "unit '\(unit.code)' has level sector but no sector; name the sector it serves, e.g. health")
            }
            return
        }
        if unit.sector != nil {
            report(
                "\(path).sector",
                "unit '\(unit.code)' has level \(unit.level.rawValue); only sector units have a sector")
        }
        if !unit.categories.isEmpty {
            report(
                "\(path).categories",
                "unit '\(unit.code)' has level \(unit.level.rawValue); only sector units handle categories")
        }
    }

    // MARK: Nodes

    private mutating func check(_ node: NodeDescriptor, at path: String, offset: Int) {
        let id = node.id
        if !TopologySyntax.isSlug(id, allowingDots: false) {
            report(
                "\(path).id",
                "node id '\(id)' must match [a-z0-9][a-z0-9-]* (lowercase letters, digits, '-'); "
                    + "it becomes part of the node's SPIFFE ID")
        } else if let first = firstNode[id], first != offset {
            report("\(path).id", "duplicate node id '\(id)': an earlier node already uses it")
        }
        checkParent(of: node, at: path, offset: offset)
        checkUnit(of: node, at: path)
        if !TopologySyntax.isBaseURL(node.url) {
            report(
                "\(path).url",
                "node '\(id)' has url '\(node.url)'; expected http(s)://host:port with no path, "
                    + "e.g. https://127.0.0.1:8443")
        }
        if let sync = node.syncURL, !TopologySyntax.isBaseURL(sync) || !sync.hasPrefix("https://") {
            report(
                "\(path).sync",
                "node '\(id)' has sync '\(sync)'; expected https://host:port with no path (sync is always mutual TLS), "
                    + "e.g. https://127.0.0.1:9443")
        }
    }

    private mutating func checkParent(of node: NodeDescriptor, at path: String, offset: Int) {
        if node.mode == .province {
            if let root = topology.nodes.firstIndex(where: { $0.mode == .province }), root != offset {
                report(
                    "\(path).mode",
                    "node '\(node.id)' is a second province node; '\(topology.nodes[root].id)' already is, "
                        + "and a federation has exactly one")
            }
            if let parent = node.parent {
                report(
                    "\(path).parent",
                    "node '\(node.id)' has mode province (the federation's root) and must not have a parent; "
                        + "remove parent '\(parent)'")
            }
        } else if let parent = node.parent {
            if firstNode[parent] == nil && !rejectedNodeIDs.contains(parent) {
                report(
                    "\(path).parent",
                    "node '\(node.id)' names parent '\(parent)', which is not a node in this topology")
            }
        } else {
            report(
                "\(path).parent",
                "node '\(node.id)' (mode \(node.mode.rawValue)) has no parent; every node except the province "
                    + "node needs one")
        }
    }

    private mutating func checkUnit(of node: NodeDescriptor, at path: String) {
        guard let unit = firstUnit[node.unit].map({ topology.units[$0] }) else {
            if !rejectedUnitCodes.contains(node.unit) {
                report(
                    "\(path).unit",
                    "node '\(node.id)' serves unit '\(node.unit)', which is not a unit in this topology")
            }
            return
        }
        let allowed = node.mode.unitLevels
        guard !allowed.contains(unit.level) else { return }
        let expected = UnitLevel.allCases.filter(allowed.contains).map(\.rawValue).joined(separator: ", ")
        report(
            "\(path).unit",
            "node '\(node.id)' has mode \(node.mode.rawValue) but its unit '\(unit.code)' has level "
                + "\(unit.level.rawValue); a \(node.mode.rawValue) node serves a unit of level \(expected)")
    }

    private mutating func checkProvinceNodeExists() {
        // A rejected node may have been meant as the province node; do not pile on.
        guard !topology.nodes.contains(where: { $0.mode == .province }), rejectedNodeIDs.isEmpty else { return }
        report("nodes", "there is no province node; exactly one node must have mode province (the federation's root)")
    }

    // MARK: Cycles

    /// Reports each parent cycle once, at the entry of the cycle that comes first in the file.
    private mutating func checkCycles(
        what: String, path: String, entries: [(key: String, parent: String?)], first: [String: Int]
    ) {
        var finished: Set<Int> = []
        for start in entries.indices where first[entries[start].key] == start && !finished.contains(start) {
            var chain: [Int] = []
            var current: Int? = start
            while let at = current, !finished.contains(at) {
                if let loopStart = chain.firstIndex(of: at) {
                    let loop = Array(chain[loopStart...])
                    let head = loop.min() ?? at
                    let rotated = loop.drop(while: { $0 != head }) + loop.prefix(while: { $0 != head })
                    let names = (rotated + [head]).map { entries[$0].key }.joined(separator: " → ")
                    report("\(path)[\(head)].parent", "\(what) parents form a cycle: \(names)")
                    break
                }
                chain.append(at)
                current = entries[at].parent.flatMap { first[$0] }
            }
            finished.formUnion(chain)
        }
    }

    private func isKnownUnit(_ code: String) -> Bool {
        firstUnit[code] != nil || rejectedUnitCodes.contains(code)
    }
}
