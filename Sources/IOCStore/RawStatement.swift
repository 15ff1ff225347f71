import Foundation
import GRDB
import GRDBSQLite
import IOCModel

/// Binds and runs a prepared statement through SQLite's C API. A catch-up writes hundreds of
/// thousands of rows, and GRDB's `StatementArguments` box every value (an allocation and a
/// dynamic cast each), which profiling showed costing as much as SQLite's own work. Only for
/// the few hot statements, prepared by GRDB in the same connection; nothing here outlives a call.
struct RawStatement {
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }

    init(_ statement: Statement) { self.statement = statement }

    /// Binds `values` in order (1-based parameters), runs the statement to completion and resets
    /// it. Returns whether it produced a row (for `SELECT 1 …` probes).
    @discardableResult
    func run(_ values: RawValue...) throws -> Bool { try run(all: values) }

    @discardableResult
    func run(all values: [RawValue]) throws -> Bool {
        sqlite3_reset(handle)
        return try bound(values[...], at: 1) {
            defer { finish() }
            let step = sqlite3_step(handle)
            switch step {
            case SQLITE_ROW: return true
            case SQLITE_DONE: return false
            default: throw error(step)
            }
        }
    }

    /// Binds `values` and hands each result row to `body` until it returns false or rows run out.
    func forEachRow(_ values: RawValue..., body: (RawRow) throws -> Bool) throws {
        sqlite3_reset(handle)
        try bound(values[...], at: 1) {
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
    }

    /// Binds `values` in order, runs the statement to completion and resets it. For statements
    /// of many rows (``AppendBatch``): too many values to keep in nested buffer scopes as
    /// ``run(_:)`` does, so texts and blobs are first copied, back to back, into one buffer that
    /// outlives the step (SQLite's own copies, `SQLITE_TRANSIENT`, cost an allocation each).
    func runCopying(_ values: [RawValue]) throws {
        var total = 0
        for value in values {
            switch value {
            case .null, .int: break
            case .text(let s): total += s.utf8.count
            case .blob(let d): total += d.count
            case .bytes(let a): total += a.count
            case .id: total += 16
            }
        }
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: Swift.max(total, 1), alignment: 8)
        defer { arena.deallocate() }
        sqlite3_reset(handle)
        defer { finish() }  // runs first: no binding outlives the buffer
        let h = handle
        var used = 0
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            /// Copies `p` into the buffer; returns where.
            func place(_ p: UnsafeRawBufferPointer) -> UnsafeRawPointer {
                let at = arena.baseAddress! + used
                if let source = p.baseAddress, p.count > 0 { at.copyMemory(from: source, byteCount: p.count) }
                used += p.count
                return UnsafeRawPointer(at)
            }
            func blob(_ p: UnsafeRawBufferPointer) -> Int32 { sqlite3_bind_blob(h, index, place(p), Int32(p.count), nil) }
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(h, index)
            case .int(let n): code = sqlite3_bind_int64(h, index, n)
            case .text(var s):
                code = s.withUTF8 { p in
                    let at = place(UnsafeRawBufferPointer(p))
                    return sqlite3_bind_text(h, index, at.assumingMemoryBound(to: CChar.self), Int32(p.count), nil)
                }
            case .blob(let d): code = d.withUnsafeBytes(blob)
            case .bytes(let a): code = a.withUnsafeBytes(blob)
            case .id(let id): code = id.withUnsafeBytes(blob)
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
        let step = sqlite3_step(h)
        guard step == SQLITE_DONE || step == SQLITE_ROW else { throw error(step) }
    }

    /// Resets the statement and drops its bindings: called inside the scopes of the bound
    /// buffers, so nothing SQLite does afterwards (a trace callback, the next reset) can see a
    /// pointer whose scope has ended.
    private func finish() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Binds `values` from parameter `index` on, then runs `body`. Texts, blobs and ids are bound
    /// in place (`SQLITE_STATIC`, a nil destructor), each inside the scope of its own buffer, with
    /// `body` innermost: SQLite reads them only while stepping, so a 1 KB journal entry is not
    /// copied per row.
    /// `body` calls ``finish()`` before the scopes end, as does a failed bind.
    private func bound<R>(_ values: ArraySlice<RawValue>, at index: Int32, _ body: () throws -> R) throws -> R {
        guard let value = values.first else { return try body() }
        let h = handle
        let rest = values.dropFirst()
        func check(_ code: Int32) throws {
            guard code == SQLITE_OK else {
                let failure = error(code)
                finish()
                throw failure
            }
        }
        func blob(_ p: UnsafeRawBufferPointer) throws -> R {
            try check(sqlite3_bind_blob(h, index, p.baseAddress ?? Self.empty, Int32(p.count), nil))
            return try bound(rest, at: index + 1, body)
        }
        switch value {
        case .null: try check(sqlite3_bind_null(h, index))
        case .int(let n): try check(sqlite3_bind_int64(h, index, n))
        case .text(var s):
            return try s.withUTF8 { p in
                let start = p.baseAddress.map(UnsafeRawPointer.init) ?? Self.empty
                try check(sqlite3_bind_text(h, index, start.assumingMemoryBound(to: CChar.self), Int32(p.count), nil))
                return try bound(rest, at: index + 1, body)
            }
        case .blob(let d): return try d.withUnsafeBytes(blob)
        case .bytes(let a): return try a.withUnsafeBytes(blob)
        case .id(let id): return try id.withUnsafeBytes(blob)
        }
        return try bound(rest, at: index + 1, body)
    }

    /// A valid address for an empty text or blob (a nil pointer would bind NULL instead).
    private static var empty: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 1)! }

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
    /// A blob from an array (a received entry as it came off the wire: no copy into `Data`).
    case bytes([UInt8])
    /// A record id as its 16 bytes, bound without allocating.
    case id(RecordID)

    static func text(_ s: String?) -> RawValue { s.map(RawValue.text) ?? .null }
    static func int(_ n: Int64?) -> RawValue { n.map(RawValue.int) ?? .null }
    static func bool(_ b: Bool) -> RawValue { .int(b ? 1 : 0) }
    static func blob(_ d: Data?) -> RawValue { d.map(RawValue.blob) ?? .null }
    static func id(_ r: RecordID?) -> RawValue { r.map(RawValue.id) ?? .null }
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
