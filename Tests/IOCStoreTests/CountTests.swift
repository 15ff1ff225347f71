import Foundation
import GRDB
import IOCModel
@testable import IOCStore
import Testing

/// Status views poll `NodeStore.counts()`: it must count live records only, and from indexes,
/// never by reading every row of the record table (seconds at a million records).
@Suite struct CountTests {
    @Test func countsAreLiveRecordsPerKind() async throws {
        try await withStore { store, _, _ in
            #expect(try store.counts() == [:])
            let a = try await store.fieldReport()
            let b = try await store.fieldReport(title: "Cây đổ trên đường Lê Duẩn")
            _ = try await store.fieldReport(title: "Đèn tín hiệu hỏng tại ngã tư Hàm Nghi")
            #expect(try store.counts() == ["fieldReport": 3])
            _ = try await store.delete(id: a.id, kind: .fieldReport, actor: operatorActor)
            #expect(try store.counts() == ["fieldReport": 2])
            _ = try await store.delete(id: b.id, kind: .fieldReport, actor: operatorActor)
            #expect(try store.counts() == ["fieldReport": 1])
        }
    }

    @Test func aKindWhoseRecordsAreAllDeletedIsNotListed() async throws {
        try await withStore { store, _, _ in
            let a = try await store.fieldReport()
            _ = try await store.delete(id: a.id, kind: .fieldReport, actor: operatorActor)
            #expect(try store.counts() == [:])
        }
    }

    @Test func countingReadsIndexesOnly() async throws {
        try await withStore { store, _, _ in
            let plans = try store.readSync { db in
                try [NodeStore.allRecordsPerKind, NodeStore.deletedRecordsPerKind].map { sql in
                    try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String }.joined(separator: "; ")
                }
            }
            #expect(plans[0].contains("COVERING INDEX"), "\(plans[0])")
            #expect(plans[1].contains("INDEX record_deleted"), "\(plans[1])")
        }
    }
}
