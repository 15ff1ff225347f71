import IOCModel

/// Everything a node needs to run, decoded and validated once at start-up and passed down.
public struct NodeConfiguration: Sendable {
    public var topology: Topology
    public var nodeID: String
    public var dataDirectory: String
    public var listenHost: String
    /// 0 picks a free port (tests); the bound port is reported by ``Node/run(onListening:)``.
    public var listenPort: Int
    public var limits: Limits
    /// How often background rules (24-hour dossier warnings) run.
    public var rulesInterval: Duration
    public var durableCommits: Bool

    public init(
        topology: Topology, nodeID: String, dataDirectory: String, listenHost: String = "127.0.0.1",
        listenPort: Int = 0, limits: Limits = .default, rulesInterval: Duration = .seconds(30),
        durableCommits: Bool = false
    ) {
        self.topology = topology
        self.nodeID = nodeID
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.limits = limits
        self.rulesInterval = rulesInterval
        self.durableCommits = durableCommits
    }

    /// This node's entry in the topology; validated by ``Node/init(configuration:)``.
    public var descriptor: NodeDescriptor { topology.node(id: nodeID)! }

    public var databasePath: String { dataDirectory + "/node.sqlite" }
}
