import IOCModel
import IOCTesting
import IOCTopology
import Testing

@Suite struct TopologyLookupTests {
    let small = TopologyFixtures.small()

    @Test func nodeAndUnitByKey() throws {
        #expect(small.node(id: "hai-chau")?.unit == "20194")
        #expect(small.node(id: "nowhere") == nil)
        #expect(small.unit(code: "so-y-te")?.sector == "health")
        #expect(small.unit(code: "99") == nil)
        #expect(small.provinceNode?.id == "province")
    }

    @Test func parentAndChildren() {
        #expect(small.children(ofNode: "province").map(\.id) == ["hai-chau", "thanh-khe", "health"])
        #expect(small.children(ofNode: "hai-chau").isEmpty)
        #expect(small.children(ofNode: "nowhere").isEmpty)
        #expect(small.parentNode(of: "health")?.id == "province")
        #expect(small.parentNode(of: "province") == nil)
        #expect(small.parentNode(of: "nowhere") == nil)
    }

    @Test func descendantsFollowUnitParents() throws {
        let topology = try TopologyLoader.load(path: repositoryRoot.appendingPathComponent("Topology/da-nang.yaml").path)
        let province = topology.unitAndDescendants("48")
        #expect(province.count == topology.units.count)
        #expect(topology.unitAndDescendants("20194") == ["20194"])
        #expect(topology.unitAndDescendants("unknown") == [])
        #expect(topology.isUnit("20194", within: "48"))
        #expect(topology.isUnit("so-y-te", within: "48"))
        #expect(topology.isUnit("48", within: "48"))
        #expect(!topology.isUnit("48", within: "20194"))
        #expect(!topology.isUnit("unknown", within: "48"))
        // Successor links are history, not containment.
        #expect(!topology.isUnit("20194", within: "492"))
    }

    @Test func descendantsAreTransitiveAndCycleSafe() {
        var topology = small
        topology.units.append(AdminUnit(code: "to-dan-pho-1", name: "Tổ dân phố 1", level: .ward, parent: "20194"))
        #expect(topology.unitAndDescendants("20194") == ["20194", "to-dan-pho-1"])
        #expect(topology.isUnit("to-dan-pho-1", within: "48"))
        // An unvalidated cycle must not hang the lookups.
        topology.units[0].parent = "to-dan-pho-1"
        #expect(topology.unitAndDescendants("20194") == ["20194", "to-dan-pho-1", "48", "20200", "so-y-te"])
        #expect(!topology.isUnit("20200", within: "unknown"))
    }

    @Test func indexFollowsMutation() {
        var topology = small
        topology.nodes[3].parent = "hai-chau"
        #expect(topology.children(ofNode: "hai-chau").map(\.id) == ["health"])
        #expect(topology.parentNode(of: "health")?.id == "hai-chau")
        topology.units.removeAll { $0.code == "so-y-te" }
        #expect(topology.unit(code: "so-y-te") == nil)
    }

    @Test func equalityIgnoresTheIndex() {
        var changed = small
        changed.nodes[3].parent = "hai-chau"
        changed.nodes[3].parent = "province"
        #expect(changed == small)
        #expect(changed.hashValue == small.hashValue)
    }

    @Test func unitValidity() throws {
        let topology = try TopologyLoader.load(path: repositoryRoot.appendingPathComponent("Topology/da-nang.yaml").path)
        let legacy = try #require(topology.unit(code: "492"))
        let ward = try #require(topology.unit(code: "20194"))
        let province = try #require(topology.unit(code: "48"))
        #expect(legacy.isValid(on: "2025-06-30"))
        #expect(!legacy.isValid(on: "2025-07-01"))
        #expect(!ward.isValid(on: "2025-06-30"))
        #expect(ward.isValid(on: "2025-07-01"))
        #expect(province.isValid(on: "1997-01-01") && province.isValid(on: "2099-12-31"))
        #expect(legacy.successors.allSatisfy { topology.unit(code: $0)?.isValid(on: "2025-07-01") == true })
    }

    @Test func modeUnitLevels() {
        #expect(NodeMode.province.unitLevels == [.province])
        #expect(NodeMode.district.unitLevels == [.commune, .ward, .specialZone, .legacyDistrict])
        #expect(NodeMode.sector.unitLevels == [.sector])
    }
}
