import Crypto
import Foundation
import GRDB
import IOCAudit
import IOCModel
import IOCSync

/// The node's audit log (design.md §6): every sync event appended, in the transaction of the
/// change it records, as a canonical-JSON ``AuditEvent``; RFC 6962 hashing over the entries;
/// checkpoints signed by the node; cosignatures exchanged with peers. Entries hold identifiers and
/// hashes, never record content or personal data.
extension StoreTransaction {
    /// Appends one event to the audit log.
    func audit(
        _ type: AuditEventType, peer: String? = nil, seq: UInt64? = nil, hash: [UInt8]? = nil, entries: Int? = nil,
        knowledge: VersionVector? = nil, reason: String? = nil, record: RecordID? = nil, policyVersion: UInt64? = nil,
        checkpoint: Checkpoint? = nil
    ) throws {
        let event = AuditEvent(
            type: type, at: store.now(), node: nodeID, peer: peer, seq: seq.map(Int64.init),
            hash: hash.map { $0.map { String(format: "%02x", $0) }.joined() }, entries: entries.map(Int64.init),
            knowledge: knowledge.map { k in Dictionary(uniqueKeysWithValues: k.origins.map { ($0, Int64(k[$0])) }) },
            reason: reason.map { String($0.prefix(2000)) }, record: record?.description,
            policyVersion: policyVersion.map(Int64.init), checkpoint: checkpoint.map(AuditEvent.CheckpointRef.init))
        let bytes = try event.encoded()
        try db.cachedStatement(
            sql: "INSERT INTO audit_log(idx, entry, leaf) VALUES ((SELECT coalesce(max(idx) + 1, 0) FROM audit_log), ?, ?)"
        ).execute(arguments: [Data(bytes), Data(Merkle.leafHash(bytes))])
    }
}

/// A checkpoint of this node's audit log, as signed.
public struct AuditCheckpoint: Sendable, Hashable {
    public var size: Int
    public var note: String
}

extension NodeStore {
    /// Audit log entries `[from, to)` (all by default), in order.
    public func auditEntries(from: Int = 0, to: Int? = nil) throws -> [[UInt8]] {
        try readSync { db in
            try Data.fetchAll(
                db, sql: "SELECT entry FROM audit_log WHERE idx >= ? AND idx < ? ORDER BY idx",
                arguments: [from, to ?? Int.max]
            ).map(Array.init)
        }
    }

    /// The Merkle tree over the first `size` audit entries (all by default).
    public func auditTree(size: Int? = nil) throws -> MerkleTree {
        try readSync { db in
            MerkleTree(
                leafHashes: try Data.fetchAll(
                    db, sql: "SELECT leaf FROM audit_log WHERE idx < ? ORDER BY idx", arguments: [size ?? Int.max]
                ).map(Array.init))
        }
    }

    /// The log verifier key this node signs its checkpoints with (vkey text), once it has signed.
    public func auditLogKeyText() throws -> String? {
        try readSync { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'audit_log_key'") }
    }

    public func auditSize() throws -> Int {
        try readSync { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") ?? 0 }
    }

    /// The newest signed checkpoint, if any.
    public func latestAuditCheckpoint() throws -> AuditCheckpoint? {
        try readSync { db in
            try Row.fetchOne(db, sql: "SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1").map {
                AuditCheckpoint(size: $0[0], note: $0[1])
            }
        }
    }

    /// Every checkpoint this node signed, oldest first.
    public func auditCheckpoints() throws -> [AuditCheckpoint] {
        try readSync { db in
            try Row.fetchAll(db, sql: "SELECT size, note FROM audit_checkpoint ORDER BY size").map {
                AuditCheckpoint(size: $0[0], note: $0[1])
            }
        }
    }

    /// Signs a checkpoint over the whole log when it holds events beyond the latest checkpoint
    /// (checkpoint and cosignature bookkeeping alone does not count, so a quiet node's log stays
    /// still), logs `checkpoint.signed`, and returns the newest checkpoint. `force` signs whenever
    /// the log grew at all (an export must cover every entry).
    @discardableResult
    public func signAuditCheckpoint(
        origin: String, logKey: String, force: Bool = false, sign: (Checkpoint) throws -> String
    ) throws -> AuditCheckpoint? {
        try writeSync { tx in
            let db = tx.db
            if try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'audit_log_key'") != logKey {
                try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('audit_log_key', ?)", arguments: [logKey])
            }
            let last = try Int.fetchOne(db, sql: "SELECT max(size) FROM audit_checkpoint") ?? 0
            let size = try Int.fetchOne(db, sql: "SELECT count(*) FROM audit_log") ?? 0
            let bookkeeping = [AuditEventType.checkpointSigned, .cosignatureIssued, .cosignatureReceived].map { "\"type\":\"\($0.rawValue)\"" }
            var news = size > last
            if news && !force {
                news = false
                for entry in try String.fetchAll(db, sql: "SELECT CAST(entry AS TEXT) FROM audit_log WHERE idx >= ?", arguments: [last]) {
                    if !bookkeeping.contains(where: entry.contains) { news = true; break }
                }
            }
            if news {
                let leaves = try Data.fetchAll(db, sql: "SELECT leaf FROM audit_log ORDER BY idx").map(Array.init)
                let checkpoint = try Checkpoint(origin: origin, size: size, root: MerkleTree(leafHashes: leaves).root)
                let note = try sign(checkpoint)
                try db.execute(
                    sql: "INSERT OR REPLACE INTO audit_checkpoint(size, note, at) VALUES (?, ?, ?)", arguments: [size, note, now()])
                try tx.audit(.checkpointSigned, checkpoint: checkpoint)
            }
            return try Row.fetchOne(db, sql: "SELECT size, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1").map {
                AuditCheckpoint(size: $0[0], note: $0[1])
            }
        }
    }

    /// The leaf hashes of `origin`'s journal as this node holds it (content or hash only), in
    /// sequence order, up to this node's knowledge of that origin.
    public func journalLeaves(origin: String) throws -> [[UInt8]] {
        try readSync { db in
            let k = try Int64.fetchOne(db, sql: "SELECT seq FROM knowledge WHERE origin = ?", arguments: [origin]) ?? 0
            return try Data.fetchAll(
                db, sql: "SELECT leaf_hash FROM journal WHERE origin = ? AND seq <= ? ORDER BY seq", arguments: [origin, k]
            ).map(Array.init)
        }
    }

    // MARK: Witnessing

    /// The size of this node's log that `peer` last cosigned (0 when never).
    public func cosignedSize(by peer: String) throws -> Int {
        try readSync { db in
            try Int.fetchOne(db, sql: "SELECT max(size) FROM audit_cosignature WHERE peer = ?", arguments: [peer]) ?? 0
        }
    }

    /// Keeps a peer's cosignature over one of our checkpoints and logs it.
    public func storeCosignature(peer: String, checkpoint: Checkpoint, note: String, witnessKey: String) throws {
        try writeSync { tx in
            // The same checkpoint cosigned again (a round with nothing new) is kept once, logged once.
            let known = try Bool.fetchOne(
                tx.db, sql: "SELECT 1 FROM audit_cosignature WHERE peer = ? AND size = ?", arguments: [peer, checkpoint.size]) ?? false
            guard !known else { return }
            try tx.db.execute(
                sql: "INSERT OR REPLACE INTO audit_cosignature(peer, size, note, at) VALUES (?, ?, ?, ?)",
                arguments: [peer, checkpoint.size, note, now()])
            try tx.pinPeerKeys(peer, witnessKey: witnessKey)
            try tx.audit(.cosignatureReceived, peer: peer, checkpoint: checkpoint)
        }
    }

    /// What this node last witnessed of `peer`'s log: size, root and the log key it pinned.
    public func witnessed(_ peer: String) throws -> (size: Int, root: [UInt8], logKey: String?) {
        try readSync { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT size, root, log_key FROM audit_peer WHERE peer = ?", arguments: [peer])
            else { return (0, Merkle.emptyRoot, nil) }
            return (row[0], Array((row[1] as Data?) ?? Data(Merkle.emptyRoot)), row[2])
        }
    }

    /// Records that this node cosigned `peer`'s checkpoint (pinning its keys) and logs it.
    public func recordWitnessed(peer: String, checkpoint: Checkpoint, logKey: String, witnessKey: String) throws {
        try writeSync { tx in
            try tx.db.execute(
                sql: """
                    INSERT INTO audit_peer(peer, size, root, log_key) VALUES (?, ?, ?, ?)
                    ON CONFLICT(peer) DO UPDATE SET size = excluded.size, root = excluded.root, log_key = excluded.log_key
                    """, arguments: [peer, checkpoint.size, Data(checkpoint.root), logKey])
            try tx.pinPeerKeys(peer, witnessKey: witnessKey)
            try tx.audit(.cosignatureIssued, peer: peer, checkpoint: checkpoint)
        }
    }

    /// Cosignatures peers made over our checkpoints: peer → notes.
    public func cosignatures() throws -> [String: [String]] {
        try readSync { db in
            var out: [String: [String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT peer, note FROM audit_cosignature ORDER BY peer, size") {
                out[row[0], default: []].append(row[1])
            }
            return out
        }
    }

    /// Peers' witness keys as pinned here: peer → vkey text.
    public func peerWitnessKeys() throws -> [String: String] {
        try readSync { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT peer, witness_key FROM audit_peer_key") { out[row[0]] = row[1] }
            return out
        }
    }

    /// Appends an event in a transaction of its own (policy applied, revocation installed…).
    public func logAuditEvent(
        _ type: AuditEventType, peer: String? = nil, reason: String? = nil, policyVersion: UInt64? = nil
    ) throws {
        try writeSync { try $0.audit(type, peer: peer, reason: reason, policyVersion: policyVersion) }
    }
}

extension StoreTransaction {
    func pinPeerKeys(_ peer: String, witnessKey: String) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO audit_peer_key(peer, witness_key) VALUES (?, ?)", arguments: [peer, witnessKey])
    }
}
