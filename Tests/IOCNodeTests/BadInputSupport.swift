import HTTPTypes
import IOCModel
import Testing

extension API {
    /// Sends a request that must be refused with 400, `code` and `field` (nil: the error names no
    /// field), and checks nothing was written: the list of the path's kind and the record counts
    /// of every kind are unchanged.
    @discardableResult
    func expectRefused(
        _ t: TestNode, _ path: String, method: HTTPRequest.Method = .post, token: String? = nil, raw: [UInt8],
        code: String, field: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Reply {
        let kindPath = path.split(separator: "/").dropFirst(2).first.map { String($0.split(separator: "?")[0]) } ?? ""
        let listBefore = try await count(kindPath, token: t.admin)
        let countsBefore = try t.store.counts()
        let r = try await send(method, path, token: token ?? t.admin, raw: raw)
        #expect(r.status == .badRequest, "\(r)", sourceLocation: sourceLocation)
        #expect(r.errorCode == code, "\(r)", sourceLocation: sourceLocation)
        #expect(r.errorField == field.map(JSONValue.string) ?? .null, "\(r)", sourceLocation: sourceLocation)
        #expect(!r.errorMessage.isEmpty, sourceLocation: sourceLocation)
        #expect(try await count(kindPath, token: t.admin) == listBefore, "list changed", sourceLocation: sourceLocation)
        #expect(try t.store.counts() == countsBefore, "records written", sourceLocation: sourceLocation)
        return r
    }

    @discardableResult
    func expectRefused(
        _ t: TestNode, _ path: String, method: HTTPRequest.Method = .post, token: String? = nil, json: JSONValue,
        code: String, field: String?, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Reply {
        try await expectRefused(
            t, path, method: method, token: token, raw: Array(json.jsonData()), code: code, field: field,
            sourceLocation: sourceLocation)
    }

    /// A GET that must be refused with 400, `code` and `field`.
    func expectBadQuery(
        _ t: TestNode, _ path: String, code: String, field: String, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let r = try await get(path, token: t.admin)
        #expect(r.status == .badRequest, "\(path): \(r)", sourceLocation: sourceLocation)
        #expect(r.errorCode == code, "\(path): \(r)", sourceLocation: sourceLocation)
        #expect(r.errorField == .string(field), "\(path): \(r)", sourceLocation: sourceLocation)
    }
}
