import Foundation
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
    /// Mutual TLS with the node's credentials (the default for `serve`), or plain HTTP on
    /// loopback with no sync listener (`--insecure-dev`, and in-process API tests).
    public var security: Security
    public var syncListenHost: String
    /// 0 picks a free port; the bound port is reported by ``Node/run(onListening:onSyncListening:)``.
    public var syncListenPort: Int
    /// How often each link syncs when nothing changed (changes sync within ~200 ms).
    public var syncInterval: Duration
    /// Signed bundles an offline node seals ahead for its parent, at most (about a million ~1 KB
    /// changes at ~254 B each for the default): a unit on a small disk can lower it.
    public var offlineOutboxBytes = 256 << 20
    /// The topology file, watched for sharing-policy changes while the node runs (nil: never reloaded).
    public var topologyPath: String?
    /// How often the topology file is checked for changes.
    public var policyCheckInterval: Duration = .seconds(1)
    /// Added to the real time to give this node's wall clock (record times, HLC): simulates a
    /// node whose clock is wrong (fault battery). Certificate validation keeps the real time.
    public var clockOffsetMilliseconds: Int64 = 0

    public enum Security: Sendable {
        case insecureDev
        /// `validationTime` fixes certificate validation time (tests); nil means now.
        case mutualTLS(NodeCredentials, validationTime: Date? = nil)
    }

    public init(
        topology: Topology, nodeID: String, dataDirectory: String, listenHost: String = "127.0.0.1",
        listenPort: Int = 0, limits: Limits = .default, rulesInterval: Duration = .seconds(30),
        durableCommits: Bool = false, security: Security = .insecureDev, syncListenHost: String = "127.0.0.1",
        syncListenPort: Int = 0, syncInterval: Duration = .seconds(5)
    ) {
        self.topology = topology
        self.nodeID = nodeID
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.limits = limits
        self.rulesInterval = rulesInterval
        self.durableCommits = durableCommits
        self.security = security
        self.syncListenHost = syncListenHost
        self.syncListenPort = syncListenPort
        self.syncInterval = syncInterval
    }

    /// This node's entry in the topology; validated by ``Node/init(configuration:)``.
    public var descriptor: NodeDescriptor { topology.node(id: nodeID)! }

    public var databasePath: String { dataDirectory + "/node.sqlite" }
}
