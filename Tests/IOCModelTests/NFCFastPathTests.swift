import Foundation
import IOCModel
import Testing

/// The NFC fast path must agree with Foundation's normaliser on every input.
@Suite struct NFCFastPathTests {
    @Test(arguments: [
        "Phường Hải Châu: ngập sâu 40 cm — cần hỗ trợ ₫",
        "Ngập nước".decomposedStringWithCanonicalMapping,
        "\u{212B}ngström \u{2126}hm \u{212A}elvin",
        "e\u{0301} a\u{0300} Dấu cách",
        "ασπρο \u{1F71}",
        "한국어 \u{1100}\u{1161}",
        "plain ASCII",
    ])
    func agreesWithFoundation(text: String) {
        let fast = FieldType.nfc(text)
        let reference = text.precomposedStringWithCanonicalMapping
        #expect(Array(fast.utf8) == Array(reference.utf8))
    }

    @Test func randomScalarsAgreeWithFoundation() {
        var rng = SeededRandom(seed: 11)
        let pools: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x24F, 0x300...0x36F, 0x1E00...0x1EFF, 0x2000...0x2130, 0x1100...0x1175]
        for _ in 0..<2000 {
            var s = ""
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                let pool = rng.pick(pools)
                if let c = Unicode.Scalar(UInt32.random(in: pool, using: &rng)) { s.unicodeScalars.append(c) }
            }
            #expect(Array(FieldType.nfc(s).utf8) == Array(s.precomposedStringWithCanonicalMapping.utf8), "\(s.unicodeScalars.map { String($0.value, radix: 16) })")
        }
    }
}

/// The strict parser accepts exactly RFC 8259 JSON.
@Suite struct StrictJSONTests {
    @Test(arguments: [
        (#"{"a":[1,-2.5e3,true,false,null,"x\"\\\/\n\u00e9\ud83d\ude00"]}"#, true),
        (#"  [ ]  "#, true), (#"0"#, true), (#"-0.0"#, true), (#""Ngập""#, true),
        (#"[1,]"#, false), (#"{"a":1,}"#, false), (#"{"a":1,"a":2}"#, false), (#"01"#, false), (#"1."#, false),
        (#"+1"#, false), (#"[1 2]"#, false), (#"{'a':1}"#, false), (#""\ud800""#, false), ("\"a\u{01}\"", false),
        (#"tru"#, false), (#"{"a" 1}"#, false), (#"[1]x"#, false), (#""#, false), (#"1e999"#, false),
    ])
    func acceptsExactlyJSON(text: String, valid: Bool) {
        let result = Result { () throws(ValidationError) in try JSONValue.parse(Array(text.utf8)) }
        switch result {
        case .success: #expect(valid, "accepted \(text)")
        case .failure(let e):
            #expect(!valid, "refused \(text): \(e)")
            #expect(e.code == .malformedJSON)
        }
    }

    @Test func parsesValuesExactly() throws {
        let v = try JSONValue.parse(Array(#"{"s":"\u00e9\ud83d\ude00","i":-42,"d":1.5,"b":[true,null]}"#.utf8))
        #expect(v == ["s": "é😀", "i": -42, "d": 1.5, "b": [true, nil]])
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: ValidationError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }
}
