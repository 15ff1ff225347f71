import Foundation
import GRDB
import IOCModel
import IOCSharing
import IOCStore
import IOCSync

/// What the sharing policy says each node may hold, computed independently of the sync code:
/// tests compare every node's store with it (zero extra, zero missing).
public enum SharingOracle {
    /// Every record a store holds, with its sharing facts read from its full state.
    public static func records(_ store: NodeStore) throws -> [(RecordID, RecordFacts)] {
        let ids = try store.readSync { db in try Data.fetchAll(db, sql: "SELECT id FROM record ORDER BY id") }
        return try ids.compactMap { blob in
            guard let id = RecordID(bytes: Array(blob)), let state = try store.state(id) else { return nil }
            return (id, RecordFacts(state: state))
        }
    }

    /// A policy granting every shareable kind to every node: for tests of relaying, not of sharing.
    public static let shareEverything = SharingPolicy(
        version: 1,
        rules: [
            SharingRule(
                kinds: Set(RecordKind.allCases.filter { !$0.isLocalOnly }), to: [.mode(.province), .mode(.district), .mode(.sector)])
        ])
}
