import IOCStore
import Logging
import ServiceLifecycle

/// Background rules: the 24-hour dossier warning. Runs on an interval until graceful shutdown.
struct RulesService: Service {
    let store: NodeStore
    let interval: Duration
    let metrics: NodeMetrics
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await tick()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    func tick() async {
        do {
            let alerts = try await store.raiseDueSoonAlerts()
            if !alerts.isEmpty {
                metrics.alertsRaised(alerts.count, source: "dossier-sla")
                logger.info("raised dossier due-soon alerts", metadata: ["count": "\(alerts.count)"])
            }
        } catch {
            logger.error("rules tick failed", metadata: ["error": "\(type(of: error))"])
        }
    }
}
