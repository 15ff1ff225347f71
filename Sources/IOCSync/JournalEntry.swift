import Crypto
import IOCModel

/// What a change does to its record. Every operation is "write these field registers (and maybe
/// add a timeline event)"; the kind tells the merge which invariants to re-check.
public enum ChangeOp: UInt8, Sendable, Hashable, CaseIterable {
    case create = 1
    case update = 2
    case transition = 3
    case delete = 4
    case restore = 5
    /// Resolves a conflict: an ordinary update whose context covers the competing values.
    case resolve = 6
}

/// One change authored by one node: the unit of the journal, of sync and of audit.
///
/// Entries are immutable. The bytes a node first wrote (``encoded``) are what is stored, hashed,
/// relayed and verified everywhere: relays never re-encode or re-stamp them, so the origin's
/// signature over its journal checks out at the far end (design.md §4).
public struct JournalEntry: Sendable, Hashable {
    public static let formatVersion: UInt8 = 1
    /// Body keys with a meaning to the engine rather than to the record kind.
    public static let eventKey = "_event"
    public static let deletedKey = "_deleted"

    public var origin: String
    public var seq: UInt64
    public var hlc: HLC
    public var recordID: RecordID
    public var kind: String
    public var op: ChangeOp
    /// The record's version vector at the author when it made the change (causal context).
    public var context: VersionVector
    /// Field registers written, plus ``eventKey`` for a timeline event.
    public var body: [String: JSONValue]
    /// Bytes after the v1 fields, written by a newer node; kept so they survive relaying.
    public var extensions: [UInt8]

    public init(
        origin: String, seq: UInt64, hlc: HLC, recordID: RecordID, kind: String, op: ChangeOp,
        context: VersionVector, body: [String: JSONValue], extensions: [UInt8] = []
    ) {
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.recordID = recordID
        self.kind = kind
        self.op = op
        self.context = context
        self.body = body
        self.extensions = extensions
    }

    public var dot: Dot { Dot(origin: origin, seq: seq) }

    /// The canonical bytes (docs/wire-format.md §2).
    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: 512)
        w.u8(Self.formatVersion)
        w.string(origin)
        w.uvarint(seq)
        w.uvarint(hlc.rawValue)
        w.raw(recordID.bytes)
        w.string(kind)
        w.u8(op.rawValue)
        w.vector(context)
        w.object(body)
        w.raw(extensions)
        return w.bytes
    }

    /// Decodes entry bytes; any trailing bytes are kept as ``extensions``.
    public init(decoding bytes: some Collection<UInt8>) throws(DecodeError) {
        var r = BinaryReader(Array(bytes))
        let header = try EntryHeader.read(&r)
        self.init(header, body: try r.object(), extensions: Array(try r.take(r.remaining)))
    }

    /// Decodes the header and, when `fields` names a set for it, only those body fields, given
    /// apart (``SelectedFields``) with the entry's `body` left empty; the rest are checked (tags,
    /// nesting, UTF-8) but not built, so the same bytes fail here exactly when they fail in
    /// ``init(decoding:)``. For a receiver that keeps an entry's bytes verbatim and reads a few
    /// fields of it; whoever needs the whole body decodes the bytes again. Without a selection
    /// the whole entry is decoded.
    public static func decode(
        _ bytes: [UInt8], selecting fields: (EntryHeader) -> FieldSelection?
    ) throws(DecodeError) -> (entry: JournalEntry, selected: SelectedFields?) {
        var r = BinaryReader(bytes)
        let header = try EntryHeader.read(&r)
        guard let keep = fields(header) else {
            return (JournalEntry(header, body: try r.object(), extensions: Array(try r.take(r.remaining))), nil)
        }
        let selected = try r.fields(keeping: keep)
        return (JournalEntry(header, body: [:], extensions: Array(try r.take(r.remaining))), selected)
    }

    init(_ header: EntryHeader, body: [String: JSONValue], extensions: [UInt8]) {
        self.init(
            origin: header.origin, seq: header.seq, hlc: header.hlc, recordID: header.recordID, kind: header.kind,
            op: header.op, context: header.context, body: body, extensions: extensions)
    }

    /// RFC 6962 leaf hash of entry bytes: SHA-256(0x00 ‖ bytes).
    public static func leafHash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var h = SHA256()
        withUnsafeBytes(of: UInt8(0)) { h.update(bufferPointer: $0) }
        // Hashed in place when the bytes are contiguous (a received entry is): no copy per entry.
        if bytes.withContiguousStorageIfAvailable({ h.update(bufferPointer: UnsafeRawBufferPointer($0)) }) == nil {
            h.update(data: Array(bytes))
        }
        return Array(h.finalize())
    }
}

/// The fields of an entry that indexing and routing need, read without decoding the body.
public struct EntryHeader: Sendable, Hashable {
    public var origin: String
    public var seq: UInt64
    public var hlc: HLC
    public var recordID: RecordID
    public var kind: String
    public var op: ChangeOp
    public var context: VersionVector

    public init(decoding bytes: some Collection<UInt8>) throws(DecodeError) {
        var r = BinaryReader(Array(bytes))
        self = try Self.read(&r)
    }

    public init(origin: String, seq: UInt64, hlc: HLC, recordID: RecordID, kind: String, op: ChangeOp, context: VersionVector) {
        self.origin = origin
        self.seq = seq
        self.hlc = hlc
        self.recordID = recordID
        self.kind = kind
        self.op = op
        self.context = context
    }

    static func read(_ r: inout BinaryReader) throws(DecodeError) -> EntryHeader {
        let version = try r.u8()
        guard version == JournalEntry.formatVersion else { throw DecodeError("unsupported entry version \(version)") }
        let origin = try r.string()
        guard !origin.isEmpty else { throw DecodeError("empty origin") }
        let seq = try r.uvarint()
        guard seq > 0 else { throw DecodeError("sequence numbers start at 1") }
        let hlc = HLC(rawValue: try r.uvarint())
        guard let id = RecordID(bytes: try r.take(16)) else { throw DecodeError("bad record id") }
        let kind = try r.string()
        let opByte = try r.u8()
        guard let op = ChangeOp(rawValue: opByte) else { throw DecodeError("unknown operation \(opByte)") }
        let context = try r.vector()
        return EntryHeader(origin: origin, seq: seq, hlc: hlc, recordID: id, kind: kind, op: op, context: context)
    }
}

extension BinaryWriter {
    /// A version vector: count, then (origin, counter) pairs sorted by origin.
    public mutating func vector(_ v: VersionVector) {
        let origins = v.origins
        uvarint(UInt64(origins.count))
        for o in origins {
            string(o)
            uvarint(v[o])
        }
    }
}

extension BinaryReader {
    public mutating func vector() throws(DecodeError) -> VersionVector {
        let n = try length(max: 100_000)
        var v = VersionVector()
        for _ in 0..<n {
            let o = try string()
            v[o] = try uvarint()
        }
        return v
    }
}

extension JournalEntry {
    public var header: EntryHeader {
        EntryHeader(origin: origin, seq: seq, hlc: hlc, recordID: recordID, kind: kind, op: op, context: context)
    }
}
