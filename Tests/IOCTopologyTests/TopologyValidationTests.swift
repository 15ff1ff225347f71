import IOCModel
import IOCTesting
import Testing

/// Each problem class, detected by model validation with an exact location and message.
@Suite struct TopologyValidationTests {
    private func small(_ change: (inout Topology) -> Void) -> Topology {
        var topology = TopologyFixtures.small()
        change(&topology)
        return topology
    }

    @Test func fixtureIsValid() throws {
        #expect(validationProblems(TopologyFixtures.small()) == [])
        _ = try TopologyFixtures.small().validated()
    }

    @Test func emptyFederationName() {
        let problems = validationProblems(small { $0.federation = "" })
        #expect(pairs(problems) == ["federation: the federation name is empty; give a lowercase name such as da-nang"])
    }

    @Test(arguments: ["Da-Nang", "da nang", "-da-nang", "đà-nẵng", ".x"])
    func badFederationName(_ name: String) {
        let problems = validationProblems(small { $0.federation = name })
        #expect(
            pairs(problems) == [
                "federation: federation name '\(name)' must match [a-z0-9][a-z0-9.-]* (lowercase letters, digits, "
                    + "'.' and '-'), e.g. da-nang; it names the federation's trust domain"
            ])
    }

    @Test(arguments: ["da-nang", "vn.da-nang", "48"])
    func goodFederationName(_ name: String) {
        #expect(validationProblems(small { $0.federation = name }) == [])
    }

    @Test func duplicateUnitCode() {
        let problems = validationProblems(
            small { $0.units.append(AdminUnit(code: "20194", name: "Phường Hải Châu", level: .ward, parent: "48")) })
        #expect(pairs(problems) == ["units[4].code: duplicate unit code '20194': an earlier unit already uses it"])
    }

    @Test func duplicateNodeID() {
        let problems = validationProblems(
            small {
                $0.nodes.append(
                    NodeDescriptor(id: "health", mode: .district, unit: "20194", parent: "province", url: "https://127.0.0.1:8450"))
            })
        #expect(pairs(problems) == ["nodes[4].id: duplicate node id 'health': an earlier node already uses it"])
    }

    @Test(arguments: ["Hai-Chau", "hai_chau", "-hai", "", "hải-châu", "hai.chau"])
    func badNodeID(_ id: String) {
        let problems = validationProblems(small { $0.nodes[1].id = id })
        #expect(
            pairs(problems) == [
                "nodes[1].id: node id '\(id)' must match [a-z0-9][a-z0-9-]* (lowercase letters, digits, '-'); "
                    + "it becomes part of the node's SPIFFE ID"
            ])
    }

    @Test func unknownUnitParent() {
        let problems = validationProblems(small { $0.units[1].parent = "49" })
        #expect(
            pairs(problems) == [
                "units[1].parent: unit '20194' names parent '49', which is not a unit in this topology"
            ])
    }

    @Test func unknownNodeParent() {
        let problems = validationProblems(small { $0.nodes[2].parent = "provnce" })
        #expect(
            pairs(problems) == [
                "nodes[2].parent: node 'thanh-khe' names parent 'provnce', which is not a node in this topology"
            ])
    }

    @Test func unknownNodeUnit() {
        let problems = validationProblems(small { $0.nodes[1].unit = "20195" })
        #expect(
            pairs(problems) == [
                "nodes[1].unit: node 'hai-chau' serves unit '20195', which is not a unit in this topology"
            ])
    }

    @Test func unitParentCycle() {
        let problems = validationProblems(
            small {
                $0.units[0].parent = "so-y-te"
                $0.units[3].parent = "20200"
                $0.units[2].parent = "48"
            })
        #expect(pairs(problems) == ["units[0].parent: unit parents form a cycle: 48 → so-y-te → 20200 → 48"])
    }

    @Test func unitThatIsItsOwnParent() {
        let problems = validationProblems(small { $0.units[2].parent = "20200" })
        #expect(pairs(problems) == ["units[2].parent: unit parents form a cycle: 20200 → 20200"])
    }

    @Test func nodeParentCycle() {
        let problems = validationProblems(
            small {
                $0.nodes[1].parent = "health"
                $0.nodes[3].parent = "thanh-khe"
                $0.nodes[2].parent = "hai-chau"
            })
        #expect(
            pairs(problems) == ["nodes[1].parent: node parents form a cycle: hai-chau → health → thanh-khe → hai-chau"])
    }

    @Test func noProvinceNode() {
        let problems = validationProblems(small { $0.nodes.removeFirst() })
        #expect(
            pairs(problems) == [
                "nodes[0].parent: node 'hai-chau' names parent 'province', which is not a node in this topology",
                "nodes[1].parent: node 'thanh-khe' names parent 'province', which is not a node in this topology",
                "nodes[2].parent: node 'health' names parent 'province', which is not a node in this topology",
                "nodes: there is no province node; exactly one node must have mode province (the federation's root)",
            ])
    }

    @Test func secondProvinceNode() {
        let problems = validationProblems(
            small {
                $0.nodes.append(NodeDescriptor(id: "province-2", mode: .province, unit: "48", url: "https://127.0.0.1:8450"))
            })
        #expect(
            pairs(problems) == [
                "nodes[4].mode: node 'province-2' is a second province node; 'province' already is, "
                    + "and a federation has exactly one"
            ])
    }

    @Test func provinceNodeWithParent() {
        let problems = validationProblems(small { $0.nodes[0].parent = "nowhere" })
        #expect(
            pairs(problems) == [
                "nodes[0].parent: node 'province' has mode province (the federation's root) and must not have a "
                    + "parent; remove parent 'nowhere'"
            ])
    }

    @Test func nonProvinceNodeWithoutParent() {
        let problems = validationProblems(small { $0.nodes[3].parent = nil })
        #expect(
            pairs(problems) == [
                "nodes[3].parent: node 'health' (mode sector) has no parent; every node except the province node needs one"
            ])
    }

    @Test func modeUnitMismatch() {
        let problems = validationProblems(
            small {
                $0.nodes[3].unit = "20194"  // sector node on a ward
                $0.nodes[1].unit = "so-y-te"  // district node on a sector
                $0.nodes[0].unit = "20200"  // province node on a ward
            })
        #expect(
            pairs(problems) == [
                "nodes[0].unit: node 'province' has mode province but its unit '20200' has level ward; "
                    + "a province node serves a unit of level province",
                "nodes[1].unit: node 'hai-chau' has mode district but its unit 'so-y-te' has level sector; "
                    + "a district node serves a unit of level commune, ward, special-zone, legacy-district",
                "nodes[3].unit: node 'health' has mode sector but its unit '20194' has level ward; "
                    + "a sector node serves a unit of level sector",
            ])
    }

    @Test(arguments: [UnitLevel.commune, .ward, .specialZone, .legacyDistrict])
    func districtNodeServesAnyLocalUnit(_ level: UnitLevel) {
        #expect(validationProblems(small { $0.units[1].level = level }) == [])
    }

    @Test func sectorUnitWithoutSector() {
        let problems = validationProblems(small { $0.units[3].sector = nil })
        #expect(
            pairs(problems) == [
                "units[3].sector: unit 'so-y-te' has level sector but no sector; name the sector it serves, e.g. health"
            ])
    }

    @Test func sectorAndCategoriesOnlyForSectorUnits() {
        let problems = validationProblems(
            small {
                $0.units[1].sector = "health"
                $0.units[1].categories = ["flooding"]
            })
        #expect(
            pairs(problems) == [
                "units[1].sector: unit '20194' has level ward; only sector units have a sector",
                "units[1].categories: unit '20194' has level ward; only sector units handle categories",
            ])
    }

    @Test(arguments: ["2025-02-29", "2025-13-01", "2025-04-31", "2025-00-10", "01/07/2025", "2025-7-1", "2025-07-01T00:00:00Z", ""])
    func notARealDate(_ date: String) {
        let problems = validationProblems(small { $0.units[1].validFrom = date })
        #expect(
            pairs(problems) == ["units[1].validFrom: '\(date)' is not a real date in YYYY-MM-DD form (e.g. 2025-07-01)"])
    }

    @Test(arguments: ["2024-02-29", "2000-02-29", "2025-12-31", "1975-04-30"])
    func realDates(_ date: String) {
        #expect(validationProblems(small { $0.units[1].validTo = date; $0.units[1].validFrom = nil }) == [])
    }

    @Test func validToBeforeValidFrom() {
        let problems = validationProblems(small { $0.units[1].validTo = "2025-06-30" })
        #expect(
            pairs(problems) == [
                "units[1].validTo: unit '20194' ends (validTo 2025-06-30) before it starts (validFrom 2025-07-01)"
            ])
    }

    @Test func oneDayUnitIsValid() {
        #expect(validationProblems(small { $0.units[1].validTo = "2025-07-01" }) == [])
    }

    @Test func unknownSuccessor() {
        let problems = validationProblems(
            small {
                $0.units.append(
                    AdminUnit(
                        code: "492", name: "Quận Hải Châu", level: .legacyDistrict, parent: "48", validTo: "2025-06-30",
                        successors: ["20194", "20197"]))
            })
        #expect(
            pairs(problems) == [
                "units[4].successors[1]: unit '492' names successor '20197', which is not a unit in this topology"
            ])
    }

    @Test(arguments: [
        "127.0.0.1:8443", "https://127.0.0.1", "https://127.0.0.1:8443/", "https://127.0.0.1:8443/api",
        "ftp://127.0.0.1:21", "https://:8443", "https://127.0.0.1:0", "https://127.0.0.1:70000",
        "https://user@127.0.0.1:8443", "https://127.0.0.1:8443?x=1", "HTTPS://127.0.0.1:8443", "",
    ])
    func badURL(_ url: String) {
        let problems = validationProblems(small { $0.nodes[2].url = url })
        #expect(
            pairs(problems) == [
                "nodes[2].url: node 'thanh-khe' has url '\(url)'; expected http(s)://host:port with no path, "
                    + "e.g. https://127.0.0.1:8443"
            ])
    }

    @Test(arguments: ["http://localhost:80", "https://ioc.danang.gov.vn:443", "https://[::1]:8443", "https://10.0.0.7:65535"])
    func goodURL(_ url: String) {
        #expect(validationProblems(small { $0.nodes[2].url = url }) == [])
    }

    @Test func allProblemsReportedAtOnce() throws {
        let broken = small {
            $0.federation = "Test Small"
            $0.units[1].validFrom = "2025-02-30"
            $0.units[2].parent = "47"
            $0.nodes[1].id = "Hai Chau"
            $0.nodes[3].url = "https://127.0.0.1"
        }
        let error = #expect(throws: TopologyError.self) { try broken.validated() }
        #expect(
            error.map { pairs($0.problems) } == [
                "federation: federation name 'Test Small' must match [a-z0-9][a-z0-9.-]* (lowercase letters, digits, "
                    + "'.' and '-'), e.g. da-nang; it names the federation's trust domain",
                "units[1].validFrom: '2025-02-30' is not a real date in YYYY-MM-DD form (e.g. 2025-07-01)",
                "units[2].parent: unit '20200' names parent '47', which is not a unit in this topology",
                "nodes[1].id: node id 'Hai Chau' must match [a-z0-9][a-z0-9-]* (lowercase letters, digits, '-'); "
                    + "it becomes part of the node's SPIFFE ID",
                "nodes[3].url: node 'health' has url 'https://127.0.0.1'; expected http(s)://host:port with no path, "
                    + "e.g. https://127.0.0.1:8443",
            ])
        let description = try #require(error).description
        #expect(description.split(separator: "\n").count == 6)
        #expect(description.hasPrefix("The topology has 5 problems:\n  federation: "))
    }

    @Test func rejectedEntriesAreNotReportedAgain() {
        let topology = small {
            $0.units.remove(at: 1)  // as if units[1] had failed to decode
            $0.nodes.removeFirst()  // as if the province node had failed to decode
        }
        let problems = Topology.validate(topology, rejectedUnitCodes: ["20194"], rejectedNodeIDs: ["province"])
        #expect(problems == [])
    }
}
