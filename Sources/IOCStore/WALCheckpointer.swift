import Dispatch
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file on its own connection and thread.
///
/// SQLite's default runs that checkpoint inside the commit that takes the log past 1,000 pages,
/// on the writer, which then waits for the copy and two fsyncs: during a catch-up that was a
/// fifth of the writer's time. Here the writer's commit only signals; a PASSIVE checkpoint (it
/// never blocks the writer or readers) runs on a utility queue. A log that still grows past
/// ``backstopPages`` (a writer that never pauses) is checkpointed by the writer itself as
/// before, so the log stays bounded; the frames left to copy then are few.
final class WALCheckpointer: Sendable {
    /// Log size, in pages, at which the background checkpoint starts (SQLite's default).
    static let thresholdPages: Int32 = 1000
    /// Log size at which the writer checkpoints itself (64 MiB of 4 KiB pages).
    static let backstopPages: Int32 = 16_384

    private let path: String
    private let queue = DispatchQueue(label: "ioc.wal-checkpoint", qos: .utility)
    private let pending = Atomic<Bool>(false)
    /// Opened on first use, used and closed only on `queue`.
    private let connection = Mutex<OpaquePointer?>(nil)

    init(path: String) { self.path = path }

    deinit {
        connection.withLock { db in
            if let db { sqlite3_close_v2(db) }
            db = nil
        }
    }

    /// Installs the commit hook on a connection (GRDB's `prepareDatabase`; only the writer ever
    /// commits, so readers carry it unused).
    func install(on db: OpaquePointer) {
        // SQLite keeps the context for the life of the connection, which may outlast this
        // object: it gets a small box of its own with a weak reference, kept for good.
        let box = Unmanaged.passRetained(HookBox(self)).toOpaque()
        sqlite3_wal_hook(db, { context, db, _, pages in
            guard let context, let db else { return SQLITE_OK }
            if pages >= WALCheckpointer.backstopPages {
                // As SQLite's own hook: busy means another checkpoint is running; try next commit.
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
                return SQLITE_OK
            }
            if pages >= WALCheckpointer.thresholdPages {
                Unmanaged<HookBox>.fromOpaque(context).takeUnretainedValue().target?.request()
            }
            return SQLITE_OK
        }, box)
    }

    /// Schedules one checkpoint unless one is already waiting to run.
    func request() {
        guard pending.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        queue.async { [self] in
            pending.store(false, ordering: .releasing)
            run()
        }
    }

    /// Waits until every requested checkpoint has run (tests).
    func drain() { queue.sync {} }

    private func run() {
        connection.withLock { db in
            if db == nil {
                var opened: OpaquePointer?
                guard sqlite3_open_v2(path, &opened, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK else {
                    sqlite3_close_v2(opened)
                    return
                }
                sqlite3_exec(opened, "PRAGMA synchronous = NORMAL", nil, nil, nil)
                db = opened
            }
            // Busy (another checkpoint running) or failed: the next commit asks again.
            _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        }
    }

    private final class HookBox: Sendable {
        weak let target: WALCheckpointer?
        init(_ target: WALCheckpointer) { self.target = target }
    }
}
