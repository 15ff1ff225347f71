import IOCModel
import IOCSync

/// The few facts about a record that sharing rules look at: its kind, the node that created it,
/// the units it belongs to and its category.
///
/// Sender and receiver derive them the same way, from a record state or from a create entry's
/// body, so both ends of a link reach the same verdict from the same data.
public struct RecordFacts: Sendable, Hashable {
    public var kind: String
    /// The node that created the record (`originNode`); empty when unknown.
    public var origin: String
    /// Owning unit, then assigned or target unit.
    public var units: [String]
    /// Units an alert covers (`areaUnits`).
    public var areaUnits: [String]
    /// The value of the kind's category field (a field report's `category`, a station's type…).
    public var category: String?

    public init(kind: String, origin: String, units: [String], areaUnits: [String] = [], category: String? = nil) {
        self.kind = kind
        self.origin = origin
        self.units = units
        self.areaUnits = areaUnits
        self.category = category
    }

    /// Where the record applies: an alert's area, else the unit it is assigned or addressed to,
    /// else its owning unit. A directive from the province to one ward applies to that ward, not
    /// to the whole province that issued it.
    public var area: [String] {
        if !areaUnits.isEmpty { return areaUnits }
        return units.count > 1 ? Array(units.dropFirst()) : units
    }

    /// Facts read through `value`, which gives the value a reader sees for a field (nil when absent).
    public init(kind: String, fallbackOrigin: String, value: (String) -> JSONValue?) {
        self.kind = kind
        origin = value("originNode")?.stringValue ?? fallbackOrigin
        units = ["unit", "assignedUnit", "targetUnit"].compactMap { value($0)?.stringValue }
        areaUnits = value("areaUnits")?.arrayValue?.compactMap(\.stringValue) ?? []
        let field = RecordKind(rawValue: kind)?.schema.categoryField
        category = field.flatMap { value($0) }.map { $0.stringValue ?? "\($0)" }
    }

    /// Facts of a record as a replica holds it.
    public init(state: RecordState) {
        self.init(kind: state.kind, fallbackOrigin: "", value: state.value)
    }

    /// Facts of a record that consists of one create entry (no merge needed to read them).
    public init(create entry: JournalEntry) {
        let body = entry.body
        self.init(kind: entry.kind, fallbackOrigin: entry.origin, value: { body[$0].flatMap { $0.isNull ? nil : $0 } })
    }
}
