import Crypto
import Foundation
import X509

/// What `iocnode certs init | issue | revoke` do, as library calls (the CLI and the tests share them).
extension CertsDirectory {
    /// Creates the federation CA, every node's TLS certificate and signing key, the registry and
    /// an empty denylist. Refuses to overwrite an existing CA unless `force`: a second CA would cut
    /// every deployed node off from the others.
    /// `hosts` maps a node to the host names or addresses of its URLs (added as DNS/IP SANs).
    public func initialise(
        federation: String, nodes: [String], hosts: [String: [String]] = [:], days: Int = 60, now: Date = Date(),
        force: Bool = false
    ) throws {
        if FileManager.default.fileExists(atPath: caKey) && !force {
            throw IdentityError(
                "\(path) already holds a federation CA. Use `iocnode certs issue` to renew one node, or pass --force to start a new federation CA (every node must then be re-issued).")
        }
        try Self.checkLifetime(days)
        try createDirectories()
        let ca = try CertificateAuthority.create(federation: federation, now: now)
        try Self.writeSecret(Array(ca.privateKey.pemRepresentation.utf8), to: caKey)
        try Self.writePublic(Array(try ca.certificate.serializeAsPEM().pemString.utf8) + [0x0A], to: caCertificate)
        var keys: [Registry.NodeKey] = []
        for node in nodes {
            keys.append(try issueFiles(ca: ca, node: node, hosts: hosts[node] ?? [], days: days, now: now, newSigningKey: true))
        }
        try writeRegistry(Registry(federation: federation, version: 1, issuedAt: now, nodes: keys), ca: ca)
        try writeDenylist(.empty(federation: federation), ca: ca)
    }

    /// Renews one node's TLS certificate (same signing key unless `newSigningKey`); a node added
    /// to the topology after `init` is issued the same way.
    @discardableResult
    public func issue(
        federation: String, node: String, hosts: [String] = [], days: Int = 60, now: Date = Date(), newSigningKey: Bool = false
    ) throws
        -> Certificate
    {
        try Self.checkLifetime(days)
        let ca = try readAuthority(federation: federation)
        let registry = try currentRegistry(ca: ca)
        let hasKey = FileManager.default.fileExists(atPath: signingKey(node))
        // A signing key on the denylist is replaced whether or not it was asked for: keeping it
        // would give the node a working certificate whose every bundle is refused.
        let revokedKey = try hasKey && currentDenylist(ca: ca).revokes(signingKey: readSigningKey(node).publicKey)
        let key = try issueFiles(
            ca: ca, node: node, hosts: hosts, days: days, now: now, newSigningKey: newSigningKey || !hasKey || revokedKey)
        if registry.nodes.first(where: { $0.id == node }) != key {
            var nodes = registry.nodes.filter { $0.id != node }
            nodes.append(key)
            try writeRegistry(Registry(federation: federation, version: registry.version + 1, issuedAt: now, nodes: nodes), ca: ca)
        }
        return try Certificate(pemEncoded: try text(tlsCertificate(node), what: "the new certificate"))
    }

    /// Adds `node`'s current certificate (or the one with `serial`) and its signing key to the
    /// denylist, signed with a higher version. Returns the new version.
    @discardableResult
    public func revoke(federation: String, node: String, serial: String? = nil, reason: String, now: Date = Date()) throws -> UInt64 {
        let ca = try readAuthority(federation: federation)
        var list = try currentDenylist(ca: ca)
        try Self.checkNode(node)
        let certSerial: String
        if let serial {
            // Accept the forms openssl prints: `ED73…` and `ED:73:…`.
            certSerial = serial.lowercased().filter { $0 != ":" }
        } else {
            certSerial = try Certificate(pemEncoded: try text(tlsCertificate(node), what: "the certificate of node '\(node)'"))
                .serialNumber.hex
        }
        let key = try? readSigningKey(node).publicKey.rawRepresentation.base64EncodedString()
        list.revoked.append(Denylist.Entry(node: node, serial: certSerial, signingKey: serial == nil ? key : nil, reason: reason, revokedAt: now))
        list.version += 1
        list.issuedAt = ISO8601DateFormatter().string(from: now)
        try writeDenylist(list, ca: ca)
        return list.version
    }

    public func currentRegistry(ca: CertificateAuthority) throws -> Registry {
        guard let doc = try readDocument(registry) else { throw IdentityError("No registry at \(registry); run `iocnode certs init`.") }
        return try doc.open(Registry.self, type: Registry.payloadType, key: ca.privateKey.publicKey)
    }

    public func currentDenylist(ca: CertificateAuthority) throws -> Denylist {
        guard let doc = try readDocument(denylist) else { return .empty(federation: ca.federation) }
        return try doc.open(Denylist.self, type: Denylist.payloadType, key: ca.privateKey.publicKey)
    }

    func issueFiles(
        ca: CertificateAuthority, node: String, hosts: [String], days: Int, now: Date, newSigningKey: Bool
    ) throws -> Registry.NodeKey {
        try Self.checkNode(node)
        try createDirectories(node: node)
        let tls = P256.Signing.PrivateKey()
        var profile = CertificateAuthority.LeafProfile(federation: ca.federation, node: node, now: now, days: days)
        profile.add(hosts: hosts)
        let cert = try ca.issue(node: node, publicKey: tls.publicKey, profile: profile)
        try Self.writeSecret(Array(tls.pemRepresentation.utf8), to: tlsKey(node))
        try Self.writePublic(Array(try cert.serializeAsPEM().pemString.utf8) + [0x0A], to: tlsCertificate(node))
        let signing: Curve25519.Signing.PrivateKey
        if newSigningKey {
            signing = Curve25519.Signing.PrivateKey()
            try Self.writeSecret(Array(Ed25519PEM.pem(signing).utf8), to: signingKey(node))
        } else {
            signing = try readSigningKey(node)
        }
        return Registry.NodeKey(id: node, signingKey: signing.publicKey.rawRepresentation.base64EncodedString())
    }

    func writeRegistry(_ r: Registry, ca: CertificateAuthority) throws {
        try Self.writePublic(try SignedDocument(signing: r, type: Registry.payloadType, by: ca.privateKey).encoded(), to: registry)
    }

    func writeDenylist(_ d: Denylist, ca: CertificateAuthority) throws {
        try Self.writePublic(try SignedDocument(signing: d, type: Denylist.payloadType, by: ca.privateKey).encoded(), to: denylist)
    }

    static func checkNode(_ node: String) throws {
        guard NodeName.isValidID(node) else {
            throw IdentityError("'\(node)' is not a node id ([a-z0-9][a-z0-9-]*).")
        }
    }

    static func checkLifetime(_ days: Int) throws {
        guard (30...90).contains(days) else {
            throw IdentityError("--days must be between 30 and 90: long enough for a commune offline for days, short enough to limit a stolen key.")
        }
    }
}
