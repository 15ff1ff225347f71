import Crypto
import Foundation
import IOCIdentity
import Testing
import X509

/// Shared fixtures for the IOCIdentity tests: a fixed reference time (the same instant as
/// `TestFederation.referenceTime`, 2026-01-01T00:00:00Z) and throw-away directories.
enum Fixture {
    static let referenceTime = Date(timeIntervalSince1970: 1_767_225_600)
    static let federation = "test"
    static let day: TimeInterval = 86_400

    /// A fresh directory under the system temporary directory; the caller removes it.
    static func temporaryDirectory() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ioc-identity-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.path
    }

    /// Runs `body` with a fresh temporary directory and removes it afterwards, whatever happens.
    static func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    static func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try await body(dir)
    }

    /// Permission bits (`st_mode & 0o777`) of a file.
    static func permissions(_ path: String) throws -> Int {
        let attrs = try FileManager.default.attributesOfItem(atPath: path)
        let value = attrs[.posixPermissions]
        if let n = value as? NSNumber { return n.intValue & 0o777 }
        if let n = value as? Int { return n & 0o777 }
        if let n = value as? UInt16 { return Int(n) & 0o777 }
        Issue.record("no POSIX permissions for \(path): \(String(describing: value))")
        return -1
    }

    static func readText(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    static func der(_ certificate: Certificate) throws -> [UInt8] {
        try certificate.serializeAsPEM().derBytes
    }

    /// The message of a failed result, nil on success.
    static func failure(_ result: Result<String, IdentityError>) -> String? {
        if case .failure(let e) = result { return e.message }
        return nil
    }

    static func uriSANs(_ c: Certificate) throws -> [String] {
        (try c.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap {
            if case .uniformResourceIdentifier(let u) = $0 { return u }
            return nil
        }
    }

    static func dnsSANs(_ c: Certificate) throws -> [String] {
        (try c.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap {
            if case .dnsName(let d) = $0 { return d }
            return nil
        }
    }

    static func ipSANs(_ c: Certificate) throws -> [[UInt8]] {
        (try c.extensions.subjectAlternativeNames ?? SubjectAlternativeNames()).compactMap {
            if case .ipAddress(let o) = $0 { return Array(o.bytes) }
            return nil
        }
    }
}
