extension KindSchema {
    /// Validates a create request body and returns the normalised fields.
    ///
    /// Refuses unknown fields (typos must not pass silently), system fields, missing required
    /// fields, wrong types and out-of-range values, naming the field. `status` may be given only to
    /// choose among a lifecycle's initial states.
    public func validateCreate(_ body: [String: JSONValue], now: Int64) throws(ValidationError) -> [String: JSONValue] {
        var out: [String: JSONValue] = [:]
        for key in body.keys.sorted() {
            let value = body[key]!
            if key == "status", let lifecycle = kind.lifecycle {
                guard case .string(let s) = value, lifecycle.initialStates.contains(s) else {
                    throw ValidationError(
                        code: .invalidValue,
                        message: "A new \(kind.rawValue) may start only as: \(lifecycle.initialStates.joined(separator: ", ")).",
                        field: "status")
                }
                out["status"] = value
                continue
            }
            guard let spec = field(key) else { throw unknown(key) }
            guard spec.mutability != .system else { throw readOnly(key) }
            if value.isNull { continue }
            out[key] = try spec.type.normalise(value, path: key)
        }
        for spec in fields where spec.required && out[spec.name] == nil {
            throw ValidationError(code: .missingField, message: "Field '\(spec.name)' is required.", field: spec.name)
        }
        try crossCheck(out, now: now)
        return out
    }

    /// Validates a PATCH body against the current fields; returns only the normalised changes.
    /// `null` clears an optional field.
    public func validatePatch(_ body: [String: JSONValue], current: [String: JSONValue], now: Int64) throws(ValidationError)
        -> [String: JSONValue]
    {
        guard !kind.isAppendOnly else {
            throw ValidationError(
                code: .readOnlyField, message: "\(kind.rawValue) records are append-only and cannot be edited.")
        }
        guard !body.isEmpty else {
            throw ValidationError(code: .missingField, message: "The request changes no field.")
        }
        var changes: [String: JSONValue] = [:]
        for key in body.keys.sorted() {
            let value = body[key]!
            if key == "status" {
                throw ValidationError(
                    code: .readOnlyField, message: "Change 'status' with POST …/{id}/transitions, not PATCH.", field: key)
            }
            guard let spec = field(key) else { throw unknown(key) }
            guard spec.mutability == .mutable else { throw readOnly(key) }
            if value.isNull {
                guard !spec.required else {
                    throw ValidationError(code: .missingField, message: "Field '\(key)' is required and cannot be cleared.", field: key)
                }
                changes[key] = .null
            } else {
                changes[key] = try spec.type.normalise(value, path: key)
            }
        }
        var merged = current
        for (k, v) in changes { merged[k] = v.isNull ? nil : v }
        // Only changed times must not be in the future: a record created on a node whose clock ran
        // ahead stays editable everywhere else.
        try crossCheck(merged, now: now, changed: Set(changes.keys))
        return changes
    }

    /// Checks that relate several fields, or a field to the current time (only the fields in
    /// `changed`, when given).
    public func crossCheck(_ f: [String: JSONValue], now: Int64, changed: Set<String>? = nil) throws(ValidationError) {
        func time(_ k: String) -> Int64? { f[k]?.stringValue.flatMap(Timestamp.parse) }
        func order(_ early: String, _ late: String) throws(ValidationError) {
            if let a = time(early), let b = time(late), b < a {
                throw ValidationError(code: .invalidTime, message: "'\(late)' cannot be before '\(early)'.", field: late)
            }
        }
        let skewAllowance: Int64 = 10 * 60 * 1000
        func notFuture(_ k: String) throws(ValidationError) {
            if changed?.contains(k) ?? true, let t = time(k), t > now + skewAllowance {
                throw ValidationError(code: .invalidTime, message: "'\(k)' is in the future.", field: k)
            }
        }
        switch kind {
        case .fieldReport:
            try order("receivedAt", "dueAt")
            try notFuture("receivedAt")
        case .dossier:
            try order("receivedAt", "dueAt")
            try order("receivedAt", "finishedAt")
            try notFuture("receivedAt")
            try notFuture("finishedAt")
        case .observation:
            try notFuture("observedAt")
        case .alert:
            try order("effective", "expires")
        case .station:
            if let w = f["warningThreshold"]?.doubleValue, let d = f["dangerThreshold"]?.doubleValue {
                let below = f["thresholdDirection"]?.stringValue == "below"
                if below ? d > w : d < w {
                    throw ValidationError(
                        code: .invalidValue,
                        message: below
                            ? "'dangerThreshold' must not be above 'warningThreshold' when thresholdDirection is below."
                            : "'dangerThreshold' must not be below 'warningThreshold'.",
                        field: "dangerThreshold")
                }
            }
        case .reporterContact, .directive, .kpi:
            break
        }
    }

    private func unknown(_ key: String) -> ValidationError {
        let known = fields.filter { $0.mutability != .system }.map(\.name).joined(separator: ", ")
        return ValidationError(
            code: .unknownField, message: "Unknown field '\(key)' for \(kind.rawValue). Known fields: \(known).", field: key)
    }

    private func readOnly(_ key: String) -> ValidationError {
        ValidationError(code: .readOnlyField, message: "Field '\(key)' cannot be set by a client.", field: key)
    }
}
