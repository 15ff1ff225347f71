import AsyncHTTPClient
import Foundation
import GRDB
import IOCModel
import IOCNode
import IOCStore
import Testing

/// A ward OC whose province is down builds its outbox ahead: full signed bundles only, no partial
/// one at every retry, and when the province starts it receives exactly those bundles (same
/// sequence, same hash) followed by the rest.
@Suite(.serialized) struct OfflineOutboxTests {
    static let full = Limits.default.bundleEntriesMax

    /// Sequence, hash, entry count and envelope size of every bundle the ward sealed for the province.
    static func sealed(_ root: String) throws -> [(seq: Int64, hash: Data, entries: Int, bytes: Int)] {
        try readOnly(root + "/hai-chau/node.sqlite").read { db in
            try Row.fetchAll(db, sql: "SELECT seq, hash, entries, bytes FROM channel_out WHERE peer = 'province' ORDER BY seq")
                .map { ($0[0], $0[1], $0[2], $0[3]) }
        }
    }

    /// Whether `run` is what building up to `cap` bytes seals: at least two full bundles, the
    /// last of which took the total to the cap (sizes vary with the entries, so no fixed count).
    static func stopsAtCap(_ run: some Collection<(seq: Int64, hash: Data, entries: Int, bytes: Int)>, cap: Int) -> Bool {
        let sizes = run.map(\.bytes)
        return sizes.count >= 2 && run.allSatisfy { $0.entries == full } && sizes.reduce(0, +) >= cap
            && sizes.dropLast().reduce(0, +) < cap
    }

    /// `count` ~1.2 KB field reports of Hải Châu written straight into its store.
    static func author(_ root: String, count: Int, seed: UInt64) throws {
        let store = try NodeStore(.init(path: root + "/hai-chau/node.sqlite", nodeID: "hai-chau", federation: "test-fed"))
        var rng = SeededRandom(seed: seed)
        let now = store.now()
        try store.writeSync { tx in
            for i in 0..<count {
                let body = BenchmarkData.fieldReport(i, rng: &rng, unit: "20194", now: now)
                let fields = try RecordKind.fieldReport.schema.validateCreate(body, now: now)
                _ = try tx.create(kind: .fieldReport, fields: fields, actor: .system, unit: "20194")
            }
        }
    }

    static func readOnly(_ path: String) throws -> DatabaseQueue {
        var c = Configuration()
        c.readonly = true
        return try DatabaseQueue(path: path, configuration: c)
    }

    @Test func offlineWardSealsFullBundlesAheadAndTheProvinceReceivesThem() async throws {
        let root = try ProcessSupport.tempDirectory("offline-outbox")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try LocalFederation(root: root, nodes: ["province", "hai-chau"])
        defer { fed.stopAll() }
        let client = try fed.httpClient()
        do {
            // Two full bundles' worth and a little more, authored before the ward first starts.
            let backlog = 2 * Self.full + 100
            try FileManager.default.createDirectory(atPath: root + "/hai-chau", withIntermediateDirectories: true)
            try Self.author(root, count: backlog, seed: 7)
            try fed.start("hai-chau")
            let ward = try fed.token("hai-chau")
            let ahead = try await fed.waitFor(seconds: 60) {
                let s = try Self.sealed(root)
                return s.reduce(0) { $0 + $1.entries } >= 2 * Self.full ? s : nil
            }
            let built = try #require(ahead, "the offline ward built no bundles ahead")
            #expect(built.map(\.seq) == [1, 2])
            #expect(built.allSatisfy { $0.entries == Self.full }, "bundles built ahead must be full: \(built.map(\.entries))")

            // More writes while still offline: the 100 + 3 left over make no partial bundle, however
            // many retries pass (the backoff retries at 1, 2 and 4 s).
            for i in 0..<3 {
                let body: JSONValue = [
                    "channel": "hotline-1022", "category": "flooding", "title": .string("Ngập cục bộ đường Trần Phú, điểm \(i)"),
                    "unit": "20194",
                ]
                let (status, _) = try await fed.request(client, "hai-chau", .POST, "/api/v1/field-reports", token: ward, body: body)
                #expect(status == 201)
            }
            try await Task.sleep(for: .seconds(4))
            let still = try Self.sealed(root)
            #expect(still.map(\.seq) == [1, 2], "a partial bundle was sealed while offline: \(still.map(\.entries))")

            // A bundle's worth more (written by another process, as a second API instance would):
            // building resumes, and the leftover plus the new writes fill bundle 3.
            try Self.author(root, count: Self.full, seed: 8)
            let resumed = try await fed.waitFor(seconds: 30) {
                let s = try Self.sealed(root)
                return s.count == 3 ? s : nil
            }
            #expect(resumed?.last?.entries == Self.full, "building ahead did not resume after more writes")

            // The province starts: it holds the whole backlog, and its first two bundles from the
            // ward are the ones built ahead, byte for byte (same hash on the channel).
            try fed.start("province")
            let province = try fed.token("province")
            let total = Int64(backlog + 3 + Self.full)
            let caughtUp = try await fed.waitFor(seconds: 60) {
                let (_, s) = try await fed.request(client, "province", .GET, "/api/v1/sync/status", token: province)
                return (s["knowledge"]?["hai-chau"]?.int64Value ?? 0) >= total ? true : nil
            }
            #expect(caughtUp == true, "the province never caught up with the ward's backlog")
            let (received, records) = try await Self.readOnly(root + "/province/node.sqlite").read { db in
                (
                    try Row.fetchAll(db, sql: "SELECT seq, hash FROM channel_in WHERE peer = 'hai-chau' ORDER BY seq LIMIT 2")
                        .map { (seq: $0[0] as Int64, hash: $0[1] as Data) },
                    try Int64.fetchOne(db, sql: "SELECT count(*) FROM record WHERE origin = 'hai-chau'") ?? 0
                )
            }
            #expect(received.map(\.seq) == [1, 2])
            #expect(received.map(\.hash) == built.map(\.hash), "the province got other bundles than those built ahead")
            #expect(records == total)
        } catch {
            Issue.record("\(error)")
        }
        try await client.shutdown()
    }

    /// With the outbox at its cap, a ward whose acknowledgements come back by file (the province
    /// unreachable over the network, a USB stick both ways) builds ahead again, without waiting
    /// for a round that cannot happen.
    @Test func aCappedOutboxBuildsAgainOnceTheParentAcknowledgesByFile() async throws {
        let root = try ProcessSupport.tempDirectory("offline-cap")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try LocalFederation(root: root, nodes: ["province", "hai-chau"])
        defer { fed.stopAll() }
        // Full bundles are ~0.5 MB: a 1 MiB cap stops after two or three, well before the backlog's end.
        let cap = 1 << 20
        try FileManager.default.createDirectory(atPath: root + "/hai-chau", withIntermediateDirectories: true)
        try Self.author(root, count: 6 * Self.full, seed: 11)
        try fed.start("hai-chau", options: ["--offline-outbox-mib", "1"])
        let capped = try await fed.waitFor(seconds: 60) { Self.stopsAtCap(try Self.sealed(root), cap: cap) ? true : nil }
        let first = try Self.sealed(root)
        #expect(capped == true, "the ward did not build up to its cap: \(first.map(\.bytes))")
        // Past the re-check interval, nothing acknowledged: nothing more.
        try await Task.sleep(for: .seconds(6))
        #expect(try Self.sealed(root).count == first.count, "building went past the cap")

        // By file: everything the ward has goes to the province, whose bundle back acknowledges it.
        try FileManager.default.createDirectory(atPath: root + "/province", withIntermediateDirectories: true)
        _ = try NodeStore(.init(path: root + "/province/node.sqlite", nodeID: "province", federation: "test-fed"))
        try fed.carryByFile(from: "hai-chau", to: "province")
        try fed.carryByFile(from: "province", to: "hai-chau")
        let exported = try Self.sealed(root).count
        let unacknowledged = try await Self.readOnly(root + "/hai-chau/node.sqlite").read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM channel_out WHERE peer = 'province' AND acked = 0") ?? -1
        }
        #expect(unacknowledged == 0, "the province's file did not acknowledge the ward's bundles")

        // New writes: the running ward seals them ahead again, up to the cap.
        try Self.author(root, count: 6 * Self.full, seed: 12)
        let resumed = try await fed.waitFor(seconds: 30) {
            Self.stopsAtCap(try Self.sealed(root).dropFirst(exported), cap: cap) ? true : nil
        }
        let after = try Self.sealed(root).dropFirst(exported).map { "\($0.entries) entries, \($0.bytes) B" }
        #expect(resumed == true, "building ahead did not resume: \(after)")
    }

    /// A cap out of range is refused before anything is loaded, with the range in the message.
    @Test func anOutOfRangeCapIsRefused() throws {
        for bad in ["-1", "65537"] {
            let r = try ProcessSupport.run([
                "serve", "--topology", "/nonexistent.yaml", "--node", "hai-chau", "--data", "/nonexistent", "--offline-outbox-mib=\(bad)",
            ])
            #expect(r.status != 0 && r.output.contains("--offline-outbox-mib must be 0–65536"), "\(bad): \(r.output)")
        }
    }
}
