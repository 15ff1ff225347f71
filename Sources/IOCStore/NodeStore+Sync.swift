import Foundation
import GRDB
import IOCModel
import IOCSharing
import IOCSync

/// The outcome of applying one bundle.
public struct ApplyReport: Sendable, Hashable {
    public var applied = 0
    public var withheld = 0
    /// Entries received before only as hashes, now with their content (a record entered scope).
    public var backfilled = 0
    /// Records dropped on the sender's notice that they left this node's scope.
    public var purged = 0
    public var duplicates = 0
    /// Positions beyond a gap in an origin's sequence: not applied, re-sent by the next delta.
    public var gaps = 0
    /// Entries kept in the journal but not merged into records, with the reason.
    public var refused: [String] = []
    public var recordsChanged = 0
    public var clockSkewOrigins: [String] = []
    public var knowledgeAfter = VersionVector()
    /// Time spent decoding entries, and inside the write transaction (merge + SQLite + commit).
    public var decodeSeconds = 0.0
    public var writeSeconds = 0.0

    public init() {}

    /// Adds the outcome of a later bundle to this running total.
    public mutating func absorb(_ later: ApplyReport) {
        applied += later.applied
        withheld += later.withheld
        backfilled += later.backfilled
        purged += later.purged
        duplicates += later.duplicates
        gaps += later.gaps
        refused += later.refused
        recordsChanged += later.recordsChanged
        clockSkewOrigins += later.clockSkewOrigins.filter { !clockSkewOrigins.contains($0) }
        knowledgeAfter = later.knowledgeAfter
        decodeSeconds += later.decodeSeconds
        writeSeconds += later.writeSeconds
    }
}

/// A delta for one peer.
public struct Delta: Sendable {
    public var items: [BundleItem]
    /// `false` when limits cut the delta short: the caller sends another bundle.
    public var complete: Bool
    /// The requested knowledge plus every position in `items`: where the next delta starts.
    public var reached: VersionVector
}

extension NodeStore {
    public func knowledge() throws -> VersionVector { try readSync { try Self.knowledge(db: $0) } }

    static func knowledge(db: Database) throws -> VersionVector {
        var v = VersionVector()
        for row in try Row.fetchAll(db, sql: "SELECT origin, seq FROM knowledge") {
            v[row[0] as String] = UInt64(row[1] as Int64)
        }
        return v
    }

    /// Every journal position beyond `known`, oldest first in this node's arrival order (which is
    /// causal order), from every origin this node holds. Positions `visible` rejects, positions
    /// held here only as hashes, and local-only records travel as leaf hashes.
    public func delta(
        beyond known: VersionVector, visible: ((EntryHeader) -> Bool)? = nil, limits: Limits? = nil
    ) throws -> Delta {
        let limits = limits ?? self.limits
        return try readSync { db in try Self.delta(db: db, beyond: known, visible: visible, limits: limits) }
    }

    static func delta(
        db: Database, beyond known: VersionVector, visible: ((EntryHeader) -> Bool)?, limits: Limits
    ) throws -> Delta {
        let mine = try Self.knowledge(db: db)
        var start: Int64?
        for origin in mine.origins where mine[origin] > known[origin] {
            let pos = try Int64.fetchOne(
                db, sql: "SELECT pos FROM journal WHERE origin = ? AND seq = ?",
                arguments: [origin, Int64(known[origin] + 1)])
            if let pos { start = min(start ?? pos, pos) }
        }
        guard let cursor = start else { return Delta(items: [], complete: true, reached: known) }
        var items: [BundleItem] = []
        var reached = known
        var bytes = 0
        var full = false
        // Rows are read straight from SQLite's buffers, and only as many as the bundle can take.
        let rows = RawStatement(
            try db.cachedStatement(sql: "SELECT pos, origin, seq, kind, bytes, leaf_hash FROM journal WHERE pos >= ? ORDER BY pos"))
        try rows.forEachRow(.int(cursor)) { row in
            let origin = row.text(1) ?? ""
            let seq = UInt64(row.int(2))
            guard seq > known[origin] else { return true }
            let hash = row.blob(5) ?? []
            // Personal data (local-only kinds) never leaves: hash only, whatever `visible` says.
            let localOnly = row.text(3).flatMap(RecordKind.init(rawValue:))?.isLocalOnly == true
            var item = BundleItem.withheld(origin: origin, seq: seq, leafHash: hash)
            if !localOnly, let raw = row.blob(4) {
                // Without a filter every entry is visible; decode headers only to ask one.
                if let visible {
                    if let header = try? EntryHeader(decoding: raw), visible(header) { item = .entry(raw) }
                } else {
                    item = .entry(raw)
                }
            }
            if items.count + 1 > limits.bundleEntriesMax || bytes + item.byteCount > limits.bundlePayloadBytesMax {
                full = true
                return false
            }
            bytes += item.byteCount
            items.append(item)
            reached[origin] = seq
            return true
        }
        return Delta(items: items, complete: !full, reached: reached)
    }

    /// A bundle position decoded and checked, ready to apply.
    public enum DecodedItem: Sendable {
        /// An entry's content, decoded (see ``DecodedEntry``).
        case entry(DecodedEntry)
        case withheld(String, UInt64, [UInt8])
        case purge(RecordID)
    }

    /// An entry prepared off the writer thread: the entry, its bytes as a blob and its leaf hash.
    /// A create that is its record's only change in the bundle also carries what the writer
    /// derives from it (``create``), and then only the fields that takes were decoded: the
    /// entry's `body` is empty and ``whole()`` gives the whole entry.
    ///
    /// A class, so the writer's passes over a bundle (admission, apply) copy one reference per
    /// position rather than retaining each of the entry's parts in turn.
    public final class DecodedEntry: Sendable {
        /// The entry; its `body` is empty when ``create`` is set.
        public let entry: JournalEntry
        /// The entry's bytes as received, stored verbatim.
        public let bytes: [UInt8]
        public let leafHash: [UInt8]
        /// Set for a create that is its record's only change in the bundle.
        public let create: PreparedCreate?

        init(entry: JournalEntry, bytes: [UInt8], leafHash: [UInt8], create: PreparedCreate?) {
            self.entry = entry
            self.bytes = bytes
            self.leafHash = leafHash
            self.create = create
        }

        /// The whole entry: decoded again from its bytes when only a create's fields were.
        public func whole() throws -> JournalEntry { create == nil ? entry : try JournalEntry(decoding: bytes) }
    }

    /// Decodes every position of a bundle; a malformed one fails the whole bundle. Pure, so a
    /// receiver can decode the next bundle on another core while it applies this one.
    public static func decode(_ items: [BundleItem], limits: Limits) throws -> [DecodedItem] {
        var decoded: [DecodedItem] = []
        decoded.reserveCapacity(items.count)
        var changes: [RecordID: Int] = [:]
        changes.reserveCapacity(items.count)
        for item in items {
            switch item {
            case .entry(let bytes):
                guard bytes.count <= limits.entryBytesMax else { throw DecodeError("entry over \(limits.entryBytesMax) bytes") }
                // A create is read for the fields the writer's fast path needs; most catch-up
                // entries are creates stored verbatim, and building their whole body (then freeing
                // it) cost more than everything else the receiver does with them.
                let (entry, selected) = try JournalEntry.decode(bytes) {
                    $0.op == .create ? PreparedCreate.fields(kind: $0.kind) : nil
                }
                changes[entry.recordID, default: 0] += 1
                decoded.append(
                    .entry(
                        DecodedEntry(
                            entry: entry, bytes: bytes, leafHash: JournalEntry.leafHash(bytes),
                            create: selected.map { PreparedCreate(entry, $0) })))
            case .withheld(let o, let s, let h):
                guard h.count == 32, s > 0, !o.isEmpty else { throw DecodeError("malformed withheld position") }
                decoded.append(.withheld(o, s, h))
            case .purge(let id):
                decoded.append(.purge(id))
            }
        }
        // A create merged with later changes of its record in this bundle needs its whole body.
        for i in decoded.indices {
            guard case .entry(let d) = decoded[i], d.create != nil, changes[d.entry.recordID, default: 0] > 1 else { continue }
            decoded[i] = .entry(DecodedEntry(entry: try d.whole(), bytes: d.bytes, leafHash: d.leafHash, create: nil))
        }
        return decoded
    }

    /// Applies a bundle's positions in one transaction: journal, records and knowledge together.
    /// Every entry is decoded before anything is written; a malformed one fails the whole bundle.
    /// Re-applying the same bundle changes nothing.
    public func apply(
        _ items: [BundleItem], from peer: String, peerKnowledge: VersionVector? = nil, sharing: ActivePolicy? = nil
    ) throws -> ApplyReport {
        let started = ContinuousClock.now
        let decoded = try Self.decode(items, limits: limits)
        var report = try apply(decoded: decoded, from: peer, peerKnowledge: peerKnowledge, sharing: sharing)
        report.decodeSeconds = Self.seconds(ContinuousClock.now - started) - report.writeSeconds
        return report
    }

    /// Applies positions decoded by ``decode(_:limits:)`` in one transaction. With `sharing`,
    /// every record is re-checked against this node's own copy of the policy. `decoded` must be
    /// one `decode` result, whole or with items dropped, never two joined: a prepared create is
    /// taken to be its record's only change here (checked in debug builds; in a release build two
    /// lone creates of one record fail the bundle on the record's key, never overwrite it).
    public func apply(
        decoded: [DecodedItem], from peer: String, peerKnowledge: VersionVector? = nil, sharing: ActivePolicy? = nil
    ) throws -> ApplyReport {
        let decodedAt = ContinuousClock.now
        var result = try writeSync { tx in
            try tx.applyItems(decoded, from: peer, peerKnowledge: peerKnowledge, sharing: sharing)
        }
        result.writeSeconds = Self.seconds(ContinuousClock.now - decodedAt)
        return result
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// What a peer was last known to hold (empty when never heard from).
    public func peerKnowledge(_ peer: String) throws -> VersionVector {
        try readSync { db in
            guard let data = try Data.fetchOne(db, sql: "SELECT knowledge FROM peer WHERE id = ?", arguments: [peer]) else {
                return VersionVector()
            }
            var r = BinaryReader(Array(data))
            return (try? r.vector()) ?? VersionVector()
        }
    }

    public func recordPeerKnowledge(_ peer: String, _ knowledge: VersionVector) throws {
        try writeSync { try $0.recordPeerKnowledge(peer, knowledge) }
    }

    /// A record's replicated state, or nil.
    public func state(_ id: RecordID) throws -> RecordState? { try readSync { try RecordRow.fetch(id, db: $0) } }

    /// Digest of every record state, for convergence checks: equal on replicas holding the same changes.
    public func stateDigest(kinds: Set<String>? = nil) throws -> [UInt8] {
        try readSync { db in
            var h = IncrementalDigest()
            let rows = try Row.fetchCursor(db, sql: RecordRow.select + " ORDER BY r.id")
            while let row = try rows.next() {
                if let kinds, !kinds.contains(row[3] as String) { continue }
                h.add(try RecordRow.state(row).encoded())
            }
            return h.finish()
        }
    }
}

extension StoreTransaction {
    /// Where an incoming entry stands against this node's journal.
    enum Placement {
        case next, duplicate, gap
        /// Held here only as its hash, and the content matches it: a back-fill.
        case backfill
        /// Held here only as its hash, and the content does not match it.
        case mismatch
        /// Claims to be this node's own change, which only this node writes.
        case ownOrigin
    }

    /// The body of ``NodeStore/apply(decoded:from:peerKnowledge:sharing:)``, inside the caller's
    /// transaction, so a signed bundle's channel bookkeeping commits together with its entries.
    func applyItems(
        _ decoded: [NodeStore.DecodedItem], from peer: String, peerKnowledge: VersionVector?, sharing: ActivePolicy?
    ) throws -> ApplyReport {
        var report = ApplyReport()
        var known: [String: UInt64] = [:]
        var states: [RecordID: RecordState] = [:]
        // Records whose only change is the one applied here: saved without a state copy.
        var basePositions: [RecordID: Int64] = [:]
        // A create that is its record's only change in the bundle (`decode` prepares exactly
        // those), for a record this node does not have, needs no merge at all. Whether the record
        // is absent is learnt once per position by the admission check and reused here.
        var absent: [Bool] = []
        assert(Self.preparedCreatesAreLone(decoded), "a prepared create is not its record's only change: pass one `decode` result")
        // Read before this bundle's first write; a prepared create is its record's only change
        // here, so rows written below never make one of them present.
        let newest = try newestRecordID()
        let refusedRecords = try sharing.map { try admission(decoded, sharing: $0, newest: newest, absent: &absent) } ?? [:]
        var forwardable: [String: Bool] = [:]
        // Most bundles carry one origin's run: its verdict is kept without hashing the name.
        var lastForwardable: (origin: String, verdict: Bool)?
        func mayForward(_ origin: String) -> Bool {
            guard let sharing else { return true }
            if let last = lastForwardable, last.origin == origin { return last.verdict }
            let verdict = forwardable[origin] ?? sharing.mayForward(origin: origin, from: peer, to: nodeID)
            forwardable[origin] = verdict
            lastForwardable = (origin, verdict)
            return verdict
        }
        var singleCreates = 0
        // The fast path's rows (journal, lone creates), written many per statement: flushed
        // before anything else touches the journal or record tables.
        var batch = AppendBatch()
        // Whether every position this bundle gives a record belongs to a record the sender itself
        // created here: then the sender's scope cannot have changed (see the end).
        var senderCreatesOnly = true
        let scopeAtHead = try sharing.map { try scopeEvaluatedToHead(peer, policy: $0.fingerprint) } ?? false
        // The origin whose run is being placed, with its highest contiguous sequence: kept apart
        // from `known` (and folded back when another origin comes) so a run of one origin's
        // entries is placed without hashing its name per entry.
        var current: (origin: String, seq: UInt64)?
        func place(_ origin: String, _ seq: UInt64, leafHash: [UInt8]?) throws -> Placement {
            if current?.origin != origin {
                if let current { known[current.origin] = current.seq }
                current = (origin, try known[origin] ?? knowledge(of: origin))
            }
            let k = current!.seq
            if seq <= k {
                if leafHash != nil { try batch.flush(self) }
                guard let leafHash,
                    let row = try Row.fetchOne(
                        db.cachedStatement(sql: "SELECT bytes IS NULL, leaf_hash FROM journal WHERE origin = ? AND seq = ?"),
                        arguments: [origin, Int64(seq)]),
                    row[0] as Bool
                else {
                    report.duplicates += 1
                    return .duplicate
                }
                return (row[1] as Data).elementsEqual(leafHash) ? .backfill : .mismatch
            }
            if origin == nodeID { return .ownOrigin }
            if seq > k + 1 {
                report.gaps += 1
                return .gap
            }
            current!.seq = seq
            return .next
        }
        func keepHashOnly(_ entry: JournalEntry, _ leafHash: [UInt8], reason: String) throws {
            try batch.flush(self)
            try db.cachedStatement(
                sql: "INSERT INTO journal(origin, seq, leaf_hash) VALUES (?, ?, ?)"
            ).execute(arguments: [entry.origin, Int64(entry.seq), Data(leafHash)])
            try refuse(entry.dot, recordID: entry.recordID, reason: reason)
            report.refused.append("\(entry.dot): \(reason)")
        }
        for (index, d) in decoded.enumerated() {
            switch d as NodeStore.DecodedItem {
            case .withheld(let origin, let seq, let hash):
                if !mayForward(origin) {
                    report.refused.append("\(origin):\(seq): '\(peer)' may not relay positions of '\(origin)'")
                    continue
                }
                guard try place(origin, seq, leafHash: nil) == .next else { continue }
                try batch.flush(self)
                try db.cachedStatement(
                    sql: "INSERT INTO journal(origin, seq, leaf_hash) VALUES (?, ?, ?)"
                ).execute(arguments: [origin, Int64(seq), Data(hash)])
                report.withheld += 1
            case .purge(let id):
                // Only the parent, through which every record reaches this node, may say one left
                // its scope; a child cannot make its parent (or anyone) drop a sibling's record.
                if let sharing, sharing.topology.node(id: nodeID)?.parent != peer {
                    report.refused.append("purge of \(id): '\(peer)' is not this node's parent")
                    continue
                }
                let reason = "'\(peer)' says this record left this node's scope"
                senderCreatesOnly = false
                try batch.flush(self)
                if try purge(id, peer: peer, reason: reason) { report.purged += 1 }
            case .entry(let d):
                // The entry's parts are read through `d` where used, not copied out one by one.
                let entry = d.entry
                if !mayForward(entry.origin) {
                    let reason = "'\(peer)' may not relay entries written by '\(entry.origin)' (changes flow along the node tree)"
                    try refuse(entry.dot, recordID: entry.recordID, reason: reason)
                    report.refused.append("\(entry.dot): \(reason)")
                    continue
                }
                let placement = try place(entry.origin, entry.seq, leafHash: d.leafHash)
                let pos: Int64
                switch placement {
                case .duplicate, .gap:
                    continue
                case .mismatch:
                    let reason = "back-fill of \(entry.dot) does not match the leaf hash held for it"
                    try refuse(entry.dot, recordID: entry.recordID, reason: reason)
                    report.refused.append("\(entry.dot): \(reason)")
                    continue
                case .ownOrigin:
                    let reason = "an entry claiming to be this node's own change \(entry.dot) came from '\(peer)'"
                    try refuse(entry.dot, recordID: entry.recordID, reason: reason)
                    report.refused.append("\(entry.dot): \(reason)")
                    continue
                case .next:
                    let isLocalOnly = RecordKind(rawValue: entry.kind)?.isLocalOnly == true
                    if let reason = isLocalOnly ? "local-only record sent by a peer" : refusedRecords[entry.recordID] {
                        // Keep the position contiguous with its hash; never store the content.
                        try keepHashOnly(entry, d.leafHash, reason: reason)
                        continue
                    }
                    pos = try batch.appendJournal(self, entry: entry, blob: d.bytes, leafHash: d.leafHash)
                case .backfill:
                    senderCreatesOnly = false
                    try batch.flush(self)
                    if let reason = refusedRecords[entry.recordID] {
                        try refuse(entry.dot, recordID: entry.recordID, reason: reason)
                        report.refused.append("\(entry.dot): \(reason)")
                        continue
                    }
                    try db.cachedStatement(
                        sql: "UPDATE journal SET bytes = ?, record_id = ?, kind = ?, hlc = ? WHERE origin = ? AND seq = ?"
                    ).execute(arguments: [
                        Data(d.bytes), Data(entry.recordID.bytes), entry.kind, Int64(bitPattern: entry.hlc.rawValue), entry.origin,
                        Int64(entry.seq),
                    ])
                    pos = try Int64.fetchOne(
                        db, sql: "SELECT pos FROM journal WHERE origin = ? AND seq = ?",
                        arguments: [entry.origin, Int64(entry.seq)]) ?? 0
                    report.backfilled += 1
                }
                if !store.observe(entry.hlc) {
                    try flagClockSkew(origin: entry.origin, hlc: entry.hlc)
                    if !report.clockSkewOrigins.contains(entry.origin) { report.clockSkewOrigins.append(entry.origin) }
                }
                if let prepared = d.create, try sharing != nil ? absent[index] : isAbsent(entry.recordID, newest: newest) {
                    if let refusal = prepared.refusal {
                        try refuse(entry.dot, recordID: entry.recordID, reason: refusal.description)
                        report.refused.append("\(entry.dot): \(refusal)")
                        continue
                    }
                    batch.saveSingleCreate(entry, prepared, basePosition: pos)
                    // The record's origin as `reconcileScope` reads it (the row column).
                    if prepared.columns.origin != peer { senderCreatesOnly = false }
                    singleCreates += 1
                    report.applied += 1
                    continue
                }
                senderCreatesOnly = false
                try batch.flush(self)
                var isNew = false
                var state: RecordState
                if let cached = states[entry.recordID] {
                    state = cached
                } else if let stored = try load(entry.recordID) {
                    state = stored
                } else {
                    state = RecordState(id: entry.recordID, kind: entry.kind)
                    isNew = true
                }
                if let refusal = state.apply(try d.whole()) {
                    try refuse(entry.dot, recordID: entry.recordID, reason: refusal.description)
                    report.refused.append("\(entry.dot): \(refusal)")
                    continue
                }
                states[entry.recordID] = state
                if isNew { basePositions[entry.recordID] = pos } else { basePositions[entry.recordID] = nil }
                report.applied += 1
            }
        }
        try batch.flush(self)
        if let current { known[current.origin] = current.seq }
        for (origin, seq) in known { try setKnowledge(origin: origin, seq: seq) }
        for state in states.values { try save(state, basePosition: basePositions[state.id]) }
        report.recordsChanged = states.count + singleCreates
        // The sender's own new records are never in its scope here (``reconcileScope`` skips
        // records a peer created), so positions that hold only those need no evaluation for it:
        // a province catching up a ward's backlog would otherwise read every new journal row
        // again, on the writer, for the ward's next bundle or pull. Positions without a record
        // (withheld, refused) are never evaluated either.
        if scopeAtHead, senderCreatesOnly {
            try db.cachedStatement(sql: "UPDATE peer_scope_state SET pos = (SELECT coalesce(max(pos), 0) FROM journal) WHERE peer = ?")
                .execute(arguments: [peer])
        }
        if let peerKnowledge { try recordPeerKnowledge(peer, peerKnowledge) }
        report.knowledgeAfter = try NodeStore.knowledge(db: db)
        return report
    }

    /// The greatest record id stored (nil: no records), read once per bundle for ``isAbsent(_:newest:)``.
    func newestRecordID() throws -> RecordID? {
        guard let blob = try Data.fetchOne(db.cachedStatement(sql: "SELECT max(id) FROM record")) else { return nil }
        // A row that is not a 16-byte id would not sort like one: then every create is looked up.
        return RecordID(bytes: Array(blob)) ?? RecordID(bytes: [UInt8](repeating: 0xFF, count: 16))!
    }

    /// Whether no record `id` is stored. Ids are time-ordered (UUIDv7) and sort as SQLite sorts
    /// the blobs, so a create newer than every stored record (a single ward's backlog reaching
    /// the province, mostly) is known to be new without a lookup; the others are looked up.
    func isAbsent(_ id: RecordID, newest: RecordID?) throws -> Bool {
        guard let newest, id <= newest else { return true }
        return try !exists(id)
    }

    /// Whether `peer`'s scope was evaluated, under this policy, up to the last journal position.
    func scopeEvaluatedToHead(_ peer: String, policy fingerprint: String) throws -> Bool {
        try Bool.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT 1 FROM peer_scope_state WHERE peer = ? AND policy = ?
                        AND pos = (SELECT coalesce(max(pos), 0) FROM journal)
                    """),
            arguments: [peer, fingerprint]) ?? false
    }

    /// Whether every prepared create in `decoded` is its record's only change there (what
    /// ``NodeStore/decode(_:limits:)`` guarantees and the writer's fast path relies on).
    static func preparedCreatesAreLone(_ decoded: [NodeStore.DecodedItem]) -> Bool {
        var changes: [RecordID: Int] = [:]
        for case .entry(let d) in decoded { changes[d.entry.recordID, default: 0] += 1 }
        return decoded.allSatisfy {
            guard case .entry(let d) = $0, d.create != nil else { return true }
            return changes[d.entry.recordID] == 1
        }
    }

    /// The receiver's re-check (design.md §5): for every record with entries in the bundle, the
    /// state it would have after them must be one this node's own policy lets it hold. Judged
    /// per record, not per entry, so a record that moved into scope is judged by where it is now,
    /// not by the history being back-filled. Returns the refused records with the reason, and marks
    /// in `absent` the lone creates of records not held here (`newest`: ``newestRecordID()``).
    func admission(
        _ decoded: [NodeStore.DecodedItem], sharing: ActivePolicy, newest: RecordID?, absent: inout [Bool]
    ) throws -> [RecordID: String] {
        var refused: [RecordID: String] = [:]
        var verdicts = VerdictMemo()
        let me = nodeID
        func judge(_ id: RecordID, _ facts: RecordFacts) {
            if !verdicts.verdict(facts, { sharing.mayHold($0, node: me) }) {
                refused[id] =
                    "sharing policy v\(sharing.version) does not let '\(nodeID)' hold this \(facts.kind); the sender should have withheld it"
            }
        }
        // The common case, a new record's only change, is judged from the entry alone.
        var others: [RecordID: [JournalEntry]] = [:]
        absent = Array(repeating: false, count: decoded.count)
        for (index, item) in decoded.enumerated() {
            guard case .entry(let d) = item else { continue }
            let id = d.entry.recordID
            if let prepared = d.create, try isAbsent(id, newest: newest) {
                absent[index] = true
                judge(id, prepared.facts)
            } else {
                others[id, default: []].append(try d.whole())
            }
        }
        for (id, list) in others {
            guard let stored = try load(id) ?? (list.contains { $0.op == .create } ? RecordState(id: id, kind: list[0].kind) : nil)
            else {
                // Changes to a record this node does not hold, without its create: never a
                // headless copy built from part of a history.
                refused[id] = "changes to a \(list[0].kind) this node does not hold arrived without its create"
                continue
            }
            var state = stored
            for e in list { _ = state.apply(e) }
            judge(id, RecordFacts(state: state))
        }
        return refused
    }
}

extension StoreTransaction {
    func refuse(_ dot: Dot, recordID: RecordID, reason: String) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO refusal(origin, seq, record_id, reason, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [dot.origin, Int64(dot.seq), Data(recordID.bytes), reason, store.now()])
    }

    func flagClockSkew(origin: String, hlc: HLC) throws {
        let ahead = Int64(hlc.milliseconds) - store.now()
        try db.execute(
            sql: """
                INSERT INTO clock_skew(origin, max_ahead_ms, at) VALUES (?, ?, ?)
                ON CONFLICT(origin) DO UPDATE SET max_ahead_ms = max(max_ahead_ms, excluded.max_ahead_ms), at = excluded.at
                """, arguments: [origin, ahead, store.now()])
    }

    public func recordPeerKnowledge(_ peer: String, _ knowledge: VersionVector) throws {
        var w = BinaryWriter()
        w.vector(knowledge)
        try db.execute(
            sql: """
                INSERT INTO peer(id, knowledge) VALUES (?, ?)
                ON CONFLICT(id) DO UPDATE SET knowledge = excluded.knowledge
                """, arguments: [peer, Data(w.bytes)])
    }
}
