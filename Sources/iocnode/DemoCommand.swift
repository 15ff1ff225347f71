import ArgumentParser
import Foundation
import IOCIdentity
import IOCModel
import IOCNode
import IOCStore

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Start a node with realistic Vietnamese sample data in a temporary directory.")

    @Option(help: "Topology file.")
    var topology: String = "Topology/da-nang.yaml"
    @Option(help: "Node to run.")
    var node: String = "hai-chau"
    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Int?
    @Option(help: "HOST:PORT to listen on.")
    var listen: String = "127.0.0.1:0"

    func run() async throws {
        let topo = try loadTopology(topology)
        guard let descriptor = topo.node(id: node) else { throw ValidationError("Node '\(node)' is not in \(topology).") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-demo-\(getpid())").path
        let (host, port) = try parseListen(listen)
        // A throwaway federation CA and node certificates, so the demo runs exactly like production: HTTPS.
        let certs = CertsDirectory(path: dir + "/certs")
        try certs.initialise(federation: topo.federation, nodes: topo.nodes.map(\.id), hosts: topo.certificateHosts)
        let n = try Node(
            configuration: NodeConfiguration(
                topology: topo, nodeID: node, dataDirectory: dir, listenHost: host, listenPort: port,
                rulesInterval: .seconds(5), security: .mutualTLS(try NodeCredentials(certs: certs, nodeID: node))))
        let written = try await SampleData.seed(store: n.store, unit: descriptor.unit)
        let (_, token) = try n.store.addUser(name: "Người vận hành demo", role: .admin, unit: nil, sector: nil)
        let unitName = topo.unit(code: descriptor.unit)?.name ?? descriptor.unit
        let duration = self.duration
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await n.run { port in
                    say(
                        """
                        IOC Federation demo — node \(node) (\(descriptor.mode.rawValue), \(unitName))
                        data:  \(dir) (\(written) sample records; removed when the demo stops)
                        API:   https://\(host):\(port)/api/v1/field-reports (certificate from the demo's private CA)
                        token: \(token)
                        try:   curl --cacert \(certs.caCertificate) -H 'Authorization: Bearer \(token)' https://\(host):\(port)/api/v1/reports/summary?period=day
                        Ctrl-C stops the node.
                        """)
                }
            }
            if let duration {
                // Stop the way Ctrl-C does, so the node shuts down gracefully.
                group.addTask {
                    try await Task.sleep(for: .seconds(duration))
                    kill(getpid(), SIGTERM)
                }
            }
            try await group.waitForAll()
        }
        say("demo stopped")
    }
}
