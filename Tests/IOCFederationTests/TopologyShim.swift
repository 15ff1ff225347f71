import IOCModel
import IOCTopology

enum IOCTopologyShim {
    static func load(_ path: String) throws -> Topology { try TopologyLoader.load(path: path) }
}
