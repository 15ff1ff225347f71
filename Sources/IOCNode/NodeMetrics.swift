import IOCModel
import Prometheus

/// The node's Prometheus metrics. A registry per node (not the process-global metrics system),
/// so several nodes can run in one test process without sharing counters.
public struct NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init() { registry = PrometheusCollectorRegistry() }

    func recordCreated(_ kind: RecordKind, count: Int = 1) {
        registry.makeCounter(
            name: "ioc_records_created_total", labels: [("kind", kind.rawValue)], help: "Records created through the API"
        ).increment(by: Int64(count))
    }

    func requestServed(status: Int) {
        registry.makeCounter(
            name: "ioc_http_requests_total", labels: [("status", String(status))], help: "HTTP requests answered"
        ).increment()
    }

    func alertsRaised(_ count: Int, source: String) {
        registry.makeCounter(
            name: "ioc_alerts_raised_total", labels: [("source", source)], help: "Alerts raised by the node's rules"
        ).increment(by: Int64(count))
    }

    func setGauge(_ name: String, _ value: Double, labels: [(String, String)] = [], help: String) {
        registry.makeGauge(name: name, labels: labels, help: help).set(value)
    }

    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
