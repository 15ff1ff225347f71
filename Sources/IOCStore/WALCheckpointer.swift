import Dispatch
import Foundation
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file on its own connection and thread,
/// when the writer has paused.
///
/// SQLite's default runs that checkpoint inside the commit that takes the log past 1,000 pages,
/// on the writer, which then waits for the copy and two fsyncs: during a catch-up that was a
/// fifth of the writer's time. Here the writer's commit only signals; a PASSIVE checkpoint (it
/// never blocks the writer or readers) runs on a utility queue once no commit has come for
/// ``quiet``. A catch-up thus lands without a checkpoint competing for the cores it decodes and
/// writes on (as PostgreSQL's checkpointer waits for its own schedule), and the copy is made
/// after it. A copy is not put off for longer than ``longestWait``, however steadily commits
/// trickle in; a log past ``urgentBytes`` is copied within one pause however busy the writer
/// is, and one past the backstop (a checkpoint that cannot keep up) by the writer itself, so the
/// log stays bounded. A commit survives a crash of the process as before. Under the default
/// `synchronous = NORMAL` the log is synced only by checkpoints, so what a power loss can take is
/// bounded by ``longestWait`` and ``urgentBytes``; `serve --durable` syncs every commit.
final class WALCheckpointer: Sendable {
    /// Log size from which a checkpoint is wanted: SQLite's default of 1,000 pages, at the
    /// node's 16 KiB pages (``NodeStore/pageSize``). Sizes are in bytes, not pages, so a node
    /// created with 4 KiB pages before keeps the same log bounds.
    static let thresholdBytes = 16 << 20
    /// Log size from which the background checkpoint runs without waiting for a pause.
    static let urgentBytes = 256 << 20
    /// Log size at which the writer checkpoints itself.
    static let backstopBytes = 512 << 20
    /// How long the writer must have been quiet before a checkpoint below ``urgentBytes`` runs.
    static let quiet: Duration = .milliseconds(250)
    /// The longest a wanted checkpoint waits for a pause (a 100k catch-up takes ~2.5 s here).
    static let longestWait: Duration = .seconds(5)

    private let path: String
    private let queue = DispatchQueue(label: "ioc.wal-checkpoint", qos: .utility)
    /// A checkpoint is scheduled (waiting for a pause, or about to run).
    private let scheduled = Atomic<Bool>(false)
    /// When the last commit past the threshold came (uptime nanoseconds), and the log's size then.
    private let lastCommit = Atomic<UInt64>(0)
    private let lastBytes = Atomic<Int>(0)
    /// When the scheduled checkpoint was first wanted (uptime nanoseconds).
    private let wantedSince = Atomic<UInt64>(0)
    private let quietNanoseconds: UInt64
    private let longestWaitNanoseconds: UInt64
    /// The hook's context: SQLite keeps it for the life of each connection, which may outlast
    /// this object, so it is a small box with a weak reference that is never freed (one per store).
    private let box: HookBox
    /// Opened on first use, used and closed only on `queue`.
    private let connection = Mutex<OpaquePointer?>(nil)

    init(
        path: String, thresholdBytes: Int = WALCheckpointer.thresholdBytes, urgentBytes: Int = WALCheckpointer.urgentBytes,
        backstopBytes: Int = WALCheckpointer.backstopBytes, quiet: Duration = WALCheckpointer.quiet,
        longestWait: Duration = WALCheckpointer.longestWait
    ) {
        self.path = path
        func nanoseconds(_ d: Duration) -> UInt64 {
            UInt64(d.components.seconds) * 1_000_000_000 + UInt64(d.components.attoseconds / 1_000_000_000)
        }
        quietNanoseconds = nanoseconds(quiet)
        longestWaitNanoseconds = nanoseconds(longestWait)
        box = HookBox(thresholdBytes: thresholdBytes, urgentBytes: urgentBytes, backstopBytes: backstopBytes)
        _ = Unmanaged.passRetained(box)  // never released: connections may outlive this object
        box.target.withLock { $0 = WeakTarget(self) }
    }

    deinit {
        connection.withLock { db in
            if let db { sqlite3_close_v2(db) }
            db = nil
        }
    }

    /// Installs the commit hook on a connection (GRDB's `prepareDatabase`; only the writer ever
    /// commits, so readers carry it unused). It replaces SQLite's own auto-checkpoint hook. The
    /// hook counts the log in pages: the page size is read here, once per connection (all of one
    /// store's connections share one file, so one size).
    func install(on db: OpaquePointer) {
        var statement: OpaquePointer?
        if sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &statement, nil) == SQLITE_OK, sqlite3_step(statement) == SQLITE_ROW {
            box.pageSize.store(Int(sqlite3_column_int64(statement, 0)), ordering: .relaxed)
        }
        sqlite3_finalize(statement)
        sqlite3_wal_hook(db, { context, db, _, pages in
            guard let context, let db else { return SQLITE_OK }
            let box = Unmanaged<HookBox>.fromOpaque(context).takeUnretainedValue()
            let bytes = Int(pages) * max(512, box.pageSize.load(ordering: .relaxed))
            if bytes >= box.backstopBytes {
                // As SQLite's own hook: busy means another checkpoint is running; try next commit.
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if bytes >= box.thresholdBytes {
                box.target.withLock { $0.target }?.committed(logBytes: bytes)
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(box).toOpaque())
    }

    /// Notes a commit that left `logBytes` in the log, and schedules one checkpoint unless one is
    /// already scheduled: once the writer has paused, or at once past ``urgentBytes`` (even when
    /// one is already waiting for a pause).
    func committed(logBytes: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        lastCommit.store(now, ordering: .relaxed)
        lastBytes.store(logBytes, ordering: .relaxed)
        let first = scheduled.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        if first { wantedSince.store(now, ordering: .relaxed) }
        if logBytes >= box.urgentBytes {
            queue.async { [self] in fire() }
        } else if first {
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(quietNanoseconds))) { [self] in fire() }
        }
    }

    /// Runs the scheduled checkpoint if the writer has been quiet long enough, the log is past
    /// ``urgentBytes`` or it has waited ``longestWait``; otherwise waits out the rest of the
    /// pause. On `queue`; a stale call (its checkpoint already ran) does nothing.
    private func fire() {
        guard scheduled.load(ordering: .acquiring) else { return }
        let last = lastCommit.load(ordering: .relaxed)  // read before the clock: never ahead of it
        let now = DispatchTime.now().uptimeNanoseconds
        let idle = now > last ? now - last : 0
        let waited = now &- wantedSince.load(ordering: .relaxed)
        if idle < quietNanoseconds, waited < longestWaitNanoseconds, lastBytes.load(ordering: .relaxed) < box.urgentBytes {
            queue.asyncAfter(deadline: .now() + .nanoseconds(Int(quietNanoseconds - idle))) { [self] in fire() }
            return
        }
        // Cleared before the copy: a commit during it schedules the next one.
        scheduled.store(false, ordering: .releasing)
        run()
    }

    /// Waits until a scheduled checkpoint has run (tests; bounded by `timeout`).
    func drain(timeout: Duration = .seconds(10)) {
        let deadline = ContinuousClock.now + timeout
        while scheduled.load(ordering: .acquiring), ContinuousClock.now < deadline { usleep(5_000) }
        queue.sync {}
    }
    /// Holds requested checkpoints back until ``resume()`` (tests: proves who copied the log).
    func suspend() { queue.suspend() }
    func resume() { queue.resume() }

    private func run() {
        connection.withLock { db in
            if db == nil { db = Self.open(path) }
            guard let db else { return }  // tried again at the next request
            // Busy (the writer's backstop is checkpointing) or failed: the next commit asks again.
            _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
    }

    /// A read-write connection that has read the database once: a connection that never has has
    /// no log open, and its checkpoint would silently do nothing.
    private static func open(_ path: String) -> OpaquePointer? {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            sqlite3_busy_timeout(db, 1000) == SQLITE_OK,
            sqlite3_exec(db, "PRAGMA synchronous = NORMAL; SELECT 1 FROM sqlite_schema LIMIT 1", nil, nil, nil) == SQLITE_OK
        else {
            sqlite3_close_v2(db)
            return nil
        }
        return db
    }

    private final class HookBox: Sendable {
        let thresholdBytes: Int
        let urgentBytes: Int
        let backstopBytes: Int
        /// The database's page size, SQLite's default until a connection is installed.
        let pageSize = Atomic<Int>(4096)
        let target = Mutex(WeakTarget(nil))
        init(thresholdBytes: Int, urgentBytes: Int, backstopBytes: Int) {
            self.thresholdBytes = thresholdBytes
            self.urgentBytes = urgentBytes
            self.backstopBytes = backstopBytes
        }
    }

    private struct WeakTarget {
        weak var target: WALCheckpointer?
        init(_ target: WALCheckpointer?) { self.target = target }
    }
}
