import IOCModel
import Yams

/// Turns a composed YAML document into a best-effort ``Topology``, recording every decoding
/// problem (wrong type, missing or unknown key, unknown level or mode) in its ``YAMLReader``.
///
/// Entries that cannot be built (no code, unknown level, …) are left out, but their codes and ids
/// are remembered so validation does not report references to them as a second problem.
struct TopologyDocumentDecoder {
    static let documentKeys = ["federation", "units", "nodes", "sharing"]
    static let unitKeys = [
        "code", "name", "level", "parent", "validFrom", "validTo", "successors", "sector", "categories",
    ]
    static let nodeKeys = ["id", "mode", "unit", "parent", "url", "sync"]

    /// The decoded document and what validation needs to know about what was left out.
    struct Draft {
        var topology: Topology
        /// False when `units` or `nodes` as a whole is missing or not a list: cross-reference
        /// checks would then only repeat that one problem many times.
        var isComplete: Bool
        /// Position in the file of each decoded unit / node (left-out entries shift indices).
        var unitPositions: [Int]
        var nodePositions: [Int]
        var rejectedUnitCodes: Set<String>
        var rejectedNodeIDs: Set<String>
    }

    var reader = YAMLReader()
    private var units: [AdminUnit] = []
    private var nodes: [NodeDescriptor] = []
    private var unitPositions: [Int] = []
    private var nodePositions: [Int] = []
    private var rejectedUnitCodes: Set<String> = []
    private var rejectedNodeIDs: Set<String> = []

    /// `nil` when the document is not a mapping at all (reported).
    mutating func decode(_ root: Node) -> Draft? {
        guard let fields = reader.fields(of: root, at: "", allowed: Self.documentKeys) else { return nil }
        let federation = reader.required("federation", in: fields, at: "") ?? ""
        let unitItems = reader.list(fields["units"], at: "units")
        let nodeItems = reader.list(fields["nodes"], at: "nodes")
        let isComplete = fields["units"]?.sequence != nil && fields["nodes"]?.sequence != nil
        for (position, item) in unitItems.enumerated() { decodeUnit(item.node, at: item.path, position: position) }
        for (position, item) in nodeItems.enumerated() { decodeNode(item.node, at: item.path, position: position) }
        let sharing = fields["sharing"].map { reader.json($0, at: "sharing") } ?? .null
        reader.record("sharing", line: fields["sharing"]?.mark?.line)
        return Draft(
            topology: Topology(federation: federation, units: units, nodes: nodes, sharing: sharing),
            isComplete: isComplete, unitPositions: unitPositions, nodePositions: nodePositions,
            rejectedUnitCodes: rejectedUnitCodes, rejectedNodeIDs: rejectedNodeIDs)
    }

    private mutating func decodeUnit(_ node: Node, at path: String, position: Int) {
        guard let fields = reader.fields(of: node, at: path, allowed: Self.unitKeys) else { return }
        let code = reader.required("code", in: fields, at: path)
        let name = reader.required("name", in: fields, at: path)
        let level = reader.required("level", in: fields, at: path).flatMap {
            choice(UnitLevel.self, $0, at: "\(path).level", hints: Self.levelHints)
        }
        let parent = reader.optional("parent", in: fields, at: path).value
        let validFrom = reader.optional("validFrom", in: fields, at: path).value
        let validTo = reader.optional("validTo", in: fields, at: path).value
        let successors = reader.stringList("successors", in: fields, at: path)
        let sector = reader.optional("sector", in: fields, at: path)
        let categories = reader.stringList("categories", in: fields, at: path)
        guard let code else { return }
        guard let level else {
            rejectedUnitCodes.insert(code)
            return
        }
        units.append(
            AdminUnit(
                code: code, name: name ?? "", level: level, parent: parent, validFrom: validFrom,
                validTo: validTo, successors: successors,
                // A sector that failed to decode is "given but unusable", not "missing".
                sector: sector.valid ? sector.value : "", categories: categories))
        unitPositions.append(position)
    }

    private mutating func decodeNode(_ node: Node, at path: String, position: Int) {
        guard let fields = reader.fields(of: node, at: path, allowed: Self.nodeKeys) else { return }
        let id = reader.required("id", in: fields, at: path)
        let mode = reader.required("mode", in: fields, at: path).flatMap {
            choice(NodeMode.self, $0, at: "\(path).mode", hints: Self.modeHints)
        }
        let unit = reader.required("unit", in: fields, at: path)
        // A parent of the wrong type is reported here and then treated as absent.
        let parent = reader.optional("parent", in: fields, at: path).value
        let url = reader.required("url", in: fields, at: path)
        let sync = reader.optional("sync", in: fields, at: path).value
        guard let id else { return }
        guard let mode else {
            rejectedNodeIDs.insert(id)
            return
        }
        nodes.append(NodeDescriptor(id: id, mode: mode, unit: unit ?? "", parent: parent, url: url ?? "", syncURL: sync))
        nodePositions.append(position)
    }

    /// Parses one of an enum's raw values, reporting the allowed ones (and a hint) otherwise.
    private mutating func choice<Choice: RawRepresentable & CaseIterable>(
        _ type: Choice.Type, _ text: String, at path: String, hints: [String: String]
    ) -> Choice? where Choice.RawValue == String {
        if let value = Choice(rawValue: text) { return value }
        let allowed = Choice.allCases.map(\.rawValue)
        let hint = hints[text] ?? KeySuggestion.closest(to: text, among: allowed).map { "did you mean '\($0)'?" }
        let kind = path.split(separator: ".").last.map(String.init) ?? "value"
        let because = hint.map { " (\($0))" } ?? ""
        reader.report(
            path, "unknown \(kind) '\(text)'\(because); expected one of \(allowed.joined(separator: ", "))")
        return nil
    }

    /// Words people carry over from before the 2025 reform, with what to write instead.
    private static let levelHints = [
        "district": "districts ended on 2025-07-01; use legacy-district with validTo and successors",
        "city": "a centrally-run city such as Đà Nẵng is a province-level unit; use province",
    ]
    private static let modeHints = [
        "commune": "a node serving a commune or ward has mode district",
        "ward": "a node serving a commune or ward has mode district",
        "local": "a local OC has mode district",
    ]
}
