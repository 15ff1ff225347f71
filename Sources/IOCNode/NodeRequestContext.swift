import Hummingbird
import IOCStore
import NIOCore

/// Per-request state: the authenticated user (set by ``AuthMiddleware``) and the channel, whose
/// TLS peer certificate identifies a peer node on sync routes.
public struct NodeRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var user: User?
    /// The peer node proven by the TLS client certificate (sync listener only).
    public var peer: String?
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// Resolves `Authorization: Bearer <token>` to a user; refuses with 401 otherwise.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let store: NodeStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            let user = try await store.authenticate(token: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else { throw APIError.unauthorized }
        var context = context
        context.user = user
        return try await next(request, context)
    }
}
