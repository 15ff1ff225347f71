import Crypto
import Foundation
import GRDB
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore
import IOCTesting
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing
import X509

/// Shared plumbing for the TLS matrix and the bundle attack tests: temporary directories, row
/// counts for "nothing was written" checks, certificates bent out of shape, running nodes, and
/// raw TLS / plain TCP clients that do not go through `PeerClient`.
enum SyncTest {
    static let referenceTime = TestFederation.referenceTime
    static let day: TimeInterval = 86_400
    static let envelopeType = "application/vnd.ioc.envelope"

    /// The kinds that replicate (local-only kinds travel as leaf hashes).
    static let replicated: Set<String> = Set(RecordKind.allCases.filter { !$0.isLocalOnly }.map(\.rawValue))

    static func tempDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ioc-\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// `TopologyFixtures.small()` with every node's sync URL on port 1 (nothing listens there), so
    /// the background sync scheduler of a node under test never reaches another process's node.
    static func topology() -> Topology {
        var t = TopologyFixtures.small()
        t.nodes = t.nodes.map { n in
            var n = n
            n.syncURL = "https://127.0.0.1:1"
            return n
        }
        return t
    }

    static func store(_ directory: String, node: String, federation: String = "test-small", limits: Limits = .default)
        throws -> NodeStore
    {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try NodeStore(.init(path: directory + "/node.sqlite", nodeID: node, federation: federation, limits: limits))
    }

    // MARK: Row counts

    struct Counts: Equatable, Sendable, CustomStringConvertible {
        var journal: Int
        var records: Int
        var channelIn: Int
        var channelHeld: Int
        var refusals: Int
        var description: String {
            "journal \(journal), records \(records), channel_in \(channelIn), channel_held \(channelHeld), bundle_refusal \(refusals)"
        }
        /// The same state with the refusal log ignored.
        var data: [Int] { [journal, records, channelIn, channelHeld] }
    }

    static func counts(_ store: NodeStore) throws -> Counts {
        try store.readSync { db in
            func count(_ table: String) throws -> Int { try Int.fetchOne(db, sql: "SELECT count(*) FROM \(table)") ?? -1 }
            return Counts(
                journal: try count("journal"), records: try count("record"), channelIn: try count("channel_in"),
                channelHeld: try count("channel_held"), refusals: try count("bundle_refusal"))
        }
    }

    // MARK: Timeouts

    struct Timeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "timed out: \(what)" }
    }

    /// Runs `body`, failing with ``Timeout`` after `seconds`.
    static func withTimeout<T: Sendable>(
        _ seconds: Double, _ what: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
                throw Timeout(what: what)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw Timeout(what: what) }
            return first
        }
    }

    // MARK: Certificates

    /// Every way a node certificate can be wrong, for either side of a connection.
    enum BadCertificate: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case expired, notYetValid, otherCA, selfSigned, signedByLeaf, signedByMisissuedCA, caTrue, noURI, twoURIs
        case foreignFederation
        case serverAuthOnly, clientAuthOnly, unknownNode, namesOtherNode
        var testDescription: String { rawValue }
    }

    /// A certificate (and the chain presented with it) for `node` that is wrong in the way `bad`
    /// says and right in every other way; `other` is the node a misnamed certificate names.
    static func badCertificate(
        _ bad: BadCertificate, node: String, other: String, federation fed: TestFederation
    ) throws -> (chain: [Certificate], key: P256.Signing.PrivateKey) {
        let ca = try fed.certs.readAuthority(federation: fed.federation)
        let key = P256.Signing.PrivateKey()
        let now = referenceTime
        var profile = CertificateAuthority.LeafProfile(federation: fed.federation, node: node, now: now)
        switch bad {
        case .expired:
            profile.notValidBefore = now - 90 * day
            profile.notValidAfter = now - 30 * day
        case .notYetValid:
            profile.notValidBefore = now + 30 * day
            profile.notValidAfter = now + 90 * day
        case .otherCA:
            // Same federation name, so the same subject DN as the real CA: only the key differs.
            let impostor = try CertificateAuthority.create(federation: fed.federation, now: now)
            return ([try impostor.issue(node: node, publicKey: key.publicKey, profile: profile)], key)
        case .selfSigned:
            let name = try DistinguishedName {
                OrganizationName("IOC Federation \(fed.federation)")
                CommonName(node)
            }
            let cert = try CertificateAuthority.sign(
                subject: name, publicKey: Certificate.PublicKey(key.publicKey), profile: profile, issuer: name,
                issuerKey: Certificate.PrivateKey(key), authorityKeyID: nil)
            return ([cert], key)
        case .signedByLeaf:
            // The node's genuine leaf (CA=false) signs a new leaf; both are presented.
            let issuer = try Certificate(pemEncoded: try String(contentsOfFile: fed.certs.tlsCertificate(other), encoding: .utf8))
            let issuerKey = try P256.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: fed.certs.tlsKey(other), encoding: .utf8))
            let cert = try CertificateAuthority.sign(
                subject: try DistinguishedName {
                    OrganizationName("IOC Federation \(fed.federation)")
                    CommonName(node)
                },
                publicKey: Certificate.PublicKey(key.publicKey), profile: profile, issuer: issuer.subject,
                issuerKey: Certificate.PrivateKey(issuerKey), authorityKeyID: nil)
            return ([cert, issuer], key)
        case .signedByMisissuedCA:
            // The federation CA mistakenly issued a node certificate with CA=true; its holder signs
            // a perfect-looking leaf and presents both. The CA's path length 0 forbids the chain.
            var rogueProfile = CertificateAuthority.LeafProfile(federation: fed.federation, node: other, now: now)
            rogueProfile.isCA = true
            let rogueKey = P256.Signing.PrivateKey()
            let rogue = try ca.issue(node: other, publicKey: rogueKey.publicKey, profile: rogueProfile)
            let cert = try CertificateAuthority.sign(
                subject: try DistinguishedName {
                    OrganizationName("IOC Federation \(fed.federation)")
                    CommonName(node)
                },
                publicKey: Certificate.PublicKey(key.publicKey), profile: profile, issuer: rogue.subject,
                issuerKey: Certificate.PrivateKey(rogueKey), authorityKeyID: nil)
            return ([cert, rogue], key)
        case .caTrue:
            profile.isCA = true
        case .noURI:
            profile.uris = []
        case .twoURIs:
            profile.uris.append(NodeName.spiffeID(federation: fed.federation, node: other))
        case .foreignFederation:
            profile = CertificateAuthority.LeafProfile(federation: "elsewhere", node: node, now: now)
        case .serverAuthOnly:
            profile.usages = [.serverAuth]
        case .clientAuthOnly:
            profile.usages = [.clientAuth]
        case .unknownNode:
            profile = CertificateAuthority.LeafProfile(federation: fed.federation, node: "ghost", now: now)
        case .namesOtherNode:
            profile = CertificateAuthority.LeafProfile(federation: fed.federation, node: other, now: now)
        }
        return ([try ca.issue(node: node, publicKey: key.publicKey, profile: profile)], key)
    }

    /// A copy of the federation's certificates directory under `root` (so revocations and
    /// replaced certificates never touch the original), with private keys back at 0600.
    static func copyCerts(_ fed: TestFederation, to root: String) throws -> CertsDirectory {
        let copy = CertsDirectory(path: root + "/certs-\(UUID().uuidString.prefix(8))")
        try FileManager.default.copyItem(atPath: fed.certs.path, toPath: copy.path)
        for node in fed.nodes {
            for file in [copy.tlsKey(node), copy.signingKey(node)] { chmod(file, 0o600) }
        }
        chmod(copy.caKey, 0o600)
        return copy
    }

    /// Credentials of `node` whose TLS certificate and key are replaced by `chain` and `key`;
    /// the CA, registry, denylist and signing key are the federation's own.
    static func credentials(
        _ fed: TestFederation, node: String, chain: [Certificate], key: P256.Signing.PrivateKey, root: String
    ) throws -> NodeCredentials {
        let copy = try copyCerts(fed, to: root)
        let pem = try chain.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
        try CertsDirectory.writePublic(Array(pem.utf8), to: copy.tlsCertificate(node))
        try CertsDirectory.writeSecret(Array(key.pemRepresentation.utf8), to: copy.tlsKey(node))
        return try NodeCredentials(certs: copy, nodeID: node)
    }

    static func badCredentials(
        _ bad: BadCertificate, node: String, other: String, federation fed: TestFederation, root: String
    ) throws -> NodeCredentials {
        let (chain, key) = try badCertificate(bad, node: node, other: other, federation: fed)
        return try credentials(fed, node: node, chain: chain, key: key, root: root)
    }

    /// A peer client presenting `credentials`, verifying servers against the federation's
    /// genuine trust (CA, registry, denylist) at the reference time. The request timeout is
    /// generous: it closes the connection when it fires, and with the whole suite running on two
    /// cores a debug-build handshake has taken over 5 s, which turned a TLS refusal into "closed".
    static func client(_ credentials: NodeCredentials, federation fed: TestFederation, timeout: TimeAmount = .seconds(20))
        throws -> PeerClient
    {
        try PeerClient(
            security: TransportSecurity(credentials: credentials, trust: try fed.trust(for: nil)), federation: fed.federation,
            limits: .default, timeout: timeout)
    }

    // MARK: Running nodes

    struct RunningNode: Sendable {
        let node: Node
        let syncPort: Int
        var store: NodeStore { node.store }
    }

    /// Starts a real node (API and mutual-TLS sync listener on 127.0.0.1, ports 0), runs `body`
    /// with its sync port, then cancels the node and removes its data directory.
    static func withNode<T: Sendable>(
        _ nodeID: String, credentials: NodeCredentials, topology: Topology = SyncTest.topology(),
        _ body: @Sendable (RunningNode) async throws -> T
    ) async throws -> T {
        let directory = try tempDirectory("node-\(nodeID)")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var logger = Logger(label: "sync-tests.\(nodeID)")
        logger.logLevel = .critical
        let node = try Node(
            configuration: NodeConfiguration(
                topology: topology, nodeID: nodeID, dataDirectory: directory,
                security: .mutualTLS(credentials, validationTime: referenceTime), syncListenPort: 0,
                syncInterval: .seconds(3600)),
            logger: logger)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { continuation.finish() }
                try await node.run(onSyncListening: { continuation.yield($0) })
            }
            defer { group.cancelAll() }
            let port = try await withTimeout(20, "sync listener of \(nodeID)") { () async -> Int? in
                var it = ports.makeAsyncIterator()
                return await it.next()
            }
            guard let port, port > 0 else { throw TestFailure("node \(nodeID) stopped before its sync listener started") }
            return try await body(RunningNode(node: node, syncPort: port))
        }
    }

    // MARK: Raw clients

    /// One HTTP/1.1 GET over TLS with `tls` (no policy of ours on the server certificate);
    /// returns the status, or throws when the handshake or the connection fails.
    static func rawTLSGet(port: Int, path: String, tls: TLSConfiguration, serverName: String) async throws -> Int {
        let context = try NIOSSLContext(configuration: tls)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
            head.headers.add(name: "Host", value: serverName)
            try await outbound.write(.head(head))
            try await outbound.write(.end(nil))
            var status = 0
            for try await part in inbound {
                switch part {
                case .head(let h): status = Int(h.status.code)
                case .body: break
                case .end: return status
                }
            }
            throw TestFailure("connection closed before a response (status so far \(status))")
        }
    }

    /// A client TLS configuration presenting `credentials`' certificate, accepting any server.
    static func rawTLSConfiguration(_ credentials: NodeCredentials?) throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        if let credentials {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(credentials.certificatePEM).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: credentials.privateKeyPEM, format: .pem))
        }
        return tls
    }

    /// Writes `request` over plain TCP and returns every byte the server sends before it closes.
    static func plainExchange(port: Int, request: [UInt8]) async throws -> [UInt8] {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(5))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: request))
            var received: [UInt8] = []
            do {
                for try await var buffer in inbound {
                    received += buffer.readBytes(length: buffer.readableBytes) ?? []
                    if received.count > 65_536 { break }
                }
            } catch {
                // A reset after the alert is as good as a close.
            }
            return received
        }
    }
}
