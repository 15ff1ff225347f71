import Testing
@testable import IOCAudit

/// AuditEvent canonical JSON: one byte form per event, strict decoding, clear errors.
@Suite struct AuditEventTests {
    let hash = NodeFixture.hash("payload")

    @Test func canonicalBytesAreSortedCompactAndStable() throws {
        let e = AuditEvent(type: .bundleApplied, at: 1_700_000_000_123, node: "n2", peer: "n1", seq: 7, hash: hash, entries: 3,
                           knowledge: ["fed/journal/n1": 12, "fed/journal/a": 1])
        let text = String(decoding: try e.encoded(), as: UTF8.self)
        #expect(text == #"{"at":1700000000123,"entries":3,"hash":"\#(hash)","knowledge":{"fed/journal/a":1,"fed/journal/n1":12},"node":"n2","peer":"n1","seq":7,"type":"bundle.applied"}"#)
        #expect(try AuditEvent(decoding: e.encoded()) == e)
    }

    @Test func everyTypeRoundTrips() throws {
        let cp = AuditEvent.CheckpointRef(origin: "fed/log/n1", size: 3, root: Bytes.base64(Merkle.emptyRoot))
        for type in AuditEventType.allCases {
            let e = AuditEvent(type: type, at: 1, node: "n1", peer: "n2", seq: 1, hash: hash, reason: "r", record: "rec-1", policyVersion: 2, checkpoint: cp)
            #expect(try AuditEvent(decoding: e.encoded()) == e, "\(type)")
        }
    }

    @Test func stringsAreNFC() throws {
        let decomposed = AuditEvent(type: .purge, at: 1, node: "n1", record: "Cafe\u{301}")
        let composed = AuditEvent(type: .purge, at: 1, node: "n1", record: "Caf\u{E9}")
        #expect(try decomposed.encoded() == composed.encoded())
    }

    @Test func decodingRejectsWithClearErrors() {
        let cases: [(String, AuditError.Code)] = [
            (#"{"at":1,"node":"n1","type":"bundle.teleported"}"#, .unknownEventType),
            (#"{"at":1,"node":"n1","type":"purge","extra":1}"#, .malformedEvent),
            (#"{"at":1, "node":"n1","type":"purge"}"#, .malformedEvent),  // not canonical
            (#"{"node":"n1","at":1,"type":"purge"}"#, .malformedEvent),  // unsorted
            (#"{"at":1.5,"node":"n1","type":"purge"}"#, .malformedJSON),
            (#"{"at":1,"node":"n1","type":"purge","type":"purge"}"#, .malformedJSON),
            (#"{"at":"1","node":"n1","type":"purge"}"#, .malformedEvent),
            (#"{"at":1,"node":"n1","peer":"n2","seq":1,"type":"bundle.sent"}"#, .malformedEvent),  // no hash
            (#"{"at":1,"hash":"ABC","node":"n1","peer":"n2","seq":1,"type":"bundle.sent"}"#, .malformedEvent),
            (#"{"at":1,"node":"n1","type":"checkpoint.signed"}"#, .malformedEvent),
            (#"[1]"#, .malformedEvent),
            (#"{"at":1,"node":"n1","type":"purge"} x"#, .malformedJSON),
        ]
        for (json, code) in cases {
            #expect(T.errorCode { _ = try AuditEvent(decoding: Array(json.utf8)) } == code, "\(json)")
        }
    }

    @Test func oversizedEventIsRefused() {
        let e = AuditEvent(type: .bundleRefused, at: 1, node: "n1", peer: "n2", seq: 1, hash: hash, reason: String(repeating: "x", count: 70_000))
        #expect(T.errorCode { _ = try e.encoded() } == .entryTooLarge)
    }

    @Test func canonicalJSONEscapesAndParses() throws {
        let v = CanonicalJSON.object(["b": .string("q\"\\\n\u{1}é"), "a": .array([.int(-3), .bool(true), .null])])
        #expect(v.text == #"{"a":[-3,true,null],"b":"q\"\\\n\u0001é"}"#)
        #expect(try CanonicalJSON.parse(v.bytes) == v)
        #expect(try CanonicalJSON.parse(Array(#""\ud83d\ude00""#.utf8)) == .string("😀"))
        for bad in ["01", "-", "[1,]", "{\"a\":}", "\"\\ud83d\"", String(repeating: "[", count: 40) + String(repeating: "]", count: 40)] {
            #expect(throws: AuditError.self, "\(bad)") { try CanonicalJSON.parse(Array(bad.utf8)) }
        }
    }
}
