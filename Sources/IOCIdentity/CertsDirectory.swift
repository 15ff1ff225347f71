import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import SwiftASN1
import X509

/// The on-disk layout `iocnode certs init` writes and `iocnode serve --certs` reads:
///
///     DIR/ca.crt                  federation CA certificate (public; every node needs it)
///     DIR/ca.key                  CA private key (0600; keep offline after issuing)
///     DIR/registry.json           CA-signed registry of the nodes' bundle-signing keys
///     DIR/denylist.json           CA-signed denylist (revoked certificates and keys)
///     DIR/nodes/<id>/tls.crt      the node's TLS certificate (P-256)
///     DIR/nodes/<id>/tls.key      its private key (0600)
///     DIR/nodes/<id>/signing.key  its Ed25519 bundle-signing key (0600)
///
/// A node needs `ca.crt`, `registry.json`, `denylist.json` and its own `nodes/<id>/`; copying just
/// those to a node's machine is a valid `--certs` directory.
public struct CertsDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var caCertificate: String { path + "/ca.crt" }
    public var caKey: String { path + "/ca.key" }
    public var registry: String { path + "/registry.json" }
    public var denylist: String { path + "/denylist.json" }
    public func nodeDirectory(_ node: String) -> String { path + "/nodes/\(node)" }
    public func tlsCertificate(_ node: String) -> String { nodeDirectory(node) + "/tls.crt" }
    public func tlsKey(_ node: String) -> String { nodeDirectory(node) + "/tls.key" }
    public func signingKey(_ node: String) -> String { nodeDirectory(node) + "/signing.key" }

    // MARK: Reading

    public func readCA() throws -> Certificate {
        try Certificate(pemEncoded: try text(caCertificate, what: "the federation CA certificate"))
    }

    public func readAuthority(federation: String) throws -> CertificateAuthority {
        let key = try P256.Signing.PrivateKey(pemRepresentation: try text(caKey, what: "the CA private key"))
        return CertificateAuthority(federation: federation, certificate: try readCA(), privateKey: key)
    }

    public func readDocument(_ file: String) throws -> SignedDocument? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        return try SignedDocument.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
    }

    public func readSigningKey(_ node: String) throws -> Curve25519.Signing.PrivateKey {
        try Ed25519PEM.privateKey(from: try text(signingKey(node), what: "the signing key of node '\(node)'"))
    }

    func text(_ file: String, what: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw IdentityError(
                "Cannot read \(what) at \(file). Create the federation's certificates with `iocnode certs init --topology FILE --out \(path)`, or pass --certs.")
        }
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: Writing

    public func createDirectories(node: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: node.map(nodeDirectory) ?? path, withIntermediateDirectories: true)
    }

    /// Writes a public file (certificate, signed document) atomically.
    public static func writePublic(_ bytes: [UInt8], to file: String) throws {
        try write(bytes, to: file, mode: 0o644)
    }

    /// Writes a private key: created with 0600 under a temporary name and renamed into place, so the
    /// key is never readable by others, not even for an instant.
    public static func writeSecret(_ bytes: [UInt8], to file: String) throws {
        try write(bytes, to: file, mode: 0o600)
    }

    static func write(_ bytes: [UInt8], to file: String, mode: mode_t) throws {
        let tmp = file + ".tmp-\(getpid())"
        unlink(tmp)
        let fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY, mode)
        guard fd >= 0 else { throw IdentityError("Cannot create \(file): \(String(cString: strerror(errno))).") }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fsync(fd)
        close(fd)
        guard written == bytes.count, rename(tmp, file) == 0 else {
            unlink(tmp)
            throw IdentityError("Cannot write \(file): \(String(cString: strerror(errno))).")
        }
    }
}

/// Ed25519 private keys as PKCS#8 PEM ("PRIVATE KEY"), the form OpenSSL reads and writes.
public enum Ed25519PEM {
    static let prefix: [UInt8] = [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]

    public static func pem(_ key: Curve25519.Signing.PrivateKey) -> String {
        let der = prefix + Array(key.rawRepresentation)
        return PEMDocument(type: "PRIVATE KEY", derBytes: der).pemString + "\n"
    }

    public static func privateKey(from pem: String) throws -> Curve25519.Signing.PrivateKey {
        guard let doc = try? PEMDocument(pemString: pem), doc.discriminator == "PRIVATE KEY", doc.derBytes.count == 48,
            Array(doc.derBytes.prefix(16)) == prefix
        else { throw IdentityError("not an Ed25519 private key in PKCS#8 PEM form") }
        return try Curve25519.Signing.PrivateKey(rawRepresentation: doc.derBytes.suffix(32))
    }
}
