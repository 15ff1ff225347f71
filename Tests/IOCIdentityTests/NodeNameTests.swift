import IOCIdentity
import Testing

@Suite struct NodeNameTests {
    @Test func namesHaveTheDocumentedForm() {
        #expect(NodeName.spiffeID(federation: "danang", node: "hai-chau") == "spiffe://danang/node/hai-chau")
        #expect(NodeName.dnsName(federation: "danang", node: "hai-chau") == "hai-chau.node.danang")
        #expect(NodeName.node(inSpiffeID: NodeName.spiffeID(federation: "danang", node: "hai-chau"), federation: "danang") == "hai-chau")
    }

    @Test(arguments: ["a", "hai-chau", "node1", "0", "a-b-c-9", String(repeating: "x", count: 63)])
    func validIDsAreAccepted(id: String) {
        #expect(NodeName.node(inSpiffeID: "spiffe://test/node/\(id)", federation: "test") == id)
    }

    @Test(arguments: [
        // wrong prefix
        "https://test/node/a", "SPIFFE://test/node/a", "spiffe:/test/node/a", "spiffe://test/a", "spiffe://test/nodes/a",
        "spiffe://test//node/a", "spiffe://other/node/a", "spiffe://test2/node/a", "spiffe://tes/node/a", "spiffe://TEST/node/a",
        "spiffe://test.evil/node/a", " spiffe://test/node/a", "", "a",
        // empty id
        "spiffe://test/node/", "spiffe://test/node",
        // upper case and other characters
        "spiffe://test/node/A", "spiffe://test/node/Hai-chau", "spiffe://test/node/a_b", "spiffe://test/node/a.b",
        "spiffe://test/node/a b", "spiffe://test/node/a ", "spiffe://test/node/a\n", "spiffe://test/node/a\r\n",
        "spiffe://test/node/é", "spiffe://test/node/e\u{301}", "spiffe://test/node/１", "spiffe://test/node/ａ", "spiffe://test/node/a\u{0}",
        // path traversal, query, fragment, escapes
        "spiffe://test/node/a/b", "spiffe://test/node/../a", "spiffe://test/node/..", "spiffe://test/node/a/", "spiffe://test/node/a/..",
        "spiffe://test/node/a?x=1", "spiffe://test/node/a#f", "spiffe://test/node/a%2Fb", "spiffe://test/node/a\\b",
    ])
    func invalidURIsAreRejected(uri: String) {
        #expect(NodeName.node(inSpiffeID: uri, federation: "test") == nil, "accepted \(uri.debugDescription)")
    }

    @Test func theFederationMustMatchExactly() {
        #expect(NodeName.node(inSpiffeID: "spiffe://test/node/a", federation: "tes") == nil)
        #expect(NodeName.node(inSpiffeID: "spiffe://test/node/a", federation: "test/node") == nil)
        #expect(NodeName.node(inSpiffeID: "spiffe://danang.vn/node/a", federation: "danang.vn") == "a")
        #expect(NodeName.node(inSpiffeID: "spiffe://danang/node/a", federation: "danang.vn") == nil)
    }
}
