import Foundation
import IOCModel
import IOCStore
import Testing

@Suite struct SummaryTests {
    func resolve(_ store: NodeStore, _ id: RecordID, clock: ManualClock, at: Int64) async throws {
        for to in ["verified", "assigned", "in_progress"] {
            let changes: [String: JSONValue] = to == "assigned" ? ["assignedUnit": "20194"] : [:]
            _ = try await store.transition(id: id, kind: .fieldReport, to: to, note: nil, changes: changes, actor: operatorActor)
        }
        clock.set(at)
        _ = try await store.transition(
            id: id, kind: .fieldReport, to: "resolved", note: nil, changes: ["resolution": "xong"], actor: operatorActor)
    }

    func finish(_ store: NodeStore, _ id: RecordID, _ to: String, clock: ManualClock, at: Int64) async throws {
        clock.set(at)
        _ = try await store.transition(id: id, kind: .dossier, to: to, note: nil, changes: [:], actor: operatorActor)
    }

    @Test func exactFiguresForAWindow() async throws {
        try await withStore { store, clock, _ in
            let due: JSONValue = .string(Timestamp.format(t0 + 10 * hour))
            let onTime = try await store.fieldReport(title: "A", extra: ["dueAt": due])
            let late = try await store.fieldReport(title: "B", extra: ["dueAt": due])
            let rejected = try await store.fieldReport(title: "C", category: "traffic")
            _ = try await store.fieldReport(title: "D")
            _ = try await store.fieldReport(title: "E")
            let noDue = try await store.fieldReport(title: "F")
            let deleted = try await store.fieldReport(title: "G", extra: ["dueAt": due])
            _ = try await store.fieldReport(title: "H", extra: ["receivedAt": "2025-12-31T23:59:59.999Z"])  // before the window
            _ = try await store.delete(id: deleted.id, kind: .fieldReport, actor: operatorActor)
            _ = try await store.transition(id: rejected.id, kind: .fieldReport, to: "rejected", note: nil, changes: [:], actor: operatorActor)
            try await resolve(store, onTime.id, clock: clock, at: t0 + 10 * hour)  // exactly at the due time: on time
            _ = try await store.transition(id: onTime.id, kind: .fieldReport, to: "closed", note: nil, changes: [:], actor: operatorActor)
            try await resolve(store, late.id, clock: clock, at: t0 + 10 * hour + 1)
            try await resolve(store, noDue.id, clock: clock, at: t0 + 11 * hour)

            clock.set(t0)
            let d1 = try await store.dossier(code: "D1", received: t0, due: t0 + 48 * hour, status: "processing")
            let d2 = try await store.dossier(code: "D2", received: t0, due: t0 + 10 * hour, status: "processing")
            let d3 = try await store.dossier(code: "D3", received: t0, due: t0 + 10 * hour, status: "processing")
            _ = try await store.dossier(code: "D4", received: t0, due: t0 + 100 * hour)
            let d5 = try await store.dossier(code: "D5", received: t0, due: t0 + 10 * hour, status: "processing")
            try await finish(store, d1.id, "completed", clock: clock, at: t0 + 20 * hour)
            try await finish(store, d2.id, "completed", clock: clock, at: t0 + 20 * hour)
            try await finish(store, d3.id, "refused", clock: clock, at: t0 + 20 * hour)
            try await finish(store, d5.id, "completed", clock: clock, at: t0 + 24 * hour)  // finished after the window

            let s = try await store.summary(from: t0, to: t0 + 24 * hour, unitScope: nil)
            let expected: JSONValue = [
                "from": "2026-01-01T00:00:00.000Z", "to": "2026-01-02T00:00:00.000Z",
                "fieldReports": [
                    "total": 6,
                    "byStatus": ["closed": 1, "received": 2, "rejected": 1, "resolved": 2],
                    "byCategory": ["flooding": 5, "traffic": 1],
                    "byUnit": ["20194": 6],
                    "processed": 4, "processedRate": .double(0.6667),
                    "resolvedWithDueTime": 2, "onTime": 1, "onTimeRate": .double(0.5),
                ],
                "dossiers": [
                    "received": 5, "finished": 3, "late": 2, "onTime": 1, "lateRate": .double(0.6667),
                    "byStatus": ["completed": 3, "received": 1, "refused": 1],
                    "dueSoonWarnings": 0,
                ],
                "alerts": ["total": 0, "byCategory": .object([:]), "byStatus": .object([:])],
            ]
            #expect(s == expected)
        }
    }

    @Test func emptyScopesGiveNullRates() async throws {
        try await withStore { store, _, _ in
            _ = try await store.fieldReport()
            let s = try await store.summary(from: t0, to: t0 + 24 * hour, unitScope: ["20200"])
            #expect(s["fieldReports"]?["total"] == 0)
            #expect(s["fieldReports"]?["processedRate"] == .null)
            #expect(s["fieldReports"]?["onTimeRate"] == .null)
            #expect(s["dossiers"]?["lateRate"] == .null)
            let all = try await store.summary(from: t0, to: t0 + 24 * hour, unitScope: ["20194", "20200"])
            #expect(all["fieldReports"]?["total"] == 1)
            #expect(all["fieldReports"]?["processedRate"] == .double(0))
        }
    }

    @Test func dueSoonWarningsAreCounted() async throws {
        try await withStore { store, _, _ in
            _ = try await store.dossier(code: "D1", received: t0, due: t0 + 2 * hour)
            _ = try await store.dossier(code: "D2", received: t0, due: t0 + 48 * hour)
            #expect(try await store.raiseDueSoonAlerts().count == 1)
            let s = try await store.summary(from: t0, to: t0 + 24 * hour, unitScope: nil)
            #expect(s["dossiers"]?["dueSoonWarnings"] == 1)
            #expect(s["alerts"]?["total"] == 1)
            #expect(s["alerts"]?["byCategory"] == ["Other": 1])
            #expect(s["alerts"]?["byStatus"] == ["new": 1])
        }
    }
}
