import Foundation
import Hummingbird
import IOCModel
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
        store = try NodeStore(
            .init(
                path: configuration.databasePath, nodeID: configuration.nodeID,
                federation: configuration.topology.federation, limits: configuration.limits,
                durableCommits: configuration.durableCommits))
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
        return router
    }

    /// Runs the node until SIGTERM/SIGINT: the HTTP server and background rules in one
    /// `ServiceGroup`, shut down gracefully in reverse order.
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let app = Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.listenHost, port: configuration.listenPort)),
            services: [RulesService(store: store, interval: configuration.rulesInterval, metrics: metrics, logger: logger)],
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
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
