import Crypto
import Foundation
import IOCModel
@testable import IOCSync
import IOCTesting
import Testing

/// Golden vectors for the v1 wire format (docs/wire-format.md): the exact bytes of a journal
/// entry, its leaf hash, and a bundle payload. A change to any of them is a format change.
@Suite struct WireFormatTests {
    static let vectors = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    static func golden(_ name: String) throws -> String {
        try String(contentsOf: vectors.appendingPathComponent(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static let entry = JournalEntry(
        origin: "hai-chau", seq: 1, hlc: HLC(milliseconds: 1_790_000_000_000, counter: 0),
        recordID: RecordID("01a0c306-f498-79c4-b829-154dda1f4389")!, kind: "fieldReport", op: .create,
        context: VersionVector(["province": 3]),
        body: ["title": "Ngập sâu", "status": "received", "location": ["lat": 16.05, "lon": 108.2], "rating": 4])

    static var payload: BundlePayload {
        BundlePayload(
            from: "hai-chau", to: "province", channelSeq: 7, prevHash: Array(repeating: 0xAB, count: 32), ack: 4, policyVersion: 2,
            knowledge: VersionVector(["hai-chau": 1, "province": 3]), stable: VersionVector(["province": 1]),
            createdAt: 1_790_000_000_000,
            items: [.entry(entry.encoded()), .withheld(origin: "hai-chau", seq: 2, leafHash: Array(repeating: 0x11, count: 32))])
    }

    @Test func entryBytesMatchGoldenVector() throws {
        let hex = Self.entry.encoded().hex
        #expect(hex == (try Self.golden("entry-v1.hex")))
        // Hand-checked header: version 1, origin "hai-chau" (8 bytes), seq 1.
        #expect(hex.hasPrefix("01" + "08" + "6861692d63686175" + "01"))
        #expect(JournalEntry.leafHash(Self.entry.encoded()).hex == (try Self.golden("entry-v1.leaf-hash.hex")))
    }

    @Test func leafHashIsRFC6962() {
        // RFC 6962 leaf hash of the empty entry: SHA-256(0x00).
        #expect(JournalEntry.leafHash([]).hex == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    }

    @Test func payloadBytesMatchGoldenVector() throws {
        #expect(Self.payload.encoded().hex == (try Self.golden("bundle-payload-v1.hex")))
    }

    @Test func roundTripsKeepEveryField() throws {
        let decoded = try JournalEntry(decoding: Self.entry.encoded())
        #expect(decoded == Self.entry)
        let p = try BundlePayload(decoding: Self.payload.encoded())
        #expect(p == Self.payload)
        #expect(try BundlePayload(compressed: Self.payload.compressed()) == Self.payload)
    }

    /// Unknown trailing bytes from a newer node survive decode and re-encode unchanged.
    @Test func unknownExtensionsAreKept() throws {
        let newer = Self.entry.encoded() + [0x07, 0x01, 0x02, 0x03]
        let e = try JournalEntry(decoding: newer)
        #expect(e.extensions == [0x07, 0x01, 0x02, 0x03])
        #expect(e.encoded() == newer)
        var p = Self.payload
        p.extensions = [0xFE, 0xED]
        #expect(try BundlePayload(decoding: p.encoded()).extensions == [0xFE, 0xED])
    }

    /// Every truncation of valid bytes is refused with a DecodeError, never a crash.
    @Test func truncatedInputIsRefused() {
        let bytes = Self.payload.encoded()
        for n in 0..<bytes.count {
            #expect(throws: DecodeError.self) { try BundlePayload(decoding: Array(bytes.prefix(n))) }
        }
        let entry = Self.entry.encoded()
        for n in 0..<entry.count - 1 {
            #expect(throws: DecodeError.self) { try JournalEntry(decoding: entry.prefix(n)) }
        }
    }

    @Test func randomBytesNeverCrashTheDecoders() {
        var rng = SeededRandom(seed: 99)
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<200, using: &rng)
            var bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if rng.chance(0.5) { bytes = Self.payload.encoded().map { rng.chance(0.02) ? $0 ^ 0x40 : $0 } }
            _ = try? BundlePayload(decoding: bytes)
            _ = try? JournalEntry(decoding: bytes)
            _ = try? RecordState(decoding: bytes)
            _ = try? Envelope(decoding: bytes, maxPayloadBytes: 1 << 20)
        }
    }

    @Test func oversizedDeclarationsAreRefused() {
        var limits = Limits()
        limits.bundleEntriesMax = 1
        #expect(throws: DecodeError.self) { try BundlePayload(decoding: Self.payload.encoded(), limits: limits) }
        // A zstd frame declaring more than the inflate limit is refused before inflating.
        let big = Zstd.compress([UInt8](repeating: 0, count: 1 << 20))
        #expect(big.count < 1000)
        #expect(throws: DecodeError.self) { try Zstd.decompress(big, maxBytes: 1 << 19) }
        #expect((try? Zstd.decompress(big, maxBytes: 1 << 20))?.count == 1 << 20)
    }

    @Test func envelopeSignatureCoversTypeAndPayload() throws {
        let key = Curve25519.Signing.PrivateKey()
        var env = Envelope(payloadType: BundlePayload.payloadType, payload: Self.payload.compressed())
        try env.sign(keyID: "hai-chau", with: key)
        let decoded = try Envelope(decoding: env.encoded(), maxPayloadBytes: 1 << 20)
        #expect(decoded.isSigned(by: "hai-chau", publicKey: key.publicKey))
        #expect(!decoded.isSigned(by: "hai-chau", publicKey: Curve25519.Signing.PrivateKey().publicKey))
        #expect(!decoded.isSigned(by: "province", publicKey: key.publicKey))
        var wrongType = decoded
        wrongType.payloadType = "application/vnd.ioc.denylist.v1"
        #expect(!wrongType.isSigned(by: "hai-chau", publicKey: key.publicKey))
        for i in stride(from: 0, to: decoded.payload.count, by: max(1, decoded.payload.count / 40)) {
            var flipped = decoded
            flipped.payload[i] ^= 0x01
            #expect(!flipped.isSigned(by: "hai-chau", publicKey: key.publicKey), "byte \(i)")
        }
        // DSSE PAE example: "DSSEv1 29 http://example.com/HelloWorld 11 hello world".
        #expect(
            String(decoding: Envelope.pae(payloadType: "http://example.com/HelloWorld", payload: Array("hello world".utf8)), as: UTF8.self)
                == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    /// Regenerates the vectors; run with IOC_WRITE_VECTORS=1 only when the format deliberately changes.
    @Test func writeVectorsWhenAsked() throws {
        guard ProcessInfo.processInfo.environment["IOC_WRITE_VECTORS"] == "1" else { return }
        try FileManager.default.createDirectory(at: Self.vectors, withIntermediateDirectories: true)
        try (Self.entry.encoded().hex + "\n").write(to: Self.vectors.appendingPathComponent("entry-v1.hex"), atomically: true, encoding: .utf8)
        try (JournalEntry.leafHash(Self.entry.encoded()).hex + "\n").write(
            to: Self.vectors.appendingPathComponent("entry-v1.leaf-hash.hex"), atomically: true, encoding: .utf8)
        try (Self.payload.encoded().hex + "\n").write(
            to: Self.vectors.appendingPathComponent("bundle-payload-v1.hex"), atomically: true, encoding: .utf8)
    }
}

extension Collection<UInt8> {
    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// Strings on the wire must be well-formed UTF-8: the fast decoding path refuses exactly what
/// strict validation refuses, and keeps a genuine U+FFFD.
@Suite struct WireStringTests {
    static func decode(_ bytes: [UInt8]) -> String? {
        var w = BinaryWriter()
        w.blob(bytes)
        var r = BinaryReader(w.bytes)
        return try? r.string()
    }

    @Test(arguments: [
        [0xC3, 0x28] as [UInt8],  // bad continuation
        [0xC0, 0xAF],  // overlong "/"
        [0xED, 0xA0, 0x80],  // UTF-16 surrogate
        [0xF4, 0x90, 0x80, 0x80],  // beyond U+10FFFF
        [0xE1, 0xBA],  // truncated "ạ"
        [0xFF],
        Array("Ngập ".utf8) + [0xEF, 0xBF],  // a truncated U+FFFD at the end
        [0x80] + Array("abc".utf8),
    ])
    func malformedUTF8IsRefused(_ bytes: [UInt8]) {
        #expect(Self.decode(bytes) == nil, "\(bytes) was accepted")
    }

    @Test func wellFormedTextIsKeptByteForByte() {
        for text in ["", "Ngập sâu đường Nguyễn Văn Linh", "\u{FFFD}", "a\u{FFFD}b", "\u{0}nul", "😀 Đà Nẵng", String(repeating: "ệ", count: 5000)] {
            #expect(Self.decode(Array(text.utf8)).map { Array($0.utf8) } == Array(text.utf8), "\(text.prefix(20))")
        }
        // Random well-formed strings round-trip; random bytes decode only when valid.
        var rng = SeededRandom(seed: 11)
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 0...12, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let strict = String(validating: bytes, as: UTF8.self)
            #expect(Self.decode(bytes) == strict, "\(bytes)")
        }
    }
}

/// `JournalEntry(decoding:fields:)` builds only the fields asked for and checks the rest without
/// building it. A receiver relies on both halves: the kept fields equal the full decode's, and
/// the same bytes are refused by both decoders or by neither.
@Suite struct PartialEntryDecodeTests {
    static let entry = JournalEntry(
        origin: "hai-chau", seq: 7, hlc: HLC(rawValue: 1 << 20), recordID: RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")!,
        kind: "field_report", op: .create, context: VersionVector(),
        body: [
            "status": .string("new"), "unit": .string("20194"), "category": .string("ngập úng"),
            "description": .string("Nước ngập sâu 0,5 m trên đường Nguyễn Văn Linh, xe máy chết máy hàng loạt."),
            "location": .object(["lat": .double(16.06), "lng": .double(108.22), "tags": .array([.string("đường"), .null, .bool(true)])]),
            "photos": .array([.int(-3), .int(1 << 40)]),
        ])

    @Test func keptFieldsEqualTheFullDecode() throws {
        let bytes = Self.entry.encoded()
        let keep: Set<String> = ["status", "unit", "location", "absent"]
        let (partial, selected) = try JournalEntry.decode(bytes) { _ in FieldSelection(keep) }
        let full = try JournalEntry(decoding: bytes)
        #expect(full == Self.entry)
        #expect(partial.body.isEmpty, "selected fields are given apart from the entry")
        #expect(selected?.body == full.body.filter { keep.contains($0.key) })
        #expect(selected?["location"] == full.body["location"] && selected?["status"] == .string("new"))
        #expect(selected?["absent"] == nil && selected?["description"] == nil, "absent, and present but not selected")
        #expect(partial.header == full.header)
        #expect(partial.extensions == full.extensions)
        // `nil` asks for the whole body.
        let whole = try JournalEntry.decode(bytes) { _ in nil }
        #expect(whole.entry == full && whole.selected == nil)
    }

    @Test func bothDecodersRefuseTheSameBytes() {
        let valid = Self.entry.encoded()
        var rng = SeededRandom(seed: 23)
        var refused = 0
        for round in 0..<3000 {
            var bytes = valid
            // One to three byte changes, anywhere: tags, lengths, varints and UTF-8 alike.
            for _ in 0...Int.random(in: 0...2, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if round % 7 == 0 { bytes.removeLast(Int.random(in: 1...20, using: &rng)) }
            let full = Result { try JournalEntry(decoding: bytes) }
            let partial = Result { try JournalEntry.decode(bytes) { _ in FieldSelection(["status"]) } }
            switch (full, partial) {
            case (.success(let f), .success(let p)):
                #expect(p.selected?.body == f.body.filter { $0.key == "status" }, "round \(round)")
            case (.failure, .failure):
                refused += 1
            default:
                Issue.record("round \(round): full \(full), partial \(partial)")
            }
        }
        // The mutations must exercise refusal, or this test proves nothing.
        #expect(refused > 500)
    }

    @Test func skippedStringsAreStillCheckedForUTF8() {
        var w = BinaryWriter()
        w.uvarint(1)
        w.string("description")
        w.u8(5)
        w.blob([0x4E, 0xC3, 0x28])  // malformed UTF-8 in a field nobody asked for
        var r = BinaryReader(w.bytes)
        #expect(throws: DecodeError.self) { try r.fields(keeping: FieldSelection(["status"])) }
        var deep = BinaryWriter()
        deep.uvarint(1)
        deep.string("x")
        for _ in 0..<40 { deep.u8(6); deep.uvarint(1) }
        deep.u8(0)
        var nested = BinaryReader(deep.bytes)
        #expect(throws: DecodeError.self) { try nested.fields(keeping: FieldSelection([])) }
    }

    /// The nesting limit is the same for skipped and built values, at its exact boundary.
    @Test func nestingLimitIsTheSameAtTheBoundary() {
        var verdicts: Set<Bool> = []
        for levels in 28...34 {
            var w = BinaryWriter()
            w.uvarint(2)
            w.string("a")
            for _ in 0..<levels {
                w.u8(6)
                w.uvarint(1)
            }
            w.u8(0)
            w.string("b")
            for _ in 0..<levels {
                w.u8(7)
                w.uvarint(1)
                w.string("k")
            }
            w.u8(2)
            var full = BinaryReader(w.bytes)
            var skipping = BinaryReader(w.bytes)
            let fullAccepts = (try? full.object()) != nil
            let skipAccepts = (try? skipping.fields(keeping: FieldSelection([]))) != nil
            #expect(fullAccepts == skipAccepts, "\(levels) levels: full \(fullAccepts), skipping \(skipAccepts)")
            verdicts.insert(fullAccepts)
        }
        #expect(verdicts == [true, false], "the range should straddle the limit")
    }

    /// Writers sort keys, and the selection is matched in one forward walk; keys from a writer
    /// that does not sort (or repeats one) must be found all the same, with the full decoder's
    /// last-one-wins.
    @Test func keysOutOfOrderOrRepeatedAreFoundAsByTheFullDecoder() throws {
        let members: [(String, JSONValue)] = [
            ("unit", .string("20194")), ("status", .string("new")), ("description", .string("Đèn tín hiệu hỏng")),
            ("category", .string("giao thông")), ("status", .string("assigned")), ("assignedUnit", .string("20197")),
            ("", .null), ("zz", .int(1)), ("a", .bool(true)),
        ]
        var w = BinaryWriter()
        w.uvarint(UInt64(members.count))
        for (k, v) in members {
            w.string(k)
            w.value(v)
        }
        let names: Set<String> = ["status", "unit", "assignedUnit", "a", ""]
        let keep = FieldSelection(names)
        var partialReader = BinaryReader(w.bytes)
        var fullReader = BinaryReader(w.bytes)
        let partial = try partialReader.fields(keeping: keep)
        let full = try fullReader.object()
        #expect(partial.body == full.filter { names.contains($0.key) })
        #expect(partial["status"] == .string("assigned"))
        #expect(partial.body.count == 5)
    }

    /// Keys are matched by a raw byte order: it must agree with `lexicographicallyPrecedes` (the
    /// order writers sort keys by) for prefixes, equal keys and bytes above 0x7F alike.
    @Test func keyOrderAgreesWithTheWritersOrder() {
        var rng = SeededRandom(seed: 41)
        let alphabet: [UInt8] = [0x00, 0x41, 0x61, 0x7F, 0x80, 0xC3, 0xFF]
        func key() -> [UInt8] { (0..<Int.random(in: 0...4, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! } }
        var outcomes: Set<Int> = []
        for _ in 0..<3000 {
            let (a, b) = (key(), key())
            let order = a.withUnsafeBytes { pa in b.withUnsafeBytes { FieldSelection.order(pa, $0) } }
            #expect((order < 0) == a.lexicographicallyPrecedes(b), "\(a) \(b)")
            #expect((order == 0) == (a == b), "\(a) \(b)")
            outcomes.insert(order.signum())
        }
        #expect(outcomes == [-1, 0, 1])
    }

    /// A name is looked up among the selection's names of its length: every selected name is
    /// found at its own index, and names the selection lacks (same length, longer than any, a
    /// prefix, non-ASCII) are not.
    @Test func selectionFindsEachNameByItsOwnIndexOnly() {
        let names = ["unit", "type", "status", "createdAt", "stationId", "areaUnits", "sourceRef", "", "ngày", "dueSoonAlertId"]
        let keep = FieldSelection(names)
        for name in names { #expect(keep.index(of: name).map { keep.names[$0] } == name, "\(name)") }
        for absent in ["unia", "Unit", "statu", "statuses", "createdAtX", "ngay", "dueSoonAlertIdentifier", "x"] {
            #expect(keep.index(of: absent) == nil, "\(absent)")
        }
        #expect(FieldSelection([]).index(of: "") == nil && FieldSelection([]).index(of: "unit") == nil)
    }
}
