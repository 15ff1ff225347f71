import IOCModel

/// One journal position in a bundle: the entry itself, or only its leaf hash when the receiver
/// may not see the content (sharing policy, local-only records). Hash-only positions keep the
/// receiver's copy of each origin's journal contiguous and verifiable without the content.
///
/// A third item, ``purge``, is not a journal position: it tells the receiver that a record left
/// its scope under the sharing policy, so it must drop the content (keeping the leaf hashes).
public enum BundleItem: Sendable, Hashable {
    case entry([UInt8])
    case withheld(origin: String, seq: UInt64, leafHash: [UInt8])
    case purge(recordID: RecordID)

    /// Whether the item says something beyond positions: an entry's content or a purge notice.
    public var isContent: Bool {
        if case .withheld = self { return false }
        return true
    }

    public var byteCount: Int {
        switch self {
        case .entry(let b): b.count + 4
        case .withheld(let o, _, _): o.utf8.count + 44
        case .purge: 17
        }
    }
}

/// The delta bundle payload, format v1 (docs/wire-format.md §3): who sends to whom on which
/// channel position, what the sender knows, and the journal positions the receiver lacks.
///
/// The payload is built once, compressed, signed (DSSE, see ``Envelope``) and never re-encoded;
/// unknown trailing bytes from a newer node are kept in ``extensions``.
public struct BundlePayload: Sendable, Hashable {
    public static let magic: [UInt8] = Array("IOCD".utf8)
    public static let formatVersion: UInt8 = 1
    /// DSSE payload type of a compressed v1 delta bundle.
    public static let payloadType = "application/vnd.ioc.delta-bundle.v1+zstd"

    public var from: String
    public var to: String
    /// Gapless per (from → to) channel position, starting at 1.
    public var channelSeq: UInt64
    /// SHA-256 of the previous bundle's payload on this channel (32 zero bytes for the first).
    public var prevHash: [UInt8]
    /// The highest sequence the sender has accepted, gapless, on the reverse channel (to → from):
    /// how a receiver learns which of its own bundles arrived, over HTTP or by file.
    public var ack: UInt64
    public var policyVersion: UInt64
    /// The sender's knowledge: highest contiguous sequence it holds per origin.
    public var knowledge: VersionVector
    /// Positions the sender knows every node holds (causal stability; drives tombstone collection).
    public var stable: VersionVector
    public var createdAt: Int64
    public var items: [BundleItem]
    public var extensions: [UInt8]

    public init(
        from: String, to: String, channelSeq: UInt64, prevHash: [UInt8], ack: UInt64 = 0, policyVersion: UInt64,
        knowledge: VersionVector, stable: VersionVector = VersionVector(), createdAt: Int64, items: [BundleItem],
        extensions: [UInt8] = []
    ) {
        self.from = from
        self.to = to
        self.channelSeq = channelSeq
        self.prevHash = prevHash
        self.ack = ack
        self.policyVersion = policyVersion
        self.knowledge = knowledge
        self.stable = stable
        self.createdAt = createdAt
        self.items = items
        self.extensions = extensions
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter(capacity: items.reduce(128) { $0 + $1.byteCount })
        w.raw(Self.magic)
        w.u8(Self.formatVersion)
        w.string(from)
        w.string(to)
        w.uvarint(channelSeq)
        w.raw(prevHash.count == 32 ? prevHash : [UInt8](repeating: 0, count: 32))
        w.uvarint(ack)
        w.uvarint(policyVersion)
        w.vector(knowledge)
        w.vector(stable)
        w.svarint(createdAt)
        w.uvarint(UInt64(items.count))
        for item in items {
            switch item {
            case .entry(let bytes):
                w.u8(1)
                w.blob(bytes)
            case .withheld(let origin, let seq, let hash):
                w.u8(2)
                w.string(origin)
                w.uvarint(seq)
                w.raw(hash)
            case .purge(let id):
                w.u8(3)
                w.raw(id.bytes)
            }
        }
        w.raw(extensions)
        return w.bytes
    }

    public init(decoding bytes: [UInt8], limits: Limits = .default) throws(DecodeError) {
        var r = BinaryReader(bytes)
        guard Array(try r.take(4)) == Self.magic else { throw DecodeError("not a delta bundle payload") }
        let version = try r.u8()
        guard version == Self.formatVersion else { throw DecodeError("unsupported bundle payload version \(version)") }
        from = try r.string()
        to = try r.string()
        channelSeq = try r.uvarint()
        prevHash = Array(try r.take(32))
        ack = try r.uvarint()
        policyVersion = try r.uvarint()
        knowledge = try r.vector()
        stable = try r.vector()
        createdAt = try r.svarint()
        let n = try r.length(max: limits.bundleEntriesMax)
        items = []
        items.reserveCapacity(n)
        for _ in 0..<n {
            switch try r.u8() {
            case 1:
                let b = try r.length(max: limits.entryBytesMax)
                items.append(.entry(Array(try r.take(b))))
            case 2:
                let origin = try r.string()
                let seq = try r.uvarint()
                items.append(.withheld(origin: origin, seq: seq, leafHash: Array(try r.take(32))))
            case 3:
                guard let id = RecordID(bytes: try r.take(16)) else { throw DecodeError("bad record id in a purge notice") }
                items.append(.purge(recordID: id))
            case let t:
                throw DecodeError("unknown bundle item tag \(t)")
            }
        }
        extensions = Array(try r.take(r.remaining))
    }

    /// Compressed bytes: what the envelope signs and carries.
    public func compressed() -> [UInt8] { Zstd.compress(encoded()) }

    public init(compressed: some Collection<UInt8>, limits: Limits = .default) throws(DecodeError) {
        try self.init(decoding: Zstd.decompress(compressed, maxBytes: limits.payloadInflateBytesMax), limits: limits)
    }
}
