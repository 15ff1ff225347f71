import Crypto
import Foundation
import SwiftASN1
import X509

/// The federation's private CA: it issues every node's TLS certificate and signs the trust
/// documents (registry of signing keys, denylist). One per federation, created by
/// `iocnode certs init`; its key should live offline once the nodes are issued.
public struct CertificateAuthority: Sendable {
    public let federation: String
    public let certificate: Certificate
    public let privateKey: P256.Signing.PrivateKey

    public init(federation: String, certificate: Certificate, privateKey: P256.Signing.PrivateKey) {
        self.federation = federation
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// A new CA valid for `years` from `now` (five minutes of back-dating absorb clock skew).
    public static func create(federation: String, now: Date = Date(), years: Int = 10) throws -> CertificateAuthority {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("IOC Federation \(federation)")
            CommonName("IOC Federation CA \(federation)")
        }
        let caKey = Certificate.PrivateKey(key)
        let cert = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: caKey.publicKey,
            notValidBefore: now - 300, notValidAfter: now + Double(years) * 365 * 86_400, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: caKey.publicKey)
            },
            issuerPrivateKey: caKey)
        return CertificateAuthority(federation: federation, certificate: cert, privateKey: key)
    }

    /// What a node certificate says; the defaults are the only shape `iocnode` issues. Tests bend
    /// the other fields to build every wrong certificate the TLS matrix refuses.
    public struct LeafProfile: Sendable {
        /// Adds the hosts of a node's URLs: IP literals as IP SANs, names as DNS SANs, so the user
        /// API verifies in browsers and curl at the address the topology gives.
        public mutating func add(hosts: [String]) {
            for host in hosts {
                if let ip = Self.ipBytes(host) {
                    if !ipAddresses.contains(ip) { ipAddresses.append(ip) }
                } else if !dnsNames.contains(host) {
                    dnsNames.append(host)
                }
            }
        }

        static func ipBytes(_ host: String) -> [UInt8]? {
            var v4 = in_addr()
            if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
            var v6 = in6_addr()
            if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
            return nil
        }

        public var notValidBefore: Date
        public var notValidAfter: Date
        public var uris: [String]
        public var dnsNames: [String]
        /// IPv4/IPv6 literals people and tools use to reach the node (from its topology URLs).
        public var ipAddresses: [[UInt8]]
        public var usages: [ExtendedKeyUsage.Usage]
        public var isCA: Bool

        public init(
            federation: String, node: String, now: Date = Date(), days: Int = 60,
            usages: [ExtendedKeyUsage.Usage] = [.serverAuth, .clientAuth]
        ) {
            notValidBefore = now - 300
            notValidAfter = now + Double(days) * 86_400
            uris = [NodeName.spiffeID(federation: federation, node: node)]
            dnsNames = [NodeName.dnsName(federation: federation, node: node)]
            ipAddresses = []
            self.usages = usages
            isCA = false
        }
    }

    /// A node's TLS certificate for `publicKey` (P-256), signed by this CA.
    public func issue(node: String, publicKey: P256.Signing.PublicKey, profile: LeafProfile) throws -> Certificate {
        try Self.sign(
            subject: DistinguishedName {
                OrganizationName("IOC Federation \(federation)")
                CommonName(node)
            },
            publicKey: Certificate.PublicKey(publicKey), profile: profile, issuer: certificate.subject,
            issuerKey: Certificate.PrivateKey(privateKey),
            authorityKeyID: try certificate.extensions.subjectKeyIdentifier?.keyIdentifier)
    }

    /// Signs a leaf with any issuer key; used by ``issue(node:publicKey:profile:)`` and, in tests,
    /// to build leaves signed by leaves or by a foreign CA.
    public static func sign(
        subject: DistinguishedName, publicKey: Certificate.PublicKey, profile: LeafProfile, issuer: DistinguishedName,
        issuerKey: Certificate.PrivateKey, authorityKeyID: ArraySlice<UInt8>?
    ) throws -> Certificate {
        var names: [GeneralName] = profile.uris.map { .uniformResourceIdentifier($0) }
        names += profile.dnsNames.map { .dnsName($0) }
        names += profile.ipAddresses.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let extensions = try Certificate.Extensions {
            Critical(profile.isCA ? BasicConstraints.isCertificateAuthority(maxPathLength: 0) : BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage(profile.usages)
            if !names.isEmpty { SubjectAlternativeNames(names) }
            if let authorityKeyID { AuthorityKeyIdentifier(keyIdentifier: authorityKeyID) }
        }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: profile.notValidBefore, notValidAfter: profile.notValidAfter, issuer: issuer, subject: subject,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: issuerKey)
    }
}

extension Certificate.SerialNumber {
    /// Lowercase hex, the form the denylist and `certs` commands use.
    public var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
}
