import Foundation
import GRDB
import IOCModel
@testable import IOCStore
import IOCSync
import Testing

/// The writer queues journal and lone-create rows and writes them many per statement
/// (`AppendBatch`). Whatever the bundle holds, the result must be the one row-at-a-time writes
/// give: the same journal positions, hashes and contents, the same records.
@Suite struct AppendBatchTests {
    /// Journal rows as stored: position, origin, sequence, leaf hash, content.
    static func journal(_ store: NodeStore) throws -> [[DatabaseValue]] {
        try store.readSync { db in
            try Row.fetchAll(db, sql: "SELECT pos, origin, seq, record_id, kind, hlc, leaf_hash, bytes FROM journal ORDER BY pos")
                .map { Array($0.databaseValues) }
        }
    }

    @Test func aBundleOfManyKindsOfPositionsIsStoredAsOneApplyPerPosition() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(t0)
            let peer = try openStore(dir, node: "thanh-khe", clock: clock)
            var reports: [RecordState] = []
            for i in 0..<300 {
                clock.advance(1000)
                reports.append(try await peer.fieldReport(title: "Ngập sâu tại kiệt \(i) đường Trần Cao Vân", unit: "20200"))
                // Changes to records created in the same bundle, and to one created long before.
                if i == 70 || i == 140 {
                    for id in [reports[i - 1].id, reports[3].id] {
                        _ = try await peer.patch(id: id, kind: .fieldReport, actor: operatorActor) { _ in ["title": .string("Đã cập nhật \(i)")] }
                    }
                }
            }
            // Every 13th of the first 120 positions withheld (a hash only: the record and its later
            // changes are refused here), then ~180 lone creates in a row (whole 64-row
            // statements), then the first 20 positions again (duplicates within the bundle).
            let delta = try peer.delta(beyond: VersionVector(), visible: { $0.seq >= 120 || $0.seq % 13 != 0 })
            #expect(delta.complete)
            let items = delta.items + delta.items.prefix(20)
            #expect(items.count == 304 + 20)

            let batched = try openStore(dir, node: "hai-chau", clock: clock)
            let report = try batched.apply(items, from: "thanh-khe")
            let single = try openStore(dir, node: "son-tra", clock: clock)
            var total = ApplyReport()
            for item in items { total.absorb(try single.apply([item], from: "thanh-khe")) }

            let rows = try Self.journal(batched)
            #expect(rows.count == 304)
            #expect(rows.map { $0[0] } == (1...304).map { Int64($0).databaseValue }, "positions are consecutive from 1")
            #expect(rows == (try Self.journal(single)))
            #expect(try batched.stateDigest() == single.stateDigest())
            #expect(try batched.knowledge() == VersionVector(["thanh-khe": 304]))
            #expect(report.applied == total.applied && report.withheld == total.withheld && report.duplicates == total.duplicates)
            #expect(report.withheld == 9 && report.duplicates == 20)
            // Reports created before any change (positions i + 1) and not withheld arrived whole.
            for i in 0..<60 where i != 3 && (i + 1) % 13 != 0 {
                #expect(try await batched.get(reports[i].id) == (try await peer.get(reports[i].id)))
            }
            #expect(try await batched.get(reports[12].id) == nil, "its create (position 13) was withheld")
        }
    }

    #if os(Linux)
    /// SQLite's temporary files open in this process (its statement journals among them),
    /// read from the file descriptors: they are unlinked as soon as they are opened.
    static func sqliteTemporaryFiles() -> Set<String> {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        return Set(fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0) }
            .filter { $0.contains("etilqs_") })
    }

    /// A many-row `INSERT` that may abort half-way makes SQLite keep a statement journal of the
    /// pages it changes, spilled to a temporary file past 64 KiB: in a catch-up it wrote twice
    /// what the write-ahead log did. The batch's statements must not need one. Checked inside the
    /// transaction, where a statement journal stays open until the end: each bundle's rows change
    /// pages the commits before it left (the right edge of every B-tree). Other tests in this
    /// process may hold a temporary file of their own at that moment, so three bundles are
    /// checked and one without a new file passes: a statement journal would show in all three.
    @Test func manyRowStatementsKeepNoStatementJournal() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(t0)
            let peer = try openStore(dir, node: "thanh-khe", clock: clock)
            // Authored in one transaction: the test runs beside the whole suite.
            try peer.writeSync { tx in
                for i in 0..<300 {
                    let fields: [String: JSONValue] = [
                        "channel": "app", "category": "flooding", "title": .string("Cống thoát nước tắc tại kiệt \(i) đường Hoàng Diệu"),
                    ]
                    _ = try tx.create(kind: .fieldReport, fields: fields, actor: operatorActor, unit: "20200")
                }
            }
            let items = try peer.delta(beyond: VersionVector(), visible: { _ in true }).items
            #expect(items.count == 300)
            let receiver = try openStore(dir, node: "hai-chau", clock: clock)
            _ = try receiver.apply(Array(items.prefix(90)), from: "thanh-khe")
            var opened: [Set<String>] = []
            for round in 0..<3 {
                // 70 lone creates: a whole 64-row statement per table, then the rest.
                let decoded = try NodeStore.decode(Array(items[(90 + 70 * round)..<(160 + 70 * round)]), limits: .default)
                opened.append(
                    try receiver.writeSync { tx in
                        let before = Self.sqliteTemporaryFiles()
                        let report = try tx.applyItems(decoded, from: "thanh-khe", peerKnowledge: nil, sharing: nil)
                        #expect(report.applied == 70)
                        return Self.sqliteTemporaryFiles().subtracting(before)
                    })
            }
            #expect(opened.contains { $0.isEmpty }, "statement journals: \(opened)")
            #expect(try receiver.knowledge() == VersionVector(["thanh-khe": 300]))
        }
    }
    #endif
}
