import Crypto
import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Which side of a TLS connection a certificate is presented by: a client certificate must allow
/// client authentication, a server certificate server authentication.
public enum PeerRole: String, Sendable {
    case client, server

    var usage: ExtendedKeyUsage.Usage { self == .client ? .clientAuth : .serverAuth }
}

/// Our node-identity policy on top of RFC 5280 (design.md §7): the leaf is an end-entity
/// certificate (CA=false) for digital signatures, with the EKU for its role, exactly one URI SAN
/// naming a node of *this* federation that the topology knows (and, when dialling, the node we
/// meant to reach), and a serial that is not on the denylist. `RFC5280Policy` checks none of this.
public struct NodeIdentityPolicy: VerifierPolicy {
    public let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.subjectAlternativeName, .X509ExtensionID.extendedKeyUsage, .X509ExtensionID.keyUsage,
    ]

    let federation: String
    let knownNodes: Set<String>
    let role: PeerRole
    let expectedNode: String?
    let denylist: Denylist

    public init(federation: String, knownNodes: Set<String>, role: PeerRole, expectedNode: String?, denylist: Denylist) {
        self.federation = federation
        self.knownNodes = knownNodes
        self.role = role
        self.expectedNode = expectedNode
        self.denylist = denylist
    }

    public mutating func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        switch Self.identify(chain.leaf, federation: federation, role: role) {
        case .failure(let e):
            return .failsToMeetPolicy(reason: e.message)
        case .success(let node):
            if !knownNodes.contains(node) {
                return .failsToMeetPolicy(reason: "node '\(node)' is not in the topology")
            }
            if let expectedNode, node != expectedNode {
                return .failsToMeetPolicy(reason: "certificate names node '\(node)', expected '\(expectedNode)'")
            }
            if denylist.revokes(serial: chain.leaf.serialNumber.hex) {
                return .failsToMeetPolicy(reason: "certificate \(chain.leaf.serialNumber.hex) of node '\(node)' is revoked")
            }
            return .meetsPolicy
        }
    }

    /// The node a leaf certificate names, checking its shape (not its signature or dates).
    public static func identify(_ leaf: Certificate, federation: String, role: PeerRole) -> Result<String, IdentityError> {
        do {
            guard let bc = try leaf.extensions.basicConstraints, bc == .notCertificateAuthority else {
                return .failure(IdentityError("a node certificate must be an end-entity certificate (CA=false)"))
            }
            guard let ku = try leaf.extensions.keyUsage, ku.digitalSignature else {
                return .failure(IdentityError("a node certificate must allow digitalSignature"))
            }
            guard let eku = try leaf.extensions.extendedKeyUsage, eku.contains(role.usage) else {
                return .failure(IdentityError("the certificate does not allow \(role == .client ? "client" : "server") authentication"))
            }
            let uris = (try leaf.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap { name -> String? in
                if case .uniformResourceIdentifier(let u) = name { return u }
                return nil
            }
            guard uris.count == 1 else {
                return .failure(IdentityError("a node certificate must carry exactly one URI SAN, found \(uris.count)"))
            }
            guard let node = NodeName.node(inSpiffeID: uris[0], federation: federation) else {
                return .failure(IdentityError("URI SAN '\(uris[0])' does not name a node of federation '\(federation)'"))
            }
            return .success(node)
        } catch {
            return .failure(IdentityError("the certificate's extensions do not parse: \(error)"))
        }
    }
}

/// Everything a node trusts at one moment: the CA, the nodes of the topology, the registry of
/// signing keys and the denylist. A value: the TLS callbacks and the bundle checks each take one
/// snapshot, so a denylist installed mid-handshake never produces a half-old, half-new decision.
public struct TrustSnapshot: Sendable {
    public var federation: String
    public var ca: Certificate
    public var knownNodes: Set<String>
    public var registry: Registry
    public var denylist: Denylist
    /// Fixed validation time for tests; nil means the current time.
    public var validationTime: Date?

    public init(
        federation: String, ca: Certificate, knownNodes: Set<String>, registry: Registry, denylist: Denylist,
        validationTime: Date? = nil
    ) {
        self.federation = federation
        self.ca = ca
        self.knownNodes = knownNodes
        self.registry = registry
        self.denylist = denylist
        self.validationTime = validationTime
    }

    /// Verifies a presented chain (leaf first, DER) and returns the node it proves, or why not.
    public func verifyPeer(chainDER: [[UInt8]], role: PeerRole, expectedNode: String? = nil) async -> Result<String, IdentityError> {
        guard let first = chainDER.first else { return .failure(IdentityError("no certificate presented")) }
        let leaf: Certificate
        var intermediates: [Certificate] = []
        do {
            leaf = try Certificate(derEncoded: first)
            intermediates = try chainDER.dropFirst().map { try Certificate(derEncoded: $0) }
        } catch {
            return .failure(IdentityError("the presented certificate does not parse"))
        }
        let identity = NodeIdentityPolicy(
            federation: federation, knownNodes: knownNodes, role: role, expectedNode: expectedNode, denylist: denylist)
        let time = validationTime
        var verifier = Verifier(rootCertificates: CertificateStore([ca])) {
            if let time { RFC5280Policy(fixedExpiryValidationTime: time) } else { RFC5280Policy() }
            identity
        }
        switch await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates)) {
        case .validCertificate:
            return NodeIdentityPolicy.identify(leaf, federation: federation, role: role)
        case .couldNotValidate(let failures):
            let reasons = failures.map { "\($0.policyFailureReason)" }
            return .failure(IdentityError(reasons.first.map { "certificate refused: \($0)" } ?? "certificate refused: no chain to the federation CA"))
        }
    }

    /// The key that signs bundles for `node`, unless unknown or revoked.
    public func signingKey(of node: String) -> Result<Curve25519.Signing.PublicKey, IdentityError> {
        guard let key = registry.signingKey(of: node) else {
            return .failure(IdentityError("no signing key registered for node '\(node)'"))
        }
        if denylist.revokes(signingKey: key) { return .failure(IdentityError("the signing key of node '\(node)' is revoked")) }
        return .success(key)
    }
}
