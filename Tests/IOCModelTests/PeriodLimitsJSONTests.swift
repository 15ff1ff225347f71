import Foundation
import IOCModel
import Testing

@Suite struct ReportingPeriodTests {
    @Test(arguments: [
        ("2026", ReportingPeriod.Granularity.year, "2026-01-01", "2027-01-01", 365),
        ("2024", .year, "2024-01-01", "2025-01-01", 366),
        ("2026-Q1", .quarter, "2026-01-01", "2026-04-01", 90),
        ("2026-Q4", .quarter, "2026-10-01", "2027-01-01", 92),
        ("2026-02", .month, "2026-02-01", "2026-03-01", 28),
        ("2024-02", .month, "2024-02-01", "2024-03-01", 29),
        ("2026-12", .month, "2026-12-01", "2027-01-01", 31),
        ("2026-W01", .week, "2025-12-29", "2026-01-05", 7),
        ("2026-W47", .week, "2026-11-16", "2026-11-23", 7),
        ("2026-W53", .week, "2026-12-28", "2027-01-04", 7),
        ("2021-W01", .week, "2021-01-04", "2021-01-11", 7),  // 4 January is a Monday
        ("2020-W53", .week, "2020-12-28", "2021-01-04", 7),
        ("2026-11-24", .day, "2026-11-24", "2026-11-25", 1),
        ("2024-02-29", .day, "2024-02-29", "2024-03-01", 1),
        ("2100", .year, "2100-01-01", "2101-01-01", 365),
    ])
    func windows(text: String, granularity: ReportingPeriod.Granularity, start: String, end: String, days: Int64) throws {
        let p = try #require(ReportingPeriod(text))
        #expect(p.granularity == granularity)
        #expect(p.start == Timestamp.parseDate(start))
        #expect(p.end == Timestamp.parseDate(end))
        #expect(p.end - p.start == days * day)
    }

    @Test func isoWeeksStartOnMonday() throws {
        for year in 1971...2099 {
            let w1 = try #require(ReportingPeriod("\(year)-W01"))
            let weekday = (w1.start / day + 3) % 7  // 0 = Monday
            #expect(weekday == 0)
            let jan4 = try #require(Timestamp.parseDate("\(year)-01-04"))
            #expect(w1.start <= jan4 && jan4 < w1.end)  // week 1 holds 4 January
        }
    }

    @Test(arguments: ["", "2026-", "1969", "2101", "2026-Q0", "2026-Q5", "2026-13", "2026-1", "2026-W54", "2026-02-29", "abcd"])
    func refuses(text: String) {
        #expect(ReportingPeriod(text) == nil)
    }

    @Test func refusesNonCanonicalAndNonExistentWeeks() {
        do {
            #expect(ReportingPeriod("2025-W53") == nil)  // 2025 has 52 ISO weeks; this window is 2026-W01
            #expect(ReportingPeriod("2026-+1") == nil)  // parsed as January
            #expect(ReportingPeriod("2026-Q+4") == nil)
            #expect(ReportingPeriod("2026-W+1") == nil)
            #expect(ReportingPeriod("2026-W1") == nil)  // months need two digits; weeks should too
        }
    }
}

@Suite struct LimitsTests {
    @Test func defaultsRelateSensibly() {
        let l = Limits.default
        #expect(l == Limits())
        #expect(l.entryBytesMax < 65_535)  // tlog-tiles entry limit
        #expect(l.entryBytesMax + 4 <= l.bundlePayloadBytesMax)  // one entry always fits a bundle
        #expect(l.bundlePayloadBytesMax <= l.payloadInflateBytesMax)
        #expect(l.bundlePayloadBytesMax <= l.bundleWireBytesMax)
        #expect(l.requestBodyBytesMax <= l.bundleWireBytesMax)
        #expect(l.requestBodyBytesMax >= l.entryBytesMax)
        #expect(l.bundleWireBytesMax <= l.payloadInflateBytesMax)
        #expect(0 < l.pageSizeDefault && l.pageSizeDefault <= l.pageSizeMax)
        #expect(l.observationBatchMax <= l.bundleEntriesMax)
        #expect(l.bundleEntriesMax > 0)
    }

    @Test func documentedValues() {
        let l = Limits.default
        #expect(l.requestBodyBytesMax == 1_048_576)
        #expect(l.bundlePayloadBytesMax == 4_194_304)
        #expect(l.bundleWireBytesMax == 8_388_608)
        #expect(l.payloadInflateBytesMax == 16_777_216)
        #expect(l.entryBytesMax == 60_000)
        #expect(l.pageSizeMax == 500 && l.pageSizeDefault == 50)
    }
}

@Suite struct JSONValueTests {
    @Test func parsesValues() throws {
        #expect(try JSONValue.parse(Array(#"{"a": [1, 1.5, true, null, "é"], "b": {}}"#.utf8))
            == ["a": [1, 1.5, true, nil, "é"], "b": .object([:])])
        #expect(try JSONValue.parse(Array("42".utf8)) == .int(42))
        #expect(try JSONValue.parse(Array("-7".utf8)) == .int(-7))
        #expect(try JSONValue.parse(Array("2.5".utf8)) == .double(2.5))
        #expect(try JSONValue.parse(Array(#""\u1ead""#.utf8)) == .string("\u{1EAD}"))
        #expect(try JSONValue.parse(Array("9223372036854775808".utf8)) == .double(9_223_372_036_854_775_808))
    }

    @Test(arguments: [[0xFF], [0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D], [0xED, 0xA0, 0x80]] as [[UInt8]])
    func invalidUTF8(bytes: [UInt8]) {
        #expect(
            validationError { try JSONValue.parse(bytes) }
                == ValidationError(code: .invalidUTF8, message: "The request body is not valid UTF-8 text."))
    }

    @Test(arguments: ["", "{", "{\"a\":}", "[1,,2]", "01", "[NaN]", "// c\n1", "{a: 1}", "[.5]", "nul", "{'a': 1}", "{\"a\": 1} x", "[1] [2]"])
    func malformedJSON(text: String) {
        let error = validationError { try JSONValue.parse(Array(text.utf8)) }
        #expect(error?.code == .malformedJSON)
        #expect(error?.message.hasPrefix("The request body is not valid JSON: ") == true)
        #expect(error?.message.contains(" at byte ") == true)
    }

    /// RFC 8259 has no trailing commas; duplicate names make parsers disagree (JSONDecoder keeps the
    /// first, many others the last), which lets a body mean two things to two components.
    @Test(arguments: ["[1,]", "{\"a\":1,}", "{\"a\":1,\"a\":2}"])
    func refusesNonStandardJSON(text: String) {
        do {
            #expect(validationError { try JSONValue.parse(Array(text.utf8)) }?.code == .malformedJSON)
        }
    }

    @Test func serialisesWithSortedKeys() {
        let v: JSONValue = ["b": 1, "a": ["z": true, "y": nil], "c": "x/y"]
        #expect(String(decoding: v.jsonData(), as: UTF8.self) == #"{"a":{"y":null,"z":true},"b":1,"c":"x/y"}"#)
    }

    @Test func accessors() {
        #expect(JSONValue.double(3.0).int64Value == 3)
        #expect(JSONValue.double(3.5).int64Value == nil)
        #expect(JSONValue.int(3).doubleValue == 3.0)
        #expect(JSONValue.string("x").doubleValue == nil)
        #expect((["k": "v"] as JSONValue)["k"] == "v")
        #expect(JSONValue.null.isNull && !JSONValue.bool(false).isNull)
        #expect(JSONValue.array([]).typeName == "an array")
    }
}
