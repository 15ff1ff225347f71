import Foundation
import GRDB
import IOCModel
import IOCStore
import IOCSync
import Synchronization
import Testing

/// A wall clock the test moves by hand (Unix milliseconds).
final class ManualClock: Sendable {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func set(_ ms: Int64) { value.withLock { $0 = ms } }
    func advance(_ ms: Int64) { value.withLock { $0 += ms } }
}

/// 1 January 2026 00:00 UTC.
let t0: Int64 = 1_767_225_600_000
let minute: Int64 = 60_000
let hour: Int64 = 3_600_000
let operatorActor = Actor(userID: "u-op", role: .operator_, unit: "20194")

/// A temporary directory, removed when the test's body returns (or throws).
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ioc-store-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try await body(dir)
}

func openStore(_ dir: String, node: String = "hai-chau", clock: ManualClock) throws -> NodeStore {
    try NodeStore(
        .init(
            path: dir + "/\(node).sqlite", nodeID: node, federation: "test-small", wallClock: { clock.now }))
}

/// One store in a fresh directory with a manual clock at `t0`.
func withStore<T>(node: String = "hai-chau", _ body: (NodeStore, ManualClock, String) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in
        let clock = ManualClock(t0)
        let store = try openStore(dir, node: node, clock: clock)
        return try await body(store, clock, dir)
    }
}

extension NodeStore {
    /// This node's own journal length according to its knowledge vector.
    func ownSeq() throws -> UInt64 { try knowledge()[nodeID] }

    /// Rows in the journal table authored by `origin`, counted directly.
    func journalRows(origin: String) throws -> Int {
        try readSync { try Int.fetchOne($0, sql: "SELECT count(*) FROM journal WHERE origin = ?", arguments: [origin]) ?? 0 }
    }

    func fieldReport(
        title: String = "Ngập đường Bạch Đằng", category: String = "flooding", unit: String = "20194",
        extra: [String: JSONValue] = [:]
    ) async throws -> RecordState {
        var fields: [String: JSONValue] = ["channel": "app", "category": .string(category), "title": .string(title)]
        for (k, v) in extra { fields[k] = v }
        return try await create(kind: .fieldReport, fields: fields, actor: operatorActor, unit: unit)
    }

    func dossier(code: String, received: Int64, due: Int64, status: String = "received") async throws -> RecordState {
        try await create(
            kind: .dossier,
            fields: [
                "code": .string(code), "procedure": "Cấp giấy phép xây dựng", "status": .string(status),
                "receivedAt": .string(Timestamp.format(received)), "dueAt": .string(Timestamp.format(due)),
            ], actor: operatorActor, unit: "20194")
    }
}

/// The error a throwing call produced, typed, or nil (recording an issue) when it did not throw.
func thrown<E: Error>(
    _ type: E.Type, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> some Any
) async -> E? {
    do {
        _ = try await body()
        Issue.record("expected \(E.self) to be thrown", sourceLocation: sourceLocation)
        return nil
    } catch let e as E {
        return e
    } catch {
        Issue.record("expected \(E.self), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Every byte of the database files in `dir` (main file, WAL and shared memory).
func databaseBytes(_ dir: String) throws -> [UInt8] {
    var out: [UInt8] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() {
        out += try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
    }
    return out
}

extension Array where Element == UInt8 {
    func contains(subsequence needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return false }
        return indices.dropLast(needle.count - 1).contains { i in self[i..<i + needle.count].elementsEqual(needle) }
    }
}
