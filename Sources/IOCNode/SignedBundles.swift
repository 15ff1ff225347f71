import Crypto
import Foundation
import IOCIdentity
import IOCModel
import IOCStore
import IOCSync

/// Seals outgoing bundles: builds the payload for a draft, compresses it, signs it (DSSE, Ed25519)
/// with this node's signing key. The bundle's hash is SHA-256 of the signed payload bytes.
public struct BundleSigner: Sendable {
    public let nodeID: String
    let key: Curve25519.Signing.PrivateKey

    public init(nodeID: String, key: Curve25519.Signing.PrivateKey) {
        self.nodeID = nodeID
        self.key = key
    }

    /// `policyVersion` is the sharing policy the draft's delta was filtered under.
    public func seal(_ draft: OutboundDraft, policyVersion: UInt64, now: Int64) throws -> (envelope: [UInt8], hash: [UInt8]) {
        let payload = BundlePayload(
            from: nodeID, to: draft.peer, channelSeq: draft.seq, prevHash: draft.prevHash, ack: draft.ack,
            policyVersion: policyVersion, knowledge: draft.knowledge, createdAt: now, items: draft.delta.items)
        var envelope = Envelope(payloadType: BundlePayload.payloadType, payload: payload.compressed())
        try envelope.sign(keyID: nodeID, with: key)
        return (envelope.encoded(), Array(SHA256.hash(data: envelope.payload)))
    }
}

/// Why a bundle was refused before anything was applied.
public struct BundleRefusal: Error, CustomStringConvertible, Sendable {
    public var peer: String?
    public var seq: UInt64?
    public var reason: String
    public var description: String { reason }
}

/// A bundle whose signature, type, addressee and sender key have been checked; not yet applied.
public struct VerifiedBundle: Sendable {
    public var position: ChannelPosition
    public var ack: UInt64
    /// The sharing policy version the sender filtered under.
    public var policyVersion: UInt64
    public var knowledge: VersionVector
    public var items: [NodeStore.DecodedItem]
    public var envelope: [UInt8]
}

/// The outcome of receiving one bundle, as reported back to the sender.
public struct Receipt: Sendable {
    public var outcome: String
    public var seq: UInt64
    /// Highest gapless sequence the receiver holds on this channel: the sender's acknowledgement.
    public var highWater: UInt64
    public var knowledge: VersionVector
    public var applied: Int
    public var reason: String?

    /// The receiver took the bundle: applied it, already had it, or holds it until a gap fills.
    public var isAccepted: Bool { ["applied", "replay", "held"].contains(outcome) }

    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "outcome": .string(outcome), "seq": .int(Int64(seq)), "highWater": .int(Int64(highWater)),
            "applied": .int(Int64(applied)),
            "knowledge": .object(Dictionary(uniqueKeysWithValues: knowledge.origins.map { ($0, .int(Int64(knowledge[$0]))) })),
        ]
        if let reason { o["reason"] = .string(reason) }
        return .object(o)
    }

    public init(outcome: String, seq: UInt64, highWater: UInt64, knowledge: VersionVector, applied: Int, reason: String?) {
        self.outcome = outcome
        self.seq = seq
        self.highWater = highWater
        self.knowledge = knowledge
        self.applied = applied
        self.reason = reason
    }

    public init(json: JSONValue) throws {
        guard case .object(let o) = json, let outcome = o["outcome"]?.stringValue, let hw = o["highWater"]?.int64Value,
            case .object(let k)? = o["knowledge"]
        else { throw DecodeError("malformed sync receipt") }
        self.outcome = outcome
        seq = UInt64(o["seq"]?.int64Value ?? 0)
        highWater = UInt64(max(0, hw))
        var v = VersionVector()
        for (origin, value) in k { v[origin] = UInt64(max(0, value.int64Value ?? 0)) }
        knowledge = v
        applied = Int(o["applied"]?.int64Value ?? 0)
        reason = o["reason"]?.stringValue
    }
}

/// Receives signed bundles, over HTTP or from a file, in the order of design.md §7: size limit →
/// envelope → signature → payload type → payload → addressee → key not revoked → sequence and
/// prev hash → apply → log → high-water mark (the last three in one transaction).
public struct BundleReceiver: Sendable {
    public let store: NodeStore
    public let trust: TrustStore
    public let limits: Limits
    /// This node's own copy of the sharing policy, for the receiver's re-check.
    public let sharing: SharingGate

    public init(store: NodeStore, trust: TrustStore, limits: Limits, sharing: SharingGate) {
        self.store = store
        self.trust = trust
        self.limits = limits
        self.sharing = sharing
    }

    /// Checks one envelope without touching the store. `transportPeer` is the node proven by the
    /// TLS client certificate (nil for a file): the bundle must come from that node.
    public static func verify(
        _ bytes: [UInt8], me: String, trust: TrustSnapshot, limits: Limits, transportPeer: String?
    ) throws(BundleRefusal) -> VerifiedBundle {
        func refuse(_ reason: String, _ peer: String? = transportPeer, _ seq: UInt64? = nil) -> BundleRefusal {
            BundleRefusal(peer: peer, seq: seq, reason: reason)
        }
        guard bytes.count <= limits.bundleWireBytesMax else {
            throw refuse("bundle of \(bytes.count) bytes exceeds the \(limits.bundleWireBytesMax)-byte limit")
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(decoding: bytes, maxPayloadBytes: limits.bundleWireBytesMax)
        } catch {
            throw refuse("malformed envelope: \(error)")
        }
        guard let claimed = envelope.signatures.first?.keyID, envelope.signatures.count == 1 else {
            throw refuse("a bundle carries exactly one signature, found \(envelope.signatures.count)")
        }
        if let transportPeer, claimed != transportPeer {
            throw refuse("bundle signed as '\(claimed)' arrived over a connection authenticated as '\(transportPeer)'")
        }
        guard let key = trust.registry.signingKey(of: claimed) else {
            throw refuse("no signing key is registered for '\(claimed)'", claimed)
        }
        guard envelope.isSigned(by: claimed, publicKey: key) else {
            throw refuse("signature does not verify under the registered key of '\(claimed)'", claimed)
        }
        guard envelope.payloadType == BundlePayload.payloadType else {
            throw refuse("unexpected payload type '\(envelope.payloadType)'", claimed)
        }
        var payload: BundlePayload
        do {
            payload = try BundlePayload(compressed: envelope.payload, limits: limits)
        } catch {
            throw refuse("malformed payload: \(error)", claimed)
        }
        guard payload.from == claimed else {
            throw refuse("payload says it is from '\(payload.from)' but is signed by '\(claimed)'", claimed, payload.channelSeq)
        }
        guard payload.to == me else {
            throw refuse("bundle is addressed to '\(payload.to)', not to this node '\(me)'", claimed, payload.channelSeq)
        }
        if trust.denylist.revokes(signingKey: key) {
            throw refuse("the signing key of '\(claimed)' is revoked", claimed, payload.channelSeq)
        }
        guard payload.channelSeq > 0 else { throw refuse("channel sequence 0 is not valid", claimed, 0) }
        let items: [NodeStore.DecodedItem]
        do {
            items = try NodeStore.decode(payload.items, limits: limits)
        } catch {
            throw refuse("malformed entry: \(error)", claimed, payload.channelSeq)
        }
        payload.items = []
        return VerifiedBundle(
            position: ChannelPosition(
                peer: claimed, seq: payload.channelSeq, hash: Array(SHA256.hash(data: envelope.payload)),
                prevHash: payload.prevHash),
            ack: payload.ack, policyVersion: payload.policyVersion, knowledge: payload.knowledge, items: items,
            envelope: bytes)
    }

    /// Verifies and receives one bundle, then any held bundles it unblocks. Every refusal is
    /// logged with its reason before this returns.
    public func receive(_ bytes: [UInt8], transportPeer: String?) async throws -> Receipt {
        let snapshot = await trust.snapshot()
        let verified: VerifiedBundle
        do {
            verified = try Self.verify(bytes, me: store.nodeID, trust: snapshot, limits: limits, transportPeer: transportPeer)
        } catch {
            return try refused(error)
        }
        return try await accept(verified)
    }

    /// Logs a bundle refused before anything was applied, and answers with our position.
    public func refused(_ error: BundleRefusal) throws -> Receipt {
        try store.logBundleRefusal(peer: error.peer, seq: error.seq, hash: nil, reason: error.reason)
        return Receipt(
            outcome: "refused", seq: error.seq ?? 0, highWater: try store.inboundHighWater(error.peer ?? "").seq,
            knowledge: try store.knowledge(), applied: 0, reason: error.reason)
    }

    /// Applies a verified bundle, then any held bundles it unblocks.
    public func accept(_ verified: VerifiedBundle) async throws -> Receipt {
        var receipt = try await apply(verified)
        if receipt.outcome == "applied" {
            // Release bundles that were waiting for this one (bounded: at most what is held).
            for _ in 0..<10_000 {
                guard let held = try store.nextHeld(verified.position.peer) else { break }
                let next: VerifiedBundle
                do {
                    next = try Self.verify(held, me: store.nodeID, trust: await trust.snapshot(), limits: limits, transportPeer: nil)
                } catch {
                    try store.logBundleRefusal(peer: error.peer, seq: error.seq, hash: nil, reason: "held bundle: \(error.reason)")
                    break
                }
                let r = try await apply(next)
                receipt.applied += r.applied
                receipt.highWater = r.highWater
                if r.outcome != "applied" { break }
            }
        }
        return receipt
    }

    func apply(_ v: VerifiedBundle) async throws -> Receipt {
        let policy = sharing.current
        if let policy, v.policyVersion > policy.version {
            // The sender filtered under a newer policy than ours: judging it by our older copy
            // could refuse entries it may now send. Refuse the bundle whole; the sender resends
            // the same bytes once this node has loaded the new topology.
            let reason =
                "bundle \(v.position.seq) from '\(v.position.peer)' was filtered under sharing policy v\(v.policyVersion), newer than this node's v\(policy.version); update this node's topology file"
            try store.logBundleRefusal(peer: v.position.peer, seq: v.position.seq, hash: v.position.hash, reason: reason)
            return Receipt(
                outcome: "refused", seq: v.position.seq, highWater: try store.inboundHighWater(v.position.peer).seq,
                knowledge: try store.knowledge(), applied: 0, reason: reason)
        }
        let outcome = try await store.receive(
            v.position, ack: v.ack, items: v.items, peerKnowledge: v.knowledge, envelope: v.envelope, sharing: policy)
        let highWater = try store.inboundHighWater(v.position.peer).seq
        let knowledge = try store.knowledge()
        switch outcome {
        case .applied(let report):
            // Entries refused one by one (sharing re-check, forged origin, illegal transition) are
            // named in the receipt: the bundle as a whole was accepted, but not everything in it.
            let reason = report.refused.isEmpty
                ? nil : "\(report.refused.count) entries refused: " + report.refused.prefix(5).joined(separator: "; ")
            return Receipt(
                outcome: "applied", seq: v.position.seq, highWater: highWater, knowledge: knowledge, applied: report.applied,
                reason: reason)
        case .replay:
            return Receipt(outcome: "replay", seq: v.position.seq, highWater: highWater, knowledge: knowledge, applied: 0, reason: nil)
        case .held(let waiting):
            return Receipt(
                outcome: "held", seq: v.position.seq, highWater: highWater, knowledge: knowledge, applied: 0,
                reason: "waiting for bundle \(waiting)")
        case .fork(let reason):
            return Receipt(outcome: "fork", seq: v.position.seq, highWater: highWater, knowledge: knowledge, applied: 0, reason: reason)
        }
    }
}
