import Foundation
import GRDB
import GRDBSQLite

/// Binds and runs a prepared statement through SQLite's C API. A catch-up writes hundreds of
/// thousands of rows, and GRDB's `StatementArguments` box every value (an allocation and a
/// dynamic cast each), which profiling showed costing as much as SQLite's own work. Only for
/// the few hot statements, prepared by GRDB in the same connection; nothing here outlives a call.
struct RawStatement {
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ statement: Statement) { self.statement = statement }

    /// Binds `values` in order (1-based parameters), runs the statement to completion and resets
    /// it. Returns whether it produced a row (for `SELECT 1 …` probes).
    @discardableResult
    func run(_ values: RawValue...) throws -> Bool {
        try bind(values)
        let step = sqlite3_step(handle)
        defer { finish() }
        switch step {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(step)
        }
    }

    /// Binds `values` and hands each result row to `body` until it returns false or rows run out.
    func forEachRow(_ values: RawValue..., body: (RawRow) throws -> Bool) throws {
        try bind(values)
        defer { finish() }
        while true {
            let step = sqlite3_step(handle)
            guard step == SQLITE_ROW else {
                if step == SQLITE_DONE { return }
                throw error(step)
            }
            guard try body(RawRow(handle: handle)) else { return }
        }
    }

    private func finish() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private func bind(_ values: [RawValue]) throws {
        let h = handle
        sqlite3_reset(h)
        for (i, v) in values.enumerated() {
            let index = Int32(i + 1)
            let code: Int32
            switch v {
            case .null: code = sqlite3_bind_null(h, index)
            case .int(let n): code = sqlite3_bind_int64(h, index, n)
            case .text(let s):
                var s = s
                code = s.withUTF8 { sqlite3_bind_text(h, index, $0.baseAddress, Int32($0.count), Self.transient) }
            case .blob(let d):
                code = d.withUnsafeBytes { sqlite3_bind_blob(h, index, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), Self.transient) }
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    private func error(_ code: Int32) -> DatabaseError {
        let message = sqlite3_db_handle(handle).flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

/// A value bound by ``RawStatement``.
enum RawValue {
    case null
    case int(Int64)
    case text(String)
    case blob(Data)

    static func text(_ s: String?) -> RawValue { s.map(RawValue.text) ?? .null }
    static func int(_ n: Int64?) -> RawValue { n.map(RawValue.int) ?? .null }
    static func bool(_ b: Bool) -> RawValue { .int(b ? 1 : 0) }
    static func blob(_ d: Data?) -> RawValue { d.map(RawValue.blob) ?? .null }
}

/// The current row of a ``RawStatement``, valid only inside its `forEachRow` body.
struct RawRow {
    let handle: OpaquePointer

    func isNull(_ i: Int32) -> Bool { sqlite3_column_type(handle, i) == SQLITE_NULL }
    func int(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }
    func text(_ i: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, i) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i))), as: UTF8.self)
    }
    func blob(_ i: Int32) -> [UInt8]? {
        guard sqlite3_column_type(handle, i) != SQLITE_NULL else { return nil }
        let n = Int(sqlite3_column_bytes(handle, i))
        guard n > 0, let p = sqlite3_column_blob(handle, i) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: n))
    }
}
