import Foundation
import IOCModel
import IOCStore
import Testing

@Suite struct QueryTests {
    @Test func createSetsSystemFieldsAndGetReturnsTheRecord() async throws {
        try await withStore { store, clock, _ in
            clock.set(t0 + 5 * minute)
            let r = try await store.fieldReport(extra: ["dueAt": "2026-01-02T00:00:00.000Z"])
            #expect(r.id.milliseconds == UInt64(t0 + 5 * minute))
            #expect(r.kind == "fieldReport")
            let f = r.visibleFields()
            #expect(f["status"] == "received")
            #expect(f["unit"] == "20194")
            #expect(f["originNode"] == "hai-chau")
            #expect(f["createdBy"] == "u-op")
            #expect(f["createdAt"] == "2026-01-01T00:05:00.000Z")
            #expect(f["receivedAt"] == "2026-01-01T00:05:00.000Z")
            #expect(f["dueAt"] == "2026-01-02T00:00:00.000Z")
            #expect(r.applied == VersionVector(["hai-chau": 1]))
            #expect(r.timeline.count == 1)
            #expect(r.timeline.first?.event["type"] == "created")
            #expect(r.timeline.first?.event["to"] == "received")
            #expect(try await store.get(r.id) == r)
            var rng = SystemRandomNumberGenerator()
            #expect(try await store.get(RecordID.generate(milliseconds: 1, using: &rng)) == nil)
        }
    }

    @Test func listFilters() async throws {
        try await withStore { store, clock, _ in
            let a = try await store.fieldReport(category: "flooding", unit: "20194")
            clock.advance(hour)
            let b = try await store.fieldReport(category: "traffic", unit: "20194")
            clock.advance(hour)
            let c = try await store.fieldReport(category: "flooding", unit: "20200")
            clock.advance(hour)
            let d = try await store.fieldReport(
                category: "pollution", unit: "20200", extra: ["receivedAt": "2025-12-31T12:00:00.000Z"])
            _ = try await store.transition(
                id: b.id, kind: .fieldReport, to: "verified", note: nil, changes: [:], actor: operatorActor)
            _ = try await store.transition(
                id: b.id, kind: .fieldReport, to: "assigned", note: nil, changes: ["assignedUnit": "20200"],
                actor: operatorActor)

            func ids(_ f: RecordFilter, kind: RecordKind = .fieldReport) async throws -> [RecordID] {
                try await store.list(kind: kind, filter: f, cursor: nil, limit: 50).records.map(\.id)
            }
            #expect(try await ids(RecordFilter()) == [d.id, c.id, b.id, a.id])  // newest first
            #expect(try await ids(RecordFilter(status: "assigned")) == [b.id])
            #expect(try await ids(RecordFilter(status: "received")) == [d.id, c.id, a.id])
            #expect(try await ids(RecordFilter(category: "flooding")) == [c.id, a.id])
            // `unit` matches the owning or the assigned unit.
            #expect(try await ids(RecordFilter(unit: "20200")) == [d.id, c.id, b.id])
            #expect(try await ids(RecordFilter(unit: "20194")) == [b.id, a.id])
            // from/to apply to receivedAt, half-open.
            #expect(try await ids(RecordFilter(from: t0, to: t0 + 2 * hour)) == [b.id, a.id])
            #expect(try await ids(RecordFilter(from: t0 + hour)) == [c.id, b.id])
            #expect(try await ids(RecordFilter(to: t0)) == [d.id])
            #expect(try await ids(RecordFilter(unitScope: ["20194"])) == [b.id, a.id])
            #expect(try await ids(RecordFilter(unitScope: ["48"])) == [])
            #expect(try await ids(RecordFilter(unitScope: ["20194"], categoryScope: ["traffic"])) == [b.id])
            #expect(try await ids(RecordFilter(category: "flooding", unit: "20200")) == [c.id])
            #expect(try await ids(RecordFilter(), kind: .dossier) == [])
        }
    }

    @Test func cursorPaginationVisitsEveryRecordOnce() async throws {
        try await withStore { store, clock, _ in
            var created: [RecordID] = []
            for i in 0..<7 {
                created.append(try await store.fieldReport(title: "Report \(i)").id)
                clock.advance(1)
            }
            var seen: [RecordID] = []
            var cursor: RecordID?
            var pages: [Int] = []
            repeat {
                let page = try await store.list(kind: .fieldReport, filter: RecordFilter(), cursor: cursor, limit: 3)
                pages.append(page.records.count)
                seen += page.records.map(\.id)
                if let next = page.nextCursor { #expect(next == page.records.last?.id) }
                cursor = page.nextCursor
            } while cursor != nil
            #expect(pages == [3, 3, 1])
            #expect(seen == created.reversed())

            // An exact multiple of the page size ends without an extra empty page.
            let first = try await store.list(kind: .fieldReport, filter: RecordFilter(), cursor: nil, limit: 7)
            #expect(first.records.count == 7)
            #expect(first.nextCursor == nil)
        }
    }

    @Test func deleteLeavesAHiddenTombstone() async throws {
        try await withStore { store, _, _ in
            let keep = try await store.fieldReport(title: "keep")
            let gone = try await store.fieldReport(title: "gone")
            let seqBefore = try store.ownSeq()
            let tomb = try await store.delete(id: gone.id, kind: .fieldReport, actor: operatorActor)
            #expect(tomb.isDeleted)
            #expect(try store.ownSeq() == seqBefore + 1)
            #expect(try await store.get(gone.id)?.isDeleted == true)
            #expect(try await store.get(gone.id)?.value("title") == "gone")
            let page = try await store.list(kind: .fieldReport, filter: RecordFilter(), cursor: nil, limit: 10)
            #expect(page.records.map(\.id) == [keep.id])
            var all = RecordFilter()
            all.includeDeleted = true
            #expect(try await store.list(kind: .fieldReport, filter: all, cursor: nil, limit: 10).records.count == 2)
            #expect(try store.counts() == ["fieldReport": 1])
            #expect(tomb.timeline.last?.event["type"] == "deleted")
            // Deleting again, or changing a tombstone, is refused as not found and writes nothing.
            let again = await thrown(StoreError.self) { try await store.delete(id: gone.id, kind: .fieldReport, actor: operatorActor) }
            #expect(again?.code == .notFound)
            #expect(try store.ownSeq() == seqBefore + 1)
            let e = await thrown(StoreError.self) {
                try await store.transition(id: gone.id, kind: .fieldReport, to: "verified", note: nil, changes: [:], actor: operatorActor)
            }
            #expect(e?.code == .notFound)
            #expect(try store.ownSeq() == seqBefore + 1)
        }
    }

    @Test func wrongKindIsNotFound() async throws {
        try await withStore { store, _, _ in
            let r = try await store.fieldReport()
            let e = await thrown(StoreError.self) { try await store.delete(id: r.id, kind: .dossier, actor: operatorActor) }
            #expect(e?.code == .notFound)
            #expect(try store.ownSeq() == 1)
        }
    }
}
