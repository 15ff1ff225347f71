import Foundation
import IOCModel
import IOCStore
import IOCSync
import Testing

@Suite struct TransitionTests {
    @Test func illegalTransitionWritesNothing() async throws {
        try await withStore { store, _, dir in
            let r = try await store.fieldReport()
            let knowledgeBefore = try store.knowledge()
            let rowsBefore = try store.journalRows(origin: "hai-chau")
            let e = await thrown(ValidationError.self) {
                try await store.transition(
                    id: r.id, kind: .fieldReport, to: "resolved", note: "skip ahead", changes: ["resolution": "done"],
                    actor: operatorActor)
            }
            #expect(e == Lifecycle.fieldReport.check(from: "received", to: "resolved"))
            #expect(e?.code == .illegalTransition)
            #expect(try store.knowledge() == knowledgeBefore)
            #expect(try store.journalRows(origin: "hai-chau") == rowsBefore)
            let after = try #require(try await store.get(r.id))
            #expect(after.encoded() == r.encoded())
            #expect(after.value("resolution") == nil)
            _ = dir
        }
    }

    @Test func unknownStatusIsRefused() async throws {
        try await withStore { store, _, _ in
            let r = try await store.fieldReport()
            let e = await thrown(ValidationError.self) {
                try await store.transition(id: r.id, kind: .fieldReport, to: "done", note: nil, changes: [:], actor: operatorActor)
            }
            #expect(e?.code == .invalidValue)
            #expect(try store.ownSeq() == 1)
        }
    }

    @Test(arguments: [
        ("assigned", ["verified"], "assignedUnit", JSONValue.string("20200")),
        ("duplicate", [], "duplicateOf", JSONValue.string("01936b2e-1f00-7abc-8def-0123456789ab")),
        ("resolved", ["verified", "assigned", "in_progress"], "resolution", JSONValue.string("Đã khơi thông cống")),
    ])
    func requiredFieldsForTheTargetState(target: String, path: [String], field: String, value: JSONValue) async throws {
        try await withStore { store, _, _ in
            let r = try await store.fieldReport()
            for step in path {
                let changes: [String: JSONValue] = step == "assigned" ? ["assignedUnit": "20200"] : [:]
                _ = try await store.transition(id: r.id, kind: .fieldReport, to: step, note: nil, changes: changes, actor: operatorActor)
            }
            let seq = try store.ownSeq()
            let e = await thrown(ValidationError.self) {
                try await store.transition(id: r.id, kind: .fieldReport, to: target, note: nil, changes: [:], actor: operatorActor)
            }
            #expect(e?.code == .missingField)
            #expect(e?.field == field)
            #expect(e?.message == "Moving to '\(target)' needs field '\(field)' (set it in \"set\" of this request).")
            #expect(try store.ownSeq() == seq)
            // An explicit null does not satisfy the requirement either.
            let nullError = await thrown(ValidationError.self) {
                try await store.transition(
                    id: r.id, kind: .fieldReport, to: target, note: nil, changes: [field: .null], actor: operatorActor)
            }
            #expect(nullError?.field == field)
            let moved = try await store.transition(
                id: r.id, kind: .fieldReport, to: target, note: "ok", changes: [field: value], actor: operatorActor)
            #expect(moved.value("status") == .string(target))
            #expect(moved.value(field) == value)
            #expect(try store.ownSeq() == seq + 1)
            let event = try #require(moved.timeline.last?.event)
            #expect(event["type"] == "transition")
            #expect(event["from"] == .string(path.last ?? "received"))
            #expect(event["to"] == .string(target))
            #expect(event["note"] == "ok")
            #expect(event["by"] == "u-op")
        }
    }

    @Test func resolvingStampsResolvedAt() async throws {
        try await withStore { store, clock, _ in
            let r = try await store.fieldReport()
            for (to, changes) in [("verified", [:]), ("assigned", ["assignedUnit": "20200"]), ("in_progress", [:])]
                as [(String, [String: JSONValue])]
            {
                _ = try await store.transition(id: r.id, kind: .fieldReport, to: to, note: nil, changes: changes, actor: operatorActor)
            }
            clock.set(t0 + 7 * hour)
            let resolved = try await store.transition(
                id: r.id, kind: .fieldReport, to: "resolved", note: nil, changes: ["resolution": "xong"], actor: operatorActor)
            #expect(resolved.value("resolvedAt") == "2026-01-01T07:00:00.000Z")
            let reopened = try await store.transition(
                id: r.id, kind: .fieldReport, to: "reopened", note: nil, changes: [:], actor: operatorActor)
            #expect(reopened.value("status") == "reopened")
        }
    }

    @Test func completingADossierSetsFinishedAt() async throws {
        try await withStore { store, clock, _ in
            let d = try await store.dossier(code: "D-1", received: t0, due: t0 + 48 * hour, status: "processing")
            #expect(d.value("finishedAt") == nil)
            clock.set(t0 + 30 * hour)
            let done = try await store.transition(id: d.id, kind: .dossier, to: "completed", note: nil, changes: [:], actor: operatorActor)
            #expect(done.value("finishedAt") == "2026-01-02T06:00:00.000Z")
            #expect(done.value("status") == "completed")
            // A finished time given by the caller is kept.
            let e = try await store.dossier(code: "D-2", received: t0, due: t0 + 48 * hour, status: "processing")
            let refused = try await store.transition(
                id: e.id, kind: .dossier, to: "refused", note: nil, changes: ["finishedAt": "2026-01-01T09:00:00.000Z"],
                actor: operatorActor)
            #expect(refused.value("finishedAt") == "2026-01-01T09:00:00.000Z")
            // Final state: nothing further.
            let final = await thrown(ValidationError.self) {
                try await store.transition(id: d.id, kind: .dossier, to: "processing", note: nil, changes: [:], actor: operatorActor)
            }
            #expect(final?.code == .illegalTransition)
        }
    }

    @Test func kindsWithoutALifecycleCannotTransition() async throws {
        try await withStore { store, _, _ in
            let r = try await store.fieldReport()
            let c = try await store.create(
                kind: .reporterContact, fields: ["reportId": .string(r.id.description), "name": "A"], actor: operatorActor,
                unit: "20194")
            let e = await thrown(ValidationError.self) {
                try await store.transition(id: c.id, kind: .reporterContact, to: "x", note: nil, changes: [:], actor: operatorActor)
            }
            #expect(e?.message == "reporterContact records have no lifecycle.")
        }
    }

    @Test func everyLocalWriteAppendsExactlyOneEntryPerChange() async throws {
        try await withStore { store, _, _ in
            func step(_ expected: UInt64, _ body: () async throws -> Void) async throws {
                let before = try store.ownSeq()
                try await body()
                #expect(try store.ownSeq() == before + expected)
                #expect(try store.journalRows(origin: "hai-chau") == Int(before + expected))
            }
            var id = RecordID(bytes: Array(repeating: 0, count: 16))!
            try await step(1) { id = try await store.fieldReport().id }
            try await step(1) {
                _ = try await store.patch(id: id, kind: .fieldReport, actor: operatorActor) { _ in ["title": "Sửa tiêu đề"] }
            }
            try await step(1) {
                _ = try await store.transition(id: id, kind: .fieldReport, to: "verified", note: nil, changes: [:], actor: operatorActor)
            }
            try await step(1) { _ = try await store.delete(id: id, kind: .fieldReport, actor: operatorActor) }
            try await step(2) {
                _ = try await store.createFieldReport(
                    fields: ["channel": "hotline-1022", "category": "traffic", "title": "Đèn tín hiệu hỏng"],
                    reporter: ["name": "Nguyễn Văn A", "phone": "0905123456"], actor: operatorActor, unit: "20194")
            }
            try await step(1) {
                _ = try await store.createFieldReport(
                    fields: ["channel": "app", "category": "traffic", "title": "x"], reporter: [:], actor: operatorActor,
                    unit: "20194")
            }
            // A refused patch (validator throws) writes nothing.
            let last = try #require(try await store.list(kind: .fieldReport, filter: RecordFilter(), cursor: nil, limit: 1).records.first)
            try await step(0) {
                _ = await thrown(ValidationError.self) {
                    try await store.patch(id: last.id, kind: .fieldReport, actor: operatorActor) { _ in
                        throw ValidationError(code: .readOnlyField, message: "no")
                    }
                }
            }
            #expect(try store.knowledge() == VersionVector(["hai-chau": 7]))
        }
    }
}
