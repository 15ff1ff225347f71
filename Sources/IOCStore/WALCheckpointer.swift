import Dispatch
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log back into the database file on its own connection and thread.
///
/// SQLite's default runs that checkpoint inside the commit that takes the log past 1,000 pages,
/// on the writer, which then waits for the copy and two fsyncs: during a catch-up that was a
/// fifth of the writer's time. Here the writer's commit only signals; a PASSIVE checkpoint (it
/// never blocks the writer or readers) runs on a utility queue. A log that still grows past
/// the backstop (a writer that never pauses) is checkpointed by the writer itself as before, so
/// the log stays bounded; the frames left to copy then are few. Durability is unchanged: in WAL
/// mode a checkpoint syncs the log before copying and the database file after.
final class WALCheckpointer: Sendable {
    /// Log size, in pages, at which the background checkpoint starts (SQLite's default).
    static let thresholdPages: Int32 = 1000
    /// Log size at which the writer checkpoints itself (64 MiB of 4 KiB pages).
    static let backstopPages: Int32 = 16_384

    private let path: String
    private let queue = DispatchQueue(label: "ioc.wal-checkpoint", qos: .utility)
    private let pending = Atomic<Bool>(false)
    /// The hook's context: SQLite keeps it for the life of each connection, which may outlast
    /// this object, so it is a small box with a weak reference that is never freed (one per store).
    private let box: HookBox
    /// Opened on first use, used and closed only on `queue`.
    private let connection = Mutex<OpaquePointer?>(nil)

    init(path: String, thresholdPages: Int32 = WALCheckpointer.thresholdPages, backstopPages: Int32 = WALCheckpointer.backstopPages) {
        self.path = path
        box = HookBox(thresholdPages: thresholdPages, backstopPages: backstopPages)
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
    /// commits, so readers carry it unused). It replaces SQLite's own auto-checkpoint hook.
    func install(on db: OpaquePointer) {
        sqlite3_wal_hook(db, { context, db, _, pages in
            guard let context, let db else { return SQLITE_OK }
            let box = Unmanaged<HookBox>.fromOpaque(context).takeUnretainedValue()
            if pages >= box.backstopPages {
                // As SQLite's own hook: busy means another checkpoint is running; try next commit.
                _ = sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
            } else if pages >= box.thresholdPages {
                box.target.withLock { $0.target }?.request()
            }
            return SQLITE_OK
        }, Unmanaged.passUnretained(box).toOpaque())
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
        let thresholdPages: Int32
        let backstopPages: Int32
        let target = Mutex(WeakTarget(nil))
        init(thresholdPages: Int32, backstopPages: Int32) {
            self.thresholdPages = thresholdPages
            self.backstopPages = backstopPages
        }
    }

    private struct WeakTarget {
        weak var target: WALCheckpointer?
        init(_ target: WALCheckpointer?) { self.target = target }
    }
}
