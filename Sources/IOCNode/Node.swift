import Foundation
import Hummingbird
import HummingbirdTLS
import IOCIdentity
import IOCModel
import IOCSharing
import IOCStore
import Logging
import NIOCore
import ServiceLifecycle

/// One federation node: the same code in province, district and sector mode — the topology entry
/// changes defaults and permissions, never code paths (design.md §2).
public struct Node: Sendable {
    public let configuration: NodeConfiguration
    public let store: NodeStore
    public let metrics: NodeMetrics
    public let logger: Logger
    /// Present in mutual-TLS mode: what this node trusts, how it signs, who it syncs with.
    public let sync: SyncParts?
    /// The sharing policy in force (design.md §5), replaced when the topology file changes.
    public let sharing: SharingGate

    /// The sync machinery, built once from the node's credentials.
    public struct SyncParts: Sendable {
        public let trust: TrustStore
        public let security: TransportSecurity
        public let outbox: Outbox
        public let receiver: BundleReceiver
        public let links: [SyncLink]
        public let board: SyncStatusBoard
        public let audit: AuditKeys
    }

    public init(configuration: NodeConfiguration, logger: Logger? = nil) throws {
        guard configuration.topology.node(id: configuration.nodeID) != nil else {
            let known = configuration.topology.nodes.map(\.id).joined(separator: ", ")
            throw NodeError("Node '\(configuration.nodeID)' is not in the topology. Known nodes: \(known).")
        }
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        self.configuration = configuration
        var log = logger ?? Logger(label: "iocnode")
        log[metadataKey: "node"] = "\(configuration.nodeID)"
        self.logger = log
        metrics = NodeMetrics()
        let sharing = SharingGate(try ActivePolicy(topology: configuration.topology))
        self.sharing = sharing
        let clockOffset = configuration.clockOffsetMilliseconds
        store = try NodeStore(
            .init(
                path: configuration.databasePath, nodeID: configuration.nodeID,
                federation: configuration.topology.federation, limits: configuration.limits,
                durableCommits: configuration.durableCommits,
                wallClock: { Int64(Date().timeIntervalSince1970 * 1000) + clockOffset }))
        switch configuration.security {
        case .insecureDev:
            sync = nil
        case .mutualTLS(let credentials, let validationTime):
            guard credentials.nodeID == configuration.nodeID else {
                throw NodeError("The credentials are for node '\(credentials.nodeID)', not '\(configuration.nodeID)'.")
            }
            let topology = configuration.topology
            let trust = try TrustStore(
                federation: topology.federation, ca: credentials.ca, knownNodes: Set(topology.nodes.map(\.id)),
                registry: credentials.registry, denylist: credentials.denylist, store: store, certs: credentials.certs,
                validationTime: validationTime, logger: log)
            let links = SyncLink.links(of: configuration.nodeID, in: topology)
            sync = SyncParts(
                trust: trust, security: TransportSecurity(credentials: credentials, trust: trust),
                outbox: Outbox(
                    store: store, signer: BundleSigner(nodeID: configuration.nodeID, key: credentials.signingKey),
                    sharing: sharing),
                receiver: BundleReceiver(store: store, trust: trust, limits: configuration.limits, sharing: sharing),
                links: links,
                board: SyncStatusBoard(links: links),
                audit: try AuditKeys(federation: topology.federation, node: configuration.nodeID, signingKey: credentials.signingKey))
        }
    }

    public var descriptor: NodeDescriptor { configuration.descriptor }

    /// The HTTP router: health, metrics and the user API.
    public func makeRouter() -> Router<NodeRequestContext> {
        let router = Router(context: NodeRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: MetricsCountingMiddleware(metrics: metrics))
        router.get("healthz") { _, _ in JSONResponse.make(.ok, ["status": "ok", "node": .string(configuration.nodeID)]) }
        router.get("readyz") { _, _ in
            do {
                _ = try await store.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
                return JSONResponse.make(.ok, ["status": "ready"])
            } catch {
                return JSONResponse.make(.serviceUnavailable, ["status": "database unavailable"])
            }
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.exposition())))
        }
        let api = router.group("api/v1").add(middleware: AuthMiddleware(store: store))
        RecordRoutes(
            store: store, topology: configuration.topology, nodeUnit: descriptor.unit, limits: configuration.limits,
            metrics: metrics
        ).register(on: api)
        api.get("sync/status") { _, _ in try await syncStatus() }
        AuditRoutes(store: store, keys: sync?.audit).register(on: router.group("audit/v1").add(middleware: AuthMiddleware(store: store)))
        return router
    }

    /// The node-to-node router, served on the mutual-TLS sync listener only.
    public func makeSyncRouter(_ parts: SyncParts) -> Router<NodeRequestContext> {
        let router = Router(context: NodeRequestContext.self)
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: MetricsCountingMiddleware(metrics: metrics))
        let group = router.group("sync/v1").add(
            middleware: PeerIdentityMiddleware(trust: parts.trust, neighbours: Set(parts.links.map(\.peer))))
        SyncRoutes(
            store: store, receiver: parts.receiver, outbox: parts.outbox, trust: parts.trust, limits: configuration.limits,
            witness: WitnessRoutes(store: store, trust: parts.trust, keys: parts.audit)
        ).register(on: group)
        return router
    }

    /// This node's knowledge (entries held per origin) and shared-record count; per peer:
    /// direction, last success and error, entries behind, bytes pending; the recent refused bundles.
    func syncStatus() async throws -> Response {
        let knowledge = try store.knowledge()
        let held: JSONValue = .object(
            Dictionary(uniqueKeysWithValues: knowledge.origins.map { ($0, JSONValue.int(Int64(knowledge[$0]))) }))
        let records = try store.counts().filter { RecordKind(rawValue: $0.key)?.isLocalOnly != true }.values.reduce(0, +)
        guard let sync else {
            return JSONResponse.make(
                .ok,
                ["node": .string(configuration.nodeID), "mode": "insecure-dev", "knowledge": held, "records": .int(Int64(records)), "peers": []])
        }
        var peers: [JSONValue] = []
        for p in await sync.board.all() {
            let (behind, pending) = try store.pending(for: p.peer)
            let inbound = try store.inboundHighWater(p.peer).seq
            func time(_ t: Int64?) -> JSONValue { t.map { .string(Timestamp.format($0)) } ?? .null }
            peers.append([
                "peer": .string(p.peer), "direction": .string(p.direction), "lastAttempt": time(p.lastAttempt),
                "lastSuccess": time(p.lastSuccess), "lastError": p.lastError.map(JSONValue.string) ?? .null,
                "consecutiveFailures": .int(Int64(p.consecutiveFailures)), "entriesBehind": .int(Int64(behind)),
                "bytesPending": .int(Int64(pending)), "bundlesReceivedInSequence": .int(Int64(inbound)),
                "bundlesSent": .int(Int64(p.bundlesSent)), "bundlesReceived": .int(Int64(p.bundlesReceived)),
            ])
        }
        let refusals = try store.bundleRefusals(limit: 20).map { r -> JSONValue in
            ["peer": r.peer.map(JSONValue.string) ?? .null, "seq": r.seq.map { .int(Int64($0)) } ?? .null,
             "reason": .string(r.reason), "evidenceKept": .bool(r.hasEvidence)]
        }
        let entryRefusals = try store.entryRefusals(limit: 20).map { r -> JSONValue in
            ["entry": .string(r.entry), "reason": .string(r.reason)]
        }
        let snapshot = await sync.trust.snapshot()
        return JSONResponse.make(
            .ok,
            [
                "node": .string(configuration.nodeID), "mode": "mutual-tls", "knowledge": held, "records": .int(Int64(records)),
                "peers": .array(peers),
                "denylistVersion": .int(Int64(snapshot.denylist.version)),
                "registryVersion": .int(Int64(snapshot.registry.version)), "recentRefusals": .array(refusals),
                "recentEntryRefusals": .array(entryRefusals), "policyVersion": .int(Int64(sharing.current?.version ?? 0)),
            ])
    }

    /// Runs the node until SIGTERM/SIGINT: the API listener, the sync listener, the sync
    /// scheduler and background rules in one `ServiceGroup`, shut down gracefully together.
    public func run(
        onListening: @escaping @Sendable (Int) async -> Void = { _ in },
        onSyncListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let c = configuration
        var services: [any Service] = [RulesService(store: store, interval: c.rulesInterval, metrics: metrics, logger: logger)]
        if let path = c.topologyPath {
            services.append(
                PolicyWatcher(
                    path: path, nodeID: c.nodeID, store: store, gate: sharing, interval: c.policyCheckInterval, logger: logger))
        } else if let policy = sharing.current {
            try store.applyPolicy(policy, topologyText: nil)
        }
        let api: Application<RouterResponder<NodeRequestContext>>
        if let sync {
            api = Application(
                router: makeRouter(), server: try .tls(.http1(), tlsConfiguration: try sync.security.apiServer()),
                configuration: .init(address: .hostname(c.listenHost, port: c.listenPort)),
                onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
            let syncApp = Application(
                router: makeSyncRouter(sync), server: try .tls(.http1(), configuration: try sync.security.syncServer(logger: logger)),
                configuration: .init(address: .hostname(c.syncListenHost, port: c.syncListenPort)),
                onServerRunning: { channel in await onSyncListening(channel.localAddress?.port ?? 0) }, logger: logger)
            services.append(syncApp)
            await sync.trust.reloadFromDisk()
            let client = try PeerClient(security: sync.security, federation: c.topology.federation, limits: c.limits)
            services.append(
                SyncService(
                    store: store, links: sync.links, client: client, outbox: sync.outbox, receiver: sync.receiver,
                    trust: sync.trust, board: sync.board, audit: sync.audit, interval: c.syncInterval,
                    offlineOutboxBytes: c.offlineOutboxBytes, logger: logger))
        } else {
            api = Application(
                router: makeRouter(), configuration: .init(address: .hostname(c.listenHost, port: c.listenPort)),
                onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) }, logger: logger)
        }
        let group = ServiceGroup(
            configuration: .init(services: [api] + services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// A start-up failure a person can fix (bad topology entry, unusable data directory).
public struct NodeError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

struct MetricsCountingMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let response = try await next(request, context)
        metrics.requestServed(status: response.status.code)
        return response
    }
}
