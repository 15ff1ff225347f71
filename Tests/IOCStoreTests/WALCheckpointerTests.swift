import Foundation
import GRDB
@testable import IOCStore
import Testing

/// The write-ahead log is copied back into the database file by the background checkpointer,
/// not by the writer's commit (which SQLite's default would make wait for it); the writer takes
/// over only past the backstop.
@Suite struct WALCheckpointerTests {
    private func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    private func bulk(_ store: NodeStore, key: String, mebibytes: Int) throws -> String {
        let text = String(repeating: "Mưa lớn kéo dài, nước sông Hàn dâng cao. ", count: mebibytes * 1024 * 1024 / 48)
        try store.writeSync { tx in try tx.db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, ?)", arguments: [key, text]) }
        return text
    }

    @Test func aLargeCommitIsCheckpointedInTheBackgroundNotByTheWriter() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/node.sqlite"
            let store = try NodeStore(.init(path: path, nodeID: "hai-chau", federation: "da-nang"))
            let before = fileSize(path)
            // 20 MiB in one commit: past the 16 MiB threshold, below the writer's backstop.
            store.checkpointer.suspend()
            let text = try bulk(store, key: "bulk", mebibytes: 20)
            // With the background held back, the commit left everything in the log: SQLite's
            // own hook would have copied it on the writer before the commit returned.
            #expect(fileSize(path) == before, "the writer should not have checkpointed")
            #expect(fileSize(path + "-wal") > 19 * 1024 * 1024)
            store.checkpointer.resume()
            store.checkpointer.drain()
            #expect(fileSize(path) > before + 19 * 1024 * 1024, "the background checkpoint should have copied the log")
            let back = try store.readSync { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'bulk'") }
            #expect(back == text)
        }
    }

    /// A store whose writer connection carries a test-sized checkpointer instead of its own.
    private func withCheckpointer(
        _ make: (String) -> WALCheckpointer, _ body: (NodeStore, WALCheckpointer, String) async throws -> Void
    ) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/node.sqlite"
            let store = try NodeStore(.init(path: path, nodeID: "hai-chau", federation: "da-nang"))
            let checkpointer = make(path)
            try store.writeSync { tx in
                if let connection = tx.db.sqliteConnection { checkpointer.install(on: connection) }
            }
            try await body(store, checkpointer, path)
        }
    }

    @Test func pastTheBackstopTheWriterCheckpointsItself() async throws {
        // A 2 MiB backstop, background held back.
        try await withCheckpointer({ WALCheckpointer(path: $0, thresholdBytes: 400 << 10, urgentBytes: 1 << 20, backstopBytes: 2 << 20) }) {
            store, small, path in
            small.suspend()
            defer { small.resume() }
            let before = fileSize(path)
            // ~190 pages of 16 KiB: past this backstop, below SQLite's own 1,000-page auto-checkpoint.
            _ = try bulk(store, key: "bulk", mebibytes: 3)
            #expect(fileSize(path) > before + 2 * 1024 * 1024, "past the backstop the commit itself should checkpoint")
        }
    }

    /// A writer that keeps committing (a catch-up) is not competed with: the copy waits for a pause.
    @Test func theCheckpointWaitsForTheWriterToPause() async throws {
        // A pause (1 s) far longer than the 20 ms between commits.
        try await withCheckpointer({ WALCheckpointer(path: $0, thresholdBytes: 400 << 10, urgentBytes: 64 << 20, quiet: .seconds(1)) }) {
            store, patient, path in
            let before = fileSize(path)
            _ = try bulk(store, key: "bulk", mebibytes: 3)
            // Commits for twice the pause: each is past the threshold and restarts it.
            let until = ContinuousClock.now + .seconds(2)
            var last = ContinuousClock.now
            var longestGap = Duration.zero
            var i = 0
            while ContinuousClock.now < until {
                try store.writeSync { tx in try tx.db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, 'x')", arguments: ["k\(i)"]) }
                i += 1
                longestGap = max(longestGap, ContinuousClock.now - last)
                last = ContinuousClock.now
                try await Task.sleep(for: .milliseconds(20))
            }
            let copiedWhileBusy = fileSize(path) != before
            longestGap = max(longestGap, ContinuousClock.now - last)
            // A test run so loaded that this task stood still for half a pause proves nothing
            // either way (the gap is measured after each commit, not at its hook); otherwise no
            // copy may have run.
            if longestGap < .milliseconds(500) {
                #expect(!copiedWhileBusy, "no checkpoint while the writer kept committing")
            }
            patient.drain(timeout: .seconds(30))
            #expect(fileSize(path) > before + 2 * 1024 * 1024, "once the writer paused, the log should have been copied")
        }
    }

    /// A steady trickle of commits cannot put the copy off for longer than the longest wait.
    @Test func aCheckpointWaitsNoLongerThanTheLongestWait() async throws {
        try await withCheckpointer({
            WALCheckpointer(
                path: $0, thresholdBytes: 400 << 10, urgentBytes: 64 << 20, quiet: .seconds(1), longestWait: .milliseconds(1500))
        }) { store, _, path in
            let before = fileSize(path)
            _ = try bulk(store, key: "bulk", mebibytes: 3)
            // Commits every 20 ms (never a pause) for up to 6 s, until the copy has run.
            let until = ContinuousClock.now + .seconds(6)
            var i = 0
            while ContinuousClock.now < until, fileSize(path) <= before + 2 * 1024 * 1024 {
                try store.writeSync { tx in try tx.db.execute(sql: "INSERT INTO meta(key, value) VALUES (?, 'x')", arguments: ["k\(i)"]) }
                i += 1
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(fileSize(path) > before + 2 * 1024 * 1024, "the copy should have run after 1.5 s of commits without a pause")
        }
    }

    /// Past the urgent size the copy runs at once, pause or not.
    @Test func pastTheUrgentSizeTheCheckpointDoesNotWaitForAPause() async throws {
        // A 1 MiB urgent size and a pause longer than the test.
        try await withCheckpointer({
            WALCheckpointer(path: $0, thresholdBytes: 400 << 10, urgentBytes: 1 << 20, backstopBytes: 64 << 20, quiet: .seconds(60))
        }) { store, small, path in
            let before = fileSize(path)
            _ = try bulk(store, key: "bulk", mebibytes: 3)
            small.drain(timeout: .seconds(5))
            #expect(fileSize(path) > before + 2 * 1024 * 1024, "past the urgent size the background should copy without a pause")
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
