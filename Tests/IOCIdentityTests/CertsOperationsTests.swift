import Crypto
import Foundation
import IOCIdentity
import Testing
import X509

/// `CertsDirectory.issue` (renewal, new signing key, late nodes) and `revoke` (denylist).
@Suite struct CertsOperationsTests {
    static let nodes = ["a", "b"]
    static let later = Fixture.referenceTime + 40 * Fixture.day

    func initialised(_ dir: String) throws -> CertsDirectory {
        let certs = CertsDirectory(path: dir + "/certs")
        try certs.initialise(federation: Fixture.federation, nodes: Self.nodes, now: Fixture.referenceTime)
        return certs
    }

    func leaf(_ certs: CertsDirectory, _ node: String) throws -> Certificate {
        try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate(node)))
    }

    func authority(_ certs: CertsDirectory) throws -> CertificateAuthority {
        try certs.readAuthority(federation: Fixture.federation)
    }

    @Test func renewKeepsTheSigningKeyAndTheRegistry() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let old = try leaf(certs, "a")
            let oldTLSKey = try Fixture.readText(certs.tlsKey("a"))
            let signingPEM = try Fixture.readText(certs.signingKey("a"))
            let registryBytes = try Fixture.readText(certs.registry)
            let untouched = try leaf(certs, "b")

            let renewed = try certs.issue(federation: Fixture.federation, node: "a", days: 30, now: Self.later)
            #expect(renewed == (try leaf(certs, "a")), "the returned certificate is the one written")
            #expect(renewed.serialNumber != old.serialNumber)
            #expect(renewed.publicKey != old.publicKey, "a renewal gets a fresh TLS key")
            #expect(try Fixture.readText(certs.tlsKey("a")) != oldTLSKey)
            #expect(try Fixture.permissions(certs.tlsKey("a")) == 0o600)
            #expect(renewed.notValidBefore == Self.later - 300)
            #expect(renewed.notValidAfter == Self.later + 30 * Fixture.day)
            #expect(try Fixture.uriSANs(renewed) == ["spiffe://test/node/a"])
            #expect(try authority(certs).certificate.publicKey.isValidSignature(renewed.signature, for: renewed))
            // Same signing key, same registry (not even re-signed).
            #expect(try Fixture.readText(certs.signingKey("a")) == signingPEM)
            #expect(try Fixture.readText(certs.registry) == registryBytes)
            #expect(try certs.currentRegistry(ca: authority(certs)).version == 1)
            // Other nodes untouched.
            #expect(try leaf(certs, "b") == untouched)
        }
    }

    @Test func newSigningKeyBumpsTheRegistry() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let oldKey = try certs.readSigningKey("a").publicKey
            let bKey = try certs.readSigningKey("b").publicKey
            try certs.issue(federation: Fixture.federation, node: "a", now: Self.later, newSigningKey: true)
            let newKey = try certs.readSigningKey("a").publicKey
            #expect(newKey.rawRepresentation != oldKey.rawRepresentation)
            #expect(try Fixture.permissions(certs.signingKey("a")) == 0o600)
            let registry = try certs.currentRegistry(ca: authority(certs))
            #expect(registry.version == 2)
            #expect(registry.issuedAt == ISO8601DateFormatter().string(from: Self.later))
            #expect(registry.nodes.map(\.id) == ["a", "b"])
            #expect(registry.signingKey(of: "a")?.rawRepresentation == newKey.rawRepresentation)
            #expect(registry.signingKey(of: "b")?.rawRepresentation == bKey.rawRepresentation)
            // A second rotation bumps again.
            try certs.issue(federation: Fixture.federation, node: "a", now: Self.later, newSigningKey: true)
            #expect(try certs.currentRegistry(ca: authority(certs)).version == 3)
        }
    }

    @Test func aNodeAddedLaterIsIssuedAndRegistered() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let cert = try certs.issue(federation: Fixture.federation, node: "c", hosts: ["10.0.0.3", "c.example"], now: Self.later)
            #expect(try Fixture.uriSANs(cert) == ["spiffe://test/node/c"])
            #expect(try Fixture.dnsSANs(cert) == ["c.node.test", "c.example"])
            #expect(try Fixture.ipSANs(cert) == [[10, 0, 0, 3]])
            let registry = try certs.currentRegistry(ca: authority(certs))
            #expect(registry.version == 2)
            #expect(registry.nodes.map(\.id) == ["a", "b", "c"])
            #expect(registry.signingKey(of: "c")?.rawRepresentation == (try certs.readSigningKey("c").publicKey.rawRepresentation))
        }
    }

    @Test(arguments: [29, 91])
    func issueRefusesBadLifetimes(days: Int) throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let before = try leaf(certs, "a")
            #expect(throws: IdentityError.self) {
                try certs.issue(federation: Fixture.federation, node: "a", days: days, now: Self.later)
            }
            #expect(try leaf(certs, "a") == before)
        }
    }

    @Test func issueWithoutACAExplains() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = CertsDirectory(path: dir + "/empty")
            let error = #expect(throws: IdentityError.self) {
                try certs.issue(federation: Fixture.federation, node: "a", now: Self.later)
            }
            #expect(error?.message.contains("CA private key") == true)
        }
    }

    @Test func revokeListsTheCurrentCertificateAndSigningKey() async throws {
        try await Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let cert = try leaf(certs, "a")
            let signing = try certs.readSigningKey("a").publicKey
            let version = try certs.revoke(federation: Fixture.federation, node: "a", reason: "stolen laptop", now: Self.later)
            #expect(version == 1)
            let ca = try authority(certs)
            let list = try certs.currentDenylist(ca: ca)
            #expect(list.version == 1)
            #expect(list.issuedAt == ISO8601DateFormatter().string(from: Self.later))
            let entry = try #require(list.revoked.first)
            #expect(list.revoked.count == 1)
            #expect(entry.node == "a")
            #expect(entry.serial == cert.serialNumber.hex)
            #expect(entry.signingKey == signing.rawRepresentation.base64EncodedString())
            #expect(entry.reason == "stolen laptop")
            #expect(list.revokes(serial: cert.serialNumber.hex))
            #expect(list.revokes(signingKey: signing))
            // Node b is untouched.
            #expect(!list.revokes(serial: try leaf(certs, "b").serialNumber.hex))
            #expect(!list.revokes(signingKey: try certs.readSigningKey("b").publicKey))

            // The snapshot built from the directory refuses a's certificate and key.
            let trust = TrustSnapshot(
                federation: Fixture.federation, ca: ca.certificate, knownNodes: Set(Self.nodes),
                registry: try certs.currentRegistry(ca: ca), denylist: list, validationTime: Fixture.referenceTime)
            let refused = await trust.verifyPeer(chainDER: [try Fixture.der(cert)], role: .client)
            #expect(Fixture.failure(refused)?.contains("revoked") == true)
            if case .failure(let e) = trust.signingKey(of: "a") {
                #expect(e.message.contains("revoked"))
            } else {
                Issue.record("a revoked signing key was accepted")
            }
            #expect(await trust.verifyPeer(chainDER: [try Fixture.der(leaf(certs, "b"))], role: .client) == .success("b"))
            #expect((try? trust.signingKey(of: "b").get()) != nil)
        }
    }

    @Test func revokeBySerialBumpsAgainAndLeavesTheKey() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let first = try leaf(certs, "a")
            try certs.revoke(federation: Fixture.federation, node: "a", reason: "one", now: Self.later)
            let renewed = try certs.issue(federation: Fixture.federation, node: "a", now: Self.later)
            // An operator pasting an upper-case serial (as openssl prints it).
            let version = try certs.revoke(
                federation: Fixture.federation, node: "a", serial: renewed.serialNumber.hex.uppercased(), reason: "two",
                now: Self.later + 60)
            #expect(version == 2)
            let list = try certs.currentDenylist(ca: authority(certs))
            #expect(list.version == 2)
            #expect(list.revoked.map(\.serial) == [first.serialNumber.hex, renewed.serialNumber.hex])
            #expect(list.revoked.last?.signingKey == nil)
            #expect(list.revokes(serial: first.serialNumber.hex))
            #expect(list.revokes(serial: renewed.serialNumber.hex))
        }
    }

    @Test func reissuingARevokedNodeWithANewSigningKeyRestoresIt() async throws {
        try await Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let oldKey = try certs.readSigningKey("a").publicKey
            try certs.revoke(federation: Fixture.federation, node: "a", reason: "compromise", now: Self.later)
            let cert = try certs.issue(federation: Fixture.federation, node: "a", now: Self.later, newSigningKey: true)
            let ca = try authority(certs)
            let trust = TrustSnapshot(
                federation: Fixture.federation, ca: ca.certificate, knownNodes: Set(Self.nodes),
                registry: try certs.currentRegistry(ca: ca), denylist: try certs.currentDenylist(ca: ca), validationTime: Self.later)
            #expect(await trust.verifyPeer(chainDER: [try Fixture.der(cert)], role: .server, expectedNode: "a") == .success("a"))
            let key = try trust.signingKey(of: "a").get()
            #expect(key.rawRepresentation != oldKey.rawRepresentation)
            #expect(key.rawRepresentation == (try certs.readSigningKey("a").publicKey.rawRepresentation))
            #expect(trust.denylist.revokes(signingKey: oldKey))
        }
    }

    @Test func denylistAndRegistryLookups() {
        let key = Curve25519.Signing.PrivateKey().publicKey
        let other = Curve25519.Signing.PrivateKey().publicKey
        let list = Denylist(
            federation: "test", version: 3, issuedAt: Fixture.referenceTime,
            revoked: [
                .init(node: "a", serial: "0abc", signingKey: nil, reason: "r", revokedAt: Fixture.referenceTime),
                .init(node: "b", serial: nil, signingKey: key.rawRepresentation.base64EncodedString(), reason: "r", revokedAt: Fixture.referenceTime),
            ])
        #expect(list.revokes(serial: "0abc"))
        #expect(!list.revokes(serial: "0abd"))
        #expect(!list.revokes(serial: ""))
        #expect(list.revokes(signingKey: key))
        #expect(!list.revokes(signingKey: other))
        #expect(!Denylist.empty(federation: "test").revokes(serial: "0abc"))
        #expect(Denylist.empty(federation: "test").version == 0)

        let registry = Registry(
            federation: "test", version: 1, issuedAt: Fixture.referenceTime,
            nodes: [.init(id: "z", signingKey: key.rawRepresentation.base64EncodedString()), .init(id: "bad", signingKey: "not base64!"),
                    .init(id: "short", signingKey: Data([1, 2, 3]).base64EncodedString())])
        #expect(registry.nodes.map(\.id) == ["bad", "short", "z"], "sorted by id")
        #expect(registry.signingKey(of: "z")?.rawRepresentation == key.rawRepresentation)
        #expect(registry.signingKey(of: "bad") == nil)
        #expect(registry.signingKey(of: "short") == nil)
        #expect(registry.signingKey(of: "missing") == nil)
    }
}
