import Foundation
import GRDB
import IOCModel
import IOCSharing
import IOCStore
import IOCSync
import IOCTesting
import Testing

@Suite struct SyncApplyTests {
    /// Two stores in one temporary directory, sharing a manual clock.
    func withPair(_ body: (NodeStore, NodeStore, ManualClock) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(t0)
            try await body(try openStore(dir, node: "hai-chau", clock: clock), try openStore(dir, node: "thanh-khe", clock: clock), clock)
        }
    }

    func foreign(_ seq: UInt64, _ id: RecordID, op: ChangeOp, body: [String: JSONValue], hlc: HLC, kind: String = "fieldReport",
                 context: VersionVector = VersionVector()) -> [UInt8] {
        JournalEntry(origin: "thanh-khe", seq: seq, hlc: hlc, recordID: id, kind: kind, op: op, context: context, body: body).encoded()
    }

    func newID() -> RecordID {
        var rng = SystemRandomNumberGenerator()
        return RecordID.generate(milliseconds: UInt64(t0), using: &rng)
    }

    static let createBody: [String: JSONValue] = [
        "channel": "app", "category": "flooding", "title": "Từ phường Thanh Khê", "status": "received", "unit": "20200",
        "originNode": "thanh-khe",
    ]

    @Test func reapplyingABundleIsANoOp() async throws {
        try await withPair { a, b, _ in
            _ = try await b.fieldReport(unit: "20200")
            _ = try await b.fieldReport(unit: "20200")
            let items = try b.delta(beyond: a.knowledge()).items
            let first = try a.apply(items, from: "thanh-khe")
            #expect(first.applied == 2 && first.recordsChanged == 2 && first.duplicates == 0)
            let digest = try a.stateDigest()
            let second = try a.apply(items, from: "thanh-khe")
            #expect(second.applied == 0 && second.duplicates == 2 && second.recordsChanged == 0)
            #expect(try a.stateDigest() == digest)
            #expect(try a.knowledge() == VersionVector(["thanh-khe": 2]))
            #expect(try a.stateDigest() == b.stateDigest())
        }
    }

    @Test func concurrentEditsConflictThenResolveAndConverge() async throws {
        try await withPair { a, b, clock in
            let r = try await a.fieldReport()
            _ = try b.apply(try a.delta(beyond: b.knowledge()).items, from: "hai-chau")
            clock.advance(minute)
            _ = try await a.patch(id: r.id, kind: .fieldReport, actor: operatorActor) { _ in ["title": "Tiêu đề A"] }
            clock.advance(minute)
            _ = try await b.patch(id: r.id, kind: .fieldReport, actor: operatorActor) { _ in ["title": "Tiêu đề B"] }
            let toA = try b.delta(beyond: a.knowledge()).items
            let toB = try a.delta(beyond: b.knowledge()).items
            #expect(toA.count == 1 && toB.count == 1)
            _ = try a.apply(toA, from: "thanh-khe", peerKnowledge: b.knowledge())
            _ = try b.apply(toB, from: "hai-chau", peerKnowledge: a.knowledge())
            #expect(try a.stateDigest() == b.stateDigest())
            let onA = try #require(try await a.get(r.id))
            #expect(onA.value("title") == "Tiêu đề B")  // later HLC wins while the conflict is open
            #expect(onA.conflicts.map(\.field) == ["title"])
            #expect(try await a.conflicted(unitScope: nil, limit: 10).map(\.id) == [r.id])
            #expect(try await a.conflicted(unitScope: ["20194"], limit: 10).map(\.id) == [r.id])
            #expect(try await a.conflicted(unitScope: ["20200"], limit: 10).isEmpty)
            // What B reported when its bundle was made: A's create, not yet A's patch.
            #expect(try a.peerKnowledge("thanh-khe") == VersionVector(["hai-chau": 1, "thanh-khe": 1]))
            #expect(try a.peerKnowledge("nobody") == VersionVector())

            let noConflict = await thrown(ValidationError.self) {
                try await a.resolveConflict(id: r.id, kind: .fieldReport, field: "category", value: "traffic", actor: operatorActor)
            }
            #expect(noConflict?.message == "Field 'category' has no open conflict.")
            let resolved = try await a.resolveConflict(id: r.id, kind: .fieldReport, field: "title", value: "Tiêu đề chung", actor: operatorActor)
            #expect(resolved.conflicts.isEmpty)
            #expect(resolved.timeline.last?.event["type"] == "conflict_resolved")
            _ = try b.apply(try a.delta(beyond: b.knowledge()).items, from: "hai-chau")
            #expect(try await b.get(r.id)?.value("title") == "Tiêu đề chung")
            #expect(try await b.conflicted(unitScope: nil, limit: 10).isEmpty)
            #expect(try a.stateDigest() == b.stateDigest())
        }
    }

    @Test func anIllegalTransitionFromAPeerKeepsItsPositionButNotItsChange() async throws {
        try await withPair { a, _, _ in
            let id = newID()
            let hlc = HLC(milliseconds: UInt64(t0), counter: 0)
            let items: [BundleItem] = [
                .entry(foreign(1, id, op: .create, body: Self.createBody, hlc: hlc)),
                .entry(foreign(2, id, op: .transition, body: [
                    "status": "resolved", JournalEntry.eventKey: ["type": "transition", "from": "received", "to": "resolved"],
                ], hlc: HLC(milliseconds: UInt64(t0), counter: 1), context: VersionVector(["thanh-khe": 1]))),
            ]
            let report = try a.apply(items, from: "thanh-khe")
            #expect(report.applied == 1)
            #expect(report.refused == ["thanh-khe:2: illegal transition received → resolved"])
            #expect(try a.knowledge() == VersionVector(["thanh-khe": 2]))
            #expect(try await a.get(id)?.value("status") == "received")
        }
    }

    @Test func localOnlyRecordsFromAPeerAreRefusedAndNotStored() async throws {
        try await withPair { a, _, _ in
            let id = newID()
            let bytes = foreign(1, id, op: .create, body: ["reportId": .string(id.description), "phone": "0905000111"],
                                hlc: HLC(milliseconds: UInt64(t0), counter: 0), kind: "reporterContact")
            let report = try a.apply([.entry(bytes)], from: "thanh-khe")
            #expect(report.applied == 0)
            #expect(report.refused == ["thanh-khe:1: local-only record sent by a peer"])
            #expect(try a.knowledge() == VersionVector(["thanh-khe": 1]))
            #expect(try await a.get(id) == nil)
            let row = try a.readSync { try Row.fetchOne($0, sql: "SELECT bytes, leaf_hash FROM journal WHERE origin = 'thanh-khe'") }
            #expect((row?["bytes"] as Data?) == nil)
            #expect((row?["leaf_hash"] as Data?) == Data(JournalEntry.leafHash(bytes)))
        }
    }

    @Test func farFutureClocksAreFlaggedNotFollowed() async throws {
        try await withPair { a, _, _ in
            let ahead = HLC(milliseconds: UInt64(t0 + 24 * hour), counter: 0)
            let report = try a.apply([.entry(foreign(1, newID(), op: .create, body: Self.createBody, hlc: ahead))], from: "thanh-khe")
            #expect(report.applied == 1)
            #expect(report.clockSkewOrigins == ["thanh-khe"])
            let local = try await a.fieldReport()
            #expect(local.updatedHLC == HLC(milliseconds: UInt64(t0), counter: 0))
        }
    }

    @Test func gapsAndAdmissionRefusals() async throws {
        try await withPair { a, _, _ in
            let id = newID()
            let second = foreign(2, id, op: .update, body: ["title": "x"], hlc: HLC(milliseconds: UInt64(t0), counter: 1))
            let gap = try a.apply([.entry(second)], from: "thanh-khe")
            #expect(gap.gaps == 1 && gap.applied == 0)
            #expect(try a.knowledge() == VersionVector())
            let first = foreign(1, id, op: .create, body: Self.createBody, hlc: HLC(milliseconds: UInt64(t0), counter: 0))
            // A policy with no rules grants hai-chau nothing it did not create.
            let denyAll = ActivePolicy(policy: SharingPolicy(version: 1, rules: []), topology: TopologyFixtures.small())
            let refused = try a.apply([.entry(first), .entry(second)], from: "thanh-khe", sharing: denyAll)
            #expect(refused.refused.count == 2)
            #expect(refused.refused.allSatisfy { $0.contains("does not let 'hai-chau' hold this fieldReport") })
            #expect(try a.knowledge() == VersionVector(["thanh-khe": 2]))
            #expect(try await a.get(id) == nil)
            // A malformed entry fails the whole bundle before anything is written.
            #expect(throws: DecodeError.self) { try a.apply([.entry([1, 2, 3])], from: "thanh-khe") }
        }
    }

    /// A lone create whose record is already held here is merged into it, never saved over it:
    /// the writer skips the lookup only for ids newer than every stored record (ids are
    /// time-ordered), so one at or below the newest must still be found.
    @Test(arguments: [false, true]) func aCreateForAHeldRecordIsMergedWhereverItsIDSorts(withSharing: Bool) async throws {
        try await withPair { a, _, clock in
            let held = try await a.fieldReport(title: "Ngập đường Bạch Đằng")
            clock.advance(minute)
            let newest = try await a.fieldReport(title: "Cây đổ trên đường Lê Duẩn")
            #expect(held.id < newest.id)
            // The same id as `held`, created elsewhere with an older clock; and a record newer than all.
            let older = HLC(milliseconds: UInt64(t0) - UInt64(minute), counter: 0)
            var rng = SystemRandomNumberGenerator()
            let fresh = RecordID.generate(milliseconds: UInt64(t0 + 10 * minute), using: &rng)
            let items: [BundleItem] = [
                .entry(foreign(1, held.id, op: .create, body: Self.createBody, hlc: older)),
                .entry(foreign(2, newest.id, op: .create, body: Self.createBody, hlc: older)),  // the boundary: equal to the newest
                .entry(foreign(3, fresh, op: .create, body: Self.createBody, hlc: HLC(milliseconds: UInt64(t0 + 10 * minute), counter: 0))),
            ]
            let policy = ActivePolicy(policy: SharingOracle.shareEverything, topology: TopologyFixtures.small())
            let report = try a.apply(items, from: "thanh-khe", sharing: withSharing ? policy : nil)
            #expect(report.applied == 3 && report.refused.isEmpty, "\(report.refused)")
            let merged = try #require(try a.state(held.id))
            #expect(merged.applied == VersionVector(["hai-chau": 1, "thanh-khe": 1]), "the held record was written over")
            #expect(merged.value("title") == "Ngập đường Bạch Đằng")  // its own create is the later one
            let atBoundary = try #require(try a.state(newest.id))
            #expect(atBoundary.applied == VersionVector(["hai-chau": 2, "thanh-khe": 2]), "the newest record was written over")
            #expect(atBoundary.value("title") == "Cây đổ trên đường Lê Duẩn")
            #expect(try a.state(fresh)?.applied == VersionVector(["thanh-khe": 3]))
        }
    }

    @Test func deltaRespectsKnowledgeAndLimits() async throws {
        try await withPair { a, _, clock in
            for i in 0..<5 {
                _ = try await a.fieldReport(title: "R\(i)")
                clock.advance(1)
            }
            func seqs(_ d: Delta) -> [UInt64] {
                d.items.compactMap { if case .entry(let b) = $0 { try? EntryHeader(decoding: b).seq } else { nil } }
            }
            #expect(seqs(try a.delta(beyond: VersionVector(["hai-chau": 3]))) == [4, 5])
            #expect(try a.delta(beyond: VersionVector(["hai-chau": 5])).items.isEmpty)
            var small = Limits()
            small.bundleEntriesMax = 2
            let cut = try a.delta(beyond: VersionVector(), limits: small)
            #expect(seqs(cut) == [1, 2])
            #expect(!cut.complete)
            let hidden = try a.delta(beyond: VersionVector()) { $0.seq != 3 }
            #expect(seqs(hidden) == [1, 2, 4, 5])
            guard case .withheld(_, 3, _) = hidden.items[2] else { Issue.record("seq 3 should be withheld"); return }
        }
    }
}
