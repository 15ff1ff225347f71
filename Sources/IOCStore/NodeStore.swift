import Foundation
import GRDB
import IOCModel
import IOCSharing
import IOCSync
import Synchronization

/// One node's database: records, the journal of every change held, knowledge, peers and users.
///
/// One `DatabasePool` per node (GRDB's first rule), WAL mode, foreign keys on. Every local write
/// and every bundle apply is one SQLite transaction that writes the journal entry, the record and
/// the knowledge together, so a crash leaves the state before or after a change, never between.
/// `synchronous = NORMAL` in WAL mode: a committed write survives the process being killed
/// (`kill -9`); set ``Configuration/durableCommits`` to also survive power loss at ~4 ms per commit.
public final class NodeStore: Sendable {
    public struct Configuration: Sendable {
        public var path: String
        public var nodeID: String
        public var federation: String
        public var limits: Limits
        public var durableCommits: Bool
        /// Wall clock in Unix milliseconds; injected so tests control time.
        public var wallClock: @Sendable () -> Int64

        public init(
            path: String, nodeID: String, federation: String, limits: Limits = .default, durableCommits: Bool = false,
            wallClock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        ) {
            self.path = path
            self.nodeID = nodeID
            self.federation = federation
            self.limits = limits
            self.durableCommits = durableCommits
            self.wallClock = wallClock
        }
    }

    public let nodeID: String
    public let configuration: Configuration
    let pool: DatabasePool
    /// Keeps the write-ahead log short without stopping the writer (see ``WALCheckpointer``).
    let checkpointer: WALCheckpointer
    let clock: Mutex<HLClock>
    /// Last id timestamp and its sequence: ids are strictly increasing within this node.
    let idState = Mutex<(milliseconds: UInt64, sequence: UInt16)>((0, 0))

    public var limits: Limits { configuration.limits }
    public func now() -> Int64 { configuration.wallClock() }

    /// The page size of a new node database. At 16 KiB (SQLite's default is 4 KiB) the B-trees a
    /// catch-up appends to are shallower and split less, and a commit writes fewer, larger WAL
    /// frames: a province applied a 100k backlog with ~12 % less CPU. A database keeps the size it
    /// was created with; an existing node changes only through `VACUUM` (docs/operations.md).
    static let pageSize = 16_384

    public init(_ configuration: Configuration) throws {
        SQLiteTuning.applyOnce()
        self.configuration = configuration
        nodeID = configuration.nodeID
        var config = GRDB.Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        let durable = configuration.durableCommits
        let checkpointer = WALCheckpointer(path: configuration.path)
        self.checkpointer = checkpointer
        config.prepareDatabase { db in
            // Takes effect only while the file is still empty (a new node); see ``pageSize``.
            try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)")
            try db.execute(sql: "PRAGMA synchronous = \(durable ? "FULL" : "NORMAL")")
            try db.execute(sql: "PRAGMA cache_size = -65536")
            // A log that grew during a catch-up is cut back when a checkpoint empties it.
            try db.execute(sql: "PRAGMA journal_size_limit = \(64 << 20)")
            if let connection = db.sqliteConnection { checkpointer.install(on: connection) }
        }
        do {
            pool = try DatabasePool(path: configuration.path, configuration: config)
            try Schema.migrator.migrate(pool)
        } catch {
            throw StoreError(.corrupt, "Cannot open the node database at \(configuration.path).", cause: error)
        }
        let (owner, lastHLC) = try pool.write { db -> (String?, UInt64) in
            let owner = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node_id'")
            if owner == nil {
                try db.execute(
                    sql: "INSERT INTO meta(key, value) VALUES ('node_id', ?), ('federation', ?)",
                    arguments: [configuration.nodeID, configuration.federation])
            }
            let last = try Int64.fetchOne(
                db, sql: "SELECT hlc FROM journal WHERE origin = ? ORDER BY seq DESC LIMIT 1",
                arguments: [configuration.nodeID])
            return (owner, UInt64(last ?? 0))
        }
        if let owner, owner != configuration.nodeID {
            throw StoreError(
                .wrongNode,
                "The data directory belongs to node '\(owner)', not '\(configuration.nodeID)'. Use that node's --node or another --data directory.")
        }
        clock = Mutex(HLClock(last: HLC(rawValue: lastHLC)))
    }

    /// Runs `body` in one write transaction.
    ///
    /// The async forms run the blocking GRDB call on a dispatch thread, not on the cooperative
    /// pool: a connection is then released as soon as `body` returns, never held until a task
    /// can resume. (With GRDB's async API, readers held by tasks waiting for a cooperative thread
    /// and cooperative threads blocked waiting for a reader deadlocked a loaded province.)
    public func write<T: Sendable>(_ body: @escaping @Sendable (StoreTransaction) throws -> T) async throws -> T {
        try await offPool { try self.writeSync(body) }
    }

    /// Synchronous variant for command-line tools and benchmarks.
    public func writeSync<T>(_ body: (StoreTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(try StoreTransaction(db: db, store: self)) }
    }

    public func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await offPool { try self.readSync(body) }
    }

    private func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    public func readSync<T>(_ body: (Database) throws -> T) throws -> T { try pool.read(body) }

    /// A new record id, strictly greater than every id this process made before.
    public func nextRecordID() -> RecordID {
        let wall = UInt64(max(0, now()))
        let (ms, seq) = idState.withLock { state -> (UInt64, UInt16) in
            if wall > state.milliseconds {
                state = (wall, 0)
            } else if state.sequence >= 0x0FFF {
                state = (state.milliseconds + 1, 0)
            } else {
                state.sequence += 1
            }
            return state
        }
        var rng = SystemRandomNumberGenerator()
        return RecordID.generate(milliseconds: ms, sequence: seq, using: &rng)
    }

    func nextHLC() -> HLC {
        let wall = UInt64(max(0, now()))
        return clock.withLock { $0.tick(now: wall) }
    }

    /// Folds a peer's HLC into ours; `false` when it is implausibly far ahead (flag its origin).
    func observe(_ remote: HLC) -> Bool {
        let wall = UInt64(max(0, now()))
        return clock.withLock { $0.observe(remote, now: wall) }
    }
}

/// The operations available inside one write transaction.
public struct StoreTransaction {
    public let db: Database
    public let store: NodeStore
    let statements: PreparedStatements

    init(db: Database, store: NodeStore) throws {
        self.db = db
        self.store = store
        statements = try PreparedStatements(db)
    }

    public var nodeID: String { store.nodeID }

    public func load(_ id: RecordID) throws -> RecordState? {
        guard let row = try Row.fetchOne(statements.recordSelect, arguments: [Data(id.bytes)]) else { return nil }
        return try RecordRow.state(row)
    }

    public func knowledge(of origin: String) throws -> UInt64 {
        UInt64(
            try Int64.fetchOne(db.cachedStatement(sql: "SELECT seq FROM knowledge WHERE origin = ?"), arguments: [origin])
                ?? 0)
    }

    /// Authors a local change: appends it to this node's journal and applies it to the record.
    /// `body` must already be validated; a change the merge refuses is a programming error here.
    @discardableResult
    public func author(recordID: RecordID, kind: String, op: ChangeOp, body: [String: JSONValue]) throws -> RecordState {
        let existing = try load(recordID)
        var state = existing ?? RecordState(id: recordID, kind: kind)
        guard state.kind == kind else { throw StoreError(.conflict, "Record \(recordID) is not a \(kind).") }
        let seq = try knowledge(of: nodeID) + 1
        let entry = JournalEntry(
            origin: nodeID, seq: seq, hlc: store.nextHLC(), recordID: recordID, kind: kind, op: op,
            context: state.applied, body: body)
        let bytes = entry.encoded()
        guard bytes.count <= store.limits.entryBytesMax else {
            throw ValidationError(
                code: .outOfRange, message: "The change is larger than \(store.limits.entryBytesMax) bytes.")
        }
        if let refusal = state.apply(entry) {
            throw ValidationError(code: .invalidValue, message: "The change was refused: \(refusal).")
        }
        let pos = try appendJournal(entry: entry, bytes: bytes)
        try setKnowledge(origin: nodeID, seq: seq)
        try save(state, basePosition: existing == nil ? pos : nil)
        return state
    }

    /// Appends an entry to the journal; returns its position.
    @discardableResult
    func appendJournal(entry: JournalEntry, bytes: [UInt8]) throws -> Int64 {
        try appendJournal(entry: entry, blob: bytes, leafHash: JournalEntry.leafHash(bytes))
    }

    @discardableResult
    func appendJournal(entry: JournalEntry, blob: [UInt8], leafHash: [UInt8]) throws -> Int64 {
        try statements.journalInsert.run(
            .text(entry.origin), .int(Int64(entry.seq)), .id(entry.recordID), .text(entry.kind),
            .int(Int64(bitPattern: entry.hlc.rawValue)), .bytes(blob), .bytes(leafHash))
        return db.lastInsertedRowID
    }

    func setKnowledge(origin: String, seq: UInt64) throws {
        try statements.knowledgeUpsert.execute(arguments: [origin, Int64(seq)])
    }

    /// Writes the record state and the columns derived from it. `basePosition` is the journal
    /// position of the record's only change, when it has exactly one: the state is then not
    /// stored again (``RecordRow`` rebuilds it from the entry).
    func save(_ state: RecordState, basePosition: Int64? = nil) throws {
        try write(
            id: state.id, kind: state.kind, columns: DerivedColumns(state), updatedHLC: state.updatedHLC,
            state: basePosition == nil ? Data(state.encoded()) : nil, basePosition: basePosition)
    }

    func exists(_ id: RecordID) throws -> Bool {
        try statements.recordExists.run(.id(id))
    }

    private func write(
        id: RecordID, kind: String, columns: DerivedColumns, updatedHLC: HLC, state: Data?, basePosition: Int64?
    ) throws {
        try statements.recordUpsert.run(
            all: Self.recordRow(
                id: id, kind: kind, columns: columns, updatedHLC: updatedHLC, state: state, basePosition: basePosition))
    }

    /// A record row's values, in ``PreparedStatements/recordColumns`` order.
    static func recordRow(
        id: RecordID, kind: String, columns c: DerivedColumns, updatedHLC: HLC, state: Data?, basePosition: Int64?
    ) -> [RawValue] {
        [
            .id(id), .text(kind), .text(c.unit), .text(c.status), .text(c.category), .int(c.ts), .int(c.dueAt),
            .int(c.doneAt), .text(c.assignedUnit), .id(c.refID), .bool(c.warned), .text(c.origin),
            .bool(c.deleted), .bool(c.conflicted), .int(Int64(bitPattern: updatedHLC.rawValue)), .blob(state), .int(basePosition),
        ]
    }
}

/// The write statements of the hot paths, prepared once per transaction rather than looked up by
/// their SQL text for every row.
final class PreparedStatements {
    let journalInsert: RawStatement
    let knowledgeUpsert: Statement
    let recordUpsert: RawStatement
    let recordSelect: Statement
    let recordExists: RawStatement

    /// The record row's columns, shared with the many-row inserts of ``AppendBatch``.
    static let recordColumns = """
        record(id, kind, unit, status, category, ts, due_at, done_at, assigned_unit, ref_id, warned,
               origin, deleted, conflicted, updated_hlc, state, base_pos)
        """
    static let recordColumnCount = 17
    /// What the one-row upsert updates when the record exists.
    static let recordUpdate = """
        ON CONFLICT(id) DO UPDATE SET unit = excluded.unit, status = excluded.status,
            category = excluded.category, ts = excluded.ts, due_at = excluded.due_at, done_at = excluded.done_at,
            assigned_unit = excluded.assigned_unit, ref_id = excluded.ref_id, warned = excluded.warned, origin = excluded.origin, deleted = excluded.deleted,
            conflicted = excluded.conflicted, updated_hlc = excluded.updated_hlc, state = excluded.state,
            base_pos = excluded.base_pos
        """

    init(_ db: Database) throws {
        journalInsert = RawStatement(try db.cachedStatement(
            sql: "INSERT INTO journal(origin, seq, record_id, kind, hlc, bytes, leaf_hash) VALUES (?, ?, ?, ?, ?, ?, ?)"))
        knowledgeUpsert = try db.cachedStatement(
            sql: "INSERT INTO knowledge(origin, seq) VALUES (?, ?) ON CONFLICT(origin) DO UPDATE SET seq = excluded.seq")
        recordSelect = try db.cachedStatement(sql: RecordRow.select + " WHERE r.id = ?")
        recordExists = RawStatement(try db.cachedStatement(sql: "SELECT 1 FROM record WHERE id = ?"))
        recordUpsert = RawStatement(try db.cachedStatement(
            sql: "INSERT INTO \(Self.recordColumns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \(Self.recordUpdate)"))
    }
}

extension NodeStore {
    /// What the writer needs from a create that may turn out to be its record's only change:
    /// the row's columns, the facts the sharing re-check judges and the state machine's verdict.
    /// All pure, so the decode core computes them while the writer applies the bundle before.
    public struct PreparedCreate: Sendable, Equatable {
        let columns: DerivedColumns
        let facts: RecordFacts
        let refusal: MergeRefusal?

        /// The body fields the three are derived from, per kind: learnt by asking the derivations
        /// themselves with every field absent (so every fallback is asked too), never listed by
        /// hand where it could drift from them.
        static func fields(kind: String) -> FieldSelection {
            fieldsOfKnownKinds[kind] ?? fieldsOfOtherKinds
        }

        private static let fieldsOfKnownKinds: [String: FieldSelection] = Dictionary(
            uniqueKeysWithValues: RecordKind.allCases.map { ($0.rawValue, FieldSelection(askedFields(kind: $0.rawValue))) })

        /// A kind this node does not know (a newer node's) has no schema, so the derivations ask
        /// the same fields whatever its name (pinned by a test): one selection serves them all.
        static let fieldsOfOtherKinds = FieldSelection(askedFields(kind: ""))

        static func askedFields(kind: String) -> Set<String> {
            // `check` reads a create's status; `deleted` its marker.
            var asked: Set<String> = ["status", JournalEntry.deletedKey]
            _ = DerivedColumns(kind: kind, value: { asked.insert($0); return nil }, deleted: false, conflicted: false)
            _ = RecordFacts(kind: kind, fallbackOrigin: "", value: { asked.insert($0); return nil })
            return asked
        }

        /// From a create's fields as ``NodeStore/decode(_:limits:)`` selects them (``fields(kind:)``).
        init(_ entry: JournalEntry, _ selected: SelectedFields) {
            self.init(entry) { selected[$0] }
        }

        /// From a whole create entry.
        init(_ entry: JournalEntry) {
            let body = entry.body
            self.init(entry) { body[$0] }
        }

        /// `field` gives a body field as written (`.null` included), nil when absent.
        private init(_ entry: JournalEntry, field: (String) -> JSONValue?) {
            func value(_ name: String) -> JSONValue? { field(name).flatMap { $0.isNull ? nil : $0 } }
            columns = DerivedColumns(
                kind: entry.kind, value: value, deleted: field(JournalEntry.deletedKey) == .bool(true), conflicted: false)
            facts = RecordFacts(kind: entry.kind, fallbackOrigin: entry.origin, value: value)
            refusal = RecordState.check(kind: entry.kind, op: entry.op, field: field)
        }
    }
}

/// Columns derived from a record state for filtering and summaries.
struct DerivedColumns: Sendable, Equatable {
    var unit: String?
    var status: String?
    var category: String?
    var ts: Int64?
    var dueAt: Int64?
    var doneAt: Int64?
    var assignedUnit: String?
    var refID: RecordID?
    var warned: Bool
    var origin: String
    var deleted: Bool
    var conflicted: Bool

    init(_ s: RecordState) {
        self.init(kind: s.kind, value: s.value, deleted: s.isDeleted, conflicted: s.hasConflicts)
    }

    /// `value` gives the value a reader sees for a field (nil when absent or null).
    init(kind: String, value: (String) -> JSONValue?, deleted: Bool, conflicted: Bool) {
        let schema = RecordKind(rawValue: kind)?.schema
        func time(_ f: String?) -> Int64? { f.flatMap { value($0)?.stringValue }.flatMap(Timestamp.parse) }
        unit = value("unit")?.stringValue
        status = value("status")?.stringValue
        category = schema?.categoryField.flatMap { value($0) }.map { v in v.stringValue ?? "\(v)" }
        ts = time(schema?.timeField) ?? time("createdAt")
        dueAt = time("dueAt")
        doneAt = time("resolvedAt") ?? time("finishedAt")
        assignedUnit = value("assignedUnit")?.stringValue ?? value("targetUnit")?.stringValue
        refID = (value("reportId") ?? value("stationId") ?? value("sourceRef"))?.stringValue.flatMap(RecordID.init)
        warned = value("dueSoonAlertId") != nil
        origin = value("originNode")?.stringValue ?? ""
        self.deleted = deleted
        self.conflicted = conflicted
    }
}

extension NodeStore {
    /// Which node and federation an existing database belongs to.
    /// Only inspects: a missing file is an error, never created.
    public static func identity(path: String) throws -> (nodeID: String, federation: String) {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.notFound, "There is no node database at \(path).")
        }
        SQLiteTuning.applyOnce()  // the command-line tools open this before the store itself
        var config = GRDB.Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            return try queue.read { db in
                guard let node = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node_id'"),
                    let fed = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'federation'")
                else { throw StoreError(.corrupt, "\(path) is not a node database.") }
                return (node, fed)
            }
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.corrupt, "\(path) is not a node database.", cause: error)
        }
    }
}

/// Reads record rows: the stored state, or the single journal entry it consists of.
enum RecordRow {
    /// Selects `state`, the base entry's bytes, `id` and `kind`; append a WHERE clause on `r.`.
    static let select = "SELECT r.state, j.bytes, r.id, r.kind FROM record r LEFT JOIN journal j ON j.pos = r.base_pos"

    /// The record with `id`, or nil.
    static func fetch(_ id: RecordID, db: Database) throws -> RecordState? {
        try Row.fetchOne(db, sql: select + " WHERE r.id = ?", arguments: [Data(id.bytes)]).map(state)
    }

    static func state(_ row: Row) throws -> RecordState {
        do {
            if let data = row[0] as Data? { return try RecordState(decoding: data) }
            guard let bytes = row[1] as Data?, let id = RecordID(bytes: Array(row[2] as Data)) else {
                throw StoreError(.corrupt, "A record row has neither a state nor a base entry.")
            }
            var state = RecordState(id: id, kind: row[3])
            if let refusal = state.apply(try JournalEntry(decoding: bytes)) {
                throw StoreError(.corrupt, "Record \(id): its base entry does not apply (\(refusal)).")
            }
            return state
        } catch let e as StoreError {
            throw e
        } catch {
            throw StoreError(.corrupt, "A record cannot be decoded.", cause: error)
        }
    }
}
