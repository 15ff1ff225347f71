import Foundation
import GRDB
import IOCModel
import IOCSync

extension NodeStore {
    /// Collects tombstones that are causally stable: removes deleted records once every other node
    /// in `nodes` has reported knowledge covering every change to the record, and this node holds
    /// every change each of those nodes had made by then (so no change concurrent with the delete
    /// can still arrive and resurrect a half-record).
    ///
    /// Sound but conservative: a node collects only when it has heard from every node directly
    /// (the province in a star federation); the others keep their tombstones. The journal keeps
    /// the entries either way, for relaying and audit. Returns the number of records collected.
    @discardableResult
    public func collectTombstones(nodes: [String]) throws -> Int {
        let others = nodes.filter { $0 != nodeID }
        let reported = try others.map { try peerKnowledge($0) }
        let mine = try knowledge()
        // Every other node told us its own head; we must hold all of it.
        for (node, k) in zip(others, reported) where k[node] > mine[node] { return 0 }
        let stable = reported.reduce(mine) { $0.meet($1) }
        return try writeSync { tx in
            let rows = try Row.fetchAll(tx.db, sql: RecordRow.select + " WHERE r.deleted = 1")
            var collected = 0
            for row in rows {
                let state = try RecordRow.state(row)
                guard state.isDeleted, stable.dominatesOrEquals(state.applied) else { continue }
                let key = Data(state.id.bytes)
                try tx.db.execute(sql: "DELETE FROM record WHERE id = ?", arguments: [key])
                // As a purge does: no peer's scope or queue lists a record that is gone
                // (``reconcileScope`` relies on it and does not look for such ids on every evaluation).
                try tx.forgetInScopes(key)
                collected += 1
            }
            return collected
        }
    }
}
