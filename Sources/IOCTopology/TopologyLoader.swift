import Foundation
import IOCModel
import Yams

/// Loads `Topology/<federation>.yaml` into a validated ``Topology``.
///
/// Decoding problems (wrong types, missing or unknown keys) and validation problems (unknown
/// references, cycles, bad dates, …) are reported together, each with its path and line, in one
/// ``TopologyError``: an operator fixes the whole file in one round instead of one error per run.
/// All text is NFC-normalised first, so names typed on any keyboard compare and hash the same.
public enum TopologyLoader {
    /// Reads, decodes and validates the topology file at `path`.
    public static func load(path: String) throws(TopologyError) -> Topology {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw fileError(
                path,
                "no such file (looked for \(url.standardizedFileURL.path)); pass a topology file such as "
                    + "Topology/da-nang.yaml")
        }
        guard !isDirectory.boolValue else {
            throw fileError(path, "is a directory; pass a topology file such as Topology/da-nang.yaml")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw fileError(path, "cannot be read: \(error.localizedDescription)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw fileError(path, "is not UTF-8 text; save it as UTF-8")
        }
        return try parse(yaml: text, source: path)
    }

    /// Decodes and validates topology YAML; `source` names the document in errors (usually a path).
    public static func parse(yaml: String, source: String) throws(TopologyError) -> Topology {
        let text = yaml.precomposedStringWithCanonicalMapping
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw TopologyError(problems: [syntaxProblem(error)], source: source)
        }
        guard let root else {
            throw TopologyError(
                problems: [
                    TopologyProblem(
                        location: "document",
                        message: "the document is empty; expected keys federation, units, nodes and optionally sharing")
                ],
                source: source)
        }
        var decoder = TopologyDocumentDecoder()
        let draft = decoder.decode(root)
        let problems = collectProblems(reader: decoder.reader, draft: draft)
        guard problems.isEmpty, let topology = draft?.topology else {
            throw TopologyError(problems: problems, source: source)
        }
        return topology
    }

    /// Decoding problems plus validation problems (at file positions, not repeating a decoding
    /// problem's path), each with its line, in file order.
    private static func collectProblems(
        reader: YAMLReader, draft: TopologyDocumentDecoder.Draft?
    ) -> [TopologyProblem] {
        var found = reader.problems
        if let draft, draft.isComplete {
            let decodedPaths = Set(found.map(\.path))
            let validation = Topology.validate(
                draft.topology, rejectedUnitCodes: draft.rejectedUnitCodes, rejectedNodeIDs: draft.rejectedNodeIDs)
            for problem in validation {
                let path = filePath(problem.location, units: draft.unitPositions, nodes: draft.nodePositions)
                if !decodedPaths.contains(path) {
                    found.append(YAMLReader.Problem(path: path, message: problem.message))
                }
            }
        }
        let located = found.enumerated().map { order, problem in
            (order: order, line: problem.line ?? reader.line(for: problem.path), problem: problem)
        }
        return located
            .sorted { ($0.line ?? 0, $0.order) < ($1.line ?? 0, $1.order) }
            .map { entry in
                TopologyProblem(
                    location: entry.line.map { "\(entry.problem.path), line \($0)" } ?? entry.problem.path,
                    message: entry.problem.message)
            }
    }

    /// Rewrites `units[i]…` / `nodes[i]…` from an index into the decoded arrays to the entry's
    /// position in the file (entries that failed to decode are not in the arrays).
    static func filePath(_ path: String, units: [Int], nodes: [Int]) -> String {
        for (prefix, positions) in [("units[", units), ("nodes[", nodes)] where path.hasPrefix(prefix) {
            let rest = path.dropFirst(prefix.count)
            guard let close = rest.firstIndex(of: "]"), let index = Int(rest[..<close]),
                positions.indices.contains(index)
            else { return path }
            return "\(prefix)\(positions[index])\(rest[close...])"
        }
        return path
    }

    private static func fileError(_ path: String, _ message: String) -> TopologyError {
        TopologyError(problems: [TopologyProblem(location: "file", message: message)], source: path)
    }

    /// A libyaml error as one problem at its line.
    private static func syntaxProblem(_ error: any Error) -> TopologyProblem {
        guard let yamlError = error as? YamlError else {
            return TopologyProblem(location: "document", message: "cannot parse the YAML: \(error)")
        }
        switch yamlError {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return TopologyProblem(
                location: "document, line \(mark.line)",
                message: "YAML syntax error at column \(mark.column): \(problem)\(detail)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            return TopologyProblem(
                location: "document, line \(context.mark.line)",
                message: "duplicate key \(keys) in one mapping; each key may appear once")
        default:
            return TopologyProblem(location: "document", message: "cannot parse the YAML: \(yamlError)")
        }
    }
}
