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
    /// Log size at which the background checkpoint starts: SQLite's default of 1,000 pages, at
    /// the node's 16 KiB pages (``NodeStore/pageSize``). Sizes are in bytes, not pages, so a node
    /// created with 4 KiB pages before keeps the same log bound.
    static let thresholdBytes = 16 << 20
    /// Log size at which the writer checkpoints itself.
    static let backstopBytes = 64 << 20

    private let path: String
    private let queue = DispatchQueue(label: "ioc.wal-checkpoint", qos: .utility)
    private let pending = Atomic<Bool>(false)
    /// The hook's context: SQLite keeps it for the life of each connection, which may outlast
    /// this object, so it is a small box with a weak reference that is never freed (one per store).
    private let box: HookBox
    /// Opened on first use, used and closed only on `queue`.
    private let connection = Mutex<OpaquePointer?>(nil)

    init(path: String, thresholdBytes: Int = WALCheckpointer.thresholdBytes, backstopBytes: Int = WALCheckpointer.backstopBytes) {
        self.path = path
        box = HookBox(thresholdBytes: thresholdBytes, backstopBytes: backstopBytes)
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
        let thresholdBytes: Int
        let backstopBytes: Int
        /// The database's page size, SQLite's default until a connection is installed.
        let pageSize = Atomic<Int>(4096)
        let target = Mutex(WeakTarget(nil))
        init(thresholdBytes: Int, backstopBytes: Int) {
            self.thresholdBytes = thresholdBytes
            self.backstopBytes = backstopBytes
        }
    }

    private struct WeakTarget {
        weak var target: WALCheckpointer?
        init(_ target: WALCheckpointer?) { self.target = target }
    }
}
