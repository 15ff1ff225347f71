import Foundation
import GRDB
@testable import IOCStore
import Testing

/// The write-ahead log is copied back into the database file by the background checkpointer,
/// not by the writer's commit (which SQLite's default would make wait for it).
@Suite struct WALCheckpointerTests {
    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    @Test func aLargeCommitIsCheckpointedInTheBackground() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/node.sqlite"
            let store = try NodeStore(.init(path: path, nodeID: "hai-chau", federation: "da-nang"))
            let before = fileSize(path)
            // 6 MiB in one commit: past the 1,000-page threshold, far below the writer's backstop.
            let text = String(repeating: "Mưa lớn kéo dài, nước sông Hàn dâng cao. ", count: 6 * 1024 * 1024 / 48)
            try store.writeSync { tx in try tx.db.execute(sql: "INSERT INTO meta(key, value) VALUES ('bulk', ?)", arguments: [text]) }
            store.checkpointer.drain()
            #expect(fileSize(path) > before + 5 * 1024 * 1024, "the database file should hold the committed pages")
            // And nothing was lost on the way.
            let back = try store.readSync { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'bulk'") }
            #expect(back == text)
        }
    }

    @Test func smallCommitsLeaveTheLogAlone() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/node.sqlite"
            let store = try NodeStore(.init(path: path, nodeID: "hai-chau", federation: "da-nang"))
            let before = fileSize(path)
            for i in 0..<20 {
                try store.writeSync { tx in try tx.db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, 'x')", arguments: ["k\(i)"]) }
            }
            store.checkpointer.drain()
            #expect(fileSize(path) == before, "below the threshold no checkpoint should run")
            #expect(fileSize(path + "-wal") > 0)
        }
    }
}
