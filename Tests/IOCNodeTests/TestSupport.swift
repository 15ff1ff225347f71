import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IOCModel
import IOCNode
import IOCStore
import IOCTesting
import Logging
import NIOCore
import Testing

/// A node on a real SQLite database in its own temporary directory, with one user per role.
/// The node is the province node of `TopologyFixtures.small()` (unit "48"); the wards are
/// "20194" (Hải Châu) and "20200" (Thanh Khê).
struct TestNode: Sendable {
    let node: Node
    let directory: String
    let admin: String
    let supervisor: String
    let operator_: String
    let viewer: String
    let auditor: String
    /// An operator and a viewer scoped to ward 20194 (Hải Châu).
    let wardOperator: String
    let wardViewer: String

    var store: NodeStore { node.store }

    static let ward = "20194"
    static let otherWard = "20200"

    /// Runs `body` against a live HTTP server on 127.0.0.1 (port 0) backed by a fresh node, then
    /// removes the data directory whether `body` succeeded or not.
    @discardableResult
    static func run<T: Sendable>(
        limits: Limits = .default, _ body: @Sendable (TestNode, API) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("iocnode-tests-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let node = try Node(
            configuration: NodeConfiguration(
                topology: TopologyFixtures.small(), nodeID: "province", dataDirectory: directory, limits: limits))
        let s = node.store
        let t = TestNode(
            node: node, directory: directory,
            admin: try s.addUser(name: "Quản trị", role: .admin, unit: nil, sector: nil).token,
            supervisor: try s.addUser(name: "Giám sát", role: .supervisor, unit: nil, sector: nil).token,
            operator_: try s.addUser(name: "Điều hành", role: .operator_, unit: nil, sector: nil).token,
            viewer: try s.addUser(name: "Xem", role: .viewer, unit: nil, sector: nil).token,
            auditor: try s.addUser(name: "Kiểm toán", role: .auditor, unit: nil, sector: nil).token,
            wardOperator: try s.addUser(name: "Phường HC", role: .operator_, unit: ward, sector: nil).token,
            wardViewer: try s.addUser(name: "Xem HC", role: .viewer, unit: ward, sector: nil).token)
        var logger = Logger(label: "iocnode-tests")
        logger.logLevel = .warning
        let app = Application(
            router: node.makeRouter(), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in try await body(t, API(client: client)) }
    }

    /// Wall-clock now of the node, in Unix milliseconds.
    func now() -> Int64 { store.now() }
}

/// A decoded HTTP answer.
struct Reply: Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let bytes: [UInt8]

    var json: JSONValue { (try? JSONValue.parse(bytes)) ?? .null }
    var text: String { String(decoding: bytes, as: UTF8.self) }
    var errorCode: String? { json["error"]?["code"]?.stringValue }
    /// The error's `field`: `.null` when the API reports none.
    var errorField: JSONValue? { json["error"]?["field"] }
    var errorMessage: String { json["error"]?["message"]?.stringValue ?? "" }
    var id: String { json["id"]?.stringValue ?? "" }
    var items: [JSONValue] { json["items"]?.arrayValue ?? [] }
    var description: String { "\(status.code) \(text)" }
}

/// A thin client for the user API.
struct API: Sendable {
    let client: any TestClientProtocol

    func send(
        _ method: HTTPRequest.Method, _ path: String, token: String?, raw: [UInt8]? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if raw != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.executeRequest(
            uri: path, method: method, headers: headers, body: raw.map { ByteBuffer(bytes: $0) })
        return Reply(status: response.status, headers: response.headers, bytes: Array(response.body.readableBytesView))
    }

    func send(_ method: HTTPRequest.Method, _ path: String, token: String?, json: JSONValue) async throws -> Reply {
        try await send(method, path, token: token, raw: Array(json.jsonData()))
    }

    func get(_ path: String, token: String?) async throws -> Reply { try await send(.get, path, token: token) }

    func post(_ path: String, token: String?, _ json: JSONValue) async throws -> Reply {
        try await send(.post, path, token: token, json: json)
    }

    func patch(_ path: String, token: String?, _ json: JSONValue) async throws -> Reply {
        try await send(.patch, path, token: token, json: json)
    }

    /// Creates a record and requires 201.
    func create(_ kindPath: String, token: String, _ json: JSONValue, sourceLocation: SourceLocation = #_sourceLocation)
        async throws -> Reply
    {
        let r = try await post("/api/v1/\(kindPath)", token: token, json)
        #expect(r.status == .created, "create \(kindPath): \(r)", sourceLocation: sourceLocation)
        return r
    }

    /// Moves a record and requires 200 with the new status.
    @discardableResult
    func move(
        _ kindPath: String, _ id: String, to: String, set: JSONValue? = nil, token: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Reply {
        var body: [String: JSONValue] = ["to": .string(to)]
        if let set { body["set"] = set }
        let r = try await post("/api/v1/\(kindPath)/\(id)/transitions", token: token, .object(body))
        #expect(r.status == .ok, "\(kindPath) → \(to): \(r)", sourceLocation: sourceLocation)
        #expect(r.json["status"] == .string(to), sourceLocation: sourceLocation)
        return r
    }

    /// Every id of a list (all pages, limit 500), for "nothing was written" checks.
    func ids(_ kindPath: String, token: String, query: String = "") async throws -> [String] {
        var out: [String] = []
        var cursor: String?
        repeat {
            var q = "limit=500" + (query.isEmpty ? "" : "&" + query)
            if let cursor { q += "&cursor=\(cursor)" }
            let r = try await get("/api/v1/\(kindPath)?\(q)", token: token)
            guard r.status == .ok else { throw TestFailure("list \(kindPath) failed: \(r)") }
            out += r.items.compactMap { $0["id"]?.stringValue }
            cursor = r.json["nextCursor"]?.stringValue
        } while cursor != nil
        return out
    }

    func count(_ kindPath: String, token: String, query: String = "") async throws -> Int {
        try await ids(kindPath, token: token, query: query).count
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Canonical UTC text for `ms`, as the API writes times.
func iso(_ ms: Int64) -> String { Timestamp.format(ms) }

/// The Vietnam civil date (UTC+07:00) holding `ms`, as `YYYY-MM-DD` for `reports/summary?from=`.
func vietnamDate(_ ms: Int64) -> String { String(Timestamp.format(ms + 7 * 3_600_000).prefix(10)) }

let hour: Int64 = 3_600_000

/// A valid field report body (sample data, Vietnamese text) with optional overrides.
func reportBody(_ i: Int = 0, now: Int64, _ overrides: [String: JSONValue] = [:]) -> JSONValue {
    var f = SampleData.fieldReport(i, now: now).fields
    for (k, v) in overrides { f[k] = v.isNull ? nil : v }
    return .object(f)
}
