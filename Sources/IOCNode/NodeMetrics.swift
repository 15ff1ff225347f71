import IOCModel
import Prometheus

/// The node's Prometheus metrics. A registry per node (not the process-global metrics system),
/// so several nodes can run in one test process without sharing counters.
public struct NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    public init() { registry = PrometheusCollectorRegistry() }

    /// A counter named `ioc_<name>_total`.
    private func counter(_ name: String, _ labels: [(String, String)], help: String) -> Counter {
        registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "ioc", metricName: name, unitName: "total", helpText: help),
            labels: labels)
    }

    func recordCreated(_ kind: RecordKind, count: Int = 1) {
        counter("records_created", [("kind", kind.rawValue)], help: "Records created through the API").increment(by: Int64(count))
    }

    func requestServed(status: Int) {
        counter("http_requests", [("status", String(status))], help: "HTTP requests answered").increment()
    }

    func alertsRaised(_ count: Int, source: String) {
        counter("alerts_raised", [("source", source)], help: "Alerts raised by the node's rules").increment(by: Int64(count))
    }

    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
