import Foundation
import IOCIdentity
import Testing
import X509

/// Operator mistakes `certs issue` and `certs revoke` absorb instead of passing on.
@Suite struct RevocationHygieneTests {
    @Test func reissueAfterRevocationReplacesTheRevokedSigningKey() throws {
        try Fixture.withTemporaryDirectory { root in
            let dir = CertsDirectory(path: root + "/certs")
            try dir.initialise(federation: "test", nodes: ["a", "b"], now: Fixture.referenceTime)
            let old = try dir.readSigningKey("a").publicKey
            try dir.revoke(federation: "test", node: "a", reason: "lost laptop", now: Fixture.referenceTime)
            try dir.issue(federation: "test", node: "a", now: Fixture.referenceTime)  // no --new-signing-key
            let new = try dir.readSigningKey("a").publicKey
            #expect(new.rawRepresentation != old.rawRepresentation)
            let ca = try dir.readAuthority(federation: "test")
            #expect(try dir.currentRegistry(ca: ca).signingKey(of: "a")?.rawRepresentation == new.rawRepresentation)
            #expect(try !dir.currentDenylist(ca: ca).revokes(signingKey: new))
        }
    }

    @Test func serialsAreAcceptedInOpensslForms() throws {
        try Fixture.withTemporaryDirectory { root in
            let dir = CertsDirectory(path: root + "/certs")
            try dir.initialise(federation: "test", nodes: ["a"], now: Fixture.referenceTime)
            let cert = try Certificate(pemEncoded: try Fixture.readText(dir.tlsCertificate("a")))
            let hex = cert.serialNumber.hex
            let colons = stride(from: 0, to: hex.count, by: 2).map { i -> String in
                let start = hex.index(hex.startIndex, offsetBy: i)
                return String(hex[start..<hex.index(start, offsetBy: 2)]).uppercased()
            }.joined(separator: ":")
            try dir.revoke(federation: "test", node: "a", serial: colons, reason: "test", now: Fixture.referenceTime)
            #expect(try dir.currentDenylist(ca: dir.readAuthority(federation: "test")).revokes(serial: hex))
        }
    }

    @Test(arguments: ["../x", "-a", "A", "a/b", ""])
    func nodeIdsThatCouldNameAPathAreRefused(_ id: String) throws {
        try Fixture.withTemporaryDirectory { root in
            let dir = CertsDirectory(path: root + "/certs")
            try dir.initialise(federation: "test", nodes: ["a"], now: Fixture.referenceTime)
            #expect(throws: IdentityError.self) { try dir.issue(federation: "test", node: id, now: Fixture.referenceTime) }
            #expect(throws: IdentityError.self) { try dir.revoke(federation: "test", node: id, reason: "x", now: Fixture.referenceTime) }
            #expect(!FileManager.default.fileExists(atPath: root + "/x"))
            #expect(NodeName.node(inSpiffeID: "spiffe://test/node/\(id)", federation: "test") == nil)
        }
    }
}
