import Foundation
import GRDB
import IOCModel

extension NodeStore {
    /// The figures the seed IOCs publish, for one period window `[from, to)`:
    /// field reports by status/category/unit with processed and on-time rates; dossiers finished,
    /// late and the late rate; alerts by severity and the 24-hour dossier warnings raised.
    ///
    /// Definitions: a report is *processed* when it reached resolved, closed, rejected or duplicate;
    /// *on time* when resolved no later than its due time (reports without a due time are not
    /// counted either way); a dossier is *late* when finished after its due time.
    /// `categoryScope` restricts field reports to a sector's categories (sector staff).
    public func summary(from: Int64, to: Int64, unitScope: Set<String>?, categoryScope: Set<String>? = nil) async throws
        -> JSONValue
    {
        try await read { db in
            var scopeSQL = ""
            var scopeArgs: [any DatabaseValueConvertible] = []
            if let scope = unitScope {
                let list = scope.sorted()
                let marks = Array(repeating: "?", count: list.count).joined(separator: ",")
                scopeSQL = " AND (unit IN (\(marks)) OR assigned_unit IN (\(marks)))"
                scopeArgs = list + list
            }
            var categorySQL = ""
            var categoryArgs: [any DatabaseValueConvertible] = []
            if let categories = categoryScope {
                let list = categories.sorted()
                categorySQL = " AND category IN (\(Array(repeating: "?", count: list.count).joined(separator: ",")))"
                categoryArgs = list
            }
            /// Scope conditions for a kind: units always, categories for field reports.
            func scoped(_ kind: String) -> (String, [any DatabaseValueConvertible]) {
                kind == "fieldReport" ? (scopeSQL + categorySQL, scopeArgs + categoryArgs) : (scopeSQL, scopeArgs)
            }
            func groups(_ kind: String, _ column: String, window: String = "ts") throws -> JSONValue {
                let (sqlScope, args) = scoped(kind)
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT coalesce(\(column), '-'), count(*) FROM record
                        WHERE kind = ? AND deleted = 0 AND \(window) >= ? AND \(window) < ?\(sqlScope)
                        GROUP BY 1 ORDER BY 1
                        """, arguments: StatementArguments([kind, from, to] + args))
                return .object(Dictionary(uniqueKeysWithValues: rows.map { ($0[0] as String, JSONValue.int($0[1])) }))
            }
            func count(_ condition: String, _ kind: String, window: String = "ts") throws -> Int {
                let (sqlScope, args) = scoped(kind)
                return try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM record WHERE kind = ? AND deleted = 0 AND \(window) >= ? AND \(window) < ?
                          AND \(condition)\(sqlScope)
                        """, arguments: StatementArguments([kind, from, to] + args)) ?? 0
            }
            func rate(_ n: Int, _ d: Int) -> JSONValue { d == 0 ? .null : .double((Double(n) / Double(d) * 10000).rounded() / 10000) }

            let total = try count("1", "fieldReport")
            let processed = try count("status IN ('resolved','closed','rejected','duplicate')", "fieldReport")
            let resolvedWithDue = try count("status IN ('resolved','closed') AND due_at IS NOT NULL AND done_at IS NOT NULL", "fieldReport")
            let onTime = try count(
                "status IN ('resolved','closed') AND due_at IS NOT NULL AND done_at IS NOT NULL AND done_at <= due_at",
                "fieldReport")
            let finished = try count("status IN ('completed','refused')", "dossier", window: "done_at")
            let late = try count("status IN ('completed','refused') AND done_at > due_at", "dossier", window: "done_at")
            let received = try count("1", "dossier")
            return .object([
                "from": .string(Timestamp.format(from)), "to": .string(Timestamp.format(to)),
                "fieldReports": .object([
                    "total": .int(Int64(total)),
                    "byStatus": try groups("fieldReport", "status"),
                    "byCategory": try groups("fieldReport", "category"),
                    "byUnit": try groups("fieldReport", "unit"),
                    "processed": .int(Int64(processed)), "processedRate": rate(processed, total),
                    "resolvedWithDueTime": .int(Int64(resolvedWithDue)), "onTime": .int(Int64(onTime)),
                    "onTimeRate": rate(onTime, resolvedWithDue),
                ]),
                "dossiers": .object([
                    "received": .int(Int64(received)), "finished": .int(Int64(finished)),
                    "late": .int(Int64(late)), "onTime": .int(Int64(finished - late)), "lateRate": rate(late, finished),
                    "byStatus": try groups("dossier", "status"),
                    "dueSoonWarnings": .int(Int64(try count("warned = 1", "dossier"))),
                ]),
                "alerts": .object([
                    "total": .int(Int64(try count("1", "alert"))),
                    "byCategory": try groups("alert", "category"),
                    "byStatus": try groups("alert", "status"),
                ]),
            ])
        }
    }
}
