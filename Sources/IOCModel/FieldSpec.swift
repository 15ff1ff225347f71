import Foundation

/// The type of one record field, with the limits that make a value acceptable.
public indirect enum FieldType: Sendable, Hashable {
    /// Free text, NFC-normalised, trimmed, at most `maxLength` characters.
    case text(maxLength: Int)
    /// One of a fixed vocabulary.
    case token([String])
    /// An ISO 8601 instant, stored in canonical UTC form.
    case time
    case integer(ClosedRange<Int64>)
    case number(ClosedRange<Double>)
    case boolean
    /// `{"lat": …, "lon": …}` in WGS 84 degrees.
    case location
    /// An administrative unit code from the topology (existence is checked by the node).
    case unitCode
    /// The id of another record.
    case recordRef
    /// A list of values of one type.
    case list(FieldType, maxCount: Int)
    /// A reporting period: `2026`, `2026-Q3`, `2026-11`, `2026-W47` or `2026-11-24`.
    case period
}

/// Who may set a field.
public enum FieldMutability: Sendable, Hashable {
    /// Set by the node (status, rule flags), never by a client.
    case system
    /// Set when the record is created, then frozen.
    case createOnly
    /// Editable through PATCH; concurrent edits merge per field.
    case mutable
}

/// One field of a record kind.
public struct FieldSpec: Sendable, Hashable {
    public let name: String
    public let type: FieldType
    public let required: Bool
    public let mutability: FieldMutability

    public init(_ name: String, _ type: FieldType, required: Bool = false, _ mutability: FieldMutability = .mutable) {
        self.name = name
        self.type = type
        self.required = required
        self.mutability = mutability
    }
}

extension FieldType {
    /// NFC form of `s`. Text whose every scalar lies in blocks that contain neither combining marks
    /// nor singleton decompositions (ASCII, Latin-1, Latin Extended-A/B, the precomposed Vietnamese
    /// letters of Latin Extended Additional, general punctuation, currency) is already NFC, which is
    /// nearly all Vietnamese input; only other text pays for Foundation's normaliser.
    public static func nfc(_ s: String) -> String {
        let stable = s.unicodeScalars.allSatisfy { c in
            c.value <= 0x024F || (0x1E00...0x1EFF).contains(c.value) || (0x2010...0x205F).contains(c.value)
                || (0x20A0...0x20BF).contains(c.value)
        }
        return stable ? s : s.precomposedStringWithCanonicalMapping
    }

    /// C0 controls except tab and line breaks, DEL, and C1 controls.
    static func isForbiddenControl(_ c: Unicode.Scalar) -> Bool {
        (c.value < 0x20 && c != "\n" && c != "\t" && c != "\r") || (0x7F...0x9F).contains(c.value)
    }

    /// Checks and normalises one value. `path` names the field in error messages.
    public func normalise(_ value: JSONValue, path: String) throws(ValidationError) -> JSONValue {
        func wrong(_ expected: String) -> ValidationError {
            ValidationError(code: .wrongType, message: "Field '\(path)' must be \(expected), not \(value.typeName).", field: path)
        }
        switch self {
        case .text(let maxLength):
            guard case .string(let s) = value else { throw wrong("a string") }
            let n = FieldType.nfc(s).trimmingCharacters(in: .whitespacesAndNewlines)
            guard n.count <= maxLength else {
                throw ValidationError(
                    code: .outOfRange, message: "Field '\(path)' is longer than \(maxLength) characters.", field: path)
            }
            guard !n.unicodeScalars.contains(where: { Self.isForbiddenControl($0) }) else {
                throw ValidationError(code: .invalidValue, message: "Field '\(path)' contains control characters.", field: path)
            }
            return .string(n)
        case .token(let allowed):
            guard case .string(let s) = value else { throw wrong("a string") }
            guard allowed.contains(s) else {
                throw ValidationError(
                    code: .invalidValue,
                    message: "Field '\(path)' must be one of: \(allowed.joined(separator: ", ")).", field: path)
            }
            return value
        case .time:
            guard case .string(let s) = value else { throw wrong("an ISO 8601 time string") }
            guard let ms = Timestamp.parse(s) else {
                throw ValidationError(
                    code: .invalidTime,
                    message: "Field '\(path)' is not a valid ISO 8601 time (example: 2026-11-24T08:30:00+07:00).",
                    field: path)
            }
            guard Timestamp.validRange.contains(ms) else {
                throw ValidationError(code: .invalidTime, message: "Field '\(path)' is outside 1970–2100.", field: path)
            }
            return .string(Timestamp.format(ms))
        case .integer(let range):
            guard let i = value.int64Value else { throw wrong("an integer") }
            guard range.contains(i) else {
                throw ValidationError(
                    code: .outOfRange,
                    message: "Field '\(path)' must be between \(range.lowerBound) and \(range.upperBound).", field: path)
            }
            return .int(i)
        case .number(let range):
            guard let d = value.doubleValue, d.isFinite else { throw wrong("a number") }
            guard range.contains(d) else {
                throw ValidationError(
                    code: .outOfRange,
                    message: "Field '\(path)' must be between \(range.lowerBound) and \(range.upperBound).", field: path)
            }
            return value.int64Value.map { .int($0) } ?? .double(d)
        case .boolean:
            guard case .bool = value else { throw wrong("true or false") }
            return value
        case .location:
            guard case .object(let o) = value else { throw wrong("an object {\"lat\": …, \"lon\": …}") }
            for key in o.keys where key != "lat" && key != "lon" {
                throw ValidationError(code: .unknownField, message: "Unknown field '\(path).\(key)'.", field: "\(path).\(key)")
            }
            guard let latV = o["lat"] else {
                throw ValidationError(code: .missingField, message: "Field '\(path).lat' is required.", field: "\(path).lat")
            }
            guard let lonV = o["lon"] else {
                throw ValidationError(code: .missingField, message: "Field '\(path).lon' is required.", field: "\(path).lon")
            }
            let lat = try FieldType.number(-90...90).normalise(latV, path: "\(path).lat")
            let lon = try FieldType.number(-180...180).normalise(lonV, path: "\(path).lon")
            return .object(["lat": lat, "lon": lon])
        case .unitCode:
            guard case .string(let s) = value, !s.isEmpty, s.count <= 64 else { throw wrong("an administrative unit code") }
            return value
        case .recordRef:
            guard case .string(let s) = value else { throw wrong("a record id") }
            guard let id = RecordID(s) else {
                throw ValidationError(code: .invalidValue, message: "Field '\(path)' is not a record id (UUID).", field: path)
            }
            return .string(id.description)
        case .list(let element, let maxCount):
            guard case .array(let a) = value else { throw wrong("an array") }
            guard a.count <= maxCount else {
                throw ValidationError(code: .tooMany, message: "Field '\(path)' has more than \(maxCount) items.", field: path)
            }
            var out: [JSONValue] = []
            out.reserveCapacity(a.count)
            for (i, v) in a.enumerated() { out.append(try element.normalise(v, path: "\(path)[\(i)]")) }
            return .array(out)
        case .period:
            guard case .string(let s) = value else { throw wrong("a period string") }
            guard ReportingPeriod(s) != nil else {
                throw ValidationError(
                    code: .invalidValue,
                    message: "Field '\(path)' must be a period like 2026, 2026-Q3, 2026-11, 2026-W47 or 2026-11-24.",
                    field: path)
            }
            return value
        }
    }
}

/// A reporting period as KPIs and summaries use it, with its half-open time window.
public struct ReportingPeriod: Sendable, Hashable {
    public enum Granularity: String, Sendable, CaseIterable { case day, week, month, quarter, year }
    public let granularity: Granularity
    /// Start and end (exclusive), Unix milliseconds, UTC.
    public let start: Int64
    public let end: Int64

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        /// Exactly `count` ASCII digits (no sign, no spaces).
        func digits(_ s: Substring, _ count: Int) -> Int? {
            s.count == count && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } ? Int(s) : nil
        }
        guard let year = digits(parts[0][...], 4), (1970...2100).contains(year) else { return nil }
        switch parts.count {
        case 1:
            self.init(.year, from: Timestamp.daysFromCivil(year: year, month: 1, day: 1))
        case 2 where parts[1].hasPrefix("Q"):
            guard let q = digits(parts[1].dropFirst(), 1), (1...4).contains(q) else { return nil }
            self.init(.quarter, from: Timestamp.daysFromCivil(year: year, month: 3 * q - 2, day: 1))
        case 2 where parts[1].hasPrefix("W"):
            // ISO week: week 1 holds the year's first Thursday; a year has 52 or 53 weeks.
            guard let w = digits(parts[1].dropFirst(), 2), (1...Self.isoWeeks(in: year)).contains(w) else { return nil }
            self.init(.week, from: Self.isoWeekOneMonday(year) + Int64(w - 1) * 7)
        case 2:
            guard let m = digits(parts[1][...], 2), (1...12).contains(m) else { return nil }
            self.init(.month, from: Timestamp.daysFromCivil(year: year, month: m, day: 1))
        case 3:
            guard let ms = Timestamp.parseDate(text) else { return nil }
            self.init(.day, from: ms / 86_400_000)
        default:
            return nil
        }
    }

    /// Days since the epoch of the Monday of ISO week 1.
    static func isoWeekOneMonday(_ year: Int) -> Int64 {
        let jan4 = Timestamp.daysFromCivil(year: year, month: 1, day: 4)
        return jan4 - (jan4 + 3) % 7  // (days + 3) % 7 == 0 on Mondays: 1970-01-01 was a Thursday
    }

    static func isoWeeks(in year: Int) -> Int {
        Int((isoWeekOneMonday(year + 1) - isoWeekOneMonday(year)) / 7)
    }

    /// The period of `granularity` that starts at the given day (days since the epoch).
    public init(_ granularity: Granularity, from startDay: Int64) {
        self.granularity = granularity
        start = startDay * 86_400_000
        let (y, m, _) = Timestamp.civilFromDays(startDay)
        let endDay: Int64
        switch granularity {
        case .day: endDay = startDay + 1
        case .week: endDay = startDay + 7
        case .month: endDay = Timestamp.daysFromCivil(year: m == 12 ? y + 1 : y, month: m == 12 ? 1 : m + 1, day: 1)
        case .quarter:
            let next = m + 3
            endDay = Timestamp.daysFromCivil(year: next > 12 ? y + 1 : y, month: next > 12 ? next - 12 : next, day: 1)
        case .year: endDay = Timestamp.daysFromCivil(year: y + 1, month: 1, day: 1)
        }
        end = endDay * 86_400_000
    }
}
