/// One audit log entry. Encoded as canonical JSON (UTF-8, sorted keys, no whitespace, integers
/// only, NFC strings) so equal events have equal bytes and hence equal Merkle leaves.
///
/// Privacy: an event holds only identifiers (node ids, record ids, origins), counts, times and
/// hashes — never record content or personal data. Where a record id could itself reveal
/// something, log a salted hash of it instead (design §3) and keep the salt local.
///
/// Fields: `type`, `at` (unix ms), `node` (author) always; `peer`, `seq` (channel sequence from
/// 1), `hash` (lower-case hex SHA-256 of the bundle payload), `entries`, `knowledge`
/// (origin → count), `reason`, `record`, `policyVersion`, `checkpoint` as the type needs.
/// Bundle events need peer, seq and hash; cosignature events need peer and checkpoint;
/// `checkpoint.signed` needs checkpoint; `bundle.refused` needs a reason. For `bundle.sent` the
/// peer is the receiver; for receipts (`received`/`applied`/`held`/`refused`) it is the sender,
/// and seq is the sender's channel sequence.
public struct AuditEvent: Sendable, Equatable {
    /// A checkpoint as carried in an event (the cosigned or signed tree head).
    public struct CheckpointRef: Sendable, Equatable, Hashable {
        public let origin: String
        public let size: Int
        /// Base64 root, as in the checkpoint note.
        public let root: String

        public init(origin: String, size: Int, root: String) {
            self.origin = origin
            self.size = size
            self.root = root
        }

        public init(_ checkpoint: Checkpoint) {
            self.init(origin: checkpoint.origin, size: checkpoint.size, root: checkpoint.rootBase64)
        }
    }

    public var type: AuditEventType
    public var at: Int64
    public var node: String
    public var peer: String?
    public var seq: Int64?
    public var hash: String?
    public var entries: Int64?
    public var knowledge: [String: Int64]?
    public var reason: String?
    public var record: String?
    public var policyVersion: Int64?
    public var checkpoint: CheckpointRef?

    public init(type: AuditEventType, at: Int64, node: String, peer: String? = nil, seq: Int64? = nil, hash: String? = nil,
                entries: Int64? = nil, knowledge: [String: Int64]? = nil, reason: String? = nil, record: String? = nil,
                policyVersion: Int64? = nil, checkpoint: CheckpointRef? = nil) {
        self.type = type
        self.at = at
        self.node = node
        self.peer = peer
        self.seq = seq
        self.hash = hash
        self.entries = entries
        self.knowledge = knowledge
        self.reason = reason
        self.record = record
        self.policyVersion = policyVersion
        self.checkpoint = checkpoint
    }

    static let knownKeys: Set<String> = ["type", "at", "node", "peer", "seq", "hash", "entries", "knowledge", "reason",
                                         "record", "policyVersion", "checkpoint"]

    /// Canonical JSON bytes: the log entry. Throws when the event breaks its own rules or is too
    /// large for a tlog-tiles entry.
    public func encoded() throws(AuditError) -> [UInt8] {
        try validate()
        var m: [String: CanonicalJSON] = ["type": .string(type.rawValue), "at": .int(at), "node": .string(node)]
        if let peer { m["peer"] = .string(peer) }
        if let seq { m["seq"] = .int(seq) }
        if let hash { m["hash"] = .string(hash) }
        if let entries { m["entries"] = .int(entries) }
        if let knowledge { m["knowledge"] = .object(knowledge.mapValues { .int($0) }) }
        if let reason { m["reason"] = .string(reason) }
        if let record { m["record"] = .string(record) }
        if let policyVersion { m["policyVersion"] = .int(policyVersion) }
        if let checkpoint {
            m["checkpoint"] = .object(["origin": .string(checkpoint.origin), "size": .int(Int64(checkpoint.size)), "root": .string(checkpoint.root)])
        }
        let bytes = CanonicalJSON.object(m).bytes
        guard bytes.count <= EntryBundle.maxEntrySize else {
            throw AuditError(.entryTooLarge, "\(type.rawValue) event encodes to \(bytes.count) bytes; audit entries are limited to \(EntryBundle.maxEntrySize) (shorten reason or knowledge)")
        }
        return bytes
    }

    /// Decodes a log entry; rejects unknown types and fields, wrong JSON types and
    /// non-canonical bytes (so an entry has exactly one valid spelling).
    public init(decoding bytes: [UInt8]) throws(AuditError) {
        guard case .object(let m) = try CanonicalJSON.parse(bytes) else {
            throw AuditError(.malformedEvent, "an audit event must be a JSON object")
        }
        if let unknown = m.keys.sorted().first(where: { !Self.knownKeys.contains($0) }) {
            throw AuditError(.malformedEvent, "unknown field '\(unknown)' in audit event")
        }
        guard case .string(let typeText)? = m["type"] else { throw AuditError(.malformedEvent, "audit event needs a string 'type'") }
        guard let type = AuditEventType(rawValue: typeText) else {
            throw AuditError(.unknownEventType, "unknown audit event type '\(typeText)'; known: \(AuditEventType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func int(_ k: String) throws(AuditError) -> Int64? {
            switch m[k] {
            case nil: return nil
            case .int(let v)?: return v
            default: throw AuditError(.malformedEvent, "field '\(k)' must be an integer")
            }
        }
        func str(_ k: String) throws(AuditError) -> String? {
            switch m[k] {
            case nil: return nil
            case .string(let v)?: return v
            default: throw AuditError(.malformedEvent, "field '\(k)' must be a string")
            }
        }
        guard let at = try int("at") else { throw AuditError(.malformedEvent, "audit event needs an integer 'at' (unix ms)") }
        guard let node = try str("node") else { throw AuditError(.malformedEvent, "audit event needs a string 'node'") }
        var knowledge: [String: Int64]?
        if let k = m["knowledge"] {
            guard case .object(let km) = k else { throw AuditError(.malformedEvent, "field 'knowledge' must be an object origin → integer") }
            var out = [String: Int64]()
            for (origin, v) in km {
                guard case .int(let n) = v else { throw AuditError(.malformedEvent, "knowledge['\(origin)'] must be an integer") }
                out[origin] = n
            }
            knowledge = out
        }
        var checkpoint: CheckpointRef?
        if let c = m["checkpoint"] {
            guard case .object(let cm) = c, cm.count == 3, case .string(let o)? = cm["origin"], case .int(let s)? = cm["size"],
                  case .string(let r)? = cm["root"] else {
                throw AuditError(.malformedEvent, "field 'checkpoint' must be {origin: string, size: integer, root: base64 string}")
            }
            checkpoint = CheckpointRef(origin: o, size: Int(s), root: r)
        }
        self.init(type: type, at: at, node: node, peer: try str("peer"), seq: try int("seq"), hash: try str("hash"),
                  entries: try int("entries"), knowledge: knowledge, reason: try str("reason"), record: try str("record"),
                  policyVersion: try int("policyVersion"), checkpoint: checkpoint)
        guard try encoded() == bytes else {
            throw AuditError(.malformedEvent, "audit event is not in canonical JSON form (sorted keys, no whitespace, NFC)")
        }
    }

    /// The per-type rules listed in the type's documentation.
    public func validate() throws(AuditError) {
        func need(_ present: Bool, _ field: String) throws(AuditError) {
            guard present else { throw AuditError(.malformedEvent, "\(type.rawValue) event needs '\(field)'") }
        }
        try need(!node.isEmpty, "node")
        // A refused bundle may be too broken to name its channel position or even its sender.
        if type.isBundle && type != .bundleRefused {
            try need(peer != nil, "peer")
            try need(seq != nil, "seq")
            try need(hash != nil, "hash")
        }
        if type == .cosignatureIssued || type == .cosignatureReceived {
            try need(peer != nil, "peer")
            try need(checkpoint != nil, "checkpoint")
        }
        if type == .checkpointSigned { try need(checkpoint != nil, "checkpoint") }
        if type == .bundleRefused { try need(reason != nil, "reason") }
        if let seq, seq < 1 { throw AuditError(.malformedEvent, "seq must be ≥ 1, got \(seq)") }
        if let hash, hash.utf8.count != 64 || Bytes.fromHex(hash) == nil {
            throw AuditError(.malformedEvent, "hash must be 64 lower-case hex digits (SHA-256)")
        }
        if let checkpoint {
            guard checkpoint.size >= 0, let r = Bytes.fromBase64(checkpoint.root), r.count == 32, !checkpoint.origin.isEmpty else {
                throw AuditError(.malformedEvent, "checkpoint must have a non-empty origin, a size ≥ 0 and a base64 32-byte root")
            }
        }
    }
}
