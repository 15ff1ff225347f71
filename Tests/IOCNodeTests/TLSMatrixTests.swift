import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore
import IOCTesting
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing
import X509

/// The TLS matrix with real handshakes on 127.0.0.1: every wrong client certificate is refused by
/// a running node's sync listener, every wrong server certificate by the peer client, and nothing
/// reaches the store. Each refused client tries to push a bundle the server would apply, and the
/// genuine client pushing the same bundle shows it would have been written.
@Suite(.serialized) struct TLSMatrixTests {
    static let nodes = TopologyFixtures.small().nodes.map(\.id)

    /// Bad certificates a client can present (as hai-chau). `clientAuthOnly` and `namesOtherNode`
    /// are valid client certificates, so they belong to the server direction only.
    static let badClientCertificates: [SyncTest.BadCertificate] = [
        .expired, .notYetValid, .otherCA, .selfSigned, .signedByLeaf, .signedByMisissuedCA, .caTrue, .noURI, .twoURIs,
        .foreignFederation, .serverAuthOnly, .unknownNode,
    ]

    /// Bad certificates a server can present (as hai-chau, dialled as hai-chau).
    static let badServerCertificates: [SyncTest.BadCertificate] = [
        .expired, .notYetValid, .otherCA, .selfSigned, .signedByLeaf, .signedByMisissuedCA, .caTrue, .noURI, .twoURIs,
        .foreignFederation, .clientAuthOnly, .unknownNode, .namesOtherNode,
    ]

    static func federation(_ root: String) throws -> TestFederation {
        try TestFederation(root: root, federation: TopologyFixtures.small().federation, nodes: nodes)
    }

    /// The first bundle `from` would push to `to`, from a seeded store of its own.
    static func bundle(from: String, to: String, unit: String, root: String, federation fed: TestFederation) async throws
        -> [UInt8]
    {
        let store = try SyncTest.store(root + "/source-\(from)-\(UUID().uuidString.prefix(6))", node: from)
        try await SampleData.seed(store: store, unit: unit, reports: 2)
        var out: [[UInt8]] = []
        try BundleExchange(store: store, signer: try fed.signer(from), sharing: fed.sharing).export(to: to) { out.append($0) }
        return try #require(out.first)
    }

    struct PushResult: Sendable, CustomStringConvertible {
        var trust: Int
        var push: Int
        var receipt: Receipt?
        var description: String { "trust \(trust), push \(push), outcome \(receipt?.outcome ?? "-") \(receipt?.reason ?? "")" }
    }

    /// One sync session: read the trust documents, then push `bundle`.
    static func push(_ client: PeerClient, node: String, port: Int, bundle: [UInt8]) async throws -> PushResult {
        try await SyncTest.withTimeout(20, "session with \(node)") {
            try await client.session(node: node, host: "127.0.0.1", port: port) { s in
                let trust = try await s.request(.GET, "/sync/v1/trust")
                let push = try await s.request(.POST, "/sync/v1/bundles", body: bundle, contentType: SyncTest.envelopeType)
                return PushResult(
                    trust: trust.status, push: push.status, receipt: try? Receipt(json: try JSONValue.parse(push.body)))
            }
        }
    }

    /// `attempt` must fail at the TLS layer: not time out, not fail to connect, not answer.
    static func expectRefused<T: Sendable>(
        _ what: String, closedAfterHandshakeCounts: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
        _ attempt: @escaping @Sendable () async throws -> T
    ) async {
        do {
            let answer = try await attempt()
            Issue.record("\(what): expected the connection to be refused, got \(answer)", sourceLocation: sourceLocation)
        } catch let e as SyncTest.Timeout {
            Issue.record("\(what): \(e)", sourceLocation: sourceLocation)
        } catch {
            // A refusal is a TLS failure (an alert from the server, or our own verification failing),
            // not a connection that never opened or a peer that just went away.
            // With TLS 1.3 the server checks the client certificate after the client has finished
            // its side of the handshake, so a client that already wrote its request may see the
            // channel closed rather than the alert; that still counts where the caller says so.
            let closed =
                (error as? ChannelError).map { $0 == .ioOnClosedChannel || $0 == .eof }
                ?? (error as? PeerError).map { $0.message.contains("closed the connection") } ?? false
            #expect(
                error is NIOSSLError || error is BoringSSLError || (closedAfterHandshakeCounts && closed),
                "\(what): not a TLS refusal: \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Server direction: bad client → sync listener

    @Test func syncListenerRefusesBadClients() async throws {
        let root = try SyncTest.tempDirectory("tls-server")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "hai-chau", to: "province", unit: "20194", root: root, federation: fed)
        var clients: [(SyncTest.BadCertificate, PeerClient)] = []
        for bad in Self.badClientCertificates {
            let credentials = try SyncTest.badCredentials(bad, node: "hai-chau", other: "thanh-khe", federation: fed, root: root)
            clients.append((bad, try SyncTest.client(credentials, federation: fed)))
        }
        let genuine = try fed.credentials("hai-chau")
        let badClients = clients

        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let port = server.syncPort
            let start = try SyncTest.counts(server.store)
            let serverName = NodeName.dnsName(federation: fed.federation, node: "province")

            for (bad, client) in badClients {
                await Self.expectRefused("client certificate \(bad)", closedAfterHandshakeCounts: true) {
                    try await Self.push(client, node: "province", port: port, bundle: bundle)
                }
                #expect(try SyncTest.counts(server.store) == start, "client certificate \(bad) wrote to the store")
            }

            // No client certificate at all.
            let noCertificate = try SyncTest.rawTLSConfiguration(nil)
            await Self.expectRefused("no client certificate", closedAfterHandshakeCounts: true) {
                try await SyncTest.withTimeout(15, "no-certificate client") {
                    try await SyncTest.rawTLSGet(port: port, path: "/sync/v1/trust", tls: noCertificate, serverName: serverName)
                }
            }

            // TLS 1.2 with a genuine certificate; the same raw client on TLS 1.3 is answered.
            var tls12 = try SyncTest.rawTLSConfiguration(genuine)
            tls12.minimumTLSVersion = .tlsv12
            tls12.maximumTLSVersion = .tlsv12
            let pinned12 = tls12
            await Self.expectRefused("TLS 1.2", closedAfterHandshakeCounts: true) {
                try await SyncTest.withTimeout(15, "TLS 1.2 client") {
                    try await SyncTest.rawTLSGet(port: port, path: "/sync/v1/trust", tls: pinned12, serverName: serverName)
                }
            }
            let tls13 = try SyncTest.rawTLSConfiguration(genuine)
            let status13 = try await SyncTest.withTimeout(15, "TLS 1.3 raw client") {
                try await SyncTest.rawTLSGet(port: port, path: "/sync/v1/trust", tls: tls13, serverName: serverName)
            }
            #expect(status13 == 200, "the raw TLS 1.3 client with a genuine certificate")

            // Plain HTTP to the sync port: never an HTTP answer.
            for request in [
                "GET /sync/v1/trust HTTP/1.1\r\nHost: province\r\n\r\n",
                "POST /sync/v1/bundles HTTP/1.1\r\nHost: province\r\nContent-Length: \(bundle.count)\r\n\r\n",
            ] {
                let body = Array(request.utf8) + (request.hasPrefix("POST") ? bundle : [])
                let answer = try await SyncTest.withTimeout(15, "plaintext request") {
                    try await SyncTest.plainExchange(port: port, request: body)
                }
                let text = String(decoding: answer, as: UTF8.self)
                #expect(!text.hasPrefix("HTTP/"), "plaintext got an HTTP answer: \(text.prefix(80))")
                // Anything sent back is a TLS record (alert 0x15 or handshake 0x16), not HTTP.
                if let first = answer.first { #expect(first == 0x15 || first == 0x16, "first byte \(first)") }
            }
            #expect(try SyncTest.counts(server.store) == start, "raw clients wrote to the store")

            // The genuine client with a body over the wire limit: refused before it is read.
            let genuineClient = try SyncTest.client(genuine, federation: fed)
            let oversized = [UInt8](repeating: 0x41, count: Limits.default.bundleWireBytesMax + 1)
            do {
                let status = try await SyncTest.withTimeout(30, "oversized push") {
                    try await genuineClient.session(node: "province", host: "127.0.0.1", port: port) {
                        try await $0.request(.POST, "/sync/v1/bundles", body: oversized, contentType: SyncTest.envelopeType).status
                    }
                }
                #expect(status == 413, "oversized push answered \(status)")
            } catch let e as SyncTest.Timeout {
                Issue.record("\(e)")
            } catch {
                // The server may close the connection before the client has finished writing.
            }
            #expect(try SyncTest.counts(server.store) == start, "the oversized push wrote to the store")

            // The genuine client pushing the same bundle: accepted and applied.
            let good = try await Self.push(genuineClient, node: "province", port: port, bundle: bundle)
            #expect(good.trust == 200, "\(good)")
            #expect(good.push == 200, "\(good)")
            #expect(good.receipt?.outcome == "applied", "\(good)")
            let after = try SyncTest.counts(server.store)
            #expect(after.channelIn == start.channelIn + 1)
            #expect(after.journal > start.journal)
        }
    }

    @Test func revocationTakesEffectWithoutRestart() async throws {
        let root = try SyncTest.tempDirectory("tls-revoke")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "hai-chau", to: "province", unit: "20194", root: root, federation: fed)
        // The CA revokes hai-chau's TLS certificate (by serial: its signing key stays valid, so only
        // the transport refuses it) in a copy of the certificates directory.
        let copy = try SyncTest.copyCerts(fed, to: root)
        let serial = try Certificate(
            pemEncoded: try String(contentsOfFile: fed.certs.tlsCertificate("hai-chau"), encoding: .utf8)
        ).serialNumber.hex
        let version = try copy.revoke(
            federation: fed.federation, node: "hai-chau", serial: serial, reason: "laptop stolen", now: SyncTest.referenceTime)
        let denylist = Array(try Data(contentsOf: URL(fileURLWithPath: copy.denylist)))
        let client = try SyncTest.client(try fed.credentials("hai-chau"), federation: fed)
        let neighbour = try SyncTest.client(try fed.credentials("thanh-khe"), federation: fed)

        try await SyncTest.withNode("province", credentials: try fed.credentials("province")) { server in
            let port = server.syncPort
            let trust = try #require(server.node.sync?.trust)
            let start = try SyncTest.counts(server.store)

            let before = try await SyncTest.withTimeout(20, "hai-chau before revocation") {
                try await client.session(node: "province", host: "127.0.0.1", port: port) { try await $0.request(.GET, "/sync/v1/trust").status }
            }
            #expect(before == 200)

            // A connection opened before the denylist arrives: its next request is refused.
            let (first, installed, second, pushed) = try await SyncTest.withTimeout(20, "hai-chau across the revocation") {
                try await client.session(node: "province", host: "127.0.0.1", port: port) { s in
                    let first = try await s.request(.GET, "/sync/v1/trust").status
                    let installed = try await trust.install(kind: "denylist", bytes: denylist)
                    let second = try await s.request(.GET, "/sync/v1/trust").status
                    let pushed = try await s.request(.POST, "/sync/v1/bundles", body: bundle, contentType: SyncTest.envelopeType).status
                    return (first, installed, second, pushed)
                }
            }
            #expect(first == 200)
            #expect(installed)
            #expect(second == 403)
            #expect(pushed == 403)
            #expect(await trust.snapshot().denylist.version == version)

            // A new connection: refused at the handshake, same client, same process, no restart.
            await Self.expectRefused("revoked client certificate", closedAfterHandshakeCounts: true) {
                try await Self.push(client, node: "province", port: port, bundle: bundle)
            }
            #expect(try SyncTest.counts(server.store) == start, "the revoked client wrote to the store")

            // Other nodes are unaffected.
            let other = try await SyncTest.withTimeout(20, "thanh-khe after revocation") {
                try await neighbour.session(node: "province", host: "127.0.0.1", port: port) { try await $0.request(.GET, "/sync/v1/trust").status }
            }
            #expect(other == 200)
        }
    }

    @Test func validNodeThatIsNotANeighbourIsForbidden() async throws {
        let root = try SyncTest.tempDirectory("tls-neighbour")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "hai-chau", to: "thanh-khe", unit: "20194", root: root, federation: fed)
        let sibling = try SyncTest.client(try fed.credentials("hai-chau"), federation: fed)
        let parent = try SyncTest.client(try fed.credentials("province"), federation: fed)

        try await SyncTest.withNode("thanh-khe", credentials: try fed.credentials("thanh-khe")) { server in
            let start = try SyncTest.counts(server.store)
            // The handshake succeeds (a genuine certificate); HTTP says no.
            let r = try await Self.push(sibling, node: "thanh-khe", port: server.syncPort, bundle: bundle)
            #expect(r.trust == 403, "\(r)")
            #expect(r.push == 403, "\(r)")
            #expect(try SyncTest.counts(server.store) == start)
            let ok = try await SyncTest.withTimeout(20, "province → thanh-khe") {
                try await parent.session(node: "thanh-khe", host: "127.0.0.1", port: server.syncPort) {
                    try await $0.request(.GET, "/sync/v1/trust").status
                }
            }
            #expect(ok == 200)
        }
    }

    // MARK: Client direction: bad server → genuine client

    @Test(arguments: badServerCertificates)
    func clientRefusesBadServer(_ bad: SyncTest.BadCertificate) async throws {
        let root = try SyncTest.tempDirectory("tls-client-\(bad)")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "province", to: "hai-chau", unit: "48", root: root, federation: fed)
        let client = try SyncTest.client(try fed.credentials("province"), federation: fed)
        let credentials = try SyncTest.badCredentials(bad, node: "hai-chau", other: "thanh-khe", federation: fed, root: root)

        try await SyncTest.withNode("hai-chau", credentials: credentials) { server in
            let start = try SyncTest.counts(server.store)
            await Self.expectRefused("server certificate \(bad)") {
                try await Self.push(client, node: "hai-chau", port: server.syncPort, bundle: bundle)
            }
            #expect(try SyncTest.counts(server.store) == start, "server certificate \(bad): the store changed")
        }
    }

    @Test func clientRefusesRevokedServerWithoutRestart() async throws {
        let root = try SyncTest.tempDirectory("tls-client-revoked")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "province", to: "hai-chau", unit: "48", root: root, federation: fed)
        let copy = try SyncTest.copyCerts(fed, to: root)
        let serial = try Certificate(
            pemEncoded: try String(contentsOfFile: fed.certs.tlsCertificate("hai-chau"), encoding: .utf8)
        ).serialNumber.hex
        try copy.revoke(federation: fed.federation, node: "hai-chau", serial: serial, reason: "server compromised", now: SyncTest.referenceTime)
        let denylist = Array(try Data(contentsOf: URL(fileURLWithPath: copy.denylist)))
        let trust = try fed.trust(for: nil)
        let client = try PeerClient(
            security: TransportSecurity(credentials: try fed.credentials("province"), trust: trust), federation: fed.federation,
            limits: .default, timeout: .seconds(20))

        try await SyncTest.withNode("hai-chau", credentials: try fed.credentials("hai-chau")) { server in
            let port = server.syncPort
            let before = try await SyncTest.withTimeout(20, "province → hai-chau before revocation") {
                try await client.session(node: "hai-chau", host: "127.0.0.1", port: port) { try await $0.request(.GET, "/sync/v1/trust").status }
            }
            #expect(before == 200)
            let start = try SyncTest.counts(server.store)
            #expect(try await trust.install(kind: "denylist", bytes: denylist))
            await Self.expectRefused("revoked server certificate") {
                try await Self.push(client, node: "hai-chau", port: port, bundle: bundle)
            }
            #expect(try SyncTest.counts(server.store) == start)
        }
    }

    @Test func clientChecksTheNodeItDialled() async throws {
        let root = try SyncTest.tempDirectory("tls-dialled")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fed = try Self.federation(root)
        let bundle = try await Self.bundle(from: "province", to: "hai-chau", unit: "48", root: root, federation: fed)
        let client = try SyncTest.client(try fed.credentials("province"), federation: fed)

        try await SyncTest.withNode("hai-chau", credentials: try fed.credentials("hai-chau")) { server in
            let start = try SyncTest.counts(server.store)
            // Dialling thanh-khe but reaching hai-chau (a genuine certificate of another node).
            await Self.expectRefused("expected thanh-khe, reached hai-chau") {
                try await Self.push(client, node: "thanh-khe", port: server.syncPort, bundle: bundle)
            }
            #expect(try SyncTest.counts(server.store) == start)
            // Dialling the right node: accepted, and the bundle is applied.
            let good = try await Self.push(client, node: "hai-chau", port: server.syncPort, bundle: bundle)
            #expect(good.trust == 200, "\(good)")
            #expect(good.push == 200, "\(good)")
            #expect(good.receipt?.outcome == "applied", "\(good)")
            #expect(try SyncTest.counts(server.store).channelIn == start.channelIn + 1)
        }
    }
}
