import Foundation

/// How a node is named in certificates: one SPIFFE ID (`spiffe://<federation>/node/<id>`) as the
/// single URI SAN, and a DNS name (`<id>.node.<federation>`) used as the TLS server name. The
/// SPIFFE ID is the identity; the DNS name only lets ordinary TLS tools (curl, openssl) connect.
public enum NodeName {
    public static func spiffeID(federation: String, node: String) -> String { "spiffe://\(federation)/node/\(node)" }

    public static func dnsName(federation: String, node: String) -> String { "\(node).node.\(federation)" }

    /// The node id in `uri` when it names a node of `federation`, else nil.
    public static func node(inSpiffeID uri: String, federation: String) -> String? {
        let prefix = "spiffe://\(federation)/node/"
        guard uri.hasPrefix(prefix) else { return nil }
        let id = String(uri.dropFirst(prefix.count))
        guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else { return nil }
        return id
    }
}

/// A problem with certificates, keys or trust documents, worded so an operator can act on it.
public struct IdentityError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
