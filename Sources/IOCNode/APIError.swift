import Foundation
import HTTPTypes
import Hummingbird
import IOCModel
import IOCStore
import NIOCore

/// An error as the HTTP API reports it: `{"error": {"code", "message", "field"}}` with a status.
/// This is the only place domain errors meet HTTP status codes.
public struct APIError: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public static func validation(_ e: ValidationError) -> APIError {
        APIError(.badRequest, code: e.code.rawValue, message: e.message, field: e.field)
    }

    public static let unauthorized = APIError(
        .unauthorized, code: "unauthorized",
        message: "A valid bearer token is required (Authorization: Bearer ioc_…). / Cần mã truy cập hợp lệ.")

    public static func forbidden(_ why: String) -> APIError {
        APIError(.forbidden, code: "forbidden", message: why)
    }

    public static func notFound(_ what: String) -> APIError {
        APIError(.notFound, code: "not_found", message: what)
    }

    public var body: JSONValue {
        var e: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        e["field"] = field.map(JSONValue.string) ?? .null
        return ["error": .object(e)]
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(status, body)
    }

    /// Maps any error thrown by a handler to an API error; unknown errors become a 500 whose
    /// message reveals nothing internal.
    public static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ValidationError: return .validation(e)
        case let e as StoreError where e.code == .notFound: return .notFound(e.message)
        case let e as StoreError where e.code == .forbidden: return .forbidden(e.message)
        case let e as StoreError where e.code == .conflict: return APIError(.conflict, code: "conflict", message: e.message)
        case let e as HTTPError where e.status == .contentTooLarge:
            return APIError(.badRequest, code: ValidationError.Code.bodyTooLarge.rawValue, message: "The request body is too large.")
        case let e as HTTPError where e.status == .notFound:
            return APIError(.notFound, code: "not_found", message: "No such endpoint. The API is described in docs/openapi.yaml.")
        case let e as HTTPError:
            return APIError(e.status, code: "http_error", message: e.body ?? e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, code: "internal", message: "Internal error; the change was not saved.")
        }
    }
}

enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        var data = value.jsonData()
        data.append(0x0A)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Turns every error into the JSON error shape, so clients never see Hummingbird's default text.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if api.status == .internalServerError {
                context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            }
            return JSONResponse.make(api.status, api.body)
        }
    }
}
