import Foundation
import IOCModel
import Testing

/// Vietnamese text is stored NFC whatever form the client sends.
@Suite struct VietnameseTextTests {
    let nfc = "Ngập nước sâu tại đường Lê Duẩn, phường Hải Châu"

    @Test func nfdTitleIsStoredAsNFC() async throws {
        let nfd = nfc.decomposedStringWithCanonicalMapping
        // Swift's == compares canonical equivalence, so compare the bytes.
        #expect(Array(nfd.utf8) != Array(nfc.utf8), "the fixture really is decomposed")
        #expect(nfd.unicodeScalars.count > nfc.unicodeScalars.count)
        try await TestNode.run { t, api in
            let now = t.now()
            let created = try await api.create(
                "field-reports", token: t.operator_,
                reportBody(now: now, ["title": .string(nfd), "description": .string("  \(nfd)\n  ")]))
            #expect(created.json["title"]?.stringValue.map { Array($0.utf8) } == Array(nfc.utf8))
            #expect(created.json["description"]?.stringValue.map { Array($0.utf8) } == Array(nfc.utf8), "NFC and trimmed")

            // The raw response bytes hold the NFC sequence, never the NFD one.
            let got = try await api.get("/api/v1/field-reports/\(created.id)", token: t.viewer)
            #expect(got.bytes.firstRange(of: Array(nfc.utf8)) != nil)
            #expect(got.bytes.firstRange(of: Array(nfd.utf8)) == nil)

            // And so does the database.
            let stored = try await t.store.get(try #require(RecordID(created.id)))
            #expect(stored?.value("title")?.stringValue.map { Array($0.utf8) } == Array(nfc.utf8))
        }
    }

    @Test func filterByCategory() async throws {
        try await TestNode.run { t, api in
            let now = t.now()
            let flood = try await api.create(
                "field-reports", token: t.operator_,
                reportBody(now: now, ["title": .string(nfc.decomposedStringWithCanonicalMapping), "category": "flooding"]))
            _ = try await api.create("field-reports", token: t.operator_, reportBody(3, now: now))  // traffic
            _ = try await api.create("field-reports", token: t.operator_, reportBody(2, now: now))  // pollution

            let r = try await api.get("/api/v1/field-reports?category=flooding", token: t.viewer)
            #expect(r.status == .ok)
            #expect(r.items.compactMap { $0["id"]?.stringValue } == [flood.id])
            #expect(r.items.first?["title"]?.stringValue.map { Array($0.utf8) } == Array(nfc.utf8))
            #expect(try await api.count("field-reports", token: t.viewer, query: "category=traffic") == 1)
            #expect(try await api.count("field-reports", token: t.viewer, query: "category=epidemic") == 0)
        }
    }

    @Test func patchNormalisesToo() async throws {
        try await TestNode.run { t, api in
            let id = try await api.create("field-reports", token: t.operator_, reportBody(now: t.now())).id
            let r = try await api.patch(
                "/api/v1/field-reports/\(id)", token: t.operator_, ["title": .string(nfc.decomposedStringWithCanonicalMapping)])
            #expect(r.status == .ok)
            #expect(r.json["title"]?.stringValue.map { Array($0.utf8) } == Array(nfc.utf8))
        }
    }
}
