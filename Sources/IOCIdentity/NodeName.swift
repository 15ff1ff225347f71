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
        return isValidID(id) ? id : nil
    }

    /// The topology's node-id rule, `[a-z0-9][a-z0-9-]*`: also what keeps an id from naming a path.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, first != "-" else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}

/// A problem with certificates, keys or trust documents, worded so an operator can act on it.
public struct IdentityError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
