import Foundation
import GRDB
import Testing

@testable import IOCStore

/// Migrations that reshape a table keep every row of it.
@Suite struct MigrationTests {
    static let columns = "peer, seq, hash, bytes, entries, reached, knowledge, ack, created_at, acked, envelope"

    @Test func channelOutKeepsItsBundlesWithTheEnvelopeLast() async throws {
        try await withTemporaryDirectory { dir in
            let queue = try DatabaseQueue(path: dir + "/node.sqlite")
            try Schema.migrator.migrate(queue, upTo: "v6-deleted-records")
            let envelope = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })  // overflow pages
            try queue.write { db in
                let insert = "INSERT INTO channel_out(\(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                try db.execute(
                    sql: insert,
                    arguments: ["province", 1, Data([1, 2]), 300_000, 2000, Data([3]), Data([4]), 7, 1_767_225_600_000, 1, nil])
                try db.execute(
                    sql: insert,
                    arguments: ["province", 2, Data([5, 6]), 300_000, 1999, Data([7]), Data([8]), 9, 1_767_225_700_000, 0, envelope])
            }
            func rows() throws -> [[DatabaseValue]] {
                try queue.read { db in
                    try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM channel_out ORDER BY peer, seq").map { Array($0.databaseValues) }
                }
            }
            let before = try rows()
            try Schema.migrator.migrate(queue)
            #expect(try rows() == before)
            let order = try queue.read { db in try Row.fetchAll(db, sql: "PRAGMA table_info(channel_out)").map { $0["name"] as String } }
            #expect(order.last == "envelope")
            #expect(order.count == 11)
            // Still keyed by (peer, seq): a second bundle 2 for the same peer is refused.
            #expect(throws: DatabaseError.self) {
                try queue.write { db in
                    try db.execute(
                        sql: "INSERT INTO channel_out(\(Self.columns)) VALUES ('province', 2, x'00', 1, 1, x'00', x'00', 0, 0, 0, NULL)")
                }
            }
        }
    }
}
