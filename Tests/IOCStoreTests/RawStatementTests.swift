import Foundation
import GRDB
import IOCModel
@testable import IOCStore
import Testing

/// `RawStatement` binds texts, blobs and ids in place (no copy). These tests pin what a value
/// reads back as, so a binding shortcut cannot turn an empty text into NULL or leak a value into
/// the next row.
@Suite struct RawStatementTests {
    private func withTable<T>(_ body: (Database, RawStatement) throws -> T) throws -> T {
        let queue = try DatabaseQueue()
        return try queue.write { db in
            try db.execute(sql: "CREATE TABLE t(n INTEGER PRIMARY KEY, a TEXT, b BLOB, c BLOB, d INTEGER)")
            let insert = RawStatement(try db.cachedStatement(sql: "INSERT INTO t(n, a, b, c, d) VALUES (?, ?, ?, ?, ?)"))
            return try body(db, insert)
        }
    }

    @Test func emptyTextAndBlobStayEmptyNotNull() throws {
        try withTable { db, insert in
            try insert.run(.int(1), .text(""), .blob(Data()), .id(nil), .int(nil))
            let row = try #require(try Row.fetchOne(db, sql: "SELECT typeof(a), a, typeof(b), length(b), typeof(c), typeof(d) FROM t"))
            #expect(row[0] as String == "text")
            #expect(row[1] as String == "")
            #expect(row[2] as String == "blob")
            #expect(row[3] as Int == 0)
            #expect(row[4] as String == "null")
            #expect(row[5] as String == "null")
        }
    }

    @Test func valuesRoundTripByteForByte() throws {
        let text = "Ngập sâu 0,5 m trên đường Nguyễn Văn Linh, phường Hải Châu — cần hỗ trợ khẩn cấp."
        let blob = Data((0..<1200).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let id = try #require(RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"))
        try withTable { db, insert in
            try insert.run(.int(1), .text(text), .blob(blob), .id(id), .int(42))
            let row = try #require(try Row.fetchOne(db, sql: "SELECT a, b, c, d FROM t"))
            #expect(row[0] as String == text)
            #expect(row[1] as Data == blob)
            #expect(row[2] as Data == Data(id.bytes))
            #expect(row[3] as Int64 == 42)
        }
    }

    @Test func eachRunBindsOnlyItsOwnValues() throws {
        try withTable { db, insert in
            try insert.run(.int(1), .text("phường Thạch Thang"), .blob(Data([1, 2, 3])), .id(RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")), .int(7))
            try insert.run(.int(2), .text(nil), .blob(nil), .id(nil), .int(nil))
            let nulls = try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE n = 2 AND a IS NULL AND b IS NULL AND c IS NULL AND d IS NULL")
            #expect(nulls == 1)
            let probe = RawStatement(try db.cachedStatement(sql: "SELECT a FROM t WHERE b = ? OR n = ? ORDER BY n"))
            var seen: [String?] = []
            try probe.forEachRow(.blob(Data([1, 2, 3])), .int(2)) { row in
                seen.append(row.text(0))
                return true
            }
            #expect(seen == ["phường Thạch Thang", nil])
            #expect(try probe.run(.blob(Data([9])), .int(99)) == false)
        }
    }

    /// `runCopying` (many rows per statement) copies every text and blob into one buffer first:
    /// each value must land at its own parameter, whole, whatever the sizes around it.
    @Test func aManyRowStatementStoresEveryValueAtItsOwnParameter() throws {
        let id = try #require(RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"))
        let texts = ["", "Hải Châu", String(repeating: "Mưa lớn kéo dài, nước sông Hàn dâng cao. ", count: 40), "x"]
        let blobs = [Data(), Data([1]), Data((0..<1500).map { UInt8(truncatingIfNeeded: $0 &* 7) }), Data([9, 9])]
        try withTable { db, _ in
            let insert = RawStatement(
                try db.cachedStatement(sql: "INSERT INTO t(n, a, b, c, d) VALUES " + Array(repeating: "(?, ?, ?, ?, ?)", count: 4).joined(separator: ",")))
            var values: [RawValue] = []
            for i in 0..<4 {
                values += [.int(Int64(i + 1)), .text(texts[i]), .blob(blobs[i]), i == 1 ? .id(nil) : .id(id), i == 2 ? .null : .int(Int64(i * 10))]
            }
            try insert.runCopying(values)
            let rows = try Row.fetchAll(db, sql: "SELECT typeof(a), a, typeof(b), b, c, d FROM t ORDER BY n")
            #expect(rows.count == 4)
            for (i, row) in rows.enumerated() {
                #expect(row[0] as String == "text", "row \(i): an empty text is not NULL")
                #expect(row[1] as String == texts[i])
                #expect(row[2] as String == "blob", "row \(i): an empty blob is not NULL")
                #expect(row[3] as Data == blobs[i])
                #expect(row[4] as Data? == (i == 1 ? nil : Data(id.bytes)))
                #expect(row[5] as Int64? == (i == 2 ? nil : Int64(i * 10)))
            }
            // The same statement again with only the first row's values: the other 15 parameters
            // read NULL, nothing of the first run is left bound.
            try insert.runCopying([.int(9)] + Array(values[1..<5]))
            #expect(try Int.fetchOne(db, sql: "SELECT count(*) FROM t WHERE n > 9 AND a IS NULL AND b IS NULL AND c IS NULL AND d IS NULL") == 3)
        }
    }

    @Test func aParameterLeftOutIsNullNotTheLastRunsValue() throws {
        try withTable { db, insert in
            try insert.run(.int(1), .text("Hải Châu"), .blob(Data([7, 7])), .id(nil), .int(42))
            // Only four of five parameters: the fifth must read NULL, not 42 from the run before.
            try insert.run(.int(2), .text("Thanh Khê"), .blob(Data([8])), .id(nil))
            let fifth = try Row.fetchOne(db, sql: "SELECT d IS NULL, a FROM t WHERE n = 2")
            #expect(fifth?[0] as Bool? == true)
            #expect(fifth?[1] as String? == "Thanh Khê")
        }
    }
}
