#include <sqlite3.h>

/// `sqlite3_config` is variadic, so Swift cannot call it: this wrapper turns off SQLite's
/// memory statistics, which take a process-wide mutex on every allocation (Debian's SQLite is
/// built without lookaside, so a catch-up allocates per row). Only valid before SQLite is
/// initialised; afterwards it returns SQLITE_MISUSE and changes nothing.
static inline int ioc_sqlite_disable_memory_statistics(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
