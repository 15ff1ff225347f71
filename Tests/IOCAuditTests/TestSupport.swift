import Crypto
import Foundation
@testable import IOCAudit

/// Helpers shared by the audit tests: hex/base64 literals, deterministic keys, scratch directories.
enum T {
    static func hex(_ s: String) -> [UInt8] { Bytes.fromHex(s)! }
    static func b64(_ s: String) -> [UInt8] { Bytes.fromBase64(s)! }

    /// A deterministic Ed25519 key from a label (tests only).
    static func key(_ label: String) -> Curve25519.Signing.PrivateKey {
        try! Curve25519.Signing.PrivateKey(rawRepresentation: Bytes.sha256(Array(label.utf8)))
    }

    static func logSigner(_ node: String, federation: String = "fed.example") -> NoteSigner {
        try! NoteSigner(name: Checkpoint.logOrigin(federation: federation, node: node), privateKey: key("log/\(node)"))
    }

    static func witness(_ node: String, federation: String = "fed.example") -> CosignatureSigner {
        try! CosignatureSigner(name: "\(federation)/witness/\(node)", privateKey: key("witness/\(node)"))
    }

    /// A fresh empty directory under the system temp dir.
    static func scratch(_ name: String = #function) -> URL {
        let url = FileManager.default.temporaryDirectory
            .appending(path: "iocaudit-tests-\(ProcessInfo.processInfo.processIdentifier)")
            .appending(path: name.filter { $0.isLetter || $0.isNumber } + "-" + UUID().uuidString)
        try? FileManager.default.removeItem(at: url)
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The `AuditError` code thrown by `body`, or nil when it does not throw one.
    static func errorCode(_ body: () throws -> Void) -> AuditError.Code? {
        do { try body(); return nil } catch let e as AuditError { return e.code } catch { return nil }
    }

    static func flip(_ bytes: [UInt8], bit: Int) -> [UInt8] {
        var b = bytes
        b[bit / 8] ^= UInt8(1 << (bit % 8))
        return b
    }

    /// The 8 leaves of RFC 6962 / certificate-transparency merkle_tree_test.
    static let rfcLeaves: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                       "606162636465666768696a6b6c6d6e6f"].map { hex($0) }

    /// Deterministic distinct leaf hashes for large-tree properties.
    static func leafHashes(_ n: Int) -> [[UInt8]] {
        (0..<n).map { Merkle.leafHash(Bytes.uint64BE(UInt64($0))) }
    }
}
