import Crypto
import Foundation
import IOCModel
import IOCStore
import IOCSync
import Testing

@Suite struct ReporterContactTests {
    static let phone = "0905 123 456"
    static let reporter: [String: JSONValue] = [
        "name": "Trần Thị Bích", "phone": .string(phone), "email": "bich@example.vn", "idNumber": "048190001234",
    ]

    func report(_ store: NodeStore) async throws -> (report: RecordState, contact: RecordState) {
        let (r, c) = try await store.createFieldReport(
            fields: ["channel": "hotline-1022", "category": "flooding", "title": "Ngập sâu 40 cm"], reporter: Self.reporter,
            actor: operatorActor, unit: "20194")
        return (r, try #require(c))
    }

    @Test func contactIsASeparateLinkedRecord() async throws {
        try await withStore { store, _, _ in
            let (r, c) = try await report(store)
            #expect(c.kind == "reporterContact")
            #expect(c.id != r.id)
            #expect(c.value("reportId") == .string(r.id.description))
            #expect(c.value("unit") == "20194")
            #expect(c.value("phone") == .string(Self.phone))
            #expect(r.value("phone") == nil)
            #expect(r.value("name") == nil)
            #expect(r.visibleFields().values.allSatisfy { $0 != .string(Self.phone) })
            let linked = try await store.list(kind: .reporterContact, filter: RecordFilter(ref: r.id), cursor: nil, limit: 10)
            #expect(linked.records.map(\.id) == [c.id])
            #expect(try store.counts() == ["fieldReport": 1, "reporterContact": 1])
        }
    }

    @Test func deltaWithholdsContactPositionsAndNeverCarriesThePhone() async throws {
        try await withStore { store, _, _ in
            let (r, _) = try await report(store)
            _ = try await store.transition(id: r.id, kind: .fieldReport, to: "verified", note: nil, changes: [:], actor: operatorActor)
            let delta = try store.delta(beyond: VersionVector())
            #expect(delta.complete)
            #expect(delta.items.count == 3)
            var withheld: [UInt64] = []
            var entries: [JournalEntry] = []
            for item in delta.items {
                switch item {
                case .withheld(let origin, let seq, let hash):
                    #expect(origin == "hai-chau")
                    #expect(hash.count == 32)
                    withheld.append(seq)
                case .entry(let bytes):
                    #expect(!bytes.contains(subsequence: Array(Self.phone.utf8)))
                    #expect(!bytes.contains(subsequence: Array("048190001234".utf8)))
                    #expect(!bytes.contains(subsequence: Array("Trần Thị Bích".utf8)))
                    entries.append(try JournalEntry(decoding: bytes))
                case .purge:
                    Issue.record("a delta with no sharing policy has no purge notices")
                }
            }
            #expect(withheld == [2])  // the contact was authored second, inside the same transaction
            #expect(entries.map(\.seq) == [1, 3])
            #expect(entries.allSatisfy { $0.kind == "fieldReport" && $0.recordID == r.id })
            // The search above can find things: the report's title is in its entry.
            let first = try #require(delta.items.first)
            guard case .entry(let bytes) = first else { Issue.record("first item should be an entry"); return }
            #expect(bytes.contains(subsequence: Array("Ngập sâu 40 cm".utf8)))
        }
    }

    @Test func aPeerAppliesTheDeltaWithoutTheContact() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(t0)
            for sub in ["ward", "province"] { try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true) }
            let ward = try openStore(dir + "/ward", node: "hai-chau", clock: clock)
            let province = try openStore(dir + "/province", node: "province", clock: clock)
            let (r, c) = try await report(ward)
            let report = try province.apply(try ward.delta(beyond: province.knowledge()).items, from: "hai-chau")
            #expect(report.applied == 1)
            #expect(report.withheld == 1)
            #expect(report.refused == [])
            #expect(try province.knowledge() == VersionVector(["hai-chau": 2]))
            #expect(try await province.get(r.id)?.encoded() == r.encoded())
            #expect(try await province.get(c.id) == nil)
            let provinceBytes = try databaseBytes(dir + "/province")
            #expect(!provinceBytes.contains(subsequence: Array(Self.phone.utf8)))
            #expect(provinceBytes.contains(subsequence: Array("Ngập sâu 40 cm".utf8)))
            #expect(try databaseBytes(dir + "/ward").contains(subsequence: Array(Self.phone.utf8)))
            #expect(try province.stateDigest(kinds: ["fieldReport"]) == ward.stateDigest(kinds: ["fieldReport"]))
        }
    }
}

@Suite struct UserTests {
    @Test func tokensAuthenticateAndOnlyTheirHashIsStored() async throws {
        try await withStore { store, _, dir in
            let (user, token) = try store.addUser(name: "Le\u{0302}\u{0300} Văn Nam", role: .supervisor, unit: "20194", sector: nil)
            #expect(token.hasPrefix("ioc_"))
            #expect(token.utf8.count == 47)  // "ioc_" + 43 base64url characters of 32 random bytes
            #expect(user.name == "L\u{1EC1} Văn Nam")
            #expect(user.id.hasPrefix("u-"))
            let found = try #require(try await store.authenticate(token: token))
            #expect(found == user)
            #expect(found.actor == Actor(userID: user.id, role: .supervisor, unit: "20194", sector: nil))
            #expect(try store.users() == [user])

            #expect(try await store.authenticate(token: String(token.dropLast()) + (token.last == "A" ? "B" : "A")) == nil)
            #expect(try await store.authenticate(token: String(token.dropFirst(4))) == nil)  // no prefix
            #expect(try await store.authenticate(token: "") == nil)
            #expect(try await store.authenticate(token: "ioc_" + String(repeating: "a", count: 300)) == nil)
            #expect(try await store.authenticate(token: token + " ") == nil)

            let (other, otherToken) = try store.addUser(name: "Phạm Thu", role: .viewer, unit: nil, sector: "health")
            #expect(otherToken != token)
            #expect(try await store.authenticate(token: otherToken) == other)

            let bytes = try databaseBytes(dir)
            #expect(!bytes.contains(subsequence: Array(token.utf8)))
            #expect(!bytes.contains(subsequence: Array(token.dropFirst(4).utf8)))
            #expect(!bytes.contains(subsequence: Array(otherToken.utf8)))
            #expect(bytes.contains(subsequence: Array(SHA256.hash(data: Data(token.utf8)))))
            #expect(bytes.contains(subsequence: Array(user.name.utf8)))
        }
    }
}
