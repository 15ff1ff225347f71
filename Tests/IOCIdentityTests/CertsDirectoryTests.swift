import Crypto
import Foundation
import IOCIdentity
import Testing
import X509

/// `CertsDirectory.initialise`: the on-disk layout, file modes, certificate shape, keys and the
/// signed registry/denylist it writes.
@Suite struct CertsDirectoryTests {
    /// The PKCS#8 PEM label, spelled in two parts so no key header appears in the repository.
    static let pkcs8Label = "PRIVATE" + " KEY"
    static let nodes = ["hai-chau", "son-tra", "tinh1"]
    static let hosts: [String: [String]] = ["hai-chau": ["127.0.0.1", "localhost", "::1"]]

    func initialised(_ dir: String, days: Int = 60) throws -> CertsDirectory {
        let certs = CertsDirectory(path: dir + "/certs")
        try certs.initialise(
            federation: Fixture.federation, nodes: Self.nodes, hosts: Self.hosts, days: days, now: Fixture.referenceTime)
        return certs
    }

    @Test func layoutMatchesTheDocumentedTree() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let fm = FileManager.default
            for file in ["ca.crt", "ca.key", "registry.json", "denylist.json"] {
                #expect(fm.fileExists(atPath: dir + "/certs/" + file), "missing \(file)")
            }
            for node in Self.nodes {
                for file in ["tls.crt", "tls.key", "signing.key"] {
                    #expect(fm.fileExists(atPath: dir + "/certs/nodes/\(node)/" + file), "missing nodes/\(node)/\(file)")
                }
                #expect(certs.tlsCertificate(node) == dir + "/certs/nodes/\(node)/tls.crt")
                #expect(certs.tlsKey(node) == dir + "/certs/nodes/\(node)/tls.key")
                #expect(certs.signingKey(node) == dir + "/certs/nodes/\(node)/signing.key")
            }
            #expect(certs.caCertificate == dir + "/certs/ca.crt")
            #expect(certs.caKey == dir + "/certs/ca.key")
            #expect(certs.registry == dir + "/certs/registry.json")
            #expect(certs.denylist == dir + "/certs/denylist.json")
            // Nothing else: no temporary files left behind by the atomic writes.
            let top = try fm.contentsOfDirectory(atPath: dir + "/certs").sorted()
            #expect(top == ["ca.crt", "ca.key", "denylist.json", "nodes", "registry.json"])
            #expect(try fm.contentsOfDirectory(atPath: dir + "/certs/nodes").sorted() == Self.nodes.sorted())
            for node in Self.nodes {
                #expect(try fm.contentsOfDirectory(atPath: certs.nodeDirectory(node)).sorted() == ["signing.key", "tls.crt", "tls.key"])
            }
        }
    }

    @Test func privateKeysAreOwnerOnly() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            #expect(try Fixture.permissions(certs.caKey) == 0o600)
            for node in Self.nodes {
                #expect(try Fixture.permissions(certs.tlsKey(node)) == 0o600, "tls.key of \(node)")
                #expect(try Fixture.permissions(certs.signingKey(node)) == 0o600, "signing.key of \(node)")
                // Certificates are public but never group/world-writable.
                #expect(try Fixture.permissions(certs.tlsCertificate(node)) & 0o022 == 0)
            }
            #expect(try Fixture.permissions(certs.caCertificate) & 0o022 == 0)
        }
    }

    @Test func nodeCertificatesHaveTheNodeShape() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let ca = try certs.readCA()
            for node in Self.nodes {
                let cert = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate(node)))
                #expect(try cert.extensions.basicConstraints == .notCertificateAuthority, "\(node) must be CA=false")
                #expect(try Fixture.uriSANs(cert) == ["spiffe://test/node/\(node)"])
                #expect(try Fixture.dnsSANs(cert).contains("\(node).node.test"))
                let eku = try #require(try cert.extensions.extendedKeyUsage)
                #expect(eku.contains(.serverAuth))
                #expect(eku.contains(.clientAuth))
                let ku = try #require(try cert.extensions.keyUsage)
                #expect(ku.digitalSignature)
                #expect(!ku.keyCertSign)
                #expect(cert.notValidBefore == Fixture.referenceTime - 300)
                #expect(cert.notValidAfter == Fixture.referenceTime + 60 * Fixture.day)
                #expect(cert.issuer == ca.subject)
                #expect(cert.signatureAlgorithm == .ecdsaWithSHA256)
                #expect(ca.publicKey.isValidSignature(cert.signature, for: cert))
                // P-256, and the key in tls.key.
                let pub = try #require(P256.Signing.PublicKey(cert.publicKey))
                let key = try P256.Signing.PrivateKey(pemRepresentation: try Fixture.readText(certs.tlsKey(node)))
                #expect(pub.rawRepresentation == key.publicKey.rawRepresentation)
            }
        }
    }

    @Test func hostsBecomeSANs() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let cert = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate("hai-chau")))
            #expect(try Fixture.dnsSANs(cert) == ["hai-chau.node.test", "localhost"])
            #expect(try Fixture.ipSANs(cert) == [[127, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]])
            // Hosts never add a URI SAN.
            #expect(try Fixture.uriSANs(cert) == ["spiffe://test/node/hai-chau"])
            let other = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate("son-tra")))
            #expect(try Fixture.dnsSANs(other) == ["son-tra.node.test"])
            #expect(try Fixture.ipSANs(other).isEmpty)
        }
    }

    @Test func caCertificateIsACA() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let ca = try certs.readCA()
            #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: 0))
            #expect(try ca.extensions.keyUsage?.keyCertSign == true)
            #expect(ca.issuer == ca.subject)
            #expect(ca.publicKey.isValidSignature(ca.signature, for: ca))
            #expect(ca.notValidBefore == Fixture.referenceTime - 300)
            #expect(ca.notValidAfter > Fixture.referenceTime + 365 * Fixture.day)
            let authority = try certs.readAuthority(federation: Fixture.federation)
            #expect(authority.certificate == ca)
            #expect(P256.Signing.PublicKey(ca.publicKey)?.rawRepresentation == authority.privateKey.publicKey.rawRepresentation)
        }
    }

    @Test(arguments: [30, 45, 90])
    func lifetimeIsTheRequestedDays(days: Int) throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir, days: days)
            for node in Self.nodes {
                let cert = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate(node)))
                #expect(cert.notValidAfter == Fixture.referenceTime + Double(days) * Fixture.day)
                #expect(cert.notValidAfter.timeIntervalSince(cert.notValidBefore) == Double(days) * Fixture.day + 300)
            }
        }
    }

    @Test(arguments: [29, 91, 0, -1, 365])
    func lifetimeOutsideThirtyToNinetyDaysIsRefused(days: Int) throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = CertsDirectory(path: dir + "/certs")
            let error = #expect(throws: IdentityError.self) {
                try certs.initialise(federation: Fixture.federation, nodes: Self.nodes, days: days, now: Fixture.referenceTime)
            }
            #expect(error?.message.contains("between 30 and 90") == true)
            // Refused before anything is written.
            #expect(!FileManager.default.fileExists(atPath: certs.caKey))
        }
    }

    @Test func signingKeysArePKCS8Ed25519MatchingTheRegistry() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let ca = try certs.readAuthority(federation: Fixture.federation)
            let registry = try certs.currentRegistry(ca: ca)
            var seen: Set<String> = []
            for node in Self.nodes {
                let pem = try Fixture.readText(certs.signingKey(node))
                #expect(pem.hasPrefix("-----BEGIN " + Self.pkcs8Label + "-----\n"))
                #expect(pem.hasSuffix("-----END " + Self.pkcs8Label + "-----\n"))
                // PKCS#8 OneAsymmetricKey v0 with the Ed25519 OID (1.3.101.112) and a 32-byte key.
                let body = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
                let der = try #require(Data(base64Encoded: body))
                #expect(der.count == 48)
                #expect(Array(der.prefix(16)) == [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20])
                let key = try Ed25519PEM.privateKey(from: pem)
                #expect(Array(der.suffix(32)) == Array(key.rawRepresentation))
                #expect(try certs.readSigningKey(node).rawRepresentation == key.rawRepresentation)
                let registered = try #require(registry.signingKey(of: node))
                #expect(registered.rawRepresentation == key.publicKey.rawRepresentation)
                seen.insert(key.publicKey.rawRepresentation.base64EncodedString())
            }
            #expect(seen.count == Self.nodes.count, "every node gets its own signing key")
        }
    }

    @Test func registryAndDenylistAreSignedByTheCA() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let ca = try certs.readAuthority(federation: Fixture.federation)
            let registry = try certs.currentRegistry(ca: ca)
            #expect(registry.federation == Fixture.federation)
            #expect(registry.version == 1)
            #expect(registry.nodes.map(\.id) == Self.nodes.sorted())
            #expect(registry.issuedAt == "2026-01-01T00:00:00Z")
            let denylist = try certs.currentDenylist(ca: ca)
            #expect(denylist.version == 0)
            #expect(denylist.revoked.isEmpty)
            #expect(denylist.federation == Fixture.federation)
            // The documents on disk are DSSE envelopes of the right types.
            let regDoc = try #require(try certs.readDocument(certs.registry))
            #expect(regDoc.payloadType == Registry.payloadType)
            #expect(regDoc.signatures.count == 1)
            let denyDoc = try #require(try certs.readDocument(certs.denylist))
            #expect(denyDoc.payloadType == Denylist.payloadType)
            // A stranger's key does not open them.
            let stranger = P256.Signing.PrivateKey().publicKey
            #expect(throws: IdentityError.self) { try regDoc.open(Registry.self, type: Registry.payloadType, key: stranger) }
            #expect(try certs.readDocument(dir + "/certs/missing.json") == nil)
        }
    }

    @Test func issuedCertificatesVerifyAgainstTheDirectory() async throws {
        try await Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let ca = try certs.readAuthority(federation: Fixture.federation)
            let trust = TrustSnapshot(
                federation: Fixture.federation, ca: try certs.readCA(), knownNodes: Set(Self.nodes),
                registry: try certs.currentRegistry(ca: ca), denylist: try certs.currentDenylist(ca: ca),
                validationTime: Fixture.referenceTime + Fixture.day)
            for node in Self.nodes {
                let cert = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate(node)))
                #expect(await trust.verifyPeer(chainDER: [try Fixture.der(cert)], role: .client) == .success(node))
                #expect(await trust.verifyPeer(chainDER: [try Fixture.der(cert)], role: .server, expectedNode: node) == .success(node))
                #expect(try trust.signingKey(of: node).get().rawRepresentation == certs.readSigningKey(node).publicKey.rawRepresentation)
            }
        }
    }

    @Test func secondInitialiseNeedsForce() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = try initialised(dir)
            let oldCA = try Fixture.readText(certs.caCertificate)
            let oldKey = try Fixture.readText(certs.caKey)
            let oldLeaf = try Fixture.readText(certs.tlsCertificate("son-tra"))
            let error = #expect(throws: IdentityError.self) {
                try certs.initialise(federation: Fixture.federation, nodes: Self.nodes, now: Fixture.referenceTime)
            }
            #expect(error?.message.contains("already holds a federation CA") == true)
            // Nothing was touched.
            #expect(try Fixture.readText(certs.caCertificate) == oldCA)
            #expect(try Fixture.readText(certs.caKey) == oldKey)
            #expect(try Fixture.readText(certs.tlsCertificate("son-tra")) == oldLeaf)

            try certs.initialise(federation: Fixture.federation, nodes: Self.nodes, now: Fixture.referenceTime, force: true)
            let newCA = try certs.readCA()
            #expect(try Fixture.readText(certs.caCertificate) != oldCA)
            #expect(try Fixture.readText(certs.caKey) != oldKey)
            #expect(try Fixture.permissions(certs.caKey) == 0o600)
            // The new leaves chain to the new CA, the registry is signed by the new key.
            let leaf = try Certificate(pemEncoded: try Fixture.readText(certs.tlsCertificate("son-tra")))
            #expect(newCA.publicKey.isValidSignature(leaf.signature, for: leaf))
            let ca = try certs.readAuthority(federation: Fixture.federation)
            #expect(try certs.currentRegistry(ca: ca).version == 1)
            let old = try Certificate(pemEncoded: oldLeaf)
            #expect(!newCA.publicKey.isValidSignature(old.signature, for: old))
        }
    }

    @Test func readingAMissingDirectoryExplainsWhatToDo() throws {
        try Fixture.withTemporaryDirectory { dir in
            let certs = CertsDirectory(path: dir + "/nothing")
            let error = #expect(throws: IdentityError.self) { try certs.readCA() }
            #expect(error?.message.contains("Cannot read the federation CA certificate") == true)
            #expect(error?.message.contains("iocnode certs init") == true)
            #expect(throws: IdentityError.self) { try certs.readSigningKey("a") }
        }
    }
}
