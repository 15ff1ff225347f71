import Foundation
import GRDB
import IOCModel
import IOCSharing
import IOCSync

/// A record this node purged because it left the node's scope.
public struct PurgeReceipt: Sendable, Hashable {
    public var recordID: RecordID
    public var kind: String?
    /// The peer whose notice caused the purge; nil when this node's own policy did.
    public var peer: String?
    public var reason: String
    /// Journal positions whose content was dropped (their leaf hashes stay).
    public var entries: Int
    public var at: Int64
}

extension NodeStore {
    /// Purges every record this node holds but did not create and may no longer hold under
    /// `sharing` (a grant removed, a unit moved). Returns the number of records purged.
    @discardableResult
    public func enforce(_ sharing: ActivePolicy) throws -> Int {
        try writeSync { tx in
            var purged = 0
            let rows = try Row.fetchAll(
                tx.db, sql: "SELECT \(StoreTransaction.factColumns) FROM record r WHERE r.origin != ?", arguments: [nodeID])
            for row in rows {
                guard let (id, facts) = try tx.facts(row) else { continue }
                if !sharing.mayHold(facts, node: nodeID) {
                    let reason = "sharing policy v\(sharing.version) no longer grants this \(facts.kind) to '\(nodeID)'"
                    if try tx.purge(id, peer: nil, reason: reason) { purged += 1 }
                }
            }
            return purged
        }
    }

    /// Purge receipts, newest first.
    public func purgeReceipts(limit: Int = 1000) throws -> [PurgeReceipt] {
        try readSync { db in
            try Row.fetchAll(
                db, sql: "SELECT record_id, kind, peer, reason, entries, at FROM purge_receipt ORDER BY id DESC LIMIT ?",
                arguments: [limit]
            ).compactMap { row in
                guard let id = RecordID(bytes: Array(row[0] as Data)) else { return nil }
                return PurgeReceipt(recordID: id, kind: row[1], peer: row[2], reason: row[3], entries: row[4], at: row[5])
            }
        }
    }

    /// Entries kept only as hashes or not merged, newest first: `origin:seq` and the reason
    /// (the sharing re-check, a forged origin, an illegal transition from a peer).
    public func entryRefusals(limit: Int = 20) throws -> [(entry: String, reason: String)] {
        try readSync { db in
            try Row.fetchAll(db, sql: "SELECT origin, seq, reason FROM refusal ORDER BY at DESC, rowid DESC LIMIT ?", arguments: [limit])
                .map { ("\($0[0] as String):\($0[1] as Int64)", $0[2]) }
        }
    }
}

extension StoreTransaction {
    /// The record columns sharing facts are read from, in the order ``facts(_:)`` expects.
    static let factColumns = "r.id, r.kind, r.origin, r.unit, r.assigned_unit, r.category"

    /// A stored record's id and sharing facts from a row selecting ``factColumns`` first. Read
    /// from the columns; only alerts (whose area is a list) need their state.
    func facts(_ row: Row) throws -> (RecordID, RecordFacts)? {
        guard let id = RecordID(bytes: Array(row[0] as Data)) else { return nil }
        let kind: String = row[1]
        if kind == RecordKind.alert.rawValue, let state = try load(id) { return (id, RecordFacts(state: state)) }
        return (
            id,
            RecordFacts(kind: kind, origin: row[2], units: [row[3] as String?, row[4] as String?].compactMap { $0 }, category: row[5])
        )
    }

    /// Drops a record's content: the row goes, its journal positions keep only their leaf hashes,
    /// and a receipt says who asked and why. A record this node created is never purged (a peer
    /// cannot delete our own data). Peers are not told: a purge notice is a verdict on the peer's
    /// entitlement, which only a node that still holds the record can give.
    @discardableResult
    func purge(_ id: RecordID, peer: String?, reason: String) throws -> Bool {
        let key = Data(id.bytes)
        guard let row = try Row.fetchOne(db, sql: "SELECT kind, origin FROM record WHERE id = ?", arguments: [key]) else {
            return false
        }
        guard (row[1] as String) != nodeID else { return false }
        try db.execute(
            sql: "UPDATE journal SET bytes = NULL, record_id = NULL, kind = NULL, hlc = NULL WHERE record_id = ?",
            arguments: [key])
        let entries = db.changesCount
        try db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [key])
        try db.execute(
            sql: "INSERT INTO purge_receipt(record_id, kind, peer, reason, entries, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [key, row[0] as String, peer, reason, entries, store.now()])
        try audit(.purge, peer: peer, reason: reason, record: id)
        try forgetInScopes(key)
        return true
    }

    /// Removes a record that is gone from every peer's scope, pending list and back-fill queue.
    func forgetInScopes(_ key: Data) throws {
        for table in ["outbox_backfill", "peer_scope", "peer_scope_pending"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE record_id = ?", arguments: [key])
        }
    }

    /// Brings `peer`'s scope up to date: every record touched since the last evaluation (or every
    /// record, when the policy or topology changed) is checked against `sharing`. A record that
    /// entered the scope gets its entries the peer holds only as hashes queued for back-fill; one
    /// that left it gets a purge notice queued. `beyond` is what the peer holds or has in flight.
    func reconcileScope(peer: String, sharing: ActivePolicy, beyond: VersionVector) throws {
        let last = try Row.fetchOne(db, sql: "SELECT pos, policy FROM peer_scope_state WHERE peer = ?", arguments: [peer])
        let head = try lastJournalPosition()
        let full = last == nil || (last?[1] as String?) != sharing.fingerprint
        let from: Int64 = full ? 0 : (last?[0] as Int64? ?? 0)
        let pending = try Bool.fetchOne(db, sql: "SELECT 1 FROM peer_scope_pending WHERE peer = ? LIMIT 1", arguments: [peer]) ?? false
        guard full || head > from || pending else { return }
        // Records the peer created are always its own to hold (``SharingPolicy/mayHold``), so
        // they are not tracked: a province catching up a ward's backlog does not evaluate that
        // ward's records for the ward. ``StoreTransaction/inScope`` answers for them.
        // One pass over the candidate rows' columns; ids that are no longer records (purged
        // here, or collected tombstones) only leave the peer's scope, with no notice (nobody
        // here can judge them).
        // A record whose only change is its create (`state IS NULL`) carries that entry's
        // origin and sequence, so it needs no further query to join a scope.
        let columns = """
            SELECT \(Self.factColumns), r.state IS NULL, j.origin, j.seq, r.base_pos
            FROM record r LEFT JOIN journal j ON j.pos = r.base_pos
            """
        let scopeEmpty = try !(Bool.fetchOne(db, sql: "SELECT 1 FROM peer_scope WHERE peer = ? LIMIT 1", arguments: [peer]) ?? false)
        let rows: RowCursor
        if full {
            try db.execute(
                sql: "DELETE FROM peer_scope WHERE peer = ? AND record_id NOT IN (SELECT id FROM record)", arguments: [peer])
            rows = try Row.fetchCursor(db, sql: columns + " WHERE r.origin != ?", arguments: [peer])
        } else {
            // Records that are gone left every scope when they went (a purge, a collected
            // tombstone), so only the full evaluation above looks for such ids.
            rows = try Row.fetchCursor(
                db,
                sql: columns + """
                     WHERE r.origin != ? AND (
                        r.id IN (SELECT record_id FROM journal WHERE pos > ? AND record_id IS NOT NULL)
                        OR r.id IN (SELECT record_id FROM peer_scope_pending WHERE peer = ?))
                    """,
                arguments: [peer, from, peer])
        }
        let isIn = RawStatement(try db.cachedStatement(sql: "SELECT 1 FROM peer_scope WHERE peer = ? AND record_id = ?"))
        let join = RawStatement(try db.cachedStatement(sql: "INSERT INTO peer_scope(peer, record_id) VALUES (?, ?)"))
        let unpend = RawStatement(try db.cachedStatement(sql: "DELETE FROM peer_scope_pending WHERE peer = ? AND record_id = ?"))
        let unpurge = RawStatement(try db.cachedStatement(sql: "DELETE FROM outbox_purge WHERE peer = ? AND record_id = ?"))
        let backfill = RawStatement(
            try db.cachedStatement(sql: "INSERT OR IGNORE INTO outbox_backfill(peer, pos, record_id) VALUES (?, ?, ?)"))
        var forwardable: [String: Bool] = [:]
        func mayForward(_ origin: String) -> Bool {
            if let v = forwardable[origin] { return v }
            let v = sharing.mayForward(origin: origin, from: nodeID, to: peer)
            forwardable[origin] = v
            return v
        }
        let held = try db.cachedStatement(sql: "SELECT pos, origin, seq FROM journal WHERE record_id = ? AND bytes IS NOT NULL")
        // Inline ids (16 bytes, no allocation): a first contact with a 1M-record store lists
        // every record here before writing, and this list is the sender's largest allocation.
        var changes: [(id: RecordID, entered: Bool, single: (origin: String, seq: UInt64, pos: Int64)?)] = []
        var verdicts = VerdictMemo()
        while let row = try rows.next() {
            guard let (id, facts) = try facts(row) else { continue }
            let now = verdicts.verdict(facts) { sharing.mayHold($0, node: peer) }
            let was = scopeEmpty ? false : try isIn.run(.text(peer), .id(id))
            guard now != was else { continue }
            var single: (origin: String, seq: UInt64, pos: Int64)?
            if row[6] as Bool, let o = row[7] as String?, let q = row[8] as Int64?, let p = row[9] as Int64? {
                single = (o, UInt64(q), p)
            }
            changes.append((id, now, single))
        }
        for (id, entered, single) in changes {
            let key = Data(id.bytes)
            if entered, let (origin, seq, pos) = single {
                // Its create is its whole history, and in scope: it joins now.
                if pending { try unpend.run(.text(peer), .blob(key)) }
                try join.run(.text(peer), .blob(key))
                if !scopeEmpty { try unpurge.run(.text(peer), .blob(key)) }
                if origin != peer, seq <= beyond[origin], mayForward(origin) {
                    try backfill.run(.text(peer), .int(pos), .blob(key))
                }
            } else if entered {
                // The peer judges a record by the entries of it that one bundle brings. So a record
                // joins the scope at once only when the peer will receive its history in order from
                // a create that is itself in scope; otherwise it waits until the peer holds every
                // entry of it (as hashes) and is then back-filled whole, in one bundle.
                if try !joinsNow(key, peer: peer, sharing: sharing, beyond: beyond) {
                    try db.cachedStatement(sql: "INSERT OR IGNORE INTO peer_scope_pending(peer, record_id) VALUES (?, ?)").execute(arguments: [peer, key])
                    continue
                }
                try unpend.run(.text(peer), .blob(key))
                try join.run(.text(peer), .blob(key))
                try unpurge.run(.text(peer), .blob(key))
                for row in try Row.fetchAll(held, arguments: [key]) {
                    let origin: String = row[1]
                    // Only what the peer would take from this node: a parent already holds (and
                    // would refuse from us) what reached us through it.
                    guard origin != peer, UInt64(row[2] as Int64) <= beyond[origin], mayForward(origin) else { continue }
                    try backfill.run(.text(peer), .int(row[0] as Int64), .blob(key))
                }
            } else {
                try unpend.run(.text(peer), .blob(key))
                try db.cachedStatement(sql: "DELETE FROM peer_scope WHERE peer = ? AND record_id = ?").execute(arguments: [peer, key])
                try db.cachedStatement(sql: "DELETE FROM outbox_backfill WHERE peer = ? AND record_id = ?").execute(arguments: [peer, key])
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO outbox_purge(peer, record_id) VALUES (?, ?)").execute(arguments: [peer, key])
            }
        }
        try db.execute(
            sql: """
                INSERT INTO peer_scope_state(peer, pos, policy) VALUES (?, ?, ?)
                ON CONFLICT(peer) DO UPDATE SET pos = excluded.pos, policy = excluded.policy
                """, arguments: [peer, head, sharing.fingerprint])
    }

    /// Whether a record entering `peer`'s scope can join it now (see ``reconcileScope``).
    func joinsNow(_ key: Data, peer: String, sharing: ActivePolicy, beyond: VersionVector) throws -> Bool {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT origin, seq, bytes FROM journal WHERE record_id = ? AND origin != ? ORDER BY pos"),
            arguments: [key, peer])
        let ahead = rows.filter { UInt64($0[1] as Int64) > beyond[$0[0] as String] }
        if ahead.isEmpty { return true }  // the peer holds every entry: back-filled whole
        guard ahead.count == rows.count, let first = rows.first?[2] as Data?,
            let create = try? JournalEntry(decoding: Array(first)), create.op == .create
        else { return false }  // part is at the peer as hashes: wait, then back-fill whole
        return sharing.mayHold(RecordFacts(create: create), node: peer)
    }

    /// Takes queued back-fills (oldest position first) and purge notices for `peer`, within the
    /// bundle limits; what is taken is deleted here, in the transaction that records the bundle.
    func drainScopeQueues(peer: String, limits: Limits) throws -> (items: [BundleItem], bytes: Int) {
        var items: [BundleItem] = []
        var bytes = 0
        // Whole records only: the peer judges a record by what one bundle brings of it.
        let backfills = try Row.fetchAll(
            db,
            sql: """
                SELECT b.pos, j.bytes, b.record_id FROM outbox_backfill b JOIN journal j ON j.pos = b.pos
                WHERE b.peer = ? ORDER BY b.record_id, b.pos LIMIT ?
                """, arguments: [peer, limits.bundleEntriesMax + 1])
        var groups: [[Row]] = []
        for row in backfills {
            if let last = groups.last?.last, (last[2] as Data) == (row[2] as Data) {
                groups[groups.count - 1].append(row)
            } else {
                groups.append([row])
            }
        }
        // The last group may be cut by the LIMIT: leave it for the next bundle, unless it is alone.
        if backfills.count > limits.bundleEntriesMax, groups.count > 1 { groups.removeLast() }
        for whole in groups {
            // A record with more changes than a bundle holds is the one case that is split.
            let group = Array(whole.prefix(limits.bundleEntriesMax))
            let contents = group.compactMap { $0[1] as Data? }.map { BundleItem.entry(Array($0)) }
            let size = contents.reduce(0) { $0 + $1.byteCount }
            if !items.isEmpty && (items.count + contents.count > limits.bundleEntriesMax || bytes + size > limits.bundlePayloadBytesMax) {
                break
            }
            items += contents
            bytes += size
            for row in group {
                // Rows whose content was purged here since they were queued are dropped too.
                try db.cachedStatement(sql: "DELETE FROM outbox_backfill WHERE peer = ? AND pos = ?").execute(arguments: [peer, row[0] as Int64])
            }
        }
        let room = limits.bundleEntriesMax - items.count
        if room > 0 {
            for key in try Data.fetchAll(
                db, sql: "SELECT record_id FROM outbox_purge WHERE peer = ? LIMIT ?", arguments: [peer, room])
            {
                guard let id = RecordID(bytes: Array(key)) else { continue }
                items.append(.purge(recordID: id))
                bytes += 17
                try db.cachedStatement(sql: "DELETE FROM outbox_purge WHERE peer = ? AND record_id = ?").execute(arguments: [peer, key])
            }
        }
        return (items, bytes)
    }
}

/// Verdicts by facts within one evaluation: a backlog's records mostly share their kind, unit
/// and category, and a verdict walks the rules and the unit tree.
struct VerdictMemo {
    private var known: [RecordFacts: Bool] = [:]

    mutating func verdict(_ facts: RecordFacts, _ judge: (RecordFacts) -> Bool) -> Bool {
        if let v = known[facts] { return v }
        let v = judge(facts)
        if known.count < 4096 { known[facts] = v }
        return v
    }
}
