import Foundation
import IOCModel
import IOCTesting
import IOCTopology
import Testing

/// The topology files shipped in `Topology/` load, validate and say what they are meant to say.
@Suite struct TopologyFilesTests {
    @Test func everyShippedTopologyLoads() throws {
        let files = try topologyFiles()
        #expect(files.map(\.lastPathComponent).contains("da-nang.yaml"))
        #expect(files.map(\.lastPathComponent).contains("test-small.yaml"))
        for file in files {
            do {
                let topology = try TopologyLoader.load(path: file.path)
                #expect(try topology.validated() == topology)
                #expect(file.deletingPathExtension().lastPathComponent == topology.federation)
            } catch {
                Issue.record("\(error)")
            }
        }
    }

    @Test func daNangDescribesTheFederation() throws {
        let topology = try TopologyLoader.load(path: repositoryRoot.appendingPathComponent("Topology/da-nang.yaml").path)
        #expect(topology.federation == "da-nang")
        #expect(topology.nodes.map(\.id) == ["province", "hai-chau", "thanh-khe", "son-tra", "hoa-vang", "health", "environment"])
        #expect(topology.nodes.map(\.url) == (8443...8449).map { "https://127.0.0.1:\($0)" })
        #expect(topology.unit(code: "48")?.name == "Thành phố Đà Nẵng")
        #expect(topology.nodes.filter { $0.mode == .district }.count >= 4)

        let special = try #require(topology.units.first { $0.level == .specialZone })
        #expect(special.name == "Đặc khu Hoàng Sa")
        #expect(!topology.nodes.contains { $0.unit == special.code })

        let legacy = try #require(topology.units.first { $0.level == .legacyDistrict })
        #expect(legacy.name == "Quận Hải Châu")
        #expect(legacy.validTo == "2025-06-30")
        #expect(legacy.successors.compactMap { topology.unit(code: $0)?.name } == ["Phường Hải Châu", "Phường Hòa Cường"])

        let health = try #require(topology.node(id: "health").flatMap { topology.unit(code: $0.unit) })
        #expect(health.name == "Sở Y tế" && health.sector == "health")
        #expect(health.categories == ["food-safety", "epidemic"])
        let environment = try #require(topology.node(id: "environment").flatMap { topology.unit(code: $0.unit) })
        #expect(environment.name == "Sở Nông nghiệp và Môi trường" && environment.sector == "environment")
        #expect(environment.categories == ["flooding", "pollution", "environment"])

        #expect(topology.sharing == TopologyFixtures.sampleSharing)
    }

    @Test func shippedNamesAreNFC() throws {
        for file in try topologyFiles() {
            let topology = try TopologyLoader.load(path: file.path)
            for unit in topology.units {
                #expect(unit.name.unicodeScalars.elementsEqual(unit.name.precomposedStringWithCanonicalMapping.unicodeScalars))
            }
        }
    }

    @Test func fixtureMatchesTestSmallFile() throws {
        let file = try TopologyLoader.load(path: repositoryRoot.appendingPathComponent("Topology/test-small.yaml").path)
        #expect(file == TopologyFixtures.small())
        #expect(file.units.map(\.name) == TopologyFixtures.small().units.map(\.name))
    }

    @Test func missingFileNamesThePath() {
        let path = "/nonexistent/topology/da-nang.yaml"
        let error = #expect(throws: TopologyError.self) { try TopologyLoader.load(path: path) }
        #expect(error?.source == path)
        #expect(
            error.map { pairs($0.problems) } == [
                "file: no such file (looked for \(path)); pass a topology file such as Topology/da-nang.yaml"
            ])
        #expect(
            error?.description == "The topology in \(path) has 1 problem:\n"
                + "  file: no such file (looked for \(path)); pass a topology file such as Topology/da-nang.yaml")
    }

    @Test func directoryIsRefused() {
        let path = repositoryRoot.appendingPathComponent("Topology").path
        let error = #expect(throws: TopologyError.self) { try TopologyLoader.load(path: path) }
        #expect(error.map { pairs($0.problems) } == ["file: is a directory; pass a topology file such as Topology/da-nang.yaml"])
    }

    @Test func nonUTF8FileIsRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("topology-\(UUID().uuidString).yaml")
        try Data([0x66, 0x3A, 0x20, 0xFF, 0xFE]).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let error = #expect(throws: TopologyError.self) { try TopologyLoader.load(path: url.path) }
        #expect(error.map { pairs($0.problems) } == ["file: is not UTF-8 text; save it as UTF-8"])
    }
}
