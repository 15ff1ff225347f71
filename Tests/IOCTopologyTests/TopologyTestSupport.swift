import Foundation
import IOCModel
import IOCTopology

/// The repository root, found from this file's path so tests run from any working directory.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // IOCTopologyTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()

/// Every `Topology/*.yaml` in the repository, sorted by name.
func topologyFiles() throws -> [URL] {
    let directory = repositoryRoot.appendingPathComponent("Topology")
    return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        .filter { $0.pathExtension == "yaml" }
        .sorted { $0.lastPathComponent < $1.lastPathComponent }
}

/// The problems `TopologyLoader.parse` reports for `yaml`, or `[]` if it loads.
func loaderProblems(_ yaml: String) -> [TopologyProblem] {
    do {
        _ = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        return []
    } catch {
        return error.problems
    }
}

/// The problems model validation reports for `topology` (no line numbers at this level).
func validationProblems(_ topology: Topology) -> [TopologyProblem] {
    Topology.validate(topology)
}

/// `location: message` pairs, for compact exact expectations.
func pairs(_ problems: [TopologyProblem]) -> [String] {
    problems.map(\.description)
}
