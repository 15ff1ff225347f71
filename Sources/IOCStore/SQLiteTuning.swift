import CSQLiteTuning

/// Process-wide SQLite settings, applied before the first database is opened.
///
/// Memory statistics are turned off: with them on, every allocation SQLite makes takes one
/// global mutex, and Debian's SQLite (built without lookaside) allocates several times per row
/// written. Nothing here reads the statistics. Once SQLite is initialised the setting can no
/// longer change; a later call is a harmless no-op.
enum SQLiteTuning {
    private static let applied: Void = { _ = ioc_sqlite_disable_memory_statistics() }()

    static func applyOnce() { applied }
}
