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
    public func export(to peer: String, beyond known: VersionVector? = nil, maxBundles: Int = 100_000) throws -> [Envelope] {
        var known = try known ?? store.peerKnowledge(peer)
        var envelopes: [Envelope] = []
        let mine = try store.knowledge()
        while envelopes.count < maxBundles {
            let delta = try store.delta(beyond: known, limits: limits)
            if delta.items.isEmpty { break }
            let payload = BundlePayload(
                from: store.nodeID, to: peer, channelSeq: 0, prevHash: [], policyVersion: 0, knowledge: mine,
                createdAt: store.now(), items: delta.items)
            envelopes.append(Envelope(payloadType: BundlePayload.payloadType, payload: payload.compressed()))
            for item in delta.items {
                switch item {
                case .entry(let b): if let h = try? EntryHeader(decoding: b) { known[h.origin] = max(known[h.origin], h.seq) }
                case .withheld(let o, let s, _): known[o] = max(known[o], s)
                }
            }
            if delta.complete { break }
        }
        return envelopes
    }

    /// Verifies and applies envelopes addressed to this node, in order.
    public func `import`(_ envelopes: [Envelope]) throws -> ApplyReport {
        var total = ApplyReport()
        for envelope in envelopes {
            guard envelope.payloadType == BundlePayload.payloadType else {
                throw DecodeError("unexpected payload type '\(envelope.payloadType)'")
            }
            let payload = try BundlePayload(compressed: envelope.payload, limits: limits)
            guard payload.to == store.nodeID else {
                throw DecodeError("bundle is addressed to '\(payload.to)', not to this node '\(store.nodeID)'")
            }
            let r = try store.apply(payload.items, from: payload.from, peerKnowledge: payload.knowledge)
            total.applied += r.applied
            total.withheld += r.withheld
            total.duplicates += r.duplicates
            total.gaps += r.gaps
            total.refused += r.refused
            total.recordsChanged += r.recordsChanged
            total.clockSkewOrigins += r.clockSkewOrigins.filter { !total.clockSkewOrigins.contains($0) }
            total.knowledgeAfter = r.knowledgeAfter
        }
        return total
    }
}

/// A bundle file: `IOCF`, a version byte, then length-prefixed envelopes (docs/wire-format.md §5).
public enum BundleFile {
    static let magic: [UInt8] = Array("IOCF".utf8)

    public static func encode(_ envelopes: [Envelope]) -> [UInt8] {
        var w = BinaryWriter()
        w.raw(magic)
        w.u8(1)
        for e in envelopes {
            let bytes = e.encoded()
            w.u32be(UInt32(bytes.count))
            w.raw(bytes)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], limits: Limits = .default) throws(DecodeError) -> [Envelope] {
        var r = BinaryReader(bytes)
        guard r.remaining >= 5, Array(try r.take(4)) == magic else { throw DecodeError("not an iocnode bundle file") }
        guard try r.u8() == 1 else { throw DecodeError("unsupported bundle file version") }
        var out: [Envelope] = []
        while !r.isAtEnd {
            let n = Int(try r.u32be())
            guard n <= limits.bundleWireBytesMax else { throw DecodeError("envelope of \(n) bytes exceeds the limit") }
            out.append(try Envelope(decoding: Array(try r.take(n)), maxPayloadBytes: limits.bundleWireBytesMax))
        }
        return out
    }
}
