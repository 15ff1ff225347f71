/// Why an input (a request body, a field, a query parameter) was refused.
///
/// Expected refusals are values with a stable ``Code`` for programs, a message a person can act on
/// and the offending field; the HTTP layer maps them to `400 {"error": {"code","message","field"}}`.
/// Messages never include field *values*, so personal data cannot leak into logs through them.
public struct ValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let malformedJSON = Code(rawValue: "malformed_json")
        public static let invalidUTF8 = Code(rawValue: "invalid_utf8")
        public static let bodyTooLarge = Code(rawValue: "body_too_large")
        public static let unknownField = Code(rawValue: "unknown_field")
        public static let missingField = Code(rawValue: "missing_field")
        public static let wrongType = Code(rawValue: "wrong_type")
        public static let outOfRange = Code(rawValue: "out_of_range")
        public static let invalidValue = Code(rawValue: "invalid_value")
        public static let invalidTime = Code(rawValue: "invalid_time")
        public static let illegalTransition = Code(rawValue: "illegal_transition")
        public static let readOnlyField = Code(rawValue: "read_only_field")
        public static let tooMany = Code(rawValue: "too_many")
    }

    public var code: Code
    public var message: String
    public var field: String?

    public init(code: Code, message: String, field: String? = nil) {
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { field.map { "\(code) (\($0)): \(message)" } ?? "\(code): \(message)" }
}
