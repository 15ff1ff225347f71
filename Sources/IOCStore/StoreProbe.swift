import GRDB

/// A read-only look at another process's store: how far its knowledge of one origin reaches. A
/// point query on a connection opened once, so a benchmark can poll a running node every few
/// milliseconds without loading it (as PostgreSQL's is polled with a primary-key probe), where
/// the status API counts records on each call.
public final class StoreProbe: Sendable {
    let queue: DatabaseQueue

    public init(path: String) throws {
        SQLiteTuning.applyOnce()
        var config = Configuration()
        config.readonly = true
        queue = try DatabaseQueue(path: path, configuration: config)
    }

    /// The highest contiguous sequence of `origin` the store holds (0 when none).
    public func knowledge(of origin: String) throws -> UInt64 {
        try queue.read { db in
            UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM knowledge WHERE origin = ?"), arguments: [origin]) ?? 0)
        }
    }

    /// Entries in the bundles sealed for `peer` and not yet acknowledged (what an offline node
    /// has built ahead for it).
    public func unacknowledgedEntries(to peer: String) throws -> Int {
        try queue.read { db in
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT coalesce(sum(entries), 0) FROM channel_out WHERE peer = ? AND acked = 0"),
                arguments: [peer]) ?? 0
        }
    }
}
