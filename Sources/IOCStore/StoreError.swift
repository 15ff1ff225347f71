import IOCModel

/// A storage-level failure with a code, a message a person can act on, and the cause.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public static let notFound = Code(rawValue: "not_found")
        public static let wrongNode = Code(rawValue: "wrong_node")
        public static let corrupt = Code(rawValue: "corrupt")
        public static let conflict = Code(rawValue: "conflict")
        public static let forbidden = Code(rawValue: "forbidden")
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        cause.map { "\(code.rawValue): \(message) (cause: \($0))" } ?? "\(code.rawValue): \(message)"
    }
}
