import Foundation
import GRDB
import IOCModel
import IOCStore
import IOCSync
import IOCTesting
import Logging
import Testing

@testable import IOCNode

/// The sender's side of a catch-up (``SyncService/push(_:_:contentOnly:)``) against a real
/// province over mutual TLS: a backlog longer than one request goes over as several streamed
/// requests, each within the receiver's bound, and everything the province took is acknowledged
/// at the sender, with the province's knowledge, by the time the push returns.
@Suite(.serialized) struct SyncPushTests {
    /// Hải Châu as a node that is not running, its sync service driven directly: two entries per
    /// bundle, so 16 reports with the sample's other records (~90 entries, ~45 bundles) make more
    /// bundles than two requests carry, fewer than a round.
    struct Ward {
        let node: Node
        let service: SyncService
        let client: PeerClient

        init(root: String, fed: TestFederation) async throws {
            var tiny = Limits()
            tiny.bundleEntriesMax = 2
            var logger = Logger(label: "sync-push-tests")
            logger.logLevel = .critical
            node = try Node(
                configuration: NodeConfiguration(
                    topology: SyncTest.topology(), nodeID: "hai-chau", dataDirectory: root + "/hai-chau", limits: tiny,
                    security: .mutualTLS(try fed.credentials("hai-chau"), validationTime: SyncTest.referenceTime)),
                logger: logger)
            try await SampleData.seed(store: node.store, unit: "20194", reports: 16)
            let parts = try #require(node.sync)
            client = try SyncTest.client(try fed.credentials("hai-chau"), federation: fed)
            service = SyncService(
                store: node.store, links: parts.links, client: client, outbox: parts.outbox, receiver: parts.receiver,
                trust: parts.trust, board: parts.board, audit: parts.audit, interval: .seconds(3600),
                offlineOutboxBytes: 0, logger: logger)
        }

        var store: NodeStore { node.store }

        /// One push to the province listening on `port`, in a session of its own.
        func push(port: Int) async throws -> Int {
            try await SyncTest.withTimeout(60, "push") {
                var budget = RunBudget(maxBundles: service.bundlesPerRequest)
                return try await client.session(node: "province", host: "127.0.0.1", port: port) {
                    try await service.push($0, "province", budget: &budget)
                }
            }
        }
    }

    @Test func aBacklogOfManyRequestsIsSentInOrderAndAcknowledged() async throws {
        let root = try SyncTest.tempDirectory("push")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
        let ward = try await Ward(root: root, fed: fed)
        let service = ward.service
        let held = try ward.store.knowledge()

        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let sent = try await ward.push(port: server.syncPort)
            let bundles = try ward.store.readSync { db in
                try Row.fetchAll(db, sql: "SELECT seq, acked FROM channel_out WHERE peer = 'province' ORDER BY seq")
            }
            // More than two requests' worth (each request is bounded by the province: over the
            // bound it answers 413 and the push throws), all within one round.
            #expect(bundles.count > 2 * service.bundlesPerRequest && bundles.count < service.bundlesPerRound)
            #expect(sent == bundles.count)
            #expect(bundles.map { $0[0] as Int64 } == Array(1...Int64(bundles.count)))
            #expect(try server.store.inboundHighWater("hai-chau").seq == UInt64(bundles.count))
            #expect(try server.store.knowledge()["hai-chau"] == held["hai-chau"])
            // The last request's acknowledgement is stored too, with what the province holds.
            #expect(bundles.allSatisfy { ($0[1] as Int64) == 1 }, "unacknowledged: \(bundles.filter { ($0[1] as Int64) == 0 }.count)")
            #expect(try ward.store.peerKnowledge("province")["hai-chau"] == held["hai-chau"])
            // Nothing is left to send: a second push sends nothing.
            let again = try await ward.push(port: server.syncPort)
            #expect(again == 0)
        }
    }

    /// A parent that took the sender's bundles by file (a USB stick while the link was down)
    /// answers the first request with its high-water mark; the sender stores it and sends only
    /// what follows, instead of the rest of its outbox as replays.
    @Test func bundlesThePeerTookByFileAreNotSentAgain() async throws {
        let root = try SyncTest.tempDirectory("push-file")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try TestFederation(root: root, federation: "test-small", nodes: ["hai-chau", "province", "thanh-khe"])
        let ward = try await Ward(root: root, fed: fed)
        var exported: [[UInt8]] = []
        try BundleExchange(store: ward.store, signer: try fed.signer("hai-chau"), sharing: fed.sharing).export(to: "province") {
            exported.append($0)
        }
        let carried = exported
        try #require(carried.count > ward.service.bundlesPerRequest)

        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let receiver = try #require(server.node.sync?.receiver)
            for envelope in carried { _ = try await receiver.receive(envelope, transportPeer: nil) }
            try #require(try server.store.inboundHighWater("hai-chau").seq == UInt64(carried.count))
            let sent = try await ward.push(port: server.syncPort)
            // One request of replays tells the sender where the province is; nothing after it.
            #expect(sent <= ward.service.bundlesPerRequest, "\(sent) of \(carried.count) bundles sent again")
            let unacknowledged = try ward.store.readSync { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM channel_out WHERE peer = 'province' AND acked = 0")
            }
            #expect(unacknowledged == 0)
        }
    }
}
