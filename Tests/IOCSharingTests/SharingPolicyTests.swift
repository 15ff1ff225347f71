import IOCModel
import IOCSharing
import IOCTesting
import Testing

/// The sample rules, judged node by node; decoding reports every problem at once.
@Suite struct SharingPolicyTests {
    let topology = TopologyFixtures.small()
    var policy: ActivePolicy { try! ActivePolicy(topology: topology) }

    func report(origin: String, unit: String, category: String, assigned: String? = nil) -> RecordFacts {
        RecordFacts(kind: "fieldReport", origin: origin, units: [unit] + (assigned.map { [$0] } ?? []), category: category)
    }

    @Test func fieldReportsGoUpAndToTheirSectorAndTheirUnitOnly() {
        let flooding = report(origin: "hai-chau", unit: "20194", category: "flooding")
        #expect(policy.mayHold(flooding, node: "hai-chau"))  // its own
        #expect(policy.mayHold(flooding, node: "province"))  // up
        #expect(!policy.mayHold(flooding, node: "thanh-khe"))  // another ward
        #expect(!policy.mayHold(flooding, node: "health"))  // not a health category
        let food = report(origin: "hai-chau", unit: "20194", category: "food-safety")
        #expect(policy.mayHold(food, node: "health"))
        #expect(!policy.mayHold(food, node: "thanh-khe"))
        // Reassigned to Thanh Khê by the province: now Thanh Khê's business too.
        let reassigned = report(origin: "province", unit: "48", category: "flooding", assigned: "20200")
        #expect(policy.mayHold(reassigned, node: "thanh-khe"))
        #expect(!policy.mayHold(reassigned, node: "hai-chau"))
    }

    @Test func personalDataNeverLeavesWhateverTheRules() {
        var everything = try! SharingPolicy(topology: topology)
        everything.rules.append(
            SharingRule(kinds: Set(RecordKind.allCases), to: [.mode(.province), .mode(.district), .mode(.sector)]))
        let active = ActivePolicy(policy: everything, topology: topology)
        let contact = RecordFacts(kind: "reporterContact", origin: "hai-chau", units: ["20194"])
        for node in ["province", "thanh-khe", "health"] { #expect(!active.mayHold(contact, node: node)) }
        #expect(active.mayHold(contact, node: "hai-chau"))
    }

    @Test func alertsGoDownToTheirAreaAndUpFromLocalOCs() {
        let provinceWide = RecordFacts(kind: "alert", origin: "province", units: ["48"], areaUnits: ["48"], category: "Met")
        for node in ["hai-chau", "thanh-khe", "health"] { #expect(policy.mayHold(provinceWide, node: node)) }
        let oneWard = RecordFacts(kind: "alert", origin: "province", units: ["48"], areaUnits: ["20194"], category: "Met")
        #expect(policy.mayHold(oneWard, node: "hai-chau"))
        #expect(!policy.mayHold(oneWard, node: "thanh-khe"))
        #expect(!policy.mayHold(oneWard, node: "health"))
        let threshold = RecordFacts(kind: "alert", origin: "hai-chau", units: ["20194"], category: "Met")
        #expect(policy.mayHold(threshold, node: "province"))
        #expect(!policy.mayHold(threshold, node: "thanh-khe"))
    }

    @Test func observationsAndKPIsGoUpOnly() {
        for kind in ["observation", "station", "kpi", "dossier"] {
            let facts = RecordFacts(kind: kind, origin: "thanh-khe", units: ["20200"])
            #expect(policy.mayHold(facts, node: "province"), "\(kind)")
            #expect(!policy.mayHold(facts, node: "hai-chau"), "\(kind)")
            #expect(!policy.mayHold(facts, node: "health"), "\(kind)")
            // Going down is not going up: the province's own KPIs stay at the province.
            let provinces = RecordFacts(kind: kind, origin: "province", units: ["48"])
            #expect(!policy.mayHold(provinces, node: "thanh-khe"), "\(kind)")
        }
    }

    @Test func unknownOriginMatchesNoDirectionalRule() {
        let orphan = report(origin: "", unit: "20194", category: "flooding")
        #expect(!policy.mayHold(orphan, node: "province"))
    }

    @Test func changesFlowAlongTheNodeTree() {
        #expect(policy.mayForward(origin: "hai-chau", from: "hai-chau", to: "province"))
        #expect(!policy.mayForward(origin: "thanh-khe", from: "hai-chau", to: "province"))  // a ward forging a sibling
        #expect(!policy.mayForward(origin: "province", from: "hai-chau", to: "province"))
        #expect(policy.mayForward(origin: "thanh-khe", from: "province", to: "hai-chau"))  // the parent relays
    }

    @Test func fingerprintFollowsRulesAndUnits() throws {
        let base = policy.fingerprint
        #expect(base == (try ActivePolicy(topology: topology)).fingerprint)
        var t = topology
        t.units[3].categories.append("flooding")
        #expect(try ActivePolicy(topology: t).fingerprint != base)
        var p = try SharingPolicy(topology: topology)
        p.rules.removeLast()
        #expect(ActivePolicy(policy: p, topology: topology).fingerprint != base)
    }

    @Test func missingSectionSharesNothing() throws {
        var t = topology
        t.sharing = .null
        let none = try ActivePolicy(topology: t)
        #expect(none.version == 0)
        #expect(!none.mayHold(report(origin: "hai-chau", unit: "20194", category: "flooding"), node: "province"))
    }

    @Test func everyProblemIsReportedWithItsPath() {
        var t = topology
        t.sharing = [
            "version": 0, "colour": "red",
            "rules": [
                ["kinds": ["fieldReport", "reporterContact", "nonsense"], "to": ["province", "nobody"], "scope": "galaxy"],
                ["kinds": [], "direction": "sideways", "categories": "flooding", "extra": 1],
                "not a rule",
            ],
        ]
        do {
            _ = try SharingPolicy(topology: t)
            Issue.record("expected problems")
        } catch {
            let locations = error.problems.map(\.location)
            #expect(
                locations == [
                    "sharing.colour", "sharing.version", "sharing.rules[0].kinds[1]", "sharing.rules[0].kinds[2]",
                    "sharing.rules[0].to[1]", "sharing.rules[0].scope", "sharing.rules[1].extra", "sharing.rules[1].kinds",
                    "sharing.rules[1].to", "sharing.rules[1].direction", "sharing.rules[1].categories", "sharing.rules[2]",
                ])
            #expect(error.problems[2].message.contains("personal data"))
        }
    }
}
