import Crypto
import Foundation
import IOCIdentity
import Testing
import X509

/// The node-identity policy on top of RFC 5280, through `TrustSnapshot.verifyPeer`: every
/// certificate is generated in code relative to a fixed date and verified at that date.
@Suite struct VerifyPeerTests {
    static let now = Fixture.referenceTime
    static let fed = Fixture.federation
    static let known: Set<String> = ["a", "b"]

    let ca: CertificateAuthority

    init() throws {
        ca = try CertificateAuthority.create(federation: Self.fed, now: Self.now)
    }

    func snapshot(denylist: Denylist = .empty(federation: Self.fed), at time: Date = Self.now, ca: CertificateAuthority? = nil)
        -> TrustSnapshot
    {
        TrustSnapshot(
            federation: Self.fed, ca: (ca ?? self.ca).certificate, knownNodes: Self.known,
            registry: Registry(federation: Self.fed, version: 1, issuedAt: Self.now, nodes: []), denylist: denylist,
            validationTime: time)
    }

    func profile(_ node: String = "a", now: Date = Self.now, days: Int = 60, usages: [ExtendedKeyUsage.Usage] = [.serverAuth, .clientAuth])
        -> CertificateAuthority.LeafProfile
    {
        CertificateAuthority.LeafProfile(federation: Self.fed, node: node, now: now, days: days, usages: usages)
    }

    /// A leaf for `node` issued by the federation CA with `edit` applied to the default profile.
    func leaf(_ node: String = "a", by issuer: CertificateAuthority? = nil, _ edit: (inout CertificateAuthority.LeafProfile) -> Void = { _ in })
        throws -> Certificate
    {
        var p = profile(node)
        edit(&p)
        return try (issuer ?? ca).issue(node: node, publicKey: P256.Signing.PrivateKey().publicKey, profile: p)
    }

    func verify(_ chain: [Certificate], role: PeerRole = .client, expected: String? = nil, trust: TrustSnapshot? = nil) async throws
        -> Result<String, IdentityError>
    {
        await (trust ?? snapshot()).verifyPeer(chainDER: try chain.map(Fixture.der), role: role, expectedNode: expected)
    }

    func expectRefused(
        _ result: Result<String, IdentityError>, mentioning needle: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let message = Fixture.failure(result) else {
            Issue.record("accepted a certificate that must be refused: \(result)", sourceLocation: sourceLocation)
            return
        }
        if let needle {
            #expect(message.contains(needle), "message '\(message)' does not mention '\(needle)'", sourceLocation: sourceLocation)
        }
    }

    // MARK: Accepted

    @Test(arguments: [PeerRole.client, .server])
    func validCertificateIsAccepted(role: PeerRole) async throws {
        let cert = try leaf("a")
        #expect(try await verify([cert], role: role) == .success("a"))
        #expect(try await verify([cert], role: role, expected: "a") == .success("a"))
        // Any time inside the validity window.
        #expect(try await verify([cert], role: role, trust: snapshot(at: Self.now + 59 * Fixture.day)) == .success("a"))
        #expect(NodeIdentityPolicy.identify(cert, federation: Self.fed, role: role) == .success("a"))
    }

    @Test func roleSpecificCertificatesAreAcceptedInTheirRole() async throws {
        let serverOnly = try leaf { $0.usages = [.serverAuth] }
        let clientOnly = try leaf { $0.usages = [.clientAuth] }
        #expect(try await verify([serverOnly], role: .server) == .success("a"))
        #expect(try await verify([clientOnly], role: .client) == .success("a"))
    }

    @Test func extraDNSAndIPSANsAreAllowed() async throws {
        let cert = try leaf { $0.add(hosts: ["127.0.0.1", "localhost", "::1"]) }
        #expect(try await verify([cert]) == .success("a"))
    }

    // MARK: Dates

    @Test func expiredIsRefused() async throws {
        let oldCA = try CertificateAuthority.create(federation: Self.fed, now: Self.now - 200 * Fixture.day)
        let cert = try leaf("a", by: oldCA) { $0 = profile("a", now: Self.now - 100 * Fixture.day) }
        let trust = snapshot(ca: oldCA)
        // Control: valid during its lifetime.
        #expect(try await verify([cert], trust: snapshot(at: Self.now - 50 * Fixture.day, ca: oldCA)) == .success("a"))
        expectRefused(try await verify([cert], trust: trust), mentioning: "expired")
        expectRefused(try await verify([cert], role: .server, trust: trust), mentioning: "expired")
    }

    @Test func expiryBoundary() async throws {
        let cert = try leaf("a")
        expectRefused(try await verify([cert], trust: snapshot(at: Self.now + 60 * Fixture.day + 1)), mentioning: "expired")
        expectRefused(try await verify([cert], trust: snapshot(at: Self.now - 301)), mentioning: "not yet valid")
    }

    @Test func notYetValidIsRefused() async throws {
        let cert = try leaf("a") {
            $0.notValidBefore = Self.now + Fixture.day
            $0.notValidAfter = Self.now + 60 * Fixture.day
        }
        expectRefused(try await verify([cert]), mentioning: "not yet valid")
        #expect(try await verify([cert], trust: snapshot(at: Self.now + 2 * Fixture.day)) == .success("a"))
    }

    // MARK: Chain

    @Test func signedByAnotherCAIsRefused() async throws {
        // Same federation name, so the same distinguished name: only the signature differs.
        let other = try CertificateAuthority.create(federation: Self.fed, now: Self.now)
        #expect(other.certificate.subject == ca.certificate.subject)
        let cert = try leaf("a", by: other)
        #expect(try await verify([cert], trust: snapshot(ca: other)) == .success("a"))
        expectRefused(try await verify([cert]), mentioning: "no chain to the federation CA")
        // Presenting the foreign CA as an intermediate does not help.
        expectRefused(try await verify([cert, other.certificate]), mentioning: "no chain to the federation CA")
        // Nor does a CA of another federation.
        let foreign = try CertificateAuthority.create(federation: "other", now: Self.now)
        expectRefused(try await verify([try leaf("a", by: foreign), foreign.certificate]))
    }

    @Test func selfSignedLeafIsRefused() async throws {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("IOC Federation test")
            CommonName("a")
        }
        let cert = try CertificateAuthority.sign(
            subject: name, publicKey: Certificate.PublicKey(key.publicKey), profile: profile("a"), issuer: name,
            issuerKey: Certificate.PrivateKey(key), authorityKeyID: nil)
        expectRefused(try await verify([cert]), mentioning: "no chain to the federation CA")
        expectRefused(try await verify([cert], role: .server), mentioning: "no chain to the federation CA")

        // Self-signed while claiming the CA's own name.
        let impostor = try CertificateAuthority.sign(
            subject: ca.certificate.subject, publicKey: Certificate.PublicKey(key.publicKey), profile: profile("a"),
            issuer: ca.certificate.subject, issuerKey: Certificate.PrivateKey(key),
            authorityKeyID: try ca.certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
        expectRefused(try await verify([impostor]))
    }

    @Test func leafSignedByALeafIsRefused() async throws {
        let intermediateKey = P256.Signing.PrivateKey()
        let intermediate = try ca.issue(node: "b", publicKey: intermediateKey.publicKey, profile: profile("b"))
        #expect(try await verify([intermediate]) == .success("b"), "control: the intermediate itself is a valid node")
        let cert = try CertificateAuthority.sign(
            subject: try DistinguishedName {
                OrganizationName("IOC Federation test")
                CommonName("a")
            },
            publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), profile: profile("a"),
            issuer: intermediate.subject, issuerKey: Certificate.PrivateKey(intermediateKey),
            authorityKeyID: try intermediate.extensions.subjectKeyIdentifier?.keyIdentifier)
        // RFC 5280: the intermediate is not a CA.
        expectRefused(try await verify([cert, intermediate]), mentioning: "is not marked as a CA")
        expectRefused(try await verify([cert, intermediate], role: .server), mentioning: "is not marked as a CA")
        expectRefused(try await verify([cert]), mentioning: "no chain to the federation CA")
    }

    @Test func leafSignedByAMisissuedCACertificateIsRefused() async throws {
        // The federation CA signs a node certificate with CA=true; that certificate then signs a leaf.
        let midKey = P256.Signing.PrivateKey()
        var midProfile = profile("b")
        midProfile.isCA = true
        let mid = try ca.issue(node: "b", publicKey: midKey.publicKey, profile: midProfile)
        let cert = try CertificateAuthority.sign(
            subject: try DistinguishedName { CommonName("a") },
            publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), profile: profile("a"),
            issuer: mid.subject, issuerKey: Certificate.PrivateKey(midKey), authorityKeyID: nil)
        // RFC 5280: the federation CA has pathLen 0, so no sub-CA may sit under it.
        expectRefused(try await verify([cert, mid]), mentioning: "maximum path length")
        expectRefused(try await verify([cert, mid], role: .server), mentioning: "maximum path length")
        // The misissued certificate itself, presented as a leaf, is refused by our policy.
        expectRefused(try await verify([mid]), mentioning: "CA=false")
    }

    @Test func presentingTheCAItselfIsRefused() async throws {
        expectRefused(try await verify([ca.certificate]), mentioning: "CA=false")
    }

    @Test func emptyAndGarbageChainsAreRefused() async throws {
        let empty = await snapshot().verifyPeer(chainDER: [], role: .client)
        expectRefused(empty, mentioning: "no certificate presented")
        let garbage = await snapshot().verifyPeer(chainDER: [[0x30, 0x03, 0x02, 0x01, 0x01]], role: .client)
        expectRefused(garbage, mentioning: "does not parse")
        let badIntermediate = await snapshot().verifyPeer(chainDER: [try Fixture.der(leaf()), [1, 2, 3]], role: .client)
        expectRefused(badIntermediate, mentioning: "does not parse")
    }

    // MARK: Shape

    @Test func caTrueLeafIsRefused() async throws {
        let cert = try leaf { $0.isCA = true }
        expectRefused(try await verify([cert]), mentioning: "CA=false")
        expectRefused(try await verify([cert], role: .server), mentioning: "CA=false")
    }

    @Test func noURISANIsRefused() async throws {
        let cert = try leaf { $0.uris = [] }
        expectRefused(try await verify([cert]), mentioning: "URI SAN")
        expectRefused(try await verify([cert]), mentioning: "found 0")
        // Not even with no SANs at all.
        let bare = try leaf {
            $0.uris = []
            $0.dnsNames = []
        }
        #expect(try bare.extensions.subjectAlternativeNames == nil)
        expectRefused(try await verify([bare], role: .server), mentioning: "URI SAN")
    }

    @Test func twoURISANsAreRefused() async throws {
        let twoNodes = try leaf { $0.uris = [NodeName.spiffeID(federation: "test", node: "a"), NodeName.spiffeID(federation: "test", node: "b")] }
        expectRefused(try await verify([twoNodes]), mentioning: "found 2")
        let sameTwice = try leaf { $0.uris = [NodeName.spiffeID(federation: "test", node: "a"), NodeName.spiffeID(federation: "test", node: "a")] }
        expectRefused(try await verify([sameTwice], role: .server), mentioning: "exactly one URI SAN")
        let plusWeb = try leaf { $0.uris.append("https://a.node.test/") }
        expectRefused(try await verify([plusWeb]), mentioning: "URI SAN")
    }

    @Test func foreignOrMalformedSpiffeIDIsRefused() async throws {
        for uri in [
            "spiffe://other/node/a", "spiffe://test/nodes/a", "spiffe://test/node/A", "spiffe://test/node/", "spiffe://test/node/a/b",
            "https://test/node/a", "spiffe://test.evil/node/a",
        ] {
            let cert = try leaf { $0.uris = [uri] }
            expectRefused(try await verify([cert]), mentioning: "does not name a node of federation 'test'")
        }
        // The DNS SAN is no substitute for the URI SAN.
        let dnsOnly = try leaf { $0.uris = [] }
        #expect(try Fixture.dnsSANs(dnsOnly) == ["a.node.test"])
        expectRefused(try await verify([dnsOnly]))
    }

    @Test func serverAuthOnlyPresentedAsClientIsRefused() async throws {
        let cert = try leaf { $0.usages = [.serverAuth] }
        expectRefused(try await verify([cert], role: .client), mentioning: "client authentication")
    }

    @Test func clientAuthOnlyPresentedAsServerIsRefused() async throws {
        let cert = try leaf { $0.usages = [.clientAuth] }
        expectRefused(try await verify([cert], role: .server), mentioning: "server authentication")
    }

    @Test func otherUsagesOnlyAreRefused() async throws {
        let cert = try leaf { $0.usages = [.codeSigning, .emailProtection] }
        expectRefused(try await verify([cert], role: .client), mentioning: "client authentication")
        expectRefused(try await verify([cert], role: .server), mentioning: "server authentication")
    }

    // MARK: Topology and denylist

    @Test func revokedSerialIsRefused() async throws {
        let cert = try leaf("a")
        let other = try leaf("b")
        let list = Denylist(
            federation: Self.fed, version: 1, issuedAt: Self.now,
            revoked: [.init(node: "a", serial: cert.serialNumber.hex, signingKey: nil, reason: "stolen", revokedAt: Self.now)])
        let trust = snapshot(denylist: list)
        expectRefused(try await verify([cert], trust: trust), mentioning: "revoked")
        expectRefused(try await verify([cert], role: .server, expected: "a", trust: trust), mentioning: "revoked")
        #expect(try await verify([other], trust: trust) == .success("b"), "only the listed serial is refused")
        // A new certificate for the same node is not revoked.
        #expect(try await verify([try leaf("a")], trust: trust) == .success("a"))
    }

    @Test func unknownNodeIsRefused() async throws {
        let cert = try leaf("zeta")
        #expect(NodeIdentityPolicy.identify(cert, federation: Self.fed, role: .client) == .success("zeta"))
        expectRefused(try await verify([cert]), mentioning: "not in the topology")
        expectRefused(try await verify([cert], role: .server, expected: "zeta"), mentioning: "not in the topology")
    }

    @Test func expectedNodeMismatchIsRefused() async throws {
        let cert = try leaf("a")
        expectRefused(try await verify([cert], role: .server, expected: "b"), mentioning: "expected 'b'")
        #expect(try await verify([cert], role: .server, expected: "a") == .success("a"))
    }

    @Test func snapshotSigningKeys() {
        let key = Curve25519.Signing.PrivateKey().publicKey
        var trust = snapshot()
        trust.registry = Registry(federation: Self.fed, version: 2, issuedAt: Self.now, nodes: [.init(id: "a", signingKey: key.rawRepresentation.base64EncodedString())])
        #expect((try? trust.signingKey(of: "a").get())?.rawRepresentation == key.rawRepresentation)
        if case .failure(let e) = trust.signingKey(of: "b") {
            #expect(e.message.contains("no signing key registered"))
        } else {
            Issue.record("a node without a registered key got one")
        }
        trust.denylist = Denylist(
            federation: Self.fed, version: 1, issuedAt: Self.now,
            revoked: [.init(node: "a", serial: nil, signingKey: key.rawRepresentation.base64EncodedString(), reason: "r", revokedAt: Self.now)])
        if case .failure(let e) = trust.signingKey(of: "a") {
            #expect(e.message.contains("revoked"))
        } else {
            Issue.record("a revoked signing key was accepted")
        }
    }

    @Test func leafProfileAddsHostsOnce() {
        var p = profile("a")
        p.add(hosts: ["127.0.0.1", "localhost", "::1", "127.0.0.1", "localhost", "a.node.test", "10.1.2.3"])
        #expect(p.uris == ["spiffe://test/node/a"])
        #expect(p.dnsNames == ["a.node.test", "localhost"])
        #expect(p.ipAddresses == [[127, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], [10, 1, 2, 3]])
        #expect(p.notValidBefore == Self.now - 300)
        #expect(p.notValidAfter == Self.now + 60 * Fixture.day)
        #expect(p.usages == [.serverAuth, .clientAuth])
        #expect(!p.isCA)
    }
}
