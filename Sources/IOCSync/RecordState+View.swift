import IOCModel

extension RecordState {
    /// The record as the API shows it: winning field values, version, open conflicts, timeline.
    public func view(includeTimeline: Bool = true) -> JSONValue {
        var o = visibleFields()
        o["id"] = .string(id.description)
        o["kind"] = .string(kind)
        o["version"] = .object(applied.counters.mapValues { .int(Int64($0)) })
        o["updatedAt"] = .string(Timestamp.format(Int64(updatedHLC.milliseconds)))
        if isDeleted { o["deleted"] = true }
        let conflicts = self.conflicts
        if !conflicts.isEmpty {
            o["conflicts"] = .array(conflicts.map(Self.conflictView))
        }
        if includeTimeline {
            o["timeline"] = .array(
                timeline.map { item in
                    var e = item.event.objectValue ?? [:]
                    e["origin"] = .string(item.dot.origin)
                    e["seq"] = .int(Int64(item.dot.seq))
                    return .object(e)
                })
        }
        return .object(o)
    }

    static func conflictView(_ c: (field: String, siblings: [Sibling])) -> JSONValue {
        .object([
            "field": .string(c.field),
            "values": .array(
                c.siblings.map {
                    .object([
                        "value": $0.value, "origin": .string($0.dot.origin), "seq": .int(Int64($0.dot.seq)),
                        "at": .string(Timestamp.format(Int64($0.hlc.milliseconds))),
                    ])
                }),
        ])
    }

    /// Open conflicts of this record, for `GET /api/v1/conflicts`.
    public func conflictsView() -> JSONValue {
        .object([
            "recordId": .string(id.description), "kind": .string(kind),
            "conflicts": .array(conflicts.map(Self.conflictView)),
        ])
    }
}
