import CSQLiteTuning

/// Process-wide SQLite settings, applied before the first database is opened.
///
/// Memory statistics are turned off: with them on, every allocation SQLite makes takes one
/// global mutex, and Debian's SQLite (built without lookaside) allocates several times per row
/// written. Nothing here reads the statistics. Every place this module opens a database calls
/// ``applyOnce()`` first (the store, its identity check, the probe), so in `iocnode` it runs
/// before SQLite starts. Once SQLite has started the setting can no longer change and the call
/// does nothing: in a process that opened SQLite another way first (a test), statistics stay on.
enum SQLiteTuning {
    private static let applied: Void = { _ = ioc_sqlite_disable_memory_statistics() }()

    static func applyOnce() { applied }
}
