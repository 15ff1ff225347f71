import IOCModel
import Testing

@testable import IOCNode

/// When an offline node looks again for full bundles to seal ahead for its parent.
struct OutboxAheadTests {
    typealias Ahead = SyncService.OutboxAhead

    static func mark(_ seq: UInt64, policy: String? = "p1") -> Ahead.Mark {
        var v = VersionVector()
        v["hai-chau"] = seq
        return Ahead.Mark(knowledge: v, policy: policy)
    }

    @Test func idleBuildingResumesOnALocalWriteOrANewPolicy() {
        var ahead = Ahead()
        let now = ContinuousClock.now
        #expect(ahead.wants(Self.mark(5), now: now), "a fresh start looks")
        ahead.idleAt = Self.mark(5)
        #expect(!ahead.wants(Self.mark(5), now: now + .seconds(60)), "nothing changed: no look, however long")
        #expect(ahead.wants(Self.mark(6), now: now), "a local write")
        #expect(ahead.wants(Self.mark(5, policy: "p2"), now: now), "a new sharing policy may let more go up")
        #expect(ahead.wants(Self.mark(5, policy: nil), now: now))
    }

    @Test func aPausedOutboxIsMeasuredAgainAfterTheRecheckInterval() {
        var ahead = Ahead()
        let at = ContinuousClock.now
        ahead.pausedAt = at
        // At the cap (or after an error) new writes wait too: they would only be sealed past it.
        #expect(!ahead.wants(Self.mark(9), now: at))
        #expect(!ahead.wants(Self.mark(9), now: at + Ahead.recheck - .milliseconds(1)))
        #expect(ahead.wants(Self.mark(9), now: at + Ahead.recheck), "acknowledgements may have come by file, or the error passed")
    }
}
