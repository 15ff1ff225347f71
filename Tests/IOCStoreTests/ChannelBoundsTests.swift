import Foundation
import IOCModel
import IOCStore
import Testing

/// A peer cannot grow a receiver's database without bound through the channel bookkeeping:
/// bundles held ahead of a gap, and fork evidence, are both capped per peer.
@Suite struct ChannelBoundsTests {
    static func position(_ seq: UInt64, _ tag: UInt8) -> ChannelPosition {
        ChannelPosition(peer: "province", seq: seq, hash: [UInt8](repeating: tag, count: 32), prevHash: NodeStore.zeroHash)
    }

    @Test func heldBundlesAreCappedPerPeer() async throws {
        try await withStore { store, _, _ in
            let max = store.limits.heldBundlesPerPeerMax
            for seq in 2..<UInt64(2 + max) {
                let r = try await store.receive(Self.position(seq, 1), ack: 0, items: [], peerKnowledge: VersionVector(), envelope: [1, 2, 3])
                #expect(r == .held(waitingFor: 1))
            }
            let over = try await store.receive(
                Self.position(UInt64(2 + max), 1), ack: 0, items: [], peerKnowledge: VersionVector(), envelope: [1, 2, 3])
            guard case .fork(let reason) = over else {
                Issue.record("bundle beyond the held cap was \(over)")
                return
            }
            #expect(reason.contains("already wait"))
            // A held bundle arriving again with the same bytes is still fine.
            #expect(try await store.receive(Self.position(2, 1), ack: 0, items: [], peerKnowledge: VersionVector(), envelope: [1, 2, 3]) == .held(waitingFor: 1))
        }
    }

    @Test func forkEvidenceIsCappedPerPeer() async throws {
        try await withStore { store, _, _ in
            #expect(try await store.receive(Self.position(1, 1), ack: 0, items: [], peerKnowledge: VersionVector(), envelope: [0]).isApplied)
            let max = store.limits.forkEvidencePerPeerMax
            for i in 0..<(max + 5) {
                let r = try await store.receive(
                    Self.position(1, UInt8(2 + i % 200)), ack: 0, items: [], peerKnowledge: VersionVector(), envelope: [9, 9])
                guard case .fork = r else {
                    Issue.record("fork \(i) was \(r)")
                    return
                }
            }
            let refusals = try store.bundleRefusals(limit: 1000)
            #expect(refusals.count == max + 5)
            #expect(refusals.filter(\.hasEvidence).count == max)
        }
    }
}

extension ReceiveOutcome {
    var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }
}
