import IOCModel
import IOCSync

/// What a signed-in user may see inside this node: records of their unit and its descendants
/// (owning or assigned), and for sector staff only their sector's categories.
struct AccessScope: Sendable {
    let topology: Topology

    func units(for actor: Actor) -> Set<String>? {
        actor.unit.map { topology.unitAndDescendants($0) }
    }

    func categories(for actor: Actor) -> Set<String>? {
        guard let sector = actor.sector else { return nil }
        return Set(topology.units.filter { $0.sector == sector }.flatMap(\.categories))
    }

    func canSee(_ state: RecordState, actor: Actor) -> Bool {
        guard actor.role.canRead else { return false }
        if let units = units(for: actor) {
            let owner = state.value("unit")?.stringValue
            let assigned = state.value("assignedUnit")?.stringValue ?? state.value("targetUnit")?.stringValue
            guard owner.map(units.contains) == true || assigned.map(units.contains) == true else { return false }
        }
        if let categories = categories(for: actor), let field = state.recordKind?.schema.categoryField,
            state.recordKind == .fieldReport
        {
            guard let c = state.value(field)?.stringValue, categories.contains(c) else { return false }
        }
        return true
    }

    /// Every unit code named by a record's fields must exist in the topology.
    func checkUnits(_ fields: [String: JSONValue], schema: KindSchema) throws(ValidationError) {
        for spec in schema.fields {
            guard let value = fields[spec.name] else { continue }
            let codes: [String]
            switch spec.type {
            case .unitCode: codes = value.stringValue.map { [$0] } ?? []
            case .list(.unitCode, _): codes = value.arrayValue?.compactMap(\.stringValue) ?? []
            default: continue
            }
            for code in codes where topology.unit(code: code) == nil {
                throw ValidationError(
                    code: .invalidValue, message: "Unknown administrative unit '\(code)' in field '\(spec.name)'.",
                    field: spec.name)
            }
        }
    }
}
