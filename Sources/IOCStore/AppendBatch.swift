import GRDB
import GRDBSQLite
import IOCModel
import IOCSync

/// The journal rows of an incoming bundle, and the record rows of its lone creates, written
/// many rows per `INSERT`.
///
/// A catch-up's writer is SQLite-bound. Row by row, every statement opens a cursor on its table
/// and on each of its indexes, seeks each from the root and closes them again; one statement of
/// ``rowsPerStatement`` rows opens them once and keeps appending at the right edge of B-trees it
/// already holds. SQLite alone then spent ~30 % less CPU per entry (a 64-rows-per-`INSERT`
/// variant of `scripts/sqlite-insert-floor.c`, docs/benchmarks.md "Session 10").
///
/// Journal positions are assigned here, consecutively after the last one stored: the positions
/// row-by-row inserts would have been given. Pending rows are invisible to queries, so the writer
/// calls ``flush(_:)`` before anything else that reads or writes the journal or record tables,
/// and before its transaction ends.
///
/// The statements are `INSERT OR FAIL`, and a record row is a plain insert (its record is
/// absent: the writer checked). A many-row statement that may abort half-way has SQLite keep a
/// statement journal to undo its own rows, spilled to a temporary file past 64 KiB: a 100k
/// catch-up wrote ~380 MB there, twice its write-ahead log. A failing statement here fails the
/// whole bundle's transaction, which rolls back everything, so there is nothing for the
/// statement journal to do; `OR FAIL` (and no `DO UPDATE`, whose update always may abort) lets
/// SQLite skip it. `AppendBatchTests` pins that no statement journal is opened. Without one, a
/// disk-full or I/O error half-way through a statement makes SQLite roll back the whole
/// transaction itself: an error from ``flush(_:)`` must end the transaction, never be caught and
/// written past.
struct AppendBatch {
    /// Rows per statement, unless the SQLite in use takes fewer parameters (before 3.32 the
    /// default limit was 999: 58 record rows).
    static let rowsPerStatement = 64
    static let journalColumns = "journal(pos, origin, seq, record_id, kind, hlc, bytes, leaf_hash)"
    static let journalColumnCount = 8

    private var journal: [RawValue] = []
    private var records: [RawValue] = []
    private var nextPosition: Int64?
    /// Rows per statement for this connection's parameter limit, learnt at the first append.
    private var rows = 0

    /// Queues `entry` for the journal; returns the position it will have.
    mutating func appendJournal(_ tx: StoreTransaction, entry: JournalEntry, blob: [UInt8], leafHash: [UInt8]) throws -> Int64 {
        if rows == 0 { rows = Self.statementRows(tx) }
        let pos = try nextPosition ?? tx.lastJournalPosition() + 1
        nextPosition = pos + 1
        journal += [
            .int(pos), .text(entry.origin), .int(Int64(entry.seq)), .id(entry.recordID), .text(entry.kind),
            .int(Int64(bitPattern: entry.hlc.rawValue)), .bytes(blob), .bytes(leafHash),
        ]
        if journal.count == rows * Self.journalColumnCount { try flush(tx) }
        return pos
    }

    /// Queues the record row of a create that is its record's only change: the row's columns
    /// were derived from the entry's body on the decode core (``NodeStore/PreparedCreate``); no
    /// record state is built or stored (the row points at the journal entry, `basePosition`).
    /// Its journal row was queued just before (and may have gone out with the flush that filled
    /// a statement), and a flush writes both queues: this queue holds at most one row more than
    /// the journal's, so ``appendJournal(_:entry:blob:leafHash:)`` alone decides when to flush.
    mutating func saveSingleCreate(_ entry: JournalEntry, _ prepared: NodeStore.PreparedCreate, basePosition: Int64) {
        records += StoreTransaction.recordRow(
            id: entry.recordID, kind: entry.kind, columns: prepared.columns, updatedHLC: entry.hlc, state: nil,
            basePosition: basePosition)
        assert(
            records.count <= (journal.count / Self.journalColumnCount + 1) * PreparedStatements.recordColumnCount,
            "a record row queued without its journal row")
    }

    /// Writes every pending row.
    mutating func flush(_ tx: StoreTransaction) throws {
        if !journal.isEmpty {
            try insert(tx, into: Self.journalColumns, columns: Self.journalColumnCount, journal)
            journal.removeAll(keepingCapacity: true)
        }
        if !records.isEmpty {
            try insert(tx, into: PreparedStatements.recordColumns, columns: PreparedStatements.recordColumnCount, records)
            records.removeAll(keepingCapacity: true)
        }
        // Read again at the next append: whatever the caller writes next may add positions.
        nextPosition = nil
    }

    private func insert(_ tx: StoreTransaction, into table: String, columns: Int, _ values: [RawValue]) throws {
        let count = values.count / columns
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        let sql = "INSERT OR FAIL INTO \(table) VALUES " + Array(repeating: row, count: count).joined(separator: ",")
        // Only full statements are kept prepared: a flush can come at any length.
        let statement = count == rows ? try tx.db.cachedStatement(sql: sql) : try tx.db.makeStatement(sql: sql)
        try RawStatement(statement).runCopying(values)
    }

    /// ``rowsPerStatement``, or fewer when the connection's parameter limit is lower.
    static func statementRows(_ tx: StoreTransaction) -> Int {
        guard let connection = tx.db.sqliteConnection else { return 1 }
        let limit = Int(sqlite3_limit(connection, SQLITE_LIMIT_VARIABLE_NUMBER, -1))
        return Swift.max(1, Swift.min(rowsPerStatement, limit / PreparedStatements.recordColumnCount))
    }
}

extension StoreTransaction {
    /// The journal's last position (0 when empty).
    func lastJournalPosition() throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT coalesce(max(pos), 0) FROM journal")) ?? 0
    }
}
