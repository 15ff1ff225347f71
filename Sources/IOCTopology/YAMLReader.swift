import IOCModel
import Yams

/// Reads values out of a composed YAML tree while collecting every problem, with the path and
/// line where it occurs, instead of stopping at the first.
///
/// Paths look like `units[2].validTo`; ``line(for:)`` maps a path (or its nearest recorded
/// ancestor) to a source line, so problems found later by model validation get lines too.
struct YAMLReader {
    struct Problem {
        var path: String
        var message: String
        /// Set when the problem has no path of its own (a syntax error) or a precise line is known.
        var line: Int?
    }

    private(set) var problems: [Problem] = []
    private var lines: [String: Int] = [:]

    mutating func report(_ path: String, _ message: String, line: Int? = nil) {
        problems.append(Problem(path: path, message: message, line: line))
    }

    mutating func record(_ path: String, line: Int?) {
        if let line, lines[path] == nil { lines[path] = line }
    }

    /// Line of `path`, else of its closest recorded ancestor (`units[2].name` → `units[2]`).
    func line(for path: String) -> Int? {
        var current = Substring(path)
        while !current.isEmpty {
            if let line = lines[String(current)] { return line }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            current = current[..<cut]
        }
        return nil
    }

    // MARK: Mappings

    /// The mapping's values by key, refusing keys not in `allowed` (typos must not pass silently).
    /// Records the line of each key as `path.key`. Returns `nil` (and reports) for a non-mapping.
    mutating func fields(of node: Node, at path: String, allowed: [String]) -> [String: Node]? {
        record(path, line: node.mark?.line)
        let here = path.isEmpty ? "document" : path
        guard case .mapping(let mapping) = node else {
            report(
                here, "expected a mapping with keys \(allowed.joined(separator: ", ")); got \(Self.describe(node))",
                line: path.isEmpty ? node.mark?.line : nil)
            return nil
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.scalar?.string else {
                report(here, "a key is \(Self.describe(keyNode)); keys must be plain names", line: keyNode.mark?.line)
                continue
            }
            let keyPath = Self.child(path, key)
            record(keyPath, line: keyNode.mark?.line)
            guard allowed.contains(key) else {
                let hint = KeySuggestion.closest(to: key, among: allowed).map { " (did you mean '\($0)'?)" } ?? ""
                report(keyPath, "unknown key '\(key)'\(hint); allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            result[key] = value
        }
        return result
    }

    // MARK: Scalars

    /// The text of a scalar meant as a string.
    ///
    /// Numbers and dates are accepted as their literal text (codes like `48` or `0048`, dates like
    /// `2025-07-01` stay exactly as written). Booleans and collections are refused; so is null
    /// (`~`, empty) unless the caller treats it as absent first.
    mutating func string(_ node: Node, at path: String) -> String? {
        record(path, line: node.mark?.line)
        guard case .scalar(let scalar) = node else {
            report(path, "expected text; got \(Self.describe(node))")
            return nil
        }
        switch node.tag.description {
        case Tag.Name.null.rawValue:
            report(path, "has no value; expected text")
            return nil
        case Tag.Name.bool.rawValue:
            report(path, "'\(scalar.string)' reads as a YAML boolean; quote it (\"\(scalar.string)\") if you mean text")
            return nil
        default:
            return scalar.string
        }
    }

    /// A required string field; reports the missing key at `path.key`.
    mutating func required(_ key: String, in fields: [String: Node], at path: String) -> String? {
        guard let node = fields[key] else {
            report(Self.child(path, key), "missing required key '\(key)'")
            return nil
        }
        return string(node, at: Self.child(path, key))
    }

    /// An optional string field: absent or null means `nil`. `valid` is false after a reported problem.
    mutating func optional(_ key: String, in fields: [String: Node], at path: String) -> (value: String?, valid: Bool) {
        guard let node = fields[key], !Self.isNull(node) else { return (nil, true) }
        let value = string(node, at: Self.child(path, key))
        return (value, value != nil)
    }

    /// An optional list of strings: absent or null means `[]`. All or nothing, so the positions in
    /// later problems (`successors[1]`) always match the file.
    mutating func stringList(_ key: String, in fields: [String: Node], at path: String) -> [String] {
        guard let node = fields[key], !Self.isNull(node) else { return [] }
        let listPath = Self.child(path, key)
        guard case .sequence(let sequence) = node else {
            report(listPath, "expected a list of text, e.g. [a, b]; got \(Self.describe(node))")
            return []
        }
        var values: [String] = []
        var valid = true
        for (position, item) in sequence.enumerated() {
            if let value = string(item, at: "\(listPath)[\(position)]") { values.append(value) } else { valid = false }
        }
        return valid ? values : []
    }

    /// The items of a required list, each with its path.
    mutating func list(_ node: Node?, at path: String) -> [(path: String, node: Node)] {
        guard let node else {
            report(path, "missing required key '\(path)'")
            return []
        }
        guard case .sequence(let sequence) = node else {
            report(path, "expected a list; got \(Self.describe(node))")
            return []
        }
        return sequence.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
    }

    // MARK: Descriptions

    /// `units[2]` + `code` → `units[2].code`; the document root has the empty path.
    static func child(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    static func isNull(_ node: Node) -> Bool {
        node.scalar != nil && node.tag.description == Tag.Name.null.rawValue
    }

    /// "a list", "a mapping", "the number 3", … for "expected X; got Y" messages.
    static func describe(_ node: Node) -> String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch node.tag.description {
            case Tag.Name.null.rawValue: return "nothing (null)"
            case Tag.Name.bool.rawValue: return "the boolean \(scalar.string)"
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue: return "the number \(scalar.string)"
            default: return "the text '\(scalar.string)'"
            }
        }
    }
}
