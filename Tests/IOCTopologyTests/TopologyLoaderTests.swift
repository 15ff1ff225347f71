import Foundation
import IOCModel
import IOCTopology
import Testing

/// Decoding from YAML: types, unknown keys, line numbers, NFC, the verbatim `sharing` section, and
/// every problem of a file reported in one error.
@Suite struct TopologyLoaderTests {
    /// A valid document; the line numbers in the expectations below refer to it.
    static let base = """
        federation: test
        units:
          - code: "48"
            name: "Thành phố Đà Nẵng"
            level: province
          - code: "20194"
            name: "Phường Hải Châu"
            level: ward
            parent: "48"
            validFrom: 2025-07-01
          - code: so-y-te
            name: "Sở Y tế"
            level: sector
            parent: "48"
            sector: health
            categories: [food-safety, epidemic]
        nodes:
          - id: province
            mode: province
            unit: "48"
            url: https://127.0.0.1:8443
          - id: hai-chau
            mode: district
            unit: "20194"
            parent: province
            url: https://127.0.0.1:8444
          - id: health
            mode: sector
            unit: so-y-te
            parent: province
            url: https://127.0.0.1:8445

        """

    /// `base` with each `(old, new)` replaced; each `old` must occur exactly once.
    private func edited(_ edits: (String, String)...) throws -> String {
        var text = Self.base
        for (old, new) in edits {
            try #require(text.components(separatedBy: old).count == 2, "'\(old)' must occur once")
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    @Test func baseLoads() throws {
        let topology = try TopologyLoader.parse(yaml: Self.base, source: "test.yaml")
        #expect(topology.federation == "test")
        #expect(topology.units.map(\.code) == ["48", "20194", "so-y-te"])
        #expect(topology.unit(code: "20194")?.validFrom == "2025-07-01")
        #expect(topology.unit(code: "so-y-te")?.categories == ["food-safety", "epidemic"])
        #expect(topology.nodes.map(\.parent) == [nil, "province", "province"])
        #expect(topology.sharing == .null)
    }

    @Test func datesAndCodesMayBeQuotedOrNot() throws {
        let plain = try TopologyLoader.parse(yaml: Self.base, source: "test.yaml")
        let quoted = try TopologyLoader.parse(
            yaml: try edited(("validFrom: 2025-07-01", "validFrom: \"2025-07-01\"")), source: "test.yaml")
        let bare = try TopologyLoader.parse(
            yaml: Self.base.replacingOccurrences(of: "\"48\"", with: "48"), source: "test.yaml")
        #expect(quoted == plain)
        #expect(bare == plain)
    }

    @Test func numbersKeepTheirLiteralText() throws {
        let topology = try TopologyLoader.parse(
            yaml: try edited(("code: \"20194\"", "code: 020194"), ("unit: \"20194\"", "unit: 020194")),
            source: "test.yaml")
        #expect(topology.units[1].code == "020194")
        #expect(topology.nodes[1].unit == "020194")
    }

    @Test func timestampsThatAreNotDaysAreRefused() throws {
        let problems = loaderProblems(try edited(("validFrom: 2025-07-01", "validFrom: 2025-07-01 08:00:00")))
        #expect(
            pairs(problems) == [
                "units[1].validFrom, line 10: '2025-07-01 08:00:00' is not a real date in YYYY-MM-DD form (e.g. 2025-07-01)"
            ])
    }

    @Test func unknownKeyIsRefusedWithASuggestion() throws {
        let problems = loaderProblems(try edited(("    parent: \"48\"\n    validFrom", "    prent: \"48\"\n    validFrom")))
        #expect(
            pairs(problems) == [
                "units[1].prent, line 9: unknown key 'prent' (did you mean 'parent'?); allowed keys: code, name, level, "
                    + "parent, validFrom, validTo, successors, sector, categories"
            ])
    }

    @Test func unknownTopLevelAndNodeKeys() throws {
        let problems = loaderProblems(
            try edited(("federation: test\n", "federation: test\nversion: 2\n"), ("unit: so-y-te", "unti: so-y-te")))
        #expect(
            pairs(problems) == [
                "version, line 2: unknown key 'version'; allowed keys: federation, units, nodes, sharing",
                "nodes[2].unit, line 28: missing required key 'unit'",
                "nodes[2].unti, line 30: unknown key 'unti' (did you mean 'unit'?); allowed keys: id, mode, unit, parent, url, sync",
            ])
    }

    @Test func missingRequiredKeys() throws {
        let problems = loaderProblems(
            try edited(("    name: \"Sở Y tế\"\n", ""), ("    url: https://127.0.0.1:8445\n", "")))
        #expect(
            pairs(problems) == [
                "units[2].name, line 11: missing required key 'name'",
                "nodes[2].url, line 26: missing required key 'url'",
            ])
    }

    @Test func missingTopLevelSections() {
        #expect(
            pairs(loaderProblems("federation: test\nsharing: {}\n")) == [
                "units: missing required key 'units'",
                "nodes: missing required key 'nodes'",
            ])
    }

    @Test func wrongTypes() throws {
        let problems = loaderProblems(
            try edited(
                ("name: \"Thành phố Đà Nẵng\"", "name: [Thành phố, Đà Nẵng]"),
                ("categories: [food-safety, epidemic]", "categories: food-safety"),
                ("name: \"Phường Hải Châu\"", "name: no"),
                ("parent: province\n    url: https://127.0.0.1:8445", "parent: {id: province}\n    url: https://127.0.0.1:8445")
            ))
        #expect(
            pairs(problems) == [
                "units[0].name, line 4: expected text; got a list",
                "units[1].name, line 7: 'no' reads as a YAML boolean; quote it (\"no\") if you mean text",
                "units[2].categories, line 16: expected a list of text, e.g. [a, b]; got the text 'food-safety'",
                "nodes[2].parent, line 30: expected text; got a mapping",
            ])
    }

    @Test func unitsMustBeAList() {
        let problems = loaderProblems("federation: test\nunits:\n  code: \"48\"\nnodes: []\n")
        #expect(pairs(problems) == ["units, line 2: expected a list; got a mapping"])
    }

    @Test func entryMustBeAMapping() throws {
        let problems = loaderProblems(try edited(("nodes:\n", "nodes:\n  - province\n")))
        #expect(
            pairs(problems) == [
                "nodes[0], line 18: expected a mapping with keys id, mode, unit, parent, url, sync; got the text 'province'"
            ])
    }

    @Test func unknownLevelIsOneProblemNotACascade() throws {
        let problems = loaderProblems(try edited(("level: ward", "level: district")))
        #expect(
            pairs(problems) == [
                "units[1].level, line 8: unknown level 'district' (districts ended on 2025-07-01; use legacy-district "
                    + "with validTo and successors); expected one of province, commune, ward, special-zone, "
                    + "legacy-district, sector"
            ])
    }

    @Test func unknownModeIsOneProblemNotACascade() throws {
        let problems = loaderProblems(try edited(("mode: province", "mode: provnce")))
        #expect(
            pairs(problems) == [
                "nodes[0].mode, line 19: unknown mode 'provnce' (did you mean 'province'?); expected one of province, "
                    + "district, sector"
            ])
        let ward = loaderProblems(try edited(("mode: district", "mode: ward")))
        #expect(
            pairs(ward) == [
                "nodes[1].mode, line 23: unknown mode 'ward' (a node serving a commune or ward has mode district); "
                    + "expected one of province, district, sector"
            ])
    }

    @Test func validationLocationsCountEntriesThatFailedToDecode() throws {
        // units[1] is left out (bad level); the problem in the next unit must still say units[2].
        let problems = loaderProblems(try edited(("level: ward", "level: town"), ("    parent: \"48\"\n    sector", "    parent: \"49\"\n    sector")))
        #expect(
            pairs(problems) == [
                "units[1].level, line 8: unknown level 'town'; expected one of province, commune, ward, special-zone, "
                    + "legacy-district, sector",
                "units[2].parent, line 14: unit 'so-y-te' names parent '49', which is not a unit in this topology",
            ])
    }

    @Test func allProblemsOfAFileAtOnceInFileOrder() throws {
        let yaml = try edited(
            ("federation: test", "federation: Test"),
            ("validFrom: 2025-07-01", "validFrom: 2025-07-01\n    validTo: 2025-06-31"),
            ("sector: health", "sectr: health"),
            ("unit: \"20194\"", "unit: \"20195\""),
            ("url: https://127.0.0.1:8445", "url: https://127.0.0.1:8445/ioc")
        )
        let error = #expect(throws: TopologyError.self) { try TopologyLoader.parse(yaml: yaml, source: "broken.yaml") }
        let expected = [
            "federation, line 1: federation name 'Test' must match [a-z0-9][a-z0-9.-]* (lowercase letters, digits, "
                + "'.' and '-'), e.g. da-nang; it names the federation's trust domain",
            "units[1].validTo, line 11: '2025-06-31' is not a real date in YYYY-MM-DD form (e.g. 2025-07-01)",
            "units[2].sector, line 12: unit 'so-y-te' has level sector but no sector; name the sector it serves, e.g. health",
            "units[2].sectr, line 16: unknown key 'sectr' (did you mean 'sector'?); allowed keys: code, name, level, "
                + "parent, validFrom, validTo, successors, sector, categories",
            "nodes[1].unit, line 25: node 'hai-chau' serves unit '20195', which is not a unit in this topology",
            "nodes[2].url, line 32: node 'health' has url 'https://127.0.0.1:8445/ioc'; expected http(s)://host:port "
                + "with no path, e.g. https://127.0.0.1:8443",
        ]
        #expect(error.map { pairs($0.problems) } == expected)
        #expect(error?.description == (["The topology in broken.yaml has 6 problems:"] + expected.map { "  \($0)" }).joined(separator: "\n"))
    }

    @Test func syntaxErrorHasALine() {
        #expect(
            pairs(loaderProblems("federation: test\n  units: []\n")) == [
                "document, line 2: YAML syntax error at column 8: mapping values are not allowed in this context"
            ])
        #expect(
            pairs(loaderProblems("federation: test\nunits:\n  - code: \"48\n    name: x\n")) == [
                "document, line 5: YAML syntax error at column 1: found unexpected end of stream "
                    + "(while scanning a quoted scalar at line 3, column 11)"
            ])
    }

    @Test func duplicateKeyIsRefused() throws {
        let problems = loaderProblems(try edited(("    level: ward\n", "    level: ward\n    level: commune\n")))
        #expect(pairs(problems) == ["document, line 8: duplicate key 'level' in one mapping; each key may appear once"])
    }

    @Test func emptyAndNonMappingDocuments() {
        #expect(
            pairs(loaderProblems("# nothing yet\n")) == [
                "document: the document is empty; expected keys federation, units, nodes and optionally sharing"
            ])
        #expect(
            pairs(loaderProblems("- federation\n- units\n")) == [
                "document, line 1: expected a mapping with keys federation, units, nodes, sharing; got a list"
            ])
    }

    @Test func decomposedInputComesBackNFC() throws {
        let nfd = Self.base.decomposedStringWithCanonicalMapping
        #expect(!nfd.unicodeScalars.elementsEqual(Self.base.unicodeScalars))
        let topology = try TopologyLoader.parse(yaml: nfd + "sharing: {note: \"Hòa Vang\"}\n", source: "nfd.yaml")
        for unit in topology.units {
            #expect(unit.name.unicodeScalars.elementsEqual(unit.name.precomposedStringWithCanonicalMapping.unicodeScalars))
        }
        #expect(Array(topology.unit(code: "so-y-te")?.name.unicodeScalars ?? "".unicodeScalars) == Array("Sở Y tế".precomposedStringWithCanonicalMapping.unicodeScalars))
        #expect(topology.sharing["note"]?.stringValue.map { Array($0.utf8) } == Array("Hòa Vang".precomposedStringWithCanonicalMapping.utf8))
    }

    @Test func modelInitialiserNormalisesNames() {
        let unit = AdminUnit(code: "48", name: "Thành phố Đà Nẵng".decomposedStringWithCanonicalMapping, level: .province)
        #expect(Array(unit.name.utf8) == Array("Thành phố Đà Nẵng".precomposedStringWithCanonicalMapping.utf8))
    }

    @Test func sharingIsKeptVerbatim() throws {
        let yaml = Self.base + """
            sharing:
              version: 1
              rules:
                - kind: field-report
                  to: {mode: [district, sector], sameUnit: true}
                  fields: [title, "category"]
                  ratio: 0.5
                  since: 2025-07-01
                  note: ~
                  code: "007"
                  count: 0x10
                  big: 1e3
                  quotedTrue: "true"
                  yes: on

            """
        let topology = try TopologyLoader.parse(yaml: yaml, source: "test.yaml")
        let expected: JSONValue = [
            "version": 1,
            "rules": [
                [
                    "kind": "field-report",
                    "to": ["mode": ["district", "sector"], "sameUnit": true],
                    "fields": ["title", "category"],
                    "ratio": 0.5,
                    "since": "2025-07-01",
                    "note": nil,
                    "code": "007",
                    "count": 16,
                    "big": 1000.0,
                    "quotedTrue": "true",
                    "yes": true,
                ]
            ],
        ]
        #expect(topology.sharing == expected)
    }

    @Test func sharingEmptyOrAbsentIsNull() throws {
        #expect(try TopologyLoader.parse(yaml: Self.base, source: "t").sharing == .null)
        #expect(try TopologyLoader.parse(yaml: Self.base + "sharing:\n", source: "t").sharing == .null)
        #expect(try TopologyLoader.parse(yaml: Self.base + "sharing: {}\n", source: "t").sharing == [:])
    }

    @Test func sharingValuesJSONCannotHoldAreReported() {
        let problems = loaderProblems(Self.base + "sharing:\n  limit: .inf\n  huge: 99999999999999999999\n")
        #expect(
            pairs(problems) == [
                "sharing.limit, line 33: .inf is not a finite number, which JSON cannot hold; quote it to keep it as text",
                "sharing.huge, line 34: the integer 99999999999999999999 does not fit in 64 bits; quote it to keep it as text",
            ])
    }
}
