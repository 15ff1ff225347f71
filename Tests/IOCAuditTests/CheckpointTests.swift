import Testing
@testable import IOCAudit

/// tlog-checkpoint bodies: exact form and strict parsing.
@Suite struct CheckpointTests {
    static let exampleBody = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

    @Test func specExampleBodyRoundTrips() throws {
        let cp = try Checkpoint(parsingBody: Self.exampleBody)
        #expect(cp.origin == "example.com/behind-the-sofa")
        #expect(cp.size == 20_852_163)
        #expect(cp.body == Self.exampleBody)
    }

    @Test func originsFollowTheFederationConvention() {
        #expect(Checkpoint.logOrigin(federation: "fed.example", node: "n1") == "fed.example/log/n1")
        #expect(Checkpoint.journalOrigin(federation: "fed.example", node: "n1") == "fed.example/journal/n1")
    }

    @Test func strictParsingRejectsVariants() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
        for bad in [
            "\n1\n\(root)\n",  // empty origin
            "o\n01\n\(root)\n",  // leading zero
            "o\n-1\n\(root)\n",
            "o\n+1\n\(root)\n",
            "o\n1 \n\(root)\n",
            "o\n1\n\(root)",  // no final newline
            "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",  // unpadded
            "o\n1\nAAAA\n",  // short root
            "o\n1\n\(root)\next\n",  // extension line
            "o\n99999999999999999999\n\(root)\n",
        ] {
            #expect(throws: AuditError.self, "\(bad)") { try Checkpoint(parsingBody: bad) }
        }
        #expect(try! Checkpoint(parsingBody: "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").size == 0)
    }

    @Test func signedCheckpointVerifies() throws {
        let signer = T.logSigner("n1")
        let cp = try Checkpoint(origin: signer.name, size: 3, root: Merkle.root(of: T.rfcLeaves.prefix(3).map(Merkle.leafHash)))
        let note = try cp.signed(by: signer)
        let (parsed, _) = try Checkpoint.verified(note, logKey: signer.verifierKey)
        #expect(parsed == cp)
        #expect(throws: AuditError.self) { try Checkpoint.verified(note, logKey: T.logSigner("n2").verifierKey) }
    }
}
