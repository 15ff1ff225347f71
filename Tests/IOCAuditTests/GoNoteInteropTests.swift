import Crypto
import Foundation
import IOCAudit
import Testing

/// Our checkpoints checked by a third-party implementation: Go's `golang.org/x/mod/sumdb/note`
/// (Debian `golang-golang-x-mod-dev`), and notes Go signs checked by ours. `.ci/run` installs Go
/// and the package; on a machine without them the test says so and is skipped, except in CI
/// (`CI` set), where their absence is a failure.
@Suite struct GoNoteInteropTests {
    static let gopath = "/usr/share/gocode"

    /// `verify VKEY NOTE`: prints the verified text, exit 1 when it does not verify.
    /// `sign NAME TEXT`: prints the vkey line, then the signed note.
    static let program = """
        package main

        import (
        \t"crypto/rand"
        \t"fmt"
        \t"os"

        \t"golang.org/x/mod/sumdb/note"
        )

        func main() {
        \tswitch os.Args[1] {
        \tcase "verify":
        \t\tvkey, _ := os.ReadFile(os.Args[2])
        \t\tmsg, _ := os.ReadFile(os.Args[3])
        \t\tv, err := note.NewVerifier(string(vkey))
        \t\tif err != nil {
        \t\t\tfmt.Println("bad key:", err)
        \t\t\tos.Exit(2)
        \t\t}
        \t\tn, err := note.Open(msg, note.VerifierList(v))
        \t\tif err != nil {
        \t\t\tfmt.Println("not verified:", err)
        \t\t\tos.Exit(1)
        \t\t}
        \t\tfmt.Print(n.Text)
        \tcase "sign":
        \t\tskey, vkey, _ := note.GenerateKey(rand.Reader, os.Args[2])
        \t\ts, _ := note.NewSigner(skey)
        \t\tmsg, err := note.Sign(&note.Note{Text: os.Args[3]}, s)
        \t\tif err != nil {
        \t\t\tfmt.Println(err)
        \t\t\tos.Exit(2)
        \t\t}
        \t\tfmt.Println(vkey)
        \t\tfmt.Print(string(msg))
        \t}
        }
        """

    /// The `go` binary and a working directory with the program, or nil when Go is not installed.
    static func go() throws -> (go: String, dir: String)? {
        let go = ["/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let go, FileManager.default.fileExists(atPath: gopath + "/src/golang.org/x/mod/sumdb/note/note.go") else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                Issue.record("Go or golang-golang-x-mod-dev is missing: .ci/run must install them")
            }
            return nil
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("go-note-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir + "/cache", withIntermediateDirectories: true)
        try program.write(toFile: dir + "/main.go", atomically: true, encoding: .utf8)
        // Build once; GOPATH mode reads the Debian package's source, no network.
        let built = try run(go, ["build", "-o", dir + "/gonote", dir + "/main.go"], dir: dir)
        guard built.status == 0 else {
            Issue.record("building the Go verifier failed: \(built.output)")
            return nil
        }
        return (go, dir)
    }

    static func run(_ tool: String, _ args: [String], dir: String) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = [
            "GO111MODULE": "off", "GOPATH": gopath, "GOCACHE": dir + "/cache", "HOME": dir, "PATH": "/usr/bin:/bin",
            "GOFLAGS": "", "GOTOOLCHAIN": "local",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func goVerifiesOurCheckpointsAndRejectsTamperedOnes() throws {
        guard let (_, dir) = try Self.go() else { return }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let signer = try NoteSigner(name: "test-fed/log/hai-chau", privateKey: Curve25519.Signing.PrivateKey())
        let checkpoint = try Checkpoint(origin: signer.name, size: 42, root: Array(SHA256.hash(data: Array("gốc".utf8))))
        let note = try checkpoint.signed(by: signer)
        try (signer.verifierKey.text).write(toFile: dir + "/key", atomically: true, encoding: .utf8)
        try note.write(toFile: dir + "/note", atomically: true, encoding: .utf8)
        let ok = try Self.run(dir + "/gonote", ["verify", dir + "/key", dir + "/note"], dir: dir)
        #expect(ok.status == 0, "\(ok.output)")
        #expect(ok.output == checkpoint.body)
        // One changed digit of the size: Go refuses it too.
        try note.replacingOccurrences(of: "\n42\n", with: "\n43\n").write(toFile: dir + "/note", atomically: true, encoding: .utf8)
        let bad = try Self.run(dir + "/gonote", ["verify", dir + "/key", dir + "/note"], dir: dir)
        #expect(bad.status == 1, "\(bad.output)")
    }

    @Test func weVerifyNotesGoSigns() throws {
        guard let (_, dir) = try Self.go() else { return }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let body = "test-fed/log/province\n7\n\(Data(repeating: 9, count: 32).base64EncodedString())\n"
        let signed = try Self.run(dir + "/gonote", ["sign", "test-fed/log/province", body], dir: dir)
        #expect(signed.status == 0, "\(signed.output)")
        let lines = signed.output.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        let key = try NoteVerifierKey(parsing: String(lines[0]))
        let note = String(lines[1])
        let verified = try NoteVerifier(keys: [key]).verify(note)
        #expect(verified.text == body)
        #expect(try Checkpoint(parsingBody: verified.text).size == 7)
        #expect(throws: AuditError.self) { try NoteVerifier(keys: [key]).verify(note.replacingOccurrences(of: "\n7\n", with: "\n8\n")) }
    }
}
