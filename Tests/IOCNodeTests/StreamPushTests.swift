import Foundation
import IOCModel
import IOCNode
import IOCStore
import IOCTesting
import NIOCore
import Testing

/// The streamed push (`POST /sync/v1/bundles` with `application/vnd.ioc.envelope-stream`) on a
/// real node over mutual TLS: a run of bundles is applied in order with a receipt each; a run
/// that breaks (a refused bundle, a gap) stops there and writes nothing after it; malformed
/// framing and too many bundles are refused.
@Suite(.serialized) struct StreamPushTests {
    static let streamType = "application/vnd.ioc.envelope-stream"

    /// hai-chau's bundles for the province, cut small so a few reports make several bundles.
    static func bundles(root: String, fed: TestFederation, reports: Int = 6) async throws -> [[UInt8]] {
        var limits = Limits()
        limits.bundleEntriesMax = 2
        let store = try SyncTest.store(root + "/source", node: "hai-chau", limits: limits)
        try await SampleData.seed(store: store, unit: "20194", reports: reports)
        var out: [[UInt8]] = []
        try BundleExchange(store: store, signer: try fed.signer("hai-chau"), sharing: fed.sharing).export(to: "province") {
            out.append($0)
        }
        return out
    }

    static func post(_ fed: TestFederation, port: Int, _ body: [UInt8]) async throws -> (status: Int, receipts: [Receipt], text: String) {
        let client = try SyncTest.client(try fed.credentials("hai-chau"), federation: fed, timeout: .seconds(20))
        let (status, answer) = try await SyncTest.withTimeout(30, "streamed push") {
            try await client.session(node: "province", host: "127.0.0.1", port: port) {
                try await $0.request(.POST, "/sync/v1/bundles", body: body, contentType: Self.streamType)
            }
        }
        var receipts: [Receipt] = []
        if case .object(let o) = try? JSONValue.parse(answer), case .array(let list)? = o["receipts"] {
            receipts = try list.map(Receipt.init(json:))
        }
        return (status, receipts, String(decoding: answer, as: UTF8.self))
    }

    @Test func aRunIsAppliedInOrderWithAReceiptEach() async throws {
        let root = try SyncTest.tempDirectory("stream")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
        let bundles = Array(try await Self.bundles(root: root, fed: fed).prefix(Limits.default.bundlesPerRequestMax))
        try #require(bundles.count >= 4, "expected several bundles, got \(bundles.count)")
        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let answer = try await Self.post(fed, port: server.syncPort, BundleFrames.encode(bundles))
            #expect(answer.status == 200, "\(answer.text)")
            #expect(answer.receipts.map(\.outcome) == Array(repeating: "applied", count: bundles.count))
            #expect(answer.receipts.map(\.seq) == (1...UInt64(bundles.count)).map { $0 })
            #expect(answer.receipts.last?.highWater == UInt64(bundles.count))
            #expect(try server.store.inboundHighWater("hai-chau").seq == UInt64(bundles.count))
            // The same run again changes nothing: every bundle is a replay.
            let before = try SyncTest.counts(server.store)
            let again = try await Self.post(fed, port: server.syncPort, BundleFrames.encode(bundles))
            #expect(again.receipts.map(\.outcome) == Array(repeating: "replay", count: bundles.count))
            #expect(try SyncTest.counts(server.store) == before)
        }
    }

    @Test func aRunStopsAtTheFirstBundleNotApplied() async throws {
        let root = try SyncTest.tempDirectory("stream-stop")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
        let bundles = try await Self.bundles(root: root, fed: fed)
        try #require(bundles.count >= 4)
        var altered = bundles[1]
        altered[altered.count / 2] ^= 0x01
        let forged = altered
        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            // Bundle 2 is altered: bundle 1 is applied, 2 refused, and 3… never written.
            let answer = try await Self.post(fed, port: server.syncPort, BundleFrames.encode([bundles[0], forged] + bundles[2...]))
            #expect(answer.status == 422, "\(answer.text)")
            #expect(answer.receipts.map(\.outcome) == ["applied", "refused"])
            #expect(try server.store.inboundHighWater("hai-chau").seq == 1)
            #expect(try SyncTest.counts(server.store).channelHeld == 0)
            #expect(try SyncTest.counts(server.store).refusals == 1)

            // A gap: bundle 3 without 2 is held, and the run stops there.
            let gap = try await Self.post(fed, port: server.syncPort, BundleFrames.encode(Array(bundles[2...])))
            #expect(gap.receipts.map(\.outcome) == ["held"], "\(gap.text)")
            #expect(try SyncTest.counts(server.store).channelHeld == 1)

            // The genuine bundle 2 fills the gap and releases what was held.
            let filled = try await Self.post(fed, port: server.syncPort, BundleFrames.encode([bundles[1]]))
            #expect(filled.receipts.first?.outcome == "applied")
            #expect(filled.receipts.first?.highWater == 3)
        }
    }

    @Test func badFramingAndTooManyBundlesAreRefused() async throws {
        let root = try SyncTest.tempDirectory("stream-bad")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
        let bundles = try await Self.bundles(root: root, fed: fed, reports: 2)
        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let start = try SyncTest.counts(server.store)
            // A frame announcing more than the wire limit: refused before its bytes are awaited.
            let huge = try await Self.post(fed, port: server.syncPort, [0x7F, 0xFF, 0xFF, 0xFF, 0x00])
            #expect(huge.status == 413, "\(huge.text)")
            #expect(huge.text.contains("exceeds"))
            // A body that ends inside a frame.
            let cut = Array(BundleFrames.encode([bundles[0]]).dropLast(10))
            let truncated = try await Self.post(fed, port: server.syncPort, cut)
            #expect(truncated.status == 400, "\(truncated.text)")
            #expect(truncated.text.contains("truncated_stream"))
            // Garbage in a well-formed frame: a refused bundle, logged.
            let garbage = try await Self.post(fed, port: server.syncPort, BundleFrames.encode([Array("not an envelope".utf8)]))
            #expect(garbage.receipts.map(\.outcome) == ["refused"], "\(garbage.text)")
            let after = try SyncTest.counts(server.store)
            #expect(after.journal == start.journal)
            #expect(after.records == start.records)
            #expect(after.refusals == start.refusals + 1)
            // More bundles than one request may carry: those within the bound are handled (the
            // first applied, its copies replays), the rest refused.
            let many = Array(repeating: bundles[0], count: Limits.default.bundlesPerRequestMax + 1)
            let tooMany = try await Self.post(fed, port: server.syncPort, BundleFrames.encode(many))
            #expect(tooMany.status == 413, "\(tooMany.text)")
            #expect(tooMany.text.contains("too_many_bundles"))
            #expect(try server.store.inboundHighWater("hai-chau").seq == 1)
        }
    }
}

/// A streamed push is sized to the link: large on loopback, about 4 s of traffic on a slow link,
/// never less than one bundle.
@Suite struct RunBudgetTests {
    @Test func growsOnAFastLinkAndShrinksOnASlowOne() {
        var budget = RunBudget(maxBundles: 8)
        #expect(budget.bytes == 1 << 20)
        budget.observe(bytes: 1 << 20, took: .milliseconds(50))  // loopback: capped at 16 MiB
        #expect(budget.bytes == 16 << 20)
        budget.observe(bytes: 1 << 20, took: .seconds(4))  // ~2 Mbit/s: about 1 MiB per request
        #expect(budget.bytes == 1 << 20)
        budget.observe(bytes: 100, took: .seconds(30))  // a stalled link: the floor, 64 KiB
        #expect(budget.bytes == 64 << 10)
    }

    @Test func aRunTakesAtLeastOneBundleAndAtMostTheBudget() {
        var budget = RunBudget(maxBundles: 3)
        budget.observe(bytes: 256 << 10, took: .seconds(4))  // 256 KiB per request
        #expect(budget.admits(count: 0, bytes: 0, next: 100 << 10))
        #expect(budget.admits(count: 1, bytes: 100 << 10, next: 100 << 10))
        #expect(!budget.admits(count: 2, bytes: 200 << 10, next: 100 << 10), "over the bytes")
        #expect(budget.admits(count: 0, bytes: 0, next: 1 << 20), "the first bundle even over the budget")
        var fast = RunBudget(maxBundles: 3)
        fast.observe(bytes: 1 << 20, took: .milliseconds(10))
        #expect(fast.admits(count: 2, bytes: 200 << 10, next: 100 << 10))
        #expect(!fast.admits(count: 3, bytes: 300 << 10, next: 100 << 10), "over the count")
    }
}
