import Crypto
import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore
import IOCSync
import IOCTesting
import Testing

/// Attacks on signed bundles, in process: hai-chau's bundles reach province's receiver tampered,
/// misaddressed, mis-signed, replayed, reordered or forked. Every refusal leaves province's
/// journal, records and channel untouched and logs a reason; forks keep their evidence.
struct BundleAttackTests {
    /// Two stores (hai-chau seeded, province empty) and a federation of three nodes.
    struct Lab {
        let root: String
        let fed: TestFederation
        let source: NodeStore
        let target: NodeStore
        let receiver: BundleReceiver

        /// `limits` apply to the source: a small `bundleEntriesMax` splits its journal into many bundles.
        static func make(limits: Limits = .default, reports: Int = 3) async throws -> Lab {
            let root = try SyncTest.tempDirectory("attack")
            let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
            let source = try SyncTest.store(root + "/hai-chau", node: "hai-chau", limits: limits)
            let target = try SyncTest.store(root + "/province", node: "province")
            try await SampleData.seed(store: source, unit: "20194", reports: reports)
            return Lab(root: root, fed: fed, source: source, target: target, receiver: try fed.receiver(target))
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: root) }

        /// Every bundle hai-chau has for `peer`, in sequence order.
        func export(to peer: String = "province") throws -> [[UInt8]] {
            var out: [[UInt8]] = []
            try BundleExchange(store: source, signer: try fed.signer("hai-chau"), sharing: fed.sharing).export(to: peer) {
                out.append($0)
            }
            return out
        }

        func key(_ node: String) throws -> Curve25519.Signing.PrivateKey { try fed.certs.readSigningKey(node) }

        func receive(_ bytes: [UInt8], from peer: String? = "hai-chau") async throws -> Receipt {
            try await receiver.receive(bytes, transportPeer: peer)
        }

        /// `bytes` must be refused: nothing written, one refusal logged with the receipt's reason.
        func expectRefused(
            _ bytes: [UInt8], from peer: String? = "hai-chau", reason: String? = nil, _ label: String,
            receiver custom: BundleReceiver? = nil, sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let before = try SyncTest.counts(target)
            let digest = try target.stateDigest()
            let knowledge = try target.knowledge()
            let r = try await (custom ?? receiver).receive(bytes, transportPeer: peer)
            #expect(r.outcome == "refused", "\(label): \(r.outcome) \(r.reason ?? "")", sourceLocation: sourceLocation)
            #expect(r.applied == 0, "\(label)", sourceLocation: sourceLocation)
            let why = r.reason ?? ""
            #expect(!why.isEmpty, "\(label): no reason", sourceLocation: sourceLocation)
            if let reason {
                #expect(why.contains(reason), "\(label): reason '\(why)' lacks '\(reason)'", sourceLocation: sourceLocation)
            }
            let after = try SyncTest.counts(target)
            #expect(after.data == before.data, "\(label): \(before) → \(after)", sourceLocation: sourceLocation)
            #expect(after.refusals == before.refusals + 1, "\(label): refusal not logged", sourceLocation: sourceLocation)
            let logged = try target.bundleRefusals(limit: 1).first
            #expect(logged?.reason == r.reason, "\(label)", sourceLocation: sourceLocation)
            #expect(logged?.hasEvidence == false, "\(label)", sourceLocation: sourceLocation)
            #expect(try target.stateDigest() == digest, "\(label)", sourceLocation: sourceLocation)
            #expect(try target.knowledge() == knowledge, "\(label)", sourceLocation: sourceLocation)
        }
    }

    static let small: Limits = {
        var l = Limits()
        l.bundleEntriesMax = 5
        return l
    }()

    static func envelope(_ bytes: [UInt8]) throws -> Envelope { try Envelope(decoding: bytes, maxPayloadBytes: 8 << 20) }

    static func payload(_ bytes: [UInt8]) throws -> BundlePayload { try BundlePayload(compressed: try envelope(bytes).payload) }

    /// A payload sealed the way `BundleSigner` does, with any type, key id and key.
    static func seal(
        _ payload: BundlePayload, type: String = BundlePayload.payloadType, keyID: String,
        key: Curve25519.Signing.PrivateKey
    ) throws -> [UInt8] {
        var e = Envelope(payloadType: type, payload: payload.compressed())
        try e.sign(keyID: keyID, with: key)
        return e.encoded()
    }

    static func varintSize(_ n: Int) -> Int {
        var n = n
        var size = 1
        while n >= 0x80 {
            n >>= 7
            size += 1
        }
        return size
    }

    static func flipped(_ bytes: [UInt8], at offset: Int) -> [UInt8] {
        var b = bytes
        b[offset] ^= 0x01
        return b
    }

    // MARK: Tampering

    @Test func oneFlippedByteAnywhereIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        let e = try Self.envelope(bundle)
        let keyID = try #require(e.signatures.first?.keyID)
        #expect(keyID == "hai-chau")
        // The frame: magic(4) version(1) type(len, bytes) payload(len, bytes) count keyID(len, bytes) sig(len, 64).
        let typeLength = e.payloadType.utf8.count
        let payloadAt = 6 + typeLength + Self.varintSize(e.payload.count)
        let payloadEnd = payloadAt + e.payload.count
        let keyAt = payloadEnd + 2
        let signatureAt = keyAt + keyID.utf8.count + 1
        try #require(typeLength < 0x80 && signatureAt + 64 == bundle.count, "unexpected envelope layout")

        let cases: [(String, Int, String?)] = [
            ("magic", 0, "malformed envelope"), ("magic, last byte", 3, "malformed envelope"),
            ("version", 4, "malformed envelope"), ("payload type length", 5, nil),
            ("payload type, first byte", 6, "signature does not verify"),
            ("payload type, last byte", 6 + typeLength - 1, "signature does not verify"),
            ("payload length", 6 + typeLength, nil),
            ("payload, first byte", payloadAt, "signature does not verify"),
            ("payload, middle", payloadAt + e.payload.count / 2, "signature does not verify"),
            ("payload, a third in", payloadAt + e.payload.count / 3, "signature does not verify"),
            ("payload, last byte", payloadEnd - 1, "signature does not verify"),
            ("signature count", payloadEnd, nil),
            ("key id, first byte", keyAt, "authenticated as 'hai-chau'"),
            ("key id, last byte", signatureAt - 2, "authenticated as 'hai-chau'"),
            ("signature length", signatureAt - 1, nil),
            ("signature, first byte", signatureAt, "signature does not verify"),
            ("signature, middle", signatureAt + 32, "signature does not verify"),
            ("signature, last byte", bundle.count - 1, "signature does not verify"),
        ]
        for (region, offset, reason) in cases {
            try await lab.expectRefused(Self.flipped(bundle, at: offset), reason: reason, "flipped \(region) at \(offset)")
        }
        // A key id flipped in a file (no TLS peer): no such key.
        try await lab.expectRefused(
            Self.flipped(bundle, at: keyAt), from: nil, reason: "no signing key is registered", "flipped key id, from a file")
        // Cut short, one byte too many, and a second signature.
        try await lab.expectRefused(Array(bundle.dropLast()), reason: "malformed envelope", "truncated by one byte")
        try await lab.expectRefused(Array(bundle.prefix(payloadAt + 10)), reason: "malformed envelope", "truncated in the payload")
        try await lab.expectRefused(bundle + [0], reason: "malformed envelope", "trailing byte")
        var twice = e
        twice.signatures.append(e.signatures[0])
        try await lab.expectRefused(twice.encoded(), reason: "exactly one signature", "two signatures")
        // Sequence 0, honestly signed: no such position on a channel.
        var zero = try Self.payload(bundle)
        zero.channelSeq = 0
        try await lab.expectRefused(
            try Self.seal(zero, keyID: "hai-chau", key: try lab.key("hai-chau")), reason: "sequence 0", "channel sequence 0")
        var unsigned = e
        unsigned.signatures = []
        try await lab.expectRefused(unsigned.encoded(), reason: "exactly one signature", "no signature")

        // The untouched bundle still applies.
        let r = try await lab.receive(bundle)
        #expect(r.outcome == "applied", "\(r.reason ?? "")")
        #expect(try lab.target.stateDigest(kinds: SyncTest.replicated) == lab.source.stateDigest(kinds: SyncTest.replicated))
    }

    @Test func wrongPayloadTypeIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        let payload = try Self.payload(bundle)
        let key = try lab.key("hai-chau")
        for type in ["application/vnd.ioc.delta-bundle.v2+zstd", "application/vnd.ioc.denylist.v1+json", ""] {
            let resigned = try Self.seal(payload, type: type, keyID: "hai-chau", key: key)
            try await lab.expectRefused(resigned, reason: "unexpected payload type", "payload type '\(type)'")
        }
        // Control: the same payload re-sealed with the right type applies.
        let r = try await lab.receive(try Self.seal(payload, keyID: "hai-chau", key: key))
        #expect(r.outcome == "applied", "\(r.reason ?? "")")
    }

    @Test func bundleSignedWithAnotherNodesKeyIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        let payload = try Self.payload(bundle)
        let other = try lab.key("thanh-khe")
        // thanh-khe's key under hai-chau's name.
        let impersonated = try Self.seal(payload, keyID: "hai-chau", key: other)
        try await lab.expectRefused(impersonated, reason: "signature does not verify", "thanh-khe's key, key id hai-chau")
        try await lab.expectRefused(impersonated, from: nil, reason: "signature does not verify", "same, from a file")
        // Signed honestly by thanh-khe, but the payload claims to be from hai-chau.
        let relabelled = try Self.seal(payload, keyID: "thanh-khe", key: other)
        try await lab.expectRefused(relabelled, from: nil, reason: "payload says it is from 'hai-chau'", "key id thanh-khe, from a file")
        try await lab.expectRefused(
            relabelled, from: "thanh-khe", reason: "payload says it is from 'hai-chau'", "key id thanh-khe over thanh-khe's TLS")
        try await lab.expectRefused(relabelled, from: "hai-chau", reason: "authenticated as 'hai-chau'", "key id thanh-khe over hai-chau's TLS")
        // A payload rewritten to say thanh-khe, signed by thanh-khe: honest, but the channel is thanh-khe's.
        var rewritten = payload
        rewritten.from = "thanh-khe"
        let r = try await lab.receive(try Self.seal(rewritten, keyID: "thanh-khe", key: other), from: "thanh-khe")
        #expect(r.outcome == "applied", "\(r.reason ?? "")")
        #expect(try lab.target.inboundHighWater("hai-chau").seq == 0)
        #expect(try lab.target.inboundHighWater("thanh-khe").seq == 1)
    }

    @Test func bundleFromAnotherTransportPeerIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        try await lab.expectRefused(bundle, from: "thanh-khe", reason: "authenticated as 'thanh-khe'", "hai-chau's bundle over thanh-khe's TLS")
        let r = try await lab.receive(bundle)
        #expect(r.outcome == "applied", "\(r.reason ?? "")")
    }

    @Test func revokedSigningKeyIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        // Verifies before the revocation.
        let snapshot = await lab.receiver.trust.snapshot()
        _ = try BundleReceiver.verify(bundle, me: "province", trust: snapshot, limits: .default, transportPeer: "hai-chau")
        try lab.fed.certs.revoke(federation: lab.fed.federation, node: "hai-chau", reason: "key leaked", now: SyncTest.referenceTime)
        let denylist = Array(try Data(contentsOf: URL(fileURLWithPath: lab.fed.certs.denylist)))
        #expect(try await lab.receiver.trust.install(kind: "denylist", bytes: denylist))
        try await lab.expectRefused(bundle, reason: "revoked", "revoked signing key")
        try await lab.expectRefused(bundle, from: nil, reason: "revoked", "revoked signing key, from a file")
    }

    @Test func bundleAddressedToAnotherNodeIsRefused() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let misdirected = try #require(try lab.export(to: "thanh-khe").first)
        try await lab.expectRefused(misdirected, reason: "addressed to 'thanh-khe'", "bundle for thanh-khe delivered to province")
        try await lab.expectRefused(misdirected, from: nil, reason: "addressed to 'thanh-khe'", "same, from a file")
    }

    @Test func oversizedBodyIsRefusedBeforeParsing() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        // Garbage just over the limit: the size is the reason, not the garbage.
        let garbage = [UInt8](repeating: 0x41, count: lab.target.limits.bundleWireBytesMax + 1)
        try await lab.expectRefused(garbage, reason: "exceeds", "garbage one byte over the wire limit")
        let refused = try #require(try lab.target.bundleRefusals(limit: 1).first)
        #expect(!refused.reason.contains("malformed"))
        // A genuine bundle one byte over a smaller limit.
        var tight = Limits()
        tight.bundleWireBytesMax = bundle.count - 1
        let strict = BundleReceiver(store: lab.target, trust: lab.receiver.trust, limits: tight, sharing: lab.fed.sharing)
        try await lab.expectRefused(bundle, reason: "exceeds", "genuine bundle over a tight limit", receiver: strict)
        let r = try await lab.receive(bundle)
        #expect(r.outcome == "applied", "\(r.reason ?? "")")
    }

    // MARK: Sequence

    @Test func replayChangesNothing() async throws {
        let lab = try await Lab.make()
        defer { lab.cleanup() }
        let bundle = try #require(try lab.export().first)
        let first = try await lab.receive(bundle)
        #expect(first.outcome == "applied")
        #expect(first.applied > 0)
        let before = try SyncTest.counts(lab.target)
        let digest = try lab.target.stateDigest()
        for peer in ["hai-chau", nil] as [String?] {
            let again = try await lab.receive(bundle, from: peer)
            #expect(again.outcome == "replay")
            #expect(again.applied == 0)
            #expect(again.highWater == 1)
        }
        #expect(try SyncTest.counts(lab.target) == before)
        #expect(try lab.target.stateDigest() == digest)
    }

    @Test func gapIsHeldThenFilled() async throws {
        let lab = try await Lab.make(limits: Self.small)
        defer { lab.cleanup() }
        let bundles = try lab.export()
        try #require(bundles.count >= 3, "expected several bundles, got \(bundles.count)")
        let before = try SyncTest.counts(lab.target)
        let held = try await lab.receive(bundles[1])
        #expect(held.outcome == "held", "\(held.reason ?? "")")
        #expect(held.highWater == 0)
        #expect(held.applied == 0)
        let middle = try SyncTest.counts(lab.target)
        #expect(middle.journal == before.journal)
        #expect(middle.records == before.records)
        #expect(middle.channelIn == 0)
        #expect(middle.channelHeld == 1)
        // The same held bundle again is still just held.
        #expect(try await lab.receive(bundles[1]).outcome == "held")
        #expect(try SyncTest.counts(lab.target).channelHeld == 1)

        let filled = try await lab.receive(bundles[0])
        #expect(filled.outcome == "applied", "\(filled.reason ?? "")")
        #expect(filled.highWater == 2)
        #expect(try lab.target.inboundHighWater("hai-chau").seq == 2)
        let after = try SyncTest.counts(lab.target)
        #expect(after.channelIn == 2)
        #expect(after.channelHeld == 0)
        #expect(after.refusals == before.refusals)
    }

    @Test func manyBundlesInReverseOrderConverge() async throws {
        let lab = try await Lab.make(limits: Self.small, reports: 6)
        defer { lab.cleanup() }
        let bundles = try lab.export()
        try #require(bundles.count >= 3, "expected several bundles, got \(bundles.count)")
        for (i, b) in bundles.enumerated().reversed() {
            let r = try await lab.receive(b)
            if i > 0 {
                #expect(r.outcome == "held", "bundle \(i + 1): \(r.outcome) \(r.reason ?? "")")
            } else {
                #expect(r.outcome == "applied", "\(r.reason ?? "")")
                #expect(r.highWater == UInt64(bundles.count))
            }
        }
        let after = try SyncTest.counts(lab.target)
        #expect(after.channelIn == bundles.count)
        #expect(after.channelHeld == 0)
        #expect(after.refusals == 0)
        #expect(try lab.target.knowledge() == lab.source.knowledge())
        #expect(try lab.target.stateDigest(kinds: SyncTest.replicated) == lab.source.stateDigest(kinds: SyncTest.replicated))
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func shuffledDuplicatedDeliveryConverges(seed: UInt64) async throws {
        let lab = try await Lab.make(limits: Self.small, reports: 4)
        defer { lab.cleanup() }
        let bundles = try lab.export()
        try #require(bundles.count >= 3, "expected several bundles, got \(bundles.count)")
        var rng = SeededRandom(seed: seed)
        let deliveries = (bundles + bundles + bundles.prefix(2)).shuffled(using: &rng)
        for b in deliveries {
            let r = try await lab.receive(b)
            #expect(["applied", "held", "replay"].contains(r.outcome), "\(r.outcome) \(r.reason ?? "")")
        }
        let after = try SyncTest.counts(lab.target)
        #expect(after.channelIn == bundles.count)
        #expect(after.channelHeld == 0)
        #expect(after.refusals == 0)
        #expect(try lab.target.inboundHighWater("hai-chau").seq == UInt64(bundles.count))
        #expect(try lab.target.stateDigest(kinds: SyncTest.replicated) == lab.source.stateDigest(kinds: SyncTest.replicated))
    }

    @Test func forkIsRefusedWithEvidence() async throws {
        let lab = try await Lab.make(limits: Self.small)
        defer { lab.cleanup() }
        let bundles = try lab.export()
        try #require(bundles.count >= 4, "expected several bundles, got \(bundles.count)")
        let key = try lab.key("hai-chau")
        #expect(try await lab.receive(bundles[0]).outcome == "applied")

        /// `bytes` must be a fork: nothing applied, evidence kept.
        func expectFork(_ bytes: [UInt8], seq: UInt64, _ label: String, sourceLocation: SourceLocation = #_sourceLocation)
            async throws
        {
            let before = try SyncTest.counts(lab.target)
            let digest = try lab.target.stateDigest()
            let r = try await lab.receive(bytes)
            #expect(r.outcome == "fork", "\(label): \(r.outcome) \(r.reason ?? "")", sourceLocation: sourceLocation)
            #expect(r.applied == 0, sourceLocation: sourceLocation)
            let after = try SyncTest.counts(lab.target)
            #expect(after.data == before.data, "\(label): \(before) → \(after)", sourceLocation: sourceLocation)
            #expect(after.refusals == before.refusals + 1, "\(label)", sourceLocation: sourceLocation)
            let logged = try #require(try lab.target.bundleRefusals(limit: 1).first, sourceLocation: sourceLocation)
            #expect(logged.hasEvidence, "\(label): evidence not kept", sourceLocation: sourceLocation)
            #expect(logged.seq == seq, "\(label)", sourceLocation: sourceLocation)
            #expect(logged.peer == "hai-chau", "\(label)", sourceLocation: sourceLocation)
            #expect(logged.reason.contains("fork"), "\(label): \(logged.reason)", sourceLocation: sourceLocation)
            #expect(try lab.target.stateDigest() == digest, "\(label)", sourceLocation: sourceLocation)
        }

        // Same sequence 1, different signed bytes (a later timestamp, then one entry fewer).
        var p1 = try Self.payload(bundles[0])
        p1.createdAt += 1
        try await expectFork(try Self.seal(p1, keyID: "hai-chau", key: key), seq: 1, "seq 1 re-signed later")
        p1 = try Self.payload(bundles[0])
        p1.items.removeLast()
        try await expectFork(try Self.seal(p1, keyID: "hai-chau", key: key), seq: 1, "seq 1 with an entry dropped")

        // Sequence 2 that does not chain to 1.
        var p2 = try Self.payload(bundles[1])
        p2.prevHash = [UInt8](repeating: 0xAB, count: 32)
        try await expectFork(try Self.seal(p2, keyID: "hai-chau", key: key), seq: 2, "seq 2 with a broken prev hash")
        p2.prevHash = NodeStore.zeroHash
        try await expectFork(try Self.seal(p2, keyID: "hai-chau", key: key), seq: 2, "seq 2 claiming to be first")
        #expect(try lab.target.inboundHighWater("hai-chau").seq == 1)

        // A held bundle arriving again with different bytes.
        #expect(try await lab.receive(bundles[3]).outcome == "held")
        var p4 = try Self.payload(bundles[3])
        p4.createdAt += 1
        try await expectFork(try Self.seal(p4, keyID: "hai-chau", key: key), seq: 4, "held seq 4 with different bytes")

        // The genuine chain still completes.
        for b in bundles.dropFirst() { _ = try await lab.receive(b) }
        #expect(try lab.target.inboundHighWater("hai-chau").seq == UInt64(bundles.count))
        #expect(try lab.target.stateDigest(kinds: SyncTest.replicated) == lab.source.stateDigest(kinds: SyncTest.replicated))
    }
}
