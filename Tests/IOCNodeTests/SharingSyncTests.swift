import Foundation
import GRDB
import IOCModel
import IOCNode
import IOCSharing
import IOCStore
import IOCSync
import IOCTesting
import Testing

/// Sharing over signed bundles, in process: back-fill when a record enters a node's scope, purge
/// when it leaves, policy changes without a resync, and the receiver's re-check.
@Suite(.serialized) struct SharingSyncTests {
    struct Federation {
        let root: String
        let fed: TestFederation
        let stores: [String: NodeStore]
        subscript(_ node: String) -> NodeStore { stores[node]! }

        init(_ label: String, limits: Limits = .default) throws {
            root = try SyncTest.tempDirectory(label)
            let nodes = ["province", "hai-chau", "thanh-khe", "health"]
            fed = try TestFederation(root: root, nodes: nodes)
            var s: [String: NodeStore] = [:]
            for n in nodes { s[n] = try SyncTest.store(root + "/" + n, node: n, limits: limits) }
            stores = s
        }

        /// Province ↔ every child, both ways, until nothing moves (bounded).
        func syncAll() async throws {
            for _ in 0..<3 {
                for child in ["hai-chau", "thanh-khe", "health"] {
                    try await fed.transfer(from: self[child], to: self["province"])
                }
                for child in ["hai-chau", "thanh-khe", "health"] {
                    try await fed.transfer(from: self["province"], to: self[child])
                }
            }
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: root) }

        /// Installs the sample rules as `version`, without the rule that grants sector OCs their
        /// categories when `sectorGrant` is false (an administrator revoking it, then restoring it).
        func installSampleRules(version: UInt64, sectorGrant: Bool) throws {
            var policy = try SharingPolicy(topology: TopologyFixtures.small())
            policy.version = version
            if !sectorGrant { policy.rules.removeAll { $0.to == [.mode(.sector)] } }
            fed.sharing.install(ActivePolicy(policy: policy, topology: TopologyFixtures.small()))
        }
    }

    static let admin = Actor(userID: "u-admin", role: .admin, unit: nil)

    static func report(_ store: NodeStore, unit: String, category: String, assigned: String? = nil, title: String)
        async throws -> RecordState
    {
        var fields: [String: JSONValue] = [
            "channel": "hotline-1022", "category": .string(category), "title": .string(title), "unit": .string(unit),
        ]
        if let assigned { fields["assignedUnit"] = .string(assigned) }
        let valid = try RecordKind.fieldReport.schema.validateCreate(fields, now: store.now())
        return try await store.create(kind: .fieldReport, fields: valid, actor: admin, unit: unit)
    }

    /// `count` food-safety reports of Hải Châu (shared with the health sector OC by the sample rules).
    static func foodReports(_ store: NodeStore, count: Int) async throws -> [RecordID] {
        var ids: [RecordID] = []
        for i in 0..<count {
            ids.append(try await report(store, unit: "20194", category: "food-safety", title: "Ngộ độc thực phẩm \(i)").id)
        }
        return ids
    }

    static func patch(_ store: NodeStore, _ id: RecordID, _ changes: [String: JSONValue]) async throws {
        _ = try await store.patch(id: id, kind: .fieldReport, actor: admin) { _ in changes }
    }

    static func journal(_ store: NodeStore, origin: String) throws -> [(seq: Int64, bytes: Data?, hash: Data)] {
        try store.readSync { db in
            try Row.fetchAll(db, sql: "SELECT seq, bytes, leaf_hash FROM journal WHERE origin = ? ORDER BY seq", arguments: [origin])
                .map { ($0[0], $0[1], $0[2]) }
        }
    }

    @Test func recordMovingBetweenUnitsIsBackfilledThereAndPurgedHere() async throws {
        let f = try Federation("sharing-move")
        defer { f.cleanup() }
        let r = try await Self.report(
            f["province"], unit: "48", category: "flooding", assigned: "20194", title: "Ngập sâu đường Lê Duẩn")
        try await Self.patch(f["province"], r.id, ["description": "Nước ngập 40 cm, xe máy chết máy hàng loạt."])
        try await f.syncAll()
        #expect(try f["hai-chau"].state(r.id) != nil)
        #expect(try f["thanh-khe"].state(r.id) == nil)
        #expect(try f["health"].state(r.id) == nil)
        // Thanh Khê holds the province's positions as hashes only, and its knowledge is complete.
        #expect(try Self.journal(f["thanh-khe"], origin: "province").allSatisfy { $0.bytes == nil })
        #expect(try f["thanh-khe"].knowledge() == f["province"].knowledge())

        // Reassigned to Thanh Khê and re-categorised as food safety.
        try await Self.patch(f["province"], r.id, ["assignedUnit": "20200", "category": "food-safety"])
        try await f.syncAll()

        let source = try #require(try f["province"].state(r.id))
        for node in ["thanh-khe", "health"] {
            let copy = try #require(try f[node].state(r.id), "\(node) should hold the record now")
            #expect(copy.digest == source.digest, "\(node) has the full history")
            // Every back-filled entry is byte-identical to the origin's and matches the hash held.
            let theirs = try Self.journal(f[node], origin: "province")
            let mine = try Self.journal(f["province"], origin: "province")
            #expect(theirs.map(\.hash) == mine.map(\.hash))
            for (t, m) in zip(theirs, mine) where t.bytes != nil { #expect(t.bytes == m.bytes) }
            #expect(theirs.compactMap(\.bytes).count == 3)
        }
        // Hải Châu lost it: content gone, hashes kept, a receipt says who asked and why.
        #expect(try f["hai-chau"].state(r.id) == nil)
        #expect(try Self.journal(f["hai-chau"], origin: "province").allSatisfy { $0.bytes == nil })
        let receipt = try #require(try f["hai-chau"].purgeReceipts().first)
        #expect(receipt.recordID == r.id && receipt.peer == "province" && receipt.entries == 2)
        #expect(try f["hai-chau"].knowledge() == f["province"].knowledge())
    }

    /// A peer's own new records are never in its scope at the receiver, so a bundle of nothing
    /// else moves the receiver's evaluation of that peer's scope past them without reading them
    /// (a province catching up a ward's backlog). A bundle with anything else (here: the ward
    /// reassigning a province record away from itself) leaves them to the evaluation, which then
    /// tells the ward to purge that record.
    @Test func aPeersOwnNewRecordsAreSkippedInItsScopeButItsEditsAreNot() async throws {
        let f = try Federation("sharing-fast-forward")
        defer { f.cleanup() }
        let r = try await Self.report(
            f["province"], unit: "48", category: "flooding", assigned: "20194", title: "Cây đổ chắn đường Trần Phú")
        try await f.syncAll()
        #expect(try f["hai-chau"].state(r.id) != nil)
        func evaluated() throws -> (pos: Int64, head: Int64) {
            try f["province"].readSync { db in
                (
                    try Int64.fetchOne(db, sql: "SELECT pos FROM peer_scope_state WHERE peer = 'hai-chau'") ?? -1,
                    try Int64.fetchOne(db, sql: "SELECT max(pos) FROM journal") ?? 0
                )
            }
        }
        let start = try evaluated()
        #expect(start.pos == start.head)

        for i in 0..<2 { _ = try await Self.report(f["hai-chau"], unit: "20194", category: "traffic", title: "Đèn tín hiệu hỏng \(i)") }
        try await f.fed.transfer(from: f["hai-chau"], to: f["province"])
        let created = try evaluated()
        #expect(created.head == start.head + 2)
        #expect(created.pos == created.head, "only the ward's own creates: nothing to evaluate for it")

        try await Self.patch(f["hai-chau"], r.id, ["assignedUnit": "20200"])
        try await f.fed.transfer(from: f["hai-chau"], to: f["province"])
        let edited = try evaluated()
        #expect(edited.pos == created.head, "an edit of another node's record is evaluated for the ward")
        try await f.fed.transfer(from: f["province"], to: f["hai-chau"])
        #expect(try f["hai-chau"].state(r.id) == nil, "the ward was not told to purge the record it reassigned away")
    }

    /// The first bundles between two new nodes carry no entries at all: applied, with the
    /// receiver's evaluation of the sender's scope still at position 0 of its empty journal.
    @Test func bundlesWithoutEntriesIntoEmptyJournalsAreApplied() async throws {
        let f = try Federation("sharing-empty")
        defer { f.cleanup() }
        let up = try await f.fed.transfer(from: f["hai-chau"], to: f["province"])
        let down = try await f.fed.transfer(from: f["province"], to: f["hai-chau"])
        #expect(!up.isEmpty && !down.isEmpty)
        #expect((up + down).allSatisfy { $0.outcome == "applied" }, "\((up + down).map { $0.reason ?? $0.outcome })")
    }

    /// A node building its outbox ahead asks for full bundles only. When the next bundle would not
    /// be full, no bundle is sealed and the back-fills drained into it go back to their queue, so
    /// they still go; the scope evaluation that queued them is kept (not redone at every look).
    @Test func aBundleThatWouldNotBeFullLeavesTheScopeQueuesInPlace() async throws {
        let f = try Federation("sharing-full-only")
        defer { f.cleanup() }
        let food = try await Self.foodReports(f["hai-chau"], count: 3)
        // Health loses the sector grant, then gets it back: the province, which relays the reports,
        // queues their creates (held by health as hashes) for back-fill at its next bundle.
        try f.installSampleRules(version: 2, sectorGrant: false)
        try await f.syncAll()
        #expect(try f["health"].counts()["fieldReport", default: 0] == 0)
        try f.installSampleRules(version: 3, sectorGrant: true)

        let outbox = Outbox(store: f["province"], signer: try f.fed.signer("province"), sharing: f.fed.sharing)
        func sealed() throws -> Int {
            try f["province"].readSync { try Int.fetchOne($0, sql: "SELECT count(*) FROM channel_out WHERE peer = 'health'") ?? 0 }
        }
        let before = try sealed()
        #expect(try outbox.next(to: "health", after: .max, fullOnly: true) == nil)
        #expect(try sealed() == before, "no bundle is sealed when it would not be full")
        let evaluated = try f["province"].readSync { db in
            try String.fetchOne(db, sql: "SELECT policy FROM peer_scope_state WHERE peer = 'health'")
        }
        #expect(evaluated == f.fed.sharing.current?.fingerprint, "the scope evaluation under version 3 was not kept")

        try await f.syncAll()
        #expect(try f["health"].counts()["fieldReport", default: 0] == 3, "the back-fills were lost with the bundle not built")
        for id in food { #expect(try f["health"].state(id)?.digest == f["hai-chau"].state(id)?.digest) }
    }

    /// The change that moves a record into a node's scope can reach the relay long after the
    /// record's create reached that node as a hash: the record then joins the scope only when the
    /// node holds every entry of it, and its whole history is back-filled in one bundle (never a
    /// create judged alone and refused, then a headless update).
    @Test func recordMovingInBehindALongBacklogArrivesWhole() async throws {
        var tiny = Limits()
        tiny.bundleEntriesMax = 2
        let f = try Federation("sharing-split", limits: tiny)
        defer { f.cleanup() }
        let r = try await Self.report(f["hai-chau"], unit: "20194", category: "flooding", title: "Nước tràn vào bếp ăn trường học")
        for i in 0..<3 { _ = try await Self.report(f["hai-chau"], unit: "20194", category: "traffic", title: "Đèn tín hiệu hỏng \(i)") }
        try await f.syncAll()
        #expect(try f["health"].state(r.id) == nil)
        for i in 0..<3 { _ = try await Self.report(f["hai-chau"], unit: "20194", category: "traffic", title: "Ổ gà \(i)") }
        try await Self.patch(f["hai-chau"], r.id, ["category": "food-safety"])
        try await f.syncAll()
        let copy = try #require(try f["health"].state(r.id), "the record never reached health")
        #expect(copy.digest == (try f["hai-chau"].state(r.id))?.digest)
        let refusals = try f["health"].readSync { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM refusal") }
        #expect(refusals == 0)
    }

    @Test func revokingAGrantPurgesAndGrantingItBackBackfills() async throws {
        let f = try Federation("sharing-revoke")
        defer { f.cleanup() }
        let food = try await Self.foodReports(f["hai-chau"], count: 3)
        _ = try await Self.report(f["hai-chau"], unit: "20194", category: "flooding", title: "Ngập cục bộ")
        try await f.syncAll()
        #expect(try f["health"].counts()["fieldReport"] == 3)

        // The administrator removes the sector rule (version 2): purged at the next sync.
        try f.installSampleRules(version: 2, sectorGrant: false)
        try await f.syncAll()
        #expect(try f["health"].counts()["fieldReport", default: 0] == 0)
        #expect(try Set(f["health"].purgeReceipts().map(\.recordID)) == Set(food))
        // The province, which relays them, keeps them all.
        for id in food { #expect(try f["province"].state(id) != nil) }

        // Granted back (version 3): every record returns with its history, no resync.
        try f.installSampleRules(version: 3, sectorGrant: true)
        let before = try Self.journal(f["health"], origin: "hai-chau").count
        try await f.syncAll()
        #expect(try f["health"].counts()["fieldReport"] == 3)
        for id in food { #expect(try f["health"].state(id)?.digest == f["hai-chau"].state(id)?.digest) }
        #expect(try Self.journal(f["health"], origin: "hai-chau").count == before)  // filled in place
    }

    @Test func receiverRefusesWhatItsPolicyForbids() async throws {
        let f = try Federation("sharing-forged")
        defer { f.cleanup() }
        let secret = try await Self.report(f["hai-chau"], unit: "20194", category: "security", title: "Tin báo an ninh")
        try await f.fed.transfer(from: f["hai-chau"], to: f["province"])
        // A province that ignores the rules (same version, grants everything to everyone).
        var open = try SharingPolicy(topology: TopologyFixtures.small())
        open.rules = [SharingRule(kinds: [.fieldReport], to: [.mode(.district), .mode(.sector)])]
        let rogue = SharingGate(ActivePolicy(policy: open, topology: TopologyFixtures.small()))
        var envelopes: [[UInt8]] = []
        try BundleExchange(store: f["province"], signer: try f.fed.signer("province"), sharing: rogue).export(to: "thanh-khe") {
            envelopes.append($0)
        }
        let receiver = try f.fed.receiver(f["thanh-khe"])
        for e in envelopes { _ = try await receiver.receive(e, transportPeer: nil) }
        #expect(try f["thanh-khe"].state(secret.id) == nil)
        #expect(try Self.journal(f["thanh-khe"], origin: "hai-chau").allSatisfy { $0.bytes == nil })
        let reasons = try f["thanh-khe"].readSync { db in try String.fetchAll(db, sql: "SELECT reason FROM refusal") }
        #expect(reasons.count == 1)
        #expect(reasons.first?.contains("does not let 'thanh-khe' hold this fieldReport") == true)
        // A bundle filtered under a newer policy than the receiver's is refused whole, then accepted once it catches up.
        var newer = try SharingPolicy(topology: TopologyFixtures.small())
        newer.version = 9
        let ahead = SharingGate(ActivePolicy(policy: newer, topology: TopologyFixtures.small()))
        _ = try await Self.report(f["hai-chau"], unit: "20194", category: "flooding", title: "Cây đổ")
        var later: [[UInt8]] = []
        try BundleExchange(store: f["hai-chau"], signer: try f.fed.signer("hai-chau"), sharing: ahead).export(to: "province") {
            later.append($0)
        }
        let strict = try f.fed.receiver(f["province"])
        let refused = try await strict.receive(try #require(later.last), transportPeer: nil)
        #expect(refused.outcome == "refused" && refused.reason?.contains("newer than this node's v1") == true)
        f.fed.sharing.install(ActivePolicy(policy: newer, topology: TopologyFixtures.small()))
        let accepted = try await strict.receive(try #require(later.last), transportPeer: nil)
        #expect(accepted.outcome == "applied", "\(accepted.reason ?? "")")
    }

    @Test func aChildCannotSpeakForAnotherNode() async throws {
        let f = try Federation("sharing-origin")
        defer { f.cleanup() }
        // Thanh Khê's genuine entries, replayed by Hải Châu as if it relayed them.
        _ = try await Self.report(f["thanh-khe"], unit: "20200", category: "flooding", title: "Ngập đường Điện Biên Phủ")
        let items = try f["thanh-khe"].delta(beyond: VersionVector()).items
        let policy = try #require(f.fed.sharing.current)
        let report = try f["province"].apply(items, from: "hai-chau", sharing: policy)
        #expect(report.applied == 0)
        #expect(report.refused.allSatisfy { $0.contains("may not relay") } && report.refused.count == items.count)
        #expect(try f["province"].knowledge()["thanh-khe"] == 0)
        // And nobody but this node writes this node's journal.
        _ = try await Self.report(f["province"], unit: "48", category: "flooding", title: "Sạt lở")
        var own = try f["province"].delta(beyond: VersionVector()).items
        let head = try f["province"].knowledge()["province"]
        var forged = try JournalEntry(decoding: try #require({ if case .entry(let b) = own[0] { b } else { nil } }()))
        forged.seq = head + 1
        own = [.entry(forged.encoded())]
        let echo = try f["province"].apply(own, from: "hai-chau", sharing: nil)
        #expect(echo.applied == 0 && echo.refused.first?.contains("this node's own change") == true)
        #expect(try f["province"].knowledge()["province"] == head)
    }
}
