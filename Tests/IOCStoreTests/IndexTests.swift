import Foundation
import GRDB
import IOCModel
import Testing

@testable import IOCStore

/// Each index on `record` is one more B-tree insert for every record a catch-up writes, so each
/// must serve a query, and the queries that run on a timer or per page must use one.
@Suite struct IndexTests {
    static func plan(_ db: Database, _ sql: String, _ arguments: StatementArguments = []) throws -> String {
        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            .joined(separator: "; ")
    }

    @Test func everyRecordIndexServesAQueryThatUsesIt() async throws {
        try await withStore { store, _, _ in
            let (indexes, plans) = try store.readSync { db in
                let indexes = try String.fetchSet(
                    db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'record' AND sql IS NOT NULL")
                let plans = [
                    // The 24-hour dossier warning scan, every minute.
                    "record_dossier_due": try Self.plan(db, NodeStore.openDossiersDueBy, [t0, "hai-chau"]),
                    // A list page: newest first, whatever the filters.
                    "record_kind_id": try Self.plan(
                        db, RecordRow.select + " WHERE r.kind = ? AND r.deleted = 0 AND r.status = ? ORDER BY r.id DESC LIMIT 51",
                        ["fieldReport", "received"]),
                    // The KPI summary's windows.
                    "record_kind_ts": try Self.plan(
                        db, "SELECT count(*) FROM record WHERE kind = ? AND deleted = 0 AND ts >= ? AND ts < ?",
                        ["fieldReport", t0, t0 + 1]),
                    "record_kind_ref": try Self.plan(
                        db, RecordRow.select + " WHERE r.kind = ? AND r.ref_id = ? ORDER BY r.id DESC LIMIT 51",
                        ["observation", Data(repeating: 1, count: 16)]),
                    "record_conflicted": try Self.plan(
                        db, RecordRow.select + " WHERE r.conflicted = 1 ORDER BY r.id DESC LIMIT 51"),
                    "record_deleted": try Self.plan(db, NodeStore.deletedRecordsPerKind),
                ]
                return (indexes, plans)
            }
            #expect(indexes == Set(plans.keys), "an index on record that no query here uses, or a query without its index")
            for (index, plan) in plans {
                #expect(plan.contains("INDEX \(index)"), "\(index): \(plan)")
            }
        }
    }

    @Test func aNewDatabaseHasLargePages() async throws {
        try await withStore { store, _, _ in
            let pageSize = try store.readSync { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
            #expect(pageSize == NodeStore.pageSize)
        }
    }

    static func createV7Database(_ path: String, pageSize: Int) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA page_size = \(pageSize)") }
        try Schema.migrator.migrate(queue, upTo: "v7-envelope-last")
    }

    /// A node created before the page size changed keeps its 4 KiB pages (only `VACUUM` changes
    /// them) and gains the v8 indexes; its dossier warnings still work.
    @Test func anOlderDatabaseKeepsItsPagesAndGainsTheNewIndexes() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/hai-chau.sqlite"
            try Self.createV7Database(path, pageSize: 4096)
            let clock = ManualClock(t0)
            let store = try openStore(dir, clock: clock)
            let (pageSize, indexes) = try store.readSync { db in
                (
                    try Int.fetchOne(db, sql: "PRAGMA page_size"),
                    try String.fetchSet(db, sql: "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'record'")
                )
            }
            #expect(pageSize == 4096)
            #expect(indexes.contains("record_dossier_due"))
            #expect(!indexes.contains("record_kind_status") && !indexes.contains("record_kind_unit"))
            let due = try await store.dossier(code: "D-01", received: t0 - 48 * 3_600_000, due: t0 + 3_600_000)
            let alerts = try await store.raiseDueSoonAlerts()
            #expect(alerts.map { $0.value("sourceRef") } == [.string(due.id.description)])
        }
    }
}
