/// `meta.json` of an audit export: which federation and node it belongs to and when it was taken
/// (unix ms). The cross-check uses `exportedAt` to tell "not yet sent" from "dropped".
public struct ExportMeta: Sendable, Equatable {
    public let federation: String
    public let node: String
    public let exportedAt: Int64

    public init(federation: String, node: String, exportedAt: Int64) throws(AuditError) {
        try ExportMeta.checkComponent(node, what: "node id")
        guard !federation.isEmpty else { throw AuditError(.invalidArgument, "federation must not be empty") }
        self.federation = federation
        self.node = node
        self.exportedAt = exportedAt
    }

    public init(parsing bytes: [UInt8]) throws(AuditError) {
        guard case .object(let m) = try CanonicalJSON.parse(bytes), case .string(let f)? = m["federation"],
              case .string(let n)? = m["node"], case .int(let t)? = m["exportedAt"] else {
            throw AuditError(.malformedJSON, "meta.json must be {\"federation\": string, \"node\": string, \"exportedAt\": integer}")
        }
        try self.init(federation: f, node: n, exportedAt: t)
    }

    public var json: String {
        CanonicalJSON.object(["federation": .string(federation), "node": .string(node), "exportedAt": .int(exportedAt)]).text
    }

    /// The audit log origin (and log key name) of this node.
    public var logOrigin: String { Checkpoint.logOrigin(federation: federation, node: node) }

    /// Node ids become file names in the export, so they must be safe path components.
    static func checkComponent(_ s: String, what: String) throws(AuditError) {
        guard !s.isEmpty, s != ".", s != "..", !s.hasPrefix("."), s.utf8.count <= 200,
              s.unicodeScalars.allSatisfy({ $0 != "/" && $0 != "\\" && $0.value > 0x20 && $0.value != 0x7f }) else {
            throw AuditError(.invalidArgument, "\(what) '\(s)' cannot be used as a file name (no '/', spaces, control characters or leading '.')")
        }
    }
}
