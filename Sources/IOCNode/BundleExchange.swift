import Foundation
import IOCModel
import IOCStore
import IOCSync

/// Moves deltas between nodes as envelopes: the same bytes over HTTP or in a file carried by hand.
public struct BundleExchange: Sendable {
    public let store: NodeStore
    public let limits: Limits

    public init(store: NodeStore, limits: Limits = .default) {
        self.store = store
        self.limits = limits
    }

    /// Builds every bundle `peer` lacks, based on what it last told us it holds.
    public func export(to peer: String, beyond known: VersionVector? = nil) throws -> [Envelope] {
        var envelopes: [Envelope] = []
        try exportStreaming(to: peer, beyond: known) { envelopes.append($0) }
        return envelopes
    }

    /// Builds the bundles `peer` lacks one at a time and hands each to `sink`, so memory stays
    /// bounded by one bundle whatever the backlog. Always at least one bundle, which may be empty.
    /// Returns the number of bundles.
    @discardableResult
    public func exportStreaming(to peer: String, beyond known: VersionVector? = nil, sink: (Envelope) throws -> Void) throws -> Int {
        var known = try known ?? store.peerKnowledge(peer)
        let mine = try store.knowledge()
        var count = 0
        while true {
            let delta = try store.delta(beyond: known, limits: limits)
            // Nothing new still yields one bundle: it carries our knowledge, which is the peer's
            // acknowledgement (what lets it collect tombstones and trim what it sends us).
            if delta.items.isEmpty && count > 0 { return count }
            let payload = BundlePayload(
                from: store.nodeID, to: peer, channelSeq: 0, prevHash: [], policyVersion: 0, knowledge: mine,
                createdAt: store.now(), items: delta.items)
            try sink(Envelope(payloadType: BundlePayload.payloadType, payload: payload.compressed()))
            count += 1
            known = delta.reached
            if delta.complete { return count }
        }
    }

    /// A verified, decoded bundle ready to apply.
    public struct PreparedBundle: Sendable {
        public var payload: BundlePayload
        public var items: [NodeStore.DecodedItem]
        public var decodeSeconds: Double
    }

    /// Checks and decodes one envelope without touching the store (safe to run on another core).
    public static func prepare(_ envelope: Envelope, for nodeID: String, limits: Limits) throws -> PreparedBundle {
        let started = ContinuousClock.now
        guard envelope.payloadType == BundlePayload.payloadType else {
            throw DecodeError("unexpected payload type '\(envelope.payloadType)'")
        }
        var payload = try BundlePayload(compressed: envelope.payload, limits: limits)
        guard payload.to == nodeID else {
            throw DecodeError("bundle is addressed to '\(payload.to)', not to this node '\(nodeID)'")
        }
        let items = try NodeStore.decode(payload.items, limits: limits)
        payload.items = []
        return PreparedBundle(payload: payload, items: items, decodeSeconds: (ContinuousClock.now - started).seconds)
    }

    public func apply(_ prepared: PreparedBundle) throws -> ApplyReport {
        var r = try store.apply(
            decoded: prepared.items, from: prepared.payload.from, peerKnowledge: prepared.payload.knowledge)
        r.decodeSeconds = prepared.decodeSeconds
        return r
    }

    /// Verifies and applies envelopes addressed to this node, in order.
    public func `import`(_ envelopes: [Envelope]) throws -> ApplyReport {
        var total = ApplyReport()
        for envelope in envelopes {
            total.absorb(try apply(Self.prepare(envelope, for: store.nodeID, limits: limits)))
        }
        return total
    }
}

/// A bundle file: `IOCF`, a version byte, then length-prefixed envelopes (docs/wire-format.md §4),
/// written by ``BundleFileWriter`` and read by ``BundleFileReader`` one envelope at a time.
public enum BundleFile {
    public static let magic: [UInt8] = Array("IOCF".utf8)
}

/// Writes a bundle file envelope by envelope (bounded memory), to a temporary name renamed into
/// place on ``finish()``, so a crash never leaves a half-written file under the final name.
public final class BundleFileWriter {
    let handle: FileHandle
    let path: String
    public private(set) var bytesWritten = 0

    public init(path: String) throws {
        self.path = path
        _ = FileManager.default.createFile(atPath: path + ".partial", contents: nil)
        guard let h = FileHandle(forWritingAtPath: path + ".partial") else {
            throw DecodeError("cannot write \(path)")
        }
        handle = h
        try write(BundleFile.magic + [1])
    }

    public func append(_ envelope: Envelope) throws {
        let bytes = envelope.encoded()
        var w = BinaryWriter(capacity: bytes.count + 4)
        w.u32be(UInt32(bytes.count))
        w.raw(bytes)
        try write(w.bytes)
    }

    public func finish() throws {
        try handle.synchronize()
        try handle.close()
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: path + ".partial", toPath: path)
    }

    func write(_ bytes: [UInt8]) throws {
        try handle.write(contentsOf: Data(bytes))
        bytesWritten += bytes.count
    }
}

/// Reads a bundle file one envelope at a time.
public final class BundleFileReader {
    let handle: FileHandle
    let limits: Limits

    public init(path: String, limits: Limits = .default) throws {
        guard let h = FileHandle(forReadingAtPath: path) else { throw DecodeError("cannot read \(path)") }
        handle = h
        self.limits = limits
        guard let head = try h.read(upToCount: 5), Array(head) == BundleFile.magic + [1] else {
            throw DecodeError("not an iocnode bundle file (v1)")
        }
    }

    /// The next envelope, or nil at the end of the file.
    public func next() throws -> Envelope? {
        guard let lengthBytes = try handle.read(upToCount: 4), !lengthBytes.isEmpty else { return nil }
        guard lengthBytes.count == 4 else { throw DecodeError("truncated bundle file") }
        let n = Int(lengthBytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard n <= limits.bundleWireBytesMax else { throw DecodeError("envelope of \(n) bytes exceeds the limit") }
        guard let body = try handle.read(upToCount: n), body.count == n else { throw DecodeError("truncated bundle file") }
        return try Envelope(decoding: Array(body), maxPayloadBytes: limits.bundleWireBytesMax)
    }

    deinit { try? handle.close() }
}
