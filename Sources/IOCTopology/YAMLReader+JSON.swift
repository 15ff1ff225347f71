import IOCModel
import Yams

extension YAMLReader {
    /// Converts a YAML subtree to ``JSONValue`` verbatim (used for the `sharing:` section, whose
    /// meaning belongs to the sharing layer).
    ///
    /// Types follow the YAML core schema: `~` → null, `true` → bool, `3` → int, `1.5` → double,
    /// anything else (including dates such as `2025-07-01`) → the string exactly as written.
    /// Values JSON cannot hold (infinities, NaN, integers beyond 64 bits) are reported.
    mutating func json(_ node: Node, at path: String) -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string else {
                    report(
                        path, "a key is \(Self.describe(keyNode)); keys must be plain names",
                        line: keyNode.mark?.line)
                    continue
                }
                object[key] = json(value, at: Self.child(path, key))
            }
            return .object(object)
        case .sequence(let sequence):
            return .array(sequence.enumerated().map { json($0.element, at: "\(path)[\($0.offset)]") })
        case .alias:
            report(path, "YAML aliases are not supported here; write the value out", line: node.mark?.line)
            return .null
        case .scalar(let scalar):
            return json(scalar, at: path)
        }
    }

    private mutating func json(_ scalar: Node.Scalar, at path: String) -> JSONValue {
        let node = Node.scalar(scalar)
        switch node.tag.description {
        case Tag.Name.null.rawValue:
            return .null
        case Tag.Name.bool.rawValue:
            return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
        case Tag.Name.int.rawValue:
            if let value = node.int.flatMap({ Int64(exactly: $0) }) { return .int(value) }
            report(
                path, "the integer \(scalar.string) does not fit in 64 bits; quote it to keep it as text",
                line: scalar.mark?.line)
            return .string(scalar.string)
        case Tag.Name.float.rawValue:
            if let value = node.float, value.isFinite { return .double(value) }
            report(
                path, "\(scalar.string) is not a finite number, which JSON cannot hold; quote it to keep it as text",
                line: scalar.mark?.line)
            return .string(scalar.string)
        default:
            return .string(scalar.string)
        }
    }
}
