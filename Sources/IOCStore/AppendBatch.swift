import GRDB
import IOCModel
import IOCSync

/// The journal rows of an incoming bundle, and the record rows of its lone creates, written
/// many rows per `INSERT`.
///
/// A catch-up's writer is SQLite-bound. Row by row, every statement opens a cursor on its table
/// and on each of its indexes, seeks each from the root and closes them again; one statement of
/// ``rowsPerStatement`` rows opens them once and keeps appending at the right edge of B-trees it
/// already holds. SQLite alone then spends ~30 % less CPU per entry
/// (`scripts/sqlite-insert-floor.c` with `BATCH=64`).
///
/// Journal positions are assigned here, consecutively after the last one stored: the positions
/// row-by-row inserts would have been given. Pending rows are invisible to queries, so the writer
/// calls ``flush(_:)`` before anything else that reads or writes the journal or record tables,
/// and before its transaction ends.
struct AppendBatch {
    static let rowsPerStatement = 64
    static let journalColumns = "journal(pos, origin, seq, record_id, kind, hlc, bytes, leaf_hash)"
    static let journalColumnCount = 8

    private var journal: [RawValue] = []
    private var records: [RawValue] = []
    private var nextPosition: Int64?

    var isEmpty: Bool { journal.isEmpty && records.isEmpty }

    /// Queues `entry` for the journal; returns the position it will have.
    mutating func appendJournal(_ tx: StoreTransaction, entry: JournalEntry, blob: [UInt8], leafHash: [UInt8]) throws -> Int64 {
        let pos = try nextPosition ?? tx.lastJournalPosition() + 1
        nextPosition = pos + 1
        journal += [
            .int(pos), .text(entry.origin), .int(Int64(entry.seq)), .id(entry.recordID), .text(entry.kind),
            .int(Int64(bitPattern: entry.hlc.rawValue)), .bytes(blob), .bytes(leafHash),
        ]
        if journal.count == Self.rowsPerStatement * Self.journalColumnCount { try flush(tx) }
        return pos
    }

    /// Queues the record row of a create that is its record's only change: the row's columns
    /// were derived from the entry's body on the decode core (``NodeStore/PreparedCreate``); no
    /// record state is built or stored (the row points at the journal entry, `basePosition`).
    mutating func saveSingleCreate(
        _ tx: StoreTransaction, _ entry: JournalEntry, _ prepared: NodeStore.PreparedCreate, basePosition: Int64
    ) throws {
        records += StoreTransaction.recordRow(
            id: entry.recordID, kind: entry.kind, columns: prepared.columns, updatedHLC: entry.hlc, state: nil,
            basePosition: basePosition)
        if records.count == Self.rowsPerStatement * PreparedStatements.recordColumnCount { try flush(tx) }
    }

    /// Writes every pending row.
    mutating func flush(_ tx: StoreTransaction) throws {
        if !journal.isEmpty {
            try Self.insert(tx, into: Self.journalColumns, columns: Self.journalColumnCount, journal, then: "")
            journal.removeAll(keepingCapacity: true)
        }
        if !records.isEmpty {
            try Self.insert(
                tx, into: PreparedStatements.recordColumns, columns: PreparedStatements.recordColumnCount, records,
                then: PreparedStatements.recordUpdate)
            records.removeAll(keepingCapacity: true)
        }
        // Read again at the next append: whatever the caller writes next may add positions.
        nextPosition = nil
    }

    private static func insert(_ tx: StoreTransaction, into table: String, columns: Int, _ values: [RawValue], then clause: String) throws {
        let rows = values.count / columns
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        let sql = "INSERT INTO \(table) VALUES " + Array(repeating: row, count: rows).joined(separator: ",") + " " + clause
        try RawStatement(tx.db.cachedStatement(sql: sql)).runCopying(values)
    }
}

extension StoreTransaction {
    /// The journal's last position (0 when empty).
    func lastJournalPosition() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(pos), 0) FROM journal")) ?? 0
    }
}
