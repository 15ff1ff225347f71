import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IOCModel
import IOCNode
import IOCTesting
import Logging
import NIOCore
import Testing
import Yams

/// Keeps `docs/openapi.yaml` honest: its routes are the server's routes, its create schemas are the
/// kind schemas, its lifecycles are the state machines, and every create example is accepted by a
/// live node.
///
/// The live node is the district node `hai-chau` of `TopologyFixtures.small()` (unit 20194). The
/// examples use only unit codes present in both that fixture and `Topology/da-nang.yaml` (20194 and
/// 20200; a test checks this), so nothing is substituted except the observation example's
/// `stationId`, which is replaced by the id of the station created from the station example.
@Suite struct OpenAPIConformanceTests {
    // MARK: Document structure

    @Test func documentIsOpenAPI303AndEveryReferenceResolves() throws {
        let doc = try OpenAPIDocument.load()
        #expect(doc.root["openapi"] == "3.0.3")
        var refs: [String] = []
        OpenAPIDocument.collectRefs(doc.root, into: &refs)
        #expect(!refs.isEmpty)
        for ref in Set(refs) {
            #expect(doc.resolve(ref: ref) != nil, "unresolved $ref \(ref)")
        }
    }

    @Test func limitsInTheDocumentAreTheNodeLimits() throws {
        let doc = try OpenAPIDocument.load()
        let limits = Limits.default
        let limit = doc.flatten(doc.root["components"]?["parameters"]?["Limit"]?["schema"] ?? .null)
        #expect(limit["maximum"]?.int64Value == Int64(limits.pageSizeMax))
        #expect(limit["default"]?.int64Value == Int64(limits.pageSizeDefault))
        let batch = doc.schema("ObservationBatch")["properties"]?["observations"]
        #expect(batch?["maxItems"]?.int64Value == Int64(limits.observationBatchMax))
        let body = doc.operation("post", "/api/v1/observations")?["requestBody"]?["content"]?["application/json"]?["schema"]
        let array = body?["oneOf"]?.arrayValue?.first { $0["type"] == "array" }
        #expect(array?["maxItems"]?.int64Value == Int64(limits.observationBatchMax))
        #expect(limits.requestBodyBytesMax == 1_048_576)
        let badRequest = doc.root["components"]?["responses"]?["BadRequest"]?["description"]?.stringValue ?? ""
        #expect(badRequest.contains("1 MiB (1,048,576 bytes"), "\(badRequest)")
    }

    // MARK: Routes

    @Test func documentedRoutesAreExactlyTheRouterRoutes() throws {
        let doc = try OpenAPIDocument.load()
        let served = try OpenAPINode.withNode { node in
            Set(node.makeRouter().routes.map { "\($0.method.rawValue) \($0.path.description)" })
        }
        let documented = Set(doc.operations.map { "\($0.method.uppercased()) \($0.path)" })
        #expect(served.subtracting(documented).isEmpty, "served but not documented: \(served.subtracting(documented).sorted())")
        #expect(documented.subtracting(served).isEmpty, "documented but not served: \(documented.subtracting(served).sorted())")

        // The record routes, spelled out from the kinds, so a kind added later fails here too.
        for kind in RecordKind.allCases {
            let base = "/api/v1/\(kind.pathComponent)"
            let expected = [
                "POST \(base)", "GET \(base)", "GET \(base)/{id}", "PATCH \(base)/{id}", "DELETE \(base)/{id}",
                "POST \(base)/{id}/transitions",
            ]
            for route in expected {
                if kind.isLocalOnly {
                    #expect(!documented.contains(route), "local-only kind must not be documented: \(route)")
                } else {
                    #expect(documented.contains(route), "missing from docs/openapi.yaml: \(route)")
                }
            }
        }
    }

    @Test func everyDocumentedOperationAnswersWithADocumentedStatus() async throws {
        let doc = try OpenAPIDocument.load()
        try await OpenAPINode.live { node, token, http in
            // What an unrouted request looks like (the auth middleware guards matched routes only).
            let unknown = try await http.send(.get, "/api/v1/no-such-route-\(UUID().uuidString)", token: token, json: nil)
            #expect(unknown.status == .notFound, "\(unknown)")
            for op in doc.operations {
                let path = op.path.replacingOccurrences(of: "{id}", with: RecordID.generate().description)
                let method = HTTPRequest.Method(rawValue: op.method.uppercased())!
                let body: JSONValue? = ["post", "patch", "put"].contains(op.method) ? .object([:]) : nil
                let documentedStatuses = Set((op.value["responses"]?.objectValue ?? [:]).keys)

                if op.path.hasPrefix("/api/v1/") {
                    // The auth middleware sits on the /api/v1 group only, so 401 proves the route exists:
                    // an unknown route answers 404 whatever the token.
                    let anonymous = try await http.send(method, path, token: nil, json: body)
                    #expect(anonymous.status == .unauthorized, "\(op.method) \(op.path) without a token: \(anonymous)")
                    #expect(documentedStatuses.contains("401"), "\(op.method) \(op.path) does not document 401")
                }
                let r = try await http.send(method, path, token: op.path.hasPrefix("/api/v1/") ? token : nil, json: body)
                #expect(r.status != .notFound || r.json != unknown.json, "\(op.method) \(op.path) is not routed: \(r)")
                #expect(
                    documentedStatuses.contains(String(r.status.code)),
                    "\(op.method) \(op.path) answered \(r.status.code), documented: \(documentedStatuses.sorted()) — \(r)")
                if r.status.code >= 400, r.headers[.contentType]?.hasPrefix("application/json") == true,
                    r.json["error"] != nil
                {
                    #expect(openAPIKeys(r.json["error"]) == ["code", "message", "field"], "\(r)")
                    let codes = doc.schema("Error")["properties"]?["error"]?["properties"]?["code"]?["enum"]?.arrayValue ?? []
                    #expect(codes.contains(r.json["error"]?["code"] ?? .null), "undocumented error code: \(r)")
                }
            }
        }
    }

    // MARK: Schemas

    @Test(arguments: RecordKind.allCases.filter { !$0.isLocalOnly })
    func createSchemaMatchesTheKindSchema(_ kind: RecordKind) throws {
        let doc = try OpenAPIDocument.load()
        let name = OpenAPIDocument.schemaName(kind) + "Create"
        let create = doc.schema(name)
        #expect(!create.isEmpty, "components.schemas.\(name) is missing")
        #expect(create["type"] == "object")
        #expect(create["additionalProperties"] == .bool(false), "\(name) must refuse unknown fields")

        let fields = kind.schema.fields
        let properties = create["properties"]?.objectValue ?? [:]
        var expectedNames = Set(fields.filter { $0.mutability != .system }.map(\.name))
        if kind.lifecycle != nil { expectedNames.insert("status") }
        if kind == .fieldReport { expectedNames.insert("reporter") }
        #expect(Set(properties.keys) == expectedNames, "\(name) properties")

        let required = Set(create["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(required == Set(fields.filter(\.required).map(\.name)), "\(name) required")

        for spec in fields where spec.mutability != .system {
            guard let property = properties[spec.name] else { continue }
            let problems = doc.mismatches(property, spec.type, path: "\(name).\(spec.name)")
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            #expect((doc.flatten(property)["nullable"] ?? .bool(false)) == .bool(!spec.required), "\(name).\(spec.name) nullable")
        }
        if let lifecycle = kind.lifecycle {
            let status = doc.flatten(properties["status"] ?? .null)
            #expect(status["enum"] == .array(lifecycle.initialStates.map(JSONValue.string)), "\(name).status")
        }
        if kind == .fieldReport {
            let reporter = doc.flatten(properties["reporter"] ?? .null)
            #expect(reporter["additionalProperties"] == .bool(false))
            #expect(reporter["nullable"] == .bool(true), "reporter: null means no contact")
            let reporterProperties = reporter["properties"]?.objectValue ?? [:]
            #expect(Set(reporterProperties.keys) == ["name", "phone", "email", "idNumber"])
            for key in reporterProperties.keys {
                guard let spec = RecordKind.reporterContact.schema.field(key) else {
                    Issue.record("reporter.\(key) is not a reporterContact field")
                    continue
                }
                let problems = doc.mismatches(reporterProperties[key]!, spec.type, path: "reporter.\(key)")
                #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            }
        }

        // The create operation's body refers to this schema.
        let body = doc.operation("post", "/api/v1/\(kind.pathComponent)")?["requestBody"]?["content"]?["application/json"]
        var refs: [String] = []
        OpenAPIDocument.collectRefs(body?["schema"] ?? .null, into: &refs)
        #expect(refs.contains("#/components/schemas/\(name)"), "POST /api/v1/\(kind.pathComponent) does not use \(name)")
        #expect(body?["example"] != nil, "POST /api/v1/\(kind.pathComponent) has no example")
    }

    @Test(arguments: RecordKind.allCases.filter { !$0.isLocalOnly && !$0.isAppendOnly })
    func changesSchemaHoldsExactlyTheMutableFields(_ kind: RecordKind) throws {
        let doc = try OpenAPIDocument.load()
        let name = OpenAPIDocument.schemaName(kind) + "Changes"
        let changes = doc.schema(name)
        #expect(changes["additionalProperties"] == .bool(false), "\(name) must refuse unknown fields")
        let properties = changes["properties"]?.objectValue ?? [:]
        let mutable = kind.schema.fields.filter { $0.mutability == .mutable }
        #expect(Set(properties.keys) == Set(mutable.map(\.name)), "\(name) properties")
        for spec in mutable {
            guard let property = properties[spec.name] else { continue }
            let problems = doc.mismatches(property, spec.type, path: "\(name).\(spec.name)")
            #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
            #expect((doc.flatten(property)["nullable"] ?? .bool(false)) == .bool(!spec.required), "\(name).\(spec.name): null clears")
        }
    }

    @Test(arguments: RecordKind.allCases.filter { !$0.isLocalOnly })
    func responseSchemaNamesEveryFieldAndStatus(_ kind: RecordKind) throws {
        let doc = try OpenAPIDocument.load()
        let properties = doc.recordProperties(kind)
        for spec in kind.schema.fields {
            #expect(properties[spec.name] != nil, "\(OpenAPIDocument.schemaName(kind)) lacks \(spec.name)")
        }
        for name in KindSchema.systemFieldNames {
            if name == "status" && kind.lifecycle == nil { continue }
            #expect(properties[name] != nil, "\(OpenAPIDocument.schemaName(kind)) lacks \(name)")
        }
        if let lifecycle = kind.lifecycle {
            let status = doc.flatten(properties["status"] ?? .null)
            #expect(status["enum"] == .array(lifecycle.states.map(JSONValue.string)))
        } else {
            #expect(properties["status"] == nil)
        }
    }

    @Test(arguments: RecordKind.allCases.filter { $0.lifecycle != nil })
    func lifecycleIsDocumented(_ kind: RecordKind) throws {
        let doc = try OpenAPIDocument.load()
        let lifecycle = try #require(kind.lifecycle)
        let name = OpenAPIDocument.schemaName(kind)
        let to = doc.flatten(doc.schema(name + "Transition")["properties"]?["to"] ?? .null)
        #expect(to["enum"] == .array(lifecycle.states.map(JSONValue.string)), "\(name)Transition.to")
        let transitionProperties = openAPIKeys(doc.schema(name + "Transition")["properties"])
        #expect(transitionProperties == ["to", "note", "set"])

        let operation = doc.operation("post", "/api/v1/\(kind.pathComponent)/{id}/transitions")
        let kindDescription = doc.schema(name)["description"]?.stringValue ?? ""
        for text in [operation?["description"]?.stringValue ?? "", kindDescription] {
            // Descriptions are wrapped at 100 columns; compare with line breaks as spaces.
            let flat = text.replacingOccurrences(of: "\n", with: " ")
            var documentedMoves = 0
            for line in text.split(separator: "\n") where line.hasPrefix("- `") && line.contains("→") {
                documentedMoves += 1
            }
            #expect(documentedMoves == lifecycle.transitions.count, "\(name): one line per state with moves")
            for (from, next) in lifecycle.transitions {
                let line = "- `\(from)` → " + next.map { "`\($0)`" }.joined(separator: ", ")
                #expect(text.split(separator: "\n").contains(Substring(line)), "\(name) description lacks \"\(line)\"")
            }
            for (state, fields) in lifecycle.requiredFields {
                let sentence = "Moving to `\(state)` needs " + fields.map { "`\($0)`" }.joined(separator: ", ")
                #expect(flat.contains(sentence), "\(name) description lacks \"\(sentence)\"")
            }
            let finals = lifecycle.states.filter { lifecycle.transitions[$0] == nil }
            let finalsText = "Final statuses (no transition out): " + finals.map { "`\($0)`" }.joined(separator: ", ") + "."
            #expect(flat.contains(finalsText), "\(name) description lacks \"\(finalsText)\"")
        }
    }

    @Test func listAndSummaryParametersAreTheServerParameters() throws {
        let doc = try OpenAPIDocument.load()
        let listParameters: Set<String> = ["status", "category", "unit", "from", "to", "cursor", "limit", "stationId"]
        for kind in RecordKind.allCases where !kind.isLocalOnly {
            let op = doc.operation("get", "/api/v1/\(kind.pathComponent)")
            #expect(Set(doc.parameterNames(op)) == listParameters, "GET /api/v1/\(kind.pathComponent)")
        }
        let summary = doc.operation("get", "/api/v1/reports/summary")
        #expect(Set(doc.parameterNames(summary)) == ["period", "from"])
        let period = summary?["parameters"]?.arrayValue?.map { doc.flatten($0) }.first { $0["name"] == "period" }
        let granularities = ReportingPeriod.Granularity.allCases.filter { $0 != .year }.map { JSONValue.string($0.rawValue) }
        #expect(period?["schema"]?["enum"] == .array(granularities))
    }

    @Test func periodPatternAgreesWithTheParser() throws {
        let doc = try OpenAPIDocument.load()
        let pattern = try #require(doc.schema("Period")["pattern"]?.stringValue)
        let regex = try NSRegularExpression(pattern: pattern)
        func matches(_ s: String) -> Bool {
            regex.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
        }
        // 2026 has 53 ISO weeks (it starts on a Thursday), so 2026-W53 exists.
        for good in ["2026", "2026-Q1", "2026-Q4", "2026-11", "2026-01", "2026-W01", "2026-W53", "2026-11-24", "2024-02-29"] {
            #expect(matches(good), "\(good) should match the Period pattern")
            #expect(ReportingPeriod(good) != nil, "\(good) should parse")
        }
        for bad in ["26", "2026-Q5", "2026-Q0", "2026-13", "2026-00", "2026-W54", "2026-W00", "2026-11-32", "2026-1", "20261"] {
            #expect(!matches(bad), "\(bad) should not match the Period pattern")
            #expect(ReportingPeriod(bad) == nil, "\(bad) should not parse")
        }
    }

    // MARK: Examples against a live node

    @Test func exampleUnitCodesExistInTheFixtureAndInDaNang() throws {
        let doc = try OpenAPIDocument.load()
        let daNang = try OpenAPIDocument.yamlToJSON(
            String(contentsOf: OpenAPIDocument.repositoryRoot.appendingPathComponent("Topology/da-nang.yaml"), encoding: .utf8))
        let daNangCodes = Set(daNang["units"]?.arrayValue?.compactMap { $0["code"]?.stringValue } ?? [])
        #expect(!daNangCodes.isEmpty)
        let fixture = TopologyFixtures.small()
        for kind in RecordKind.allCases where !kind.isLocalOnly {
            let example = doc.createExample(kind) ?? .null
            for code in OpenAPIDocument.unitCodes(in: example) {
                #expect(fixture.unit(code: code) != nil, "\(kind) example: unit \(code) is not in TopologyFixtures.small()")
                #expect(daNangCodes.contains(code), "\(kind) example: unit \(code) is not in Topology/da-nang.yaml")
            }
        }
    }

    @Test func everyCreateExampleIsAcceptedByALiveNode() async throws {
        let doc = try OpenAPIDocument.load()
        try await OpenAPINode.live { node, token, http in
            // Stations first: the observation example refers to a station.
            let order: [RecordKind] =
                [.station] + RecordKind.allCases.filter { !$0.isLocalOnly && $0 != .station }
            var stationID: String?
            for kind in order {
                var example = try #require(doc.createExample(kind), "no example for POST /api/v1/\(kind.pathComponent)")
                #expect(OpenAPIDocument.isNFC(example), "\(kind) example text must be NFC")
                if kind == .observation {
                    let id = try #require(stationID)
                    example = OpenAPIDocument.replacing("stationId", with: .string(id), in: example)
                }
                let r = try await http.send(.post, "/api/v1/\(kind.pathComponent)", token: token, json: example)
                #expect(r.status == .created, "POST /api/v1/\(kind.pathComponent) example: \(r)")
                guard r.status == .created else { continue }

                if kind == .observation {
                    #expect(openAPIKeys(r.json) == ["items", "alerts"])
                    let items = r.json["items"]?.arrayValue ?? []
                    #expect(items.count == example["observations"]?.arrayValue?.count)
                    for item in items { doc.expectConforms(item, to: .observation, timeline: false) }
                    // The example crosses the station example's warning threshold once.
                    let alerts = r.json["alerts"]?.arrayValue ?? []
                    #expect(alerts.count == 1, "\(r)")
                    for alert in alerts { doc.expectConforms(alert, to: .alert, timeline: true) }
                    continue
                }
                doc.expectConforms(r.json, to: kind, timeline: true)
                let id = r.json["id"]?.stringValue ?? ""
                if kind == .station { stationID = id }
                if kind == .fieldReport {
                    let reporter = r.json["reporter"]?.objectValue ?? [:]
                    #expect(reporter["name"] == example["reporter"]?["name"], "\(r)")
                    let documented = openAPIKeys(doc.schema("ReporterView")["properties"])
                    #expect(Set(reporter.keys).isSubset(of: documented), "\(reporter.keys)")
                }
                if let status = example["status"] { #expect(r.json["status"] == status) }

                let got = try await http.send(.get, "/api/v1/\(kind.pathComponent)/\(id)", token: token, json: nil)
                #expect(got.status == .ok, "\(got)")
                doc.expectConforms(got.json, to: kind, timeline: true)
                if kind == .fieldReport { #expect(got.json["reporter"] != nil, "GET shows the reporter to an admin") }
            }

            for kind in RecordKind.allCases where !kind.isLocalOnly {
                let list = try await http.send(.get, "/api/v1/\(kind.pathComponent)", token: token, json: nil)
                #expect(list.status == .ok, "\(list)")
                #expect(openAPIKeys(list.json) == ["items", "nextCursor"], "\(list)")
                let items = list.json["items"]?.arrayValue ?? []
                #expect(!items.isEmpty, "GET /api/v1/\(kind.pathComponent) lists the example")
                for item in items { doc.expectConforms(item, to: kind, timeline: false) }
            }

            let conflicts = try await http.send(.get, "/api/v1/conflicts", token: token, json: nil)
            #expect(conflicts.status == .ok && conflicts.json == ["items": []], "\(conflicts)")

            // The examples are dated October 2025 (Vietnam time).
            let summary = try await http.send(.get, "/api/v1/reports/summary?period=month&from=2025-10-01", token: token, json: nil)
            #expect(summary.status == .ok, "\(summary)")
            doc.expectSameKeys(summary.json, as: doc.schema("Summary"), path: "Summary")
            #expect(summary.json["fieldReports"]?["total"] == 1, "\(summary)")
            #expect(summary.json["dossiers"]?["received"] == 1, "\(summary)")
            #expect(summary.json["timeZone"] == "+07:00")
        }
    }
}

// MARK: - The document

/// `docs/openapi.yaml`, read with Yams into ``JSONValue`` (YAML core schema; quoted scalars and
/// dates stay strings).
private struct OpenAPIDocument {
    let root: JSONValue

    struct Operation {
        let path: String
        let method: String
        let value: JSONValue
    }

    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func load() throws -> OpenAPIDocument {
        let url = repositoryRoot.appendingPathComponent("docs/openapi.yaml")
        return OpenAPIDocument(root: try yamlToJSON(String(contentsOf: url, encoding: .utf8)))
    }

    static func yamlToJSON(_ text: String) throws -> JSONValue {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return try json(node)
    }

    private static func json(_ node: Yams.Node) throws -> JSONValue {
        switch node {
        case .mapping(let mapping):
            var object: [String: JSONValue] = [:]
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { throw YamlShapeError(description: "non-scalar key") }
                object[name] = try json(value)
            }
            return .object(object)
        case .sequence(let sequence):
            return .array(try sequence.map(json))
        case .alias:
            throw YamlShapeError(description: "YAML aliases are not used in docs/openapi.yaml")
        case .scalar(let scalar):
            switch node.tag.description {
            case Tag.Name.null.rawValue: return .null
            case Tag.Name.bool.rawValue: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case Tag.Name.int.rawValue: return node.int.map { .int(Int64($0)) } ?? .string(scalar.string)
            case Tag.Name.float.rawValue: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        }
    }

    struct YamlShapeError: Error, CustomStringConvertible { let description: String }

    static func schemaName(_ kind: RecordKind) -> String {
        kind.rawValue.prefix(1).uppercased() + kind.rawValue.dropFirst()
    }

    var operations: [Operation] {
        var out: [Operation] = []
        for (path, item) in root["paths"]?.objectValue ?? [:] {
            for (method, value) in item.objectValue ?? [:]
            where ["get", "put", "post", "delete", "options", "head", "patch", "trace"].contains(method) {
                out.append(Operation(path: path, method: method, value: value))
            }
        }
        return out.sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }

    func operation(_ method: String, _ path: String) -> JSONValue? { root["paths"]?[path]?[method] }

    func schema(_ name: String) -> [String: JSONValue] {
        root["components"]?["schemas"]?[name]?.objectValue ?? [:]
    }

    func resolve(ref: String) -> JSONValue? {
        guard ref.hasPrefix("#/") else { return nil }
        var node: JSONValue? = root
        for part in ref.dropFirst(2).split(separator: "/") { node = node?[String(part)] }
        return node
    }

    /// A schema with `$ref` and single-element `allOf` merged in, outer keys winning.
    func flatten(_ schema: JSONValue) -> [String: JSONValue] {
        guard var o = schema.objectValue else { return [:] }
        if let ref = o.removeValue(forKey: "$ref")?.stringValue, let target = resolve(ref: ref) {
            o = flatten(target).merging(o) { _, outer in outer }
        }
        if let all = o["allOf"]?.arrayValue, all.count == 1 {
            o.removeValue(forKey: "allOf")
            o = flatten(all[0]).merging(o) { _, outer in outer }
        }
        return o
    }

    static func collectRefs(_ value: JSONValue, into refs: inout [String]) {
        switch value {
        case .object(let o):
            if let r = o["$ref"]?.stringValue { refs.append(r) }
            for v in o.values { collectRefs(v, into: &refs) }
        case .array(let a):
            for v in a { collectRefs(v, into: &refs) }
        default: break
        }
    }

    func parameterNames(_ operation: JSONValue?) -> [String] {
        (operation?["parameters"]?.arrayValue ?? []).compactMap { flatten($0)["name"]?.stringValue }
    }

    func createExample(_ kind: RecordKind) -> JSONValue? {
        operation("post", "/api/v1/\(kind.pathComponent)")?["requestBody"]?["content"]?["application/json"]?["example"]
    }

    /// Properties of a record response: RecordMeta plus the kind's own.
    func recordProperties(_ kind: RecordKind) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for part in schema(Self.schemaName(kind))["allOf"]?.arrayValue ?? [] {
            out.merge(flatten(part)["properties"]?.objectValue ?? [:]) { a, _ in a }
        }
        return out
    }

    /// Problems with `property` as the OpenAPI form of `type` (empty when it matches).
    func mismatches(_ property: JSONValue, _ type: FieldType, path: String) -> [String] {
        let s = flatten(property)
        var problems: [String] = []
        func expect(_ key: String, _ value: JSONValue) {
            if s[key] != value { problems.append("\(path): \(key) is \(s[key].map { "\($0)" } ?? "absent"), expected \(value)") }
        }
        func expectNumber(_ key: String, _ value: Double) {
            if s[key]?.doubleValue != value { problems.append("\(path): \(key) is \(s[key].map { "\($0)" } ?? "absent"), expected \(value)") }
        }
        switch type {
        case .text(let maxLength):
            expect("type", "string")
            expect("maxLength", .int(Int64(maxLength)))
        case .token(let allowed):
            expect("type", "string")
            expect("enum", .array(allowed.map(JSONValue.string)))
        case .time:
            expect("type", "string")
            expect("format", "date-time")
        case .integer(let range):
            expect("type", "integer")
            expect("minimum", .int(range.lowerBound))
            expect("maximum", .int(range.upperBound))
        case .number(let range):
            expect("type", "number")
            expectNumber("minimum", range.lowerBound)
            expectNumber("maximum", range.upperBound)
        case .boolean:
            expect("type", "boolean")
        case .location:
            expect("type", "object")
            expect("additionalProperties", false)
            expect("required", ["lat", "lon"])
            let lat = flatten(s["properties"]?["lat"] ?? .null)
            let lon = flatten(s["properties"]?["lon"] ?? .null)
            if lat["type"] != "number" || lat["minimum"]?.doubleValue != -90 || lat["maximum"]?.doubleValue != 90 {
                problems.append("\(path).lat must be a number from -90 to 90")
            }
            if lon["type"] != "number" || lon["minimum"]?.doubleValue != -180 || lon["maximum"]?.doubleValue != 180 {
                problems.append("\(path).lon must be a number from -180 to 180")
            }
        case .unitCode:
            expect("type", "string")
            expect("minLength", 1)
            expect("maxLength", 64)
        case .recordRef:
            expect("type", "string")
            expect("format", "uuid")
        case .list(let element, let maxCount):
            expect("type", "array")
            expect("maxItems", .int(Int64(maxCount)))
            problems += mismatches(s["items"] ?? .null, element, path: path + "[]")
        case .period:
            expect("type", "string")
            if s["pattern"]?.stringValue == nil { problems.append("\(path): no pattern") }
        }
        return problems
    }

    /// Checks a record as the API returned it against the documented response schema.
    func expectConforms(
        _ record: JSONValue, to kind: RecordKind, timeline: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let keys = openAPIKeys(record)
        let documented = Set(recordProperties(kind).keys)
        #expect(keys.subtracting(documented).isEmpty, "\(kind): undocumented response fields \(keys.subtracting(documented).sorted())",
            sourceLocation: sourceLocation)
        let meta = schema("RecordMeta")
        let required = Set(meta["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        #expect(required.isSubset(of: keys), "\(kind): missing \(required.subtracting(keys).sorted())", sourceLocation: sourceLocation)
        #expect(record["kind"] == .string(kind.rawValue), sourceLocation: sourceLocation)
        #expect((record["status"] != nil) == (kind.lifecycle != nil), "\(kind): status", sourceLocation: sourceLocation)
        #expect((record["timeline"] != nil) == timeline, "\(kind): timeline", sourceLocation: sourceLocation)
        if let status = record["status"], let lifecycle = kind.lifecycle {
            #expect(lifecycle.states.contains(status.stringValue ?? ""), sourceLocation: sourceLocation)
        }
    }

    /// Every object in `value` has exactly the properties its schema lists (recursively, for
    /// schemas with fixed properties).
    func expectSameKeys(_ value: JSONValue, as schema: [String: JSONValue], path: String) {
        guard let properties = schema["properties"]?.objectValue, let object = value.objectValue else { return }
        #expect(Set(object.keys) == Set(properties.keys), "\(path): keys \(object.keys.sorted()) vs documented \(properties.keys.sorted())")
        for (key, sub) in properties {
            if let v = object[key] { expectSameKeys(v, as: flatten(sub), path: "\(path).\(key)") }
        }
    }

    static func replacing(_ key: String, with replacement: JSONValue, in value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            return .object(Dictionary(uniqueKeysWithValues: o.map { k, v in (k, k == key ? replacement : replacing(key, with: replacement, in: v)) }))
        case .array(let a):
            return .array(a.map { replacing(key, with: replacement, in: $0) })
        default:
            return value
        }
    }

    static func unitCodes(in value: JSONValue) -> [String] {
        switch value {
        case .object(let o):
            var out: [String] = []
            for (k, v) in o {
                if ["unit", "assignedUnit", "targetUnit"].contains(k), let s = v.stringValue { out.append(s) }
                if k == "areaUnits" { out += v.arrayValue?.compactMap(\.stringValue) ?? [] }
                out += unitCodes(in: v)
            }
            return out
        case .array(let a):
            return a.flatMap(unitCodes)
        default:
            return []
        }
    }

    static func isNFC(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let s): return s.unicodeScalars.elementsEqual(s.precomposedStringWithCanonicalMapping.unicodeScalars)
        case .object(let o): return o.allSatisfy { isNFC(.string($0.key)) && isNFC($0.value) }
        case .array(let a): return a.allSatisfy(isNFC)
        default: return true
        }
    }
}

/// The keys of an object (empty for anything else).
private func openAPIKeys(_ value: JSONValue?) -> Set<String> { Set(value?.objectValue?.keys ?? [String: JSONValue]().keys) }

// MARK: - A live node

private enum OpenAPINode {
    /// The district node of the small fixture federation (unit 20194, Phường Hải Châu).
    static let nodeID = "hai-chau"

    static func withNode<T>(_ body: (IOCNode.Node) throws -> T) throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-openapi-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try IOCNode.Node(configuration: NodeConfiguration(topology: TopologyFixtures.small(), nodeID: nodeID, dataDirectory: directory))
        return try body(node)
    }

    /// Runs `body` against a live HTTP server with an admin token.
    static func live(_ body: @Sendable (IOCNode.Node, String, OpenAPIClient) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("iocnode-openapi-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try IOCNode.Node(configuration: NodeConfiguration(topology: TopologyFixtures.small(), nodeID: nodeID, dataDirectory: directory))
        let token = try node.store.addUser(name: "Quản trị OpenAPI", role: .admin, unit: nil, sector: nil).token
        var logger = Logger(label: "iocnode-openapi-tests")
        logger.logLevel = .warning
        let app = Application(
            router: node.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in try await body(node, token, OpenAPIClient(client: client)) }
    }
}

private struct OpenAPIReply: CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let bytes: [UInt8]

    var json: JSONValue { (try? JSONValue.parse(bytes)) ?? .null }
    var description: String { "\(status.code) \(String(decoding: bytes, as: UTF8.self))" }
}

private struct OpenAPIClient: Sendable {
    let client: any TestClientProtocol

    func send(_ method: HTTPRequest.Method, _ path: String, token: String?, json: JSONValue?) async throws -> OpenAPIReply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let response = try await client.executeRequest(
            uri: path, method: method, headers: headers, body: json.map { ByteBuffer(bytes: $0.jsonData()) })
        return OpenAPIReply(status: response.status, headers: response.headers, bytes: Array(response.body.readableBytesView))
    }
}
