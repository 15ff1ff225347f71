import Foundation
import GRDB
import IOCModel
import IOCStore
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
}
