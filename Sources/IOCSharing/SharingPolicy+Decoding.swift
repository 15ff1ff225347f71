import IOCModel

extension SharingPolicy {
    static let documentKeys = ["version", "rules"]
    static let ruleKeys = ["name", "kinds", "to", "direction", "scope", "categories"]

    /// Decodes the topology's `sharing:` section, reporting every problem at once with its path
    /// (`sharing.rules[2].kinds[0]`). A topology without the section shares nothing (default
    /// deny, version 0): nodes keep their own records and exchange only hashes.
    public init(topology: Topology) throws(TopologyError) {
        var problems: [TopologyProblem] = []
        func problem(_ at: String, _ message: String) { problems.append(TopologyProblem(location: at, message: message)) }
        if topology.sharing == .null {
            self.init(version: 0, rules: [])
            return
        }
        guard case .object(let doc) = topology.sharing else {
            throw TopologyError(problems: [
                TopologyProblem(location: "sharing", message: "expected a mapping with 'version' and 'rules' (see Topology/README.md)")
            ])
        }
        for key in doc.keys.sorted() where !Self.documentKeys.contains(key) {
            problem("sharing.\(key)", "unknown key '\(key)'; allowed keys: \(Self.documentKeys.joined(separator: ", "))")
        }
        var version: UInt64 = 0
        if let v = doc["version"]?.int64Value, v >= 1 {
            version = UInt64(v)
        } else {
            problem("sharing.version", "expected a whole number ≥ 1 (bump it whenever the rules change)")
        }
        var rules: [SharingRule] = []
        if let list = doc["rules"]?.arrayValue {
            for (i, raw) in list.enumerated() {
                if let rule = Self.rule(raw, at: "sharing.rules[\(i)]", topology: topology, problem: problem) {
                    rules.append(rule)
                }
            }
        } else {
            problem("sharing.rules", "expected a list of rules")
        }
        guard problems.isEmpty else { throw TopologyError(problems: problems) }
        self.init(version: version, rules: rules)
    }

    private static func rule(
        _ raw: JSONValue, at path: String, topology: Topology, problem: (String, String) -> Void
    ) -> SharingRule? {
        guard case .object(let o) = raw else {
            problem(path, "expected a mapping with kinds, to and optionally name, direction, scope, categories")
            return nil
        }
        var ok = true
        for key in o.keys.sorted() where !ruleKeys.contains(key) {
            problem("\(path).\(key)", "unknown key '\(key)'; allowed keys: \(ruleKeys.joined(separator: ", "))")
            ok = false
        }
        var kinds: Set<RecordKind> = []
        if let list = o["kinds"]?.arrayValue, !list.isEmpty {
            for (j, k) in list.enumerated() {
                let at = "\(path).kinds[\(j)]"
                guard let name = k.stringValue, let kind = RecordKind(rawValue: name) else {
                    let allowed = RecordKind.allCases.filter { !$0.isLocalOnly }.map(\.rawValue).joined(separator: ", ")
                    problem(at, "unknown record kind \(k); expected one of \(allowed)")
                    ok = false
                    continue
                }
                if kind.isLocalOnly {
                    problem(at, "'\(name)' holds citizens' personal data and never leaves the node that took it in; remove it")
                    ok = false
                }
                kinds.insert(kind)
            }
        } else {
            problem("\(path).kinds", "expected a non-empty list of record kinds")
            ok = false
        }
        var audience: [SharingRule.Audience] = []
        if let list = o["to"]?.arrayValue, !list.isEmpty {
            for (j, t) in list.enumerated() {
                if let name = t.stringValue, let mode = NodeMode(rawValue: name) {
                    audience.append(.mode(mode))
                } else if let name = t.stringValue, topology.node(id: name) != nil {
                    audience.append(.node(name))
                } else {
                    problem("\(path).to[\(j)]", "\(t) is neither a mode (province, district, sector) nor a node of this topology")
                    ok = false
                }
            }
        } else {
            problem("\(path).to", "expected a non-empty list of modes or node ids")
            ok = false
        }
        func token<T: RawRepresentable & CaseIterable>(_ key: String, default value: T) -> T where T.RawValue == String {
            guard let raw = o[key] else { return value }
            if let s = raw.stringValue, let t = T(rawValue: s) { return t }
            problem("\(path).\(key)", "unknown \(key) \(raw); expected one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            ok = false
            return value
        }
        let direction = token("direction", default: SharingRule.Direction.any)
        let scope = token("scope", default: SharingRule.Scope.all)
        var categories: Set<String> = []
        if let raw = o["categories"] {
            if let list = raw.arrayValue, list.allSatisfy({ $0.stringValue != nil }) {
                categories = Set(list.compactMap(\.stringValue))
            } else {
                problem("\(path).categories", "expected a list of category names")
                ok = false
            }
        }
        if let raw = o["name"], raw.stringValue == nil {
            problem("\(path).name", "expected text")
            ok = false
        }
        guard ok else { return nil }
        return SharingRule(
            name: o["name"]?.stringValue, kinds: kinds, to: audience, direction: direction, scope: scope,
            categories: categories)
    }
}
