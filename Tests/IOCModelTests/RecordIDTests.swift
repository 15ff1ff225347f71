import Foundation
import IOCModel
import Testing

@Suite struct RecordIDTests {
    @Test func parsesAndFormatsCanonicalText() throws {
        let text = "01936b2e-1f00-7abc-8def-0123456789ab"
        let id = try #require(RecordID(text))
        #expect(id.bytes == [
            0x01, 0x93, 0x6b, 0x2e, 0x1f, 0x00, 0x7a, 0xbc, 0x8d, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
        ])
        #expect(id.description == text)
        #expect(RecordID(text.uppercased()) == id)
        #expect(RecordID(text.uppercased())?.description == text)
        #expect(id.milliseconds == 0x0193_6b2e_1f00)
    }

    @Test(arguments: [
        "",
        "01936b2e1f007abc8def0123456789ab",  // no dashes
        "01936b2e-1f00-7abc-8def-0123456789a",  // too short
        "01936b2e-1f00-7abc-8def-0123456789abc",  // too long
        "01936b2e-1f00-7abc-8def0-123456789ab",  // dash misplaced
        "01936b2e-1f00-7abc-8def-0123456789ag",  // not hex
        "01936b2e-1f00-7abc-8def-0123456789a ",
        "{1936b2e-1f00-7abc-8def-0123456789ab}",
        "01936b2e-1f00-7abc-8def-0123456789é",  // 36 bytes, non-ASCII
        "01936b2e--1f0-7abc-8def-0123456789ab",
    ])
    func refusesMalformedText(text: String) {
        #expect(RecordID(text) == nil)
    }

    @Test func bytesInitialiserNeedsSixteenBytes() {
        #expect(RecordID(bytes: Array(repeating: 0, count: 15)) == nil)
        #expect(RecordID(bytes: Array(repeating: 0, count: 17)) == nil)
        #expect(RecordID(bytes: Array(repeating: 0, count: 16))?.description == "00000000-0000-0000-0000-000000000000")
    }

    @Test func generatedIdsCarryVersionSevenVariantAndTime() {
        var rng = SeededGenerator(seed: 42)
        for i in 0..<1000 {
            let ms = UInt64(1_767_225_600_000) + UInt64(i) * 7919
            let id = RecordID.generate(milliseconds: ms, using: &rng)
            #expect(id.bytes.count == 16)
            #expect(id.bytes[6] >> 4 == 0x7)  // version 7
            #expect(id.bytes[8] >> 6 == 0b10)  // RFC 9562 variant
            #expect(id.milliseconds == ms)
            #expect(RecordID(id.description) == id)
            let chars = Array(id.description)
            #expect(chars[14] == "7")
            #expect("89ab".contains(chars[19]))
        }
    }

    @Test func generateFromDateUsesItsMilliseconds() {
        let id = RecordID.generate(at: Date(timeIntervalSince1970: 1_767_225_600.123))
        #expect(id.milliseconds == 1_767_225_600_123)
        #expect(RecordID.generate(at: Date(timeIntervalSince1970: -5)).milliseconds == 0)
    }

    @Test func randomBitsDifferForTheSameMillisecond() {
        var rng = SeededGenerator(seed: 3)
        let ids = (0..<1000).map { _ in RecordID.generate(milliseconds: 1_767_225_600_000, using: &rng) }
        #expect(Set(ids).count == 1000)
        #expect(Set(ids.map(\.milliseconds)) == [1_767_225_600_000])
    }

    @Test func idsOfIncreasingMillisecondsSortInTimeOrder() {
        var rng = SeededGenerator(seed: 99)
        var ms: UInt64 = 1_700_000_000_000
        var ids: [RecordID] = []
        for _ in 0..<1000 {
            ms += UInt64.random(in: 1...100_000, using: &rng)
            ids.append(RecordID.generate(milliseconds: ms, using: &rng))
        }
        let shuffled = ids.shuffled(using: &rng)
        #expect(shuffled.sorted() == ids)
        // The text form sorts the same way, so cursors can be plain ids.
        #expect(ids.map(\.description).sorted() == ids.map(\.description))
    }

    @Test func comparisonIsBytewise() throws {
        let a = try #require(RecordID("00000000-0000-7000-8000-0000000000ff"))
        let b = try #require(RecordID("00000000-0001-7000-8000-000000000000"))
        #expect(a < b)
        #expect(!(b < a))
        #expect(!(a < a))
    }

    @Test func codableUsesCanonicalText() throws {
        let id = try #require(RecordID("01936B2E-1F00-7ABC-8DEF-0123456789AB"))
        let data = try JSONEncoder().encode([id])
        #expect(String(decoding: data, as: UTF8.self) == #"["01936b2e-1f00-7abc-8def-0123456789ab"]"#)
        #expect(try JSONDecoder().decode([RecordID].self, from: data) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([RecordID].self, from: Data(#"["nope"]"#.utf8)) }
    }
}
