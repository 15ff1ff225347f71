import Crypto
import Foundation
import GRDB
import IOCAudit
import IOCModel
import IOCSharing
import IOCSync

/// A bundle's place on its channel (from → to): its gapless sequence, the SHA-256 of its signed
/// payload bytes, and the hash of the bundle before it.
public struct ChannelPosition: Sendable, Hashable {
    public var peer: String
    public var seq: UInt64
    public var hash: [UInt8]
    public var prevHash: [UInt8]

    public init(peer: String, seq: UInt64, hash: [UInt8], prevHash: [UInt8]) {
        self.peer = peer
        self.seq = seq
        self.hash = hash
        self.prevHash = prevHash
    }
}

/// What happened to a verified bundle at the receiver (design.md §7 receiver order, steps 8–13).
public enum ReceiveOutcome: Sendable, Hashable {
    /// Applied, with the channel's high-water mark advanced in the same transaction.
    case applied(ApplyReport)
    /// Already applied (same sequence, same hash): nothing changed.
    case replay
    /// Ahead of a missing bundle: kept, applied when the gap fills.
    case held(waitingFor: UInt64)
    /// Same sequence with different bytes, or a broken prev-hash chain: refused, evidence kept.
    case fork(String)
}

/// An outgoing bundle kept until the peer acknowledges it.
public struct OutboundBundle: Sendable {
    public var peer: String
    public var seq: UInt64
    public var hash: [UInt8]
    public var envelope: [UInt8]
    public var entries: Int

    public init(peer: String, seq: UInt64, hash: [UInt8], envelope: [UInt8], entries: Int) {
        self.peer = peer
        self.seq = seq
        self.hash = hash
        self.envelope = envelope
        self.entries = entries
    }
}

/// What a new outgoing bundle must say; the caller builds, signs and returns its envelope.
public struct OutboundDraft: Sendable {
    public var peer: String
    public var seq: UInt64
    public var prevHash: [UInt8]
    /// Highest gapless sequence accepted from the peer (acknowledges its bundles).
    public var ack: UInt64
    public var knowledge: VersionVector
    public var delta: Delta
}

extension NodeStore {
    public static let zeroHash = [UInt8](repeating: 0, count: 32)

    // MARK: Receiving

    /// Highest gapless sequence accepted on `peer` → this node, and that bundle's hash.
    public func inboundHighWater(_ peer: String) throws -> (seq: UInt64, hash: [UInt8]) {
        try readSync { try Self.inboundHighWater(db: $0, peer: peer) }
    }

    static func inboundHighWater(db: Database, peer: String) throws -> (seq: UInt64, hash: [UInt8]) {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT seq, hash FROM channel_in WHERE peer = ? ORDER BY seq DESC LIMIT 1", arguments: [peer])
        else { return (0, zeroHash) }
        return (UInt64(row[0] as Int64), Array(row[1] as Data))
    }

    /// Checks a verified bundle's channel position and, when it is the next one, applies its
    /// entries, records the position and the peer's acknowledgement of our own bundles — all in
    /// one transaction, so a crash leaves the state before or after, and the high-water mark
    /// never runs ahead of what was applied.
    ///
    /// Runs on the database's writer queue, not on the caller's thread: a large bundle never holds
    /// a thread of the cooperative pool that serves the API.
    public func receive(
        _ position: ChannelPosition, ack: UInt64, items: [DecodedItem], peerKnowledge: VersionVector,
        envelope: [UInt8], sharing: ActivePolicy? = nil
    ) async throws -> ReceiveOutcome {
        try await write { tx in
            try tx.receive(position, ack: ack, items: items, peerKnowledge: peerKnowledge, envelope: envelope, sharing: sharing)
        }
    }

    /// The held bundle that would fill the next position from `peer`, if one is waiting.
    public func nextHeld(_ peer: String) throws -> [UInt8]? {
        try readSync { db in
            let (last, _) = try Self.inboundHighWater(db: db, peer: peer)
            return try Data.fetchOne(
                db, sql: "SELECT envelope FROM channel_held WHERE peer = ? AND seq = ?", arguments: [peer, Int64(last + 1)]
            ).map { Array($0) }
        }
    }

    /// Logs a bundle refused before anything was applied (bad signature, wrong addressee…).
    public func logBundleRefusal(peer: String?, seq: UInt64?, hash: [UInt8]?, reason: String) throws {
        try writeSync { try $0.logBundleRefusal(peer: peer, seq: seq, hash: hash, reason: reason, evidence: nil) }
    }

    /// Refused bundles, newest first.
    public func bundleRefusals(limit: Int = 100) throws -> [(peer: String?, seq: UInt64?, reason: String, hasEvidence: Bool)] {
        try readSync { db in
            try Row.fetchAll(
                db, sql: "SELECT peer, seq, reason, evidence IS NOT NULL FROM bundle_refusal ORDER BY id DESC LIMIT ?",
                arguments: [limit]
            ).map { row in ((row[0] as String?), (row[1] as Int64?).map(UInt64.init), row[2] as String, row[3] as Bool) }
        }
    }

    // MARK: Sending

    /// The first bundle to `peer` not acknowledged, past `after`.
    public func firstUnacknowledged(_ peer: String, after: UInt64) throws -> OutboundBundle? {
        try readSync { db in
            try Row.fetchOne(
                db,
                sql: "SELECT seq, hash, envelope, entries FROM channel_out WHERE peer = ? AND acked = 0 AND seq > ? ORDER BY seq LIMIT 1",
                arguments: [peer, Int64(clamping: after)]
            ).map { row in
                OutboundBundle(
                    peer: peer, seq: UInt64(row[0] as Int64), hash: Array(row[1] as Data), envelope: Array(row[2] as Data),
                    entries: row[3])
            }
        }
    }

    /// Records that `peer` accepted our bundles up to `seq` (from its receipt or its own bundles)
    /// and, with `knowledge`, what its receipt says it now holds, in one transaction.
    public func acknowledge(peer: String, upTo seq: UInt64, knowledge: VersionVector? = nil) throws {
        try writeSync { tx in
            try tx.acknowledge(peer: peer, upTo: seq)
            if let knowledge { try tx.recordPeerKnowledge(peer, knowledge) }
        }
    }

    /// Creates the next bundle for `peer` — beyond what it holds or has in flight — unless there
    /// is nothing new to tell it (no entries, same knowledge) and `force` is false. Sequence
    /// allocation, the delta and the outbox row commit together.
    ///
    /// With `sharing`, the peer's scope is brought up to date first: queued back-fills and purge
    /// notices lead the bundle, and entries of records outside the scope travel as hashes only.
    /// With `contentOnly`, a delta of hashes alone (the whole of it) makes no bundle either: it
    /// waits for the next round that is not in a hurry (see ``SyncService``).
    /// With `fullOnly`, only a bundle filled to its limits is made: what is pending past the last
    /// full bundle waits, and nothing changes (an offline node building its outbox ahead of the
    /// link's return would otherwise seal a small bundle at every retry).
    public func nextOutbound(
        to peer: String, force: Bool, contentOnly: Bool = false, fullOnly: Bool = false, sharing: ActivePolicy? = nil,
        seal: (OutboundDraft) throws -> (envelope: [UInt8], hash: [UInt8])
    ) throws -> OutboundBundle? {
        try writeSync { tx in
            let db = tx.db
            let last = try Row.fetchOne(
                db, sql: "SELECT seq, hash, reached, knowledge, acked FROM channel_out WHERE peer = ? ORDER BY seq DESC LIMIT 1",
                arguments: [peer])
            var beyond = try Self.peerKnowledge(db: db, peer: peer)
            if let last, (last[4] as Int64) == 0 { beyond = beyond.merged(with: try Self.vector(last[2])) }
            let mine = try Self.knowledge(db: db)
            let ack = try Self.inboundHighWater(db: db, peer: peer).seq
            // The scope evaluation commits whatever follows: a bundle that would not be full is
            // rolled back to here (its drained queues restored), and the evaluation is not redone.
            if let sharing { try tx.reconcileScope(peer: peer, sharing: sharing, beyond: beyond) }
            var made: OutboundBundle?
            try db.inSavepoint {
                made = try tx.sealNext(
                    to: peer, last: last, beyond: beyond, mine: mine, ack: ack, force: force, contentOnly: contentOnly,
                    fullOnly: fullOnly, sharing: sharing, seal: seal)
                return made == nil && fullOnly ? .rollback : .commit
            }
            return made
        }
    }
}

extension StoreTransaction {
    /// The body of ``NodeStore/nextOutbound(to:force:contentOnly:fullOnly:sharing:seal:)`` after
    /// the scope evaluation: queues drained, delta read, bundle sealed and recorded (nil: none).
    func sealNext(
        to peer: String, last: Row?, beyond: VersionVector, mine: VersionVector, ack: UInt64, force: Bool, contentOnly: Bool,
        fullOnly: Bool, sharing: ActivePolicy?, seal: (OutboundDraft) throws -> (envelope: [UInt8], hash: [UInt8])
    ) throws -> OutboundBundle? {
        let limits = store.limits
        var lead: [BundleItem] = []
        var deltaLimits = limits
        var visible: ((EntryHeader) -> Bool)?
        if sharing != nil {
            let (items, bytes) = try drainScopeQueues(peer: peer, limits: limits)
            lead = items
            deltaLimits.bundleEntriesMax -= items.count
            deltaLimits.bundlePayloadBytesMax -= bytes
            // In scope: tracked in peer_scope, or created by the peer (see reconcileScope).
            let inScope = RawStatement(
                try db.cachedStatement(
                    sql: """
                        SELECT 1 WHERE EXISTS (SELECT 1 FROM peer_scope WHERE peer = ?1 AND record_id = ?2)
                            OR EXISTS (SELECT 1 FROM record WHERE id = ?2 AND origin = ?1)
                        """))
            var memo: [RecordID: Bool] = [:]
            visible = { header in
                if let known = memo[header.recordID] { return known }
                let found = (try? inScope.run(.text(peer), .id(header.recordID))) ?? false
                memo[header.recordID] = found
                return found
            }
        }
        var delta = try NodeStore.delta(db: db, beyond: beyond, visible: visible, limits: deltaLimits)
        delta.items = lead + delta.items
        // A new acknowledgement alone is no reason for a bundle: over HTTP it travels in the
        // receipt and the pull request, and two peers would otherwise ping-pong empty bundles.
        // Nor is knowledge the peer already exceeds (a province catching up a ward's backlog
        // would otherwise answer each of the ward's bundles with one of its own).
        if !force, delta.items.isEmpty, let last {
            if try NodeStore.vector(last[3]) == mine || beyond.dominatesOrEquals(mine) { return nil }
        }
        if !force, contentOnly, delta.complete, !delta.items.contains(where: \.isContent) { return nil }
        if fullOnly, delta.complete { return nil }
        let seq = UInt64((last?[0] as Int64?) ?? 0) + 1
        let prev = (last?[1] as Data?).map(Array.init) ?? NodeStore.zeroHash
        let draft = OutboundDraft(peer: peer, seq: seq, prevHash: prev, ack: ack, knowledge: mine, delta: delta)
        let (envelope, hash) = try seal(draft)
        try db.execute(
            sql: """
                INSERT INTO channel_out(peer, seq, hash, envelope, bytes, entries, reached, knowledge, ack, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                peer, Int64(seq), Data(hash), Data(envelope), envelope.count, delta.items.count,
                NodeStore.blob(delta.reached), NodeStore.blob(mine), Int64(ack), store.now(),
            ])
        try audit(
            .bundleSent, peer: peer, seq: seq, hash: hash, entries: delta.items.count, knowledge: mine,
            policyVersion: sharing?.version ?? 0)
        return OutboundBundle(peer: peer, seq: seq, hash: hash, envelope: envelope, entries: delta.items.count)
    }
}

extension NodeStore {
    /// What is waiting for `peer`: entries beyond its knowledge and bytes of unacknowledged bundles.
    public func pending(for peer: String) throws -> (entriesBehind: UInt64, bytesPending: Int) {
        try readSync { db in
            let mine = try Self.knowledge(db: db)
            let theirs = try Self.peerKnowledge(db: db, peer: peer)
            var behind: UInt64 = 0
            for origin in mine.origins where origin != peer && mine[origin] > theirs[origin] {
                behind += mine[origin] - theirs[origin]
            }
            let bytes = try Int.fetchOne(
                db, sql: "SELECT coalesce(sum(bytes), 0) FROM channel_out WHERE peer = ? AND acked = 0", arguments: [peer]) ?? 0
            return (behind, bytes)
        }
    }

    static func peerKnowledge(db: Database, peer: String) throws -> VersionVector {
        guard let data = try Data.fetchOne(db, sql: "SELECT knowledge FROM peer WHERE id = ?", arguments: [peer]) else {
            return VersionVector()
        }
        return try vector(data)
    }

    static func vector(_ data: Data?) throws -> VersionVector {
        guard let data else { return VersionVector() }
        var r = BinaryReader(Array(data))
        return try r.vector()
    }

    static func blob(_ v: VersionVector) -> Data {
        var w = BinaryWriter()
        w.vector(v)
        return Data(w.bytes)
    }

    // MARK: Trust documents

    /// The newest stored trust document of `kind` ("registry", "denylist").
    public func trustDocument(_ kind: String) throws -> (version: UInt64, bytes: [UInt8])? {
        try readSync { db in
            try Row.fetchOne(db, sql: "SELECT version, bytes FROM trust_doc WHERE kind = ?", arguments: [kind]).map {
                (UInt64($0[0] as Int64), Array($0[1] as Data))
            }
        }
    }

    /// Stores a (verified) trust document if it is newer than the stored one; true when stored.
    @discardableResult
    public func storeTrustDocument(_ kind: String, version: UInt64, bytes: [UInt8]) throws -> Bool {
        try writeSync { tx in
            let current = try Int64.fetchOne(tx.db, sql: "SELECT version FROM trust_doc WHERE kind = ?", arguments: [kind])
            guard current.map({ UInt64($0) < version }) ?? true else { return false }
            try tx.db.execute(
                sql: "INSERT OR REPLACE INTO trust_doc(kind, version, bytes) VALUES (?, ?, ?)",
                arguments: [kind, Int64(version), Data(bytes)])
            if kind == "denylist" { try tx.audit(.revocationApplied, reason: "denylist version \(version) installed") }
            return true
        }
    }
}

extension StoreTransaction {
    func logBundleRefusal(peer: String?, seq: UInt64?, hash: [UInt8]?, reason: String, evidence: [UInt8]?) throws {
        var evidence = evidence
        if evidence != nil {
            let kept = try Int.fetchOne(
                db, sql: "SELECT count(*) FROM bundle_refusal WHERE peer IS ? AND evidence IS NOT NULL", arguments: [peer]) ?? 0
            if kept >= store.limits.forkEvidencePerPeerMax { evidence = nil }
        }
        try db.execute(
            sql: "INSERT INTO bundle_refusal(peer, seq, hash, reason, evidence, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [peer, seq.map(Int64.init), hash.map { Data($0) }, reason, evidence.map { Data($0) }, store.now()])
        try audit(.bundleRefused, peer: peer, seq: seq.flatMap { $0 > 0 ? $0 : nil }, hash: hash, reason: reason)
    }

    func acknowledge(peer: String, upTo seq: UInt64) throws {
        guard seq > 0 else { return }
        try db.execute(
            sql: "UPDATE channel_out SET acked = 1, envelope = NULL WHERE peer = ? AND seq <= ? AND acked = 0",
            arguments: [peer, Int64(seq)])
    }
}

extension StoreTransaction {
    /// The body of ``NodeStore/receive(_:ack:items:peerKnowledge:envelope:sharing:)``, in one transaction.
    func receive(
        _ position: ChannelPosition, ack: UInt64, items: [NodeStore.DecodedItem], peerKnowledge: VersionVector,
        envelope: [UInt8], sharing: ActivePolicy?
    ) throws -> ReceiveOutcome {
        let db = self.db
        let peer = position.peer
        let (last, lastHash) = try NodeStore.inboundHighWater(db: db, peer: peer)
        if position.seq <= last {
            let seen = try Data.fetchOne(
                db, sql: "SELECT hash FROM channel_in WHERE peer = ? AND seq = ?", arguments: [peer, Int64(position.seq)])
            if let seen, Array(seen) == position.hash { return .replay }
            let reason = "fork: bundle \(position.seq) from '\(peer)' differs from the one already applied"
            try logBundleRefusal(peer: peer, seq: position.seq, hash: position.hash, reason: reason, evidence: envelope)
            return .fork(reason)
        }
        if position.seq > last + 1 {
            let held = try Data.fetchOne(
                db, sql: "SELECT hash FROM channel_held WHERE peer = ? AND seq = ?", arguments: [peer, Int64(position.seq)])
            if let held, Array(held) != position.hash {
                let reason = "fork: held bundle \(position.seq) from '\(peer)' arrived again with different bytes"
                try logBundleRefusal(peer: peer, seq: position.seq, hash: position.hash, reason: reason, evidence: envelope)
                return .fork(reason)
            }
            let heldCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM channel_held WHERE peer = ?", arguments: [peer]) ?? 0
            if held == nil && heldCount >= store.limits.heldBundlesPerPeerMax {
                let reason = "refused: \(heldCount) bundles from '\(peer)' already wait for bundle \(last + 1)"
                try logBundleRefusal(peer: peer, seq: position.seq, hash: position.hash, reason: reason, evidence: nil)
                return .fork(reason)
            }
            try db.execute(
                sql: "INSERT OR IGNORE INTO channel_held(peer, seq, hash, envelope, at) VALUES (?, ?, ?, ?, ?)",
                arguments: [peer, Int64(position.seq), Data(position.hash), Data(envelope), store.now()])
            if held == nil {
                try audit(
                    .bundleHeld, peer: peer, seq: position.seq, hash: position.hash, entries: items.count,
                    reason: "waiting for bundle \(last + 1)")
            }
            return .held(waitingFor: last + 1)
        }
        guard position.prevHash == lastHash else {
            let reason = "fork: bundle \(position.seq) from '\(peer)' does not chain to bundle \(last) (prev hash mismatch)"
            try logBundleRefusal(peer: peer, seq: position.seq, hash: position.hash, reason: reason, evidence: envelope)
            return .fork(reason)
        }
        let report = try applyItems(items, from: peer, peerKnowledge: peerKnowledge, sharing: sharing)
        try db.execute(
            sql: "INSERT INTO channel_in(peer, seq, hash, entries, at) VALUES (?, ?, ?, ?, ?)",
            arguments: [peer, Int64(position.seq), Data(position.hash), items.count, store.now()])
        try db.execute(sql: "DELETE FROM channel_held WHERE peer = ? AND seq = ?", arguments: [peer, Int64(position.seq)])
        try acknowledge(peer: peer, upTo: ack)
        try audit(
            .bundleApplied, peer: peer, seq: position.seq, hash: position.hash, entries: items.count,
            knowledge: report.knowledgeAfter, reason: report.refused.isEmpty ? nil : "\(report.refused.count) entries refused",
            policyVersion: sharing?.version)
        return .applied(report)
    }
}
