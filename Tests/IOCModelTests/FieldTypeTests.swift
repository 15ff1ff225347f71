import IOCModel
import Testing

@Suite struct FieldTypeTests {
    func refusal(_ t: FieldType, _ v: JSONValue, path: String = "f") -> ValidationError? {
        validationError { try t.normalise(v, path: path) }
    }

    @Test func textIsNFCNormalisedAndTrimmed() throws {
        let nfd = "Hai Cha\u{0300}u  e\u{0301}\n"  // "Hai Chàu  é" decomposed, with trailing newline
        let out = try FieldType.text(maxLength: 50).normalise(.string(" \(nfd)"), path: "title")
        let s = try #require(out.stringValue)
        #expect(Array(s.utf8) == Array("Hai Ch\u{00E0}u  \u{00E9}".utf8))
        #expect(Array(s.utf8) == [72, 97, 105, 32, 67, 104, 0xC3, 0xA0, 117, 32, 32, 0xC3, 0xA9])
    }

    @Test func textLengthCountsCharactersAfterNormalisation() {
        let t = FieldType.text(maxLength: 3)
        #expect((try? t.normalise("e\u{0301}e\u{0301}e\u{0301}", path: "f")) == .string("\u{E9}\u{E9}\u{E9}"))
        #expect((try? t.normalise("  abc  ", path: "f")) == "abc")
        #expect(
            refusal(t, "abcd", path: "title")
                == ValidationError(code: .outOfRange, message: "Field 'title' is longer than 3 characters.", field: "title"))
    }

    @Test(arguments: ["a\u{0}b", "a\u{7}b", "a\u{1B}[31mb", "a\u{1F}b"])
    func textRefusesControlCharacters(input: String) {
        #expect(
            refusal(.text(maxLength: 100), .string(input), path: "description")
                == ValidationError(
                    code: .invalidValue, message: "Field 'description' contains control characters.", field: "description"))
    }

    @Test func textAllowsLineBreaksAndTabsInside() {
        #expect((try? FieldType.text(maxLength: 100).normalise("a\nb\tc\r\nd", path: "f")) == "a\nb\tc\r\nd")
    }

    @Test func textRefusesDELAndC1Controls() {
        do {
            #expect(refusal(.text(maxLength: 100), "a\u{7F}b")?.code == .invalidValue)
            #expect(refusal(.text(maxLength: 100), "a\u{9B}31mb")?.code == .invalidValue)
        }
    }

    @Test(arguments: [
        (FieldType.text(maxLength: 5), JSONValue.int(1), "a string", "a number"),
        (.token(["a"]), .bool(true), "a string", "a boolean"),
        (.time, .int(0), "an ISO 8601 time string", "a number"),
        (.integer(0...5), .string("1"), "an integer", "a string"),
        (.integer(0...5), .double(1.5), "an integer", "a number"),
        (.number(0...5), .string("1"), "a number", "a string"),
        (.number(-1e9...1e9), .double(.nan), "a number", "a number"),
        (.number(-1e9...1e9), .double(.infinity), "a number", "a number"),
        (.boolean, .string("true"), "true or false", "a string"),
        (.location, .array([]), #"an object {"lat": …, "lon": …}"#, "an array"),
        (.unitCode, .string(""), "an administrative unit code", "a string"),
        (.unitCode, .string(String(repeating: "x", count: 65)), "an administrative unit code", "a string"),
        (.recordRef, .null, "a record id", "null"),
        (.list(.boolean, maxCount: 2), .object([:]), "an array", "an object"),
        (.period, .int(2026), "a period string", "a number"),
    ])
    func wrongTypes(type: FieldType, value: JSONValue, expected: String, actual: String) {
        #expect(
            refusal(type, value, path: "x")
                == ValidationError(code: .wrongType, message: "Field 'x' must be \(expected), not \(actual).", field: "x"))
    }

    @Test func token() {
        let t = FieldType.token(Vocabulary.channels)
        #expect((try? t.normalise("hotline-1022", path: "channel")) == "hotline-1022")
        #expect(
            refusal(t, "Hotline-1022", path: "channel")
                == ValidationError(
                    code: .invalidValue,
                    message: "Field 'channel' must be one of: app, web, hotline-1022, camera-ai, officer.", field: "channel"))
    }

    @Test func timeIsStoredCanonically() {
        #expect((try? FieldType.time.normalise("2026-11-24T10:00:00+07:00", path: "dueAt")) == "2026-11-24T03:00:00.000Z")
        #expect(
            refusal(.time, "2026-02-30T10:00:00Z", path: "dueAt")
                == ValidationError(
                    code: .invalidTime,
                    message: "Field 'dueAt' is not a valid ISO 8601 time (example: 2026-11-24T08:30:00+07:00).",
                    field: "dueAt"))
    }

    @Test func integerRange() {
        let t = FieldType.integer(1...5)
        #expect((try? t.normalise(3, path: "rating")) == .int(3))
        #expect((try? t.normalise(.double(5.0), path: "rating")) == .int(5))
        #expect(
            refusal(t, 6, path: "rating")
                == ValidationError(code: .outOfRange, message: "Field 'rating' must be between 1 and 5.", field: "rating"))
        #expect(refusal(t, 0, path: "rating")?.code == .outOfRange)
    }

    @Test func numberRange() {
        let t = FieldType.number(-90...90)
        #expect((try? t.normalise(.double(16.0544), path: "lat")) == .double(16.0544))
        #expect((try? t.normalise(.double(90.0), path: "lat")) == .int(90))
        #expect((try? t.normalise(-90, path: "lat")) == .int(-90))
        #expect(
            refusal(t, .double(90.5), path: "lat")
                == ValidationError(code: .outOfRange, message: "Field 'lat' must be between -90.0 and 90.0.", field: "lat"))
    }

    @Test func location() {
        let t = FieldType.location
        #expect((try? t.normalise(["lat": 16.0544, "lon": 108.2022], path: "location")) == ["lat": 16.0544, "lon": 108.2022])
        #expect(
            refusal(t, ["lat": 16, "lon": 108, "alt": 3], path: "location")
                == ValidationError(code: .unknownField, message: "Unknown field 'location.alt'.", field: "location.alt"))
        #expect(
            refusal(t, ["lon": 108], path: "location")
                == ValidationError(code: .missingField, message: "Field 'location.lat' is required.", field: "location.lat"))
        #expect(
            refusal(t, ["lat": 16], path: "location")
                == ValidationError(code: .missingField, message: "Field 'location.lon' is required.", field: "location.lon"))
        #expect(refusal(t, ["lat": 16, "lon": 181], path: "location")?.field == "location.lon")
        #expect(refusal(t, ["lat": 16, "lon": 181], path: "location")?.code == .outOfRange)
        #expect(refusal(t, ["lat": "16", "lon": 108], path: "location")?.field == "location.lat")
        #expect(refusal(t, ["lat": "16", "lon": 108], path: "location")?.code == .wrongType)
    }

    @Test func unitCodeAndRecordRef() {
        #expect((try? FieldType.unitCode.normalise("20194", path: "unit")) == "20194")
        #expect((try? FieldType.unitCode.normalise(.string(String(repeating: "x", count: 64)), path: "u")) != nil)
        #expect(
            (try? FieldType.recordRef.normalise("01936B2E-1F00-7ABC-8DEF-0123456789AB", path: "duplicateOf"))
                == "01936b2e-1f00-7abc-8def-0123456789ab")
        #expect(
            refusal(.recordRef, "not-a-uuid", path: "duplicateOf")
                == ValidationError(
                    code: .invalidValue, message: "Field 'duplicateOf' is not a record id (UUID).", field: "duplicateOf"))
    }

    @Test func listCountAndElementPaths() {
        let t = FieldType.list(.text(maxLength: 5), maxCount: 2)
        #expect((try? t.normalise([" a ", "e\u{301}"], path: "mediaUrls")) == ["a", "\u{E9}"])
        #expect((try? t.normalise([], path: "mediaUrls")) == .array([]))
        #expect(
            refusal(t, ["a", "b", "c"], path: "mediaUrls")
                == ValidationError(code: .tooMany, message: "Field 'mediaUrls' has more than 2 items.", field: "mediaUrls"))
        #expect(
            refusal(t, ["a", "toolong"], path: "mediaUrls")
                == ValidationError(
                    code: .outOfRange, message: "Field 'mediaUrls[1]' is longer than 5 characters.", field: "mediaUrls[1]"))
    }

    @Test(arguments: ["2026", "2026-Q3", "2026-11", "2026-W47", "2026-11-24", "2100-12-31", "1970"])
    func periodAccepts(text: String) {
        #expect((try? FieldType.period.normalise(.string(text), path: "period")) == .string(text))
    }

    @Test(arguments: [
        "", "26", "1969", "2101", "2026-Q0", "2026-Q5", "2026-13", "2026-00", "2026-1", "2026-W0", "2026-W54",
        "2026-02-30", "2026-11-24-1", "2026-q3", "2026-w47", "2026-",
    ])
    func periodRefuses(text: String) {
        #expect(
            refusal(.period, .string(text), path: "period")
                == ValidationError(
                    code: .invalidValue,
                    message: "Field 'period' must be a period like 2026, 2026-Q3, 2026-11, 2026-W47 or 2026-11-24.",
                    field: "period"))
    }
}
