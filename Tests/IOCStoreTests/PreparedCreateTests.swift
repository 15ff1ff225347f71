import Foundation
import IOCModel
@testable import IOCStore
@testable import IOCSync
import Testing

/// A receiver decodes a create only for the fields its row, sharing facts and state-machine
/// check are derived from (``NodeStore/PreparedCreate/fields(kind:)``). These tests fill every
/// such field, plus fields nobody derives from, and require the same result from the partial
/// decode as from the whole body: a derivation that starts reading a field the list misses fails here.
@Suite struct PreparedCreateTests {
    /// A plausible value of each type, so derivations that parse a field find something to parse.
    static func sample(_ type: FieldType) -> JSONValue {
        switch type {
        case .text: .string("Cây xanh gãy đổ chắn ngang đường Lê Duẩn, phường Hải Châu.")
        case .token(let words): .string(words.first ?? "x")
        case .time: .string("2026-11-28T08:30:00Z")
        case .integer(let range): .int(range.lowerBound)
        case .number(let range): .double(range.lowerBound)
        case .boolean: .bool(true)
        case .location: .object(["lat": .double(16.07), "lon": .double(108.22)])
        case .unitCode: .string("20194")
        case .recordRef: .string("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        case .list(let element, _): .array([sample(element), sample(element)])
        case .period: .string("2026-11")
        }
    }

    /// Every field of the kind's schema and every system field (not only those the selection
    /// names, or a field it missed would be missing here too), then the selection's fields.
    static func body(kind: String) -> [String: JSONValue] {
        var body: [String: JSONValue] = [
            "description": .string("Cây xanh gãy đổ chắn ngang đường Lê Duẩn, phường Hải Châu."),
            "reporterPhone": .string("0905 123 456"),
            "originNode": .string("hai-chau"), "createdAt": .string("2026-11-28T08:00:00Z"),
            "updatedAt": .string("2026-11-28T08:05:00Z"),
        ]
        for spec in RecordKind(rawValue: kind)?.schema.fields ?? [] { body[spec.name] = sample(spec.type) }
        for field in NodeStore.PreparedCreate.askedFields(kind: kind) {
            switch field {
            case JournalEntry.deletedKey: continue
            case "status":
                let initial = RecordKind(rawValue: kind)?.lifecycle?.initialStates.sorted().first
                body[field] = initial.map(JSONValue.string) ?? .string("new")
            case "areaUnits": body[field] = .array([.string("20194"), .string("20197")])
            case "reportId", "stationId", "sourceRef": body[field] = .string("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
            case let f where f.hasSuffix("At") || f == RecordKind(rawValue: kind)?.schema.timeField:
                body[field] = .string("2026-11-28T08:30:00Z")
            default: body[field] = .string("\(field)-giá trị")
            }
        }
        return body
    }

    @Test(arguments: RecordKind.allCases.map(\.rawValue) + ["future_kind"])
    func partialDecodeDerivesWhatTheWholeBodyDoes(kind: String) throws {
        let entry = JournalEntry(
            origin: "hai-chau", seq: 1, hlc: HLC(rawValue: 1 << 30), recordID: RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c")!,
            kind: kind, op: .create, context: VersionVector(), body: Self.body(kind: kind))
        let bytes = entry.encoded()
        let (partial, selected) = try JournalEntry.decode(bytes) { NodeStore.PreparedCreate.fields(kind: $0.kind) }
        let fields = try #require(selected)
        #expect(fields.body.count < entry.body.count, "the partial decode should leave fields out")
        let fromPartial = NodeStore.PreparedCreate(partial, fields)
        let fromWhole = NodeStore.PreparedCreate(entry)
        #expect(fromPartial == fromWhole)
        #expect(fromWhole.columns.unit == "unit-giá trị")
    }

    /// Kinds this node does not know share one selection: that is only right while the
    /// derivations ask the same fields whatever an unknown kind is called.
    @Test func unknownKindsAskTheSameFieldsWhateverTheirName() {
        let asked = ["future_kind", "drone_flight", "x", ""].map { NodeStore.PreparedCreate.askedFields(kind: $0) }
        #expect(Set(asked).count == 1)
        #expect(asked[0].contains("unit") && asked[0].contains("originNode"))
        #expect(NodeStore.PreparedCreate.fields(kind: "drone_flight").names == NodeStore.PreparedCreate.fields(kind: "future_kind").names)
        #expect(NodeStore.PreparedCreate.fields(kind: "dossier").names != NodeStore.PreparedCreate.fields(kind: "drone_flight").names)
    }

    /// The writer's fast path takes a prepared create to be its record's only change: true of
    /// one `decode` result, false once two are joined (the debug-build check `apply` makes).
    @Test func preparedCreatesAreLoneWithinOneDecodeOnly() throws {
        let id = RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d")!
        let create = JournalEntry(
            origin: "hai-chau", seq: 1, hlc: HLC(rawValue: 1 << 30), recordID: id, kind: "field_report", op: .create,
            context: VersionVector(), body: Self.body(kind: "field_report"))
        var update = create
        update.seq = 2
        update.op = .update
        update.body = ["description": .string("Đã dọn xong.")]
        let first = try NodeStore.decode([.entry(create.encoded())], limits: .default)
        let second = try NodeStore.decode([.entry(update.encoded())], limits: .default)
        let together = try NodeStore.decode([.entry(create.encoded()), .entry(update.encoded())], limits: .default)
        #expect(StoreTransaction.preparedCreatesAreLone(first))
        #expect(StoreTransaction.preparedCreatesAreLone(together))
        #expect(!StoreTransaction.preparedCreatesAreLone(first + second))
    }

    @Test func decodeKeepsWholeBodiesForRecordsChangedTwiceInABundle() throws {
        let id = RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d")!
        let create = JournalEntry(
            origin: "hai-chau", seq: 1, hlc: HLC(rawValue: 1 << 30), recordID: id, kind: "field_report", op: .create,
            context: VersionVector(), body: Self.body(kind: "field_report"))
        let lone = JournalEntry(
            origin: "hai-chau", seq: 2, hlc: HLC(rawValue: 1 << 31), recordID: RecordID("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5e")!,
            kind: "field_report", op: .create, context: VersionVector(), body: Self.body(kind: "field_report"))
        var update = create
        update.seq = 3
        update.op = .update
        update.body = ["description": .string("Đã dọn xong.")]
        let decoded = try NodeStore.decode([.entry(create.encoded()), .entry(lone.encoded()), .entry(update.encoded())], limits: .default)
        guard case .entry(let first) = decoded[0], case .entry(let second) = decoded[1]
        else { Issue.record("expected entries"); return }
        #expect(first.create == nil && first.entry == create, "a create merged in the same bundle is decoded whole")
        #expect(second.create != nil && second.entry.body.isEmpty, "a lone create is decoded for its fields only")
        #expect(try second.whole() == lone)
        #expect(try first.whole() == create)
    }
}
