import Foundation
import Testing

/// `iocnode serve` is HTTPS with certificates or nothing: plain HTTP needs `--insecure-dev`, and
/// only on loopback; missing certificates are explained, not crashed on.
@Suite struct ServeSecurityTests {
    static var topology: String { ProcessSupport.shippedTopology() }

    @Test func insecureDevIsRefusedOffLoopback() throws {
        let root = try ProcessSupport.tempDirectory("insecure")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try ProcessSupport.run(
            ["serve", "--topology", Self.topology, "--node", "hai-chau", "--data", root, "--listen", "0.0.0.0:0", "--insecure-dev"],
            timeout: 30)
        #expect(r.status != 0)
        #expect(r.output.contains("loopback"), "\(r.output)")
    }

    @Test func missingCertificatesAreExplained() throws {
        let root = try ProcessSupport.tempDirectory("nocerts")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let r = try ProcessSupport.run(
            ["serve", "--topology", Self.topology, "--node", "hai-chau", "--data", root, "--certs", root + "/none", "--listen", "127.0.0.1:0"],
            timeout: 30)
        #expect(r.status != 0)
        #expect(r.output.contains("iocnode certs init") && r.output.contains("--insecure-dev"), "\(r.output)")
    }

    @Test func aTLSKeyReadableByOthersIsRefused() throws {
        let root = try ProcessSupport.tempDirectory("keymode")
        defer { try? FileManager.default.removeItem(atPath: root) }
        let made = try ProcessSupport.run(["certs", "init", "--topology", Self.topology, "--out", root + "/certs"], timeout: 60)
        #expect(made.status == 0, "\(made.output)")
        chmod(root + "/certs/nodes/hai-chau/tls.key", 0o644)
        let r = try ProcessSupport.run(
            ["serve", "--topology", Self.topology, "--node", "hai-chau", "--data", root + "/data", "--certs", root + "/certs", "--listen", "127.0.0.1:0"],
            timeout: 30)
        #expect(r.status != 0)
        #expect(r.output.contains("chmod 600"), "\(r.output)")
    }
}
