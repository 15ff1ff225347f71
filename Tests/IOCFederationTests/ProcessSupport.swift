import Foundation
import IOCModel
import IOCStore
import Testing

/// Helpers for tests that drive real `iocnode` processes. Every process is started with a time
/// limit and killed in `defer`, and every directory is removed afterwards.
enum ProcessSupport {
    /// The `iocnode` binary built next to the test bundle.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if dir.lastPathComponent.hasSuffix(".xctest") { dir.deleteLastPathComponent() }
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("iocnode")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath + "/.build/debug/iocnode")
    }

    /// The repository's `Topology/NAME`.
    static func shippedTopology(_ name: String = "test-small.yaml") -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Topology/\(name)").path
    }

    /// The `sharing:` section of a shipped topology, as YAML text.
    static func shippedSharing(_ name: String = "test-small.yaml") throws -> String {
        let text = try String(contentsOfFile: shippedTopology(name), encoding: .utf8)
        guard let start = text.range(of: "\nsharing:") else { throw TestFailure("\(name) has no sharing section") }
        return String(text[text.index(after: start.lowerBound)...])
    }

    static func tempDirectory(_ name: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ioc-\(name)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `iocnode ARGS` to completion (at most `timeout` seconds) and returns status and output.
    @discardableResult
    static func run(_ args: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        var data = Data()
        let reader = out.fileHandleForReading
        while p.isRunning && Date() < deadline {
            data.append(reader.availableData)
        }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            Issue.record("iocnode \(args.first ?? "") timed out after \(timeout) s")
        }
        data.append(reader.readDataToEndOfFile())
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Starts `iocnode ARGS` in the background; the caller must `stop` it.
    static func start(_ args: [String]) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        return (p, out)
    }

    static func stop(_ p: Process, signal: Int32 = SIGTERM) {
        guard p.isRunning else { return }
        kill(p.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// Reads lines from a child's stdout until one contains `marker` (bounded by `timeout`).
    static func waitForLine(_ pipe: Pipe, containing marker: String, timeout: Double = 60) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = ""
        let fd = pipe.fileHandleForReading.fileDescriptor
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var chunk = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let n = read(fd, &chunk, chunk.count)
            if n > 0 {
                buffer += String(decoding: chunk[0..<n], as: UTF8.self)
                if let line = buffer.split(separator: "\n").first(where: { $0.contains(marker) }) { return String(line) }
            } else {
                usleep(20_000)
            }
        }
        return nil
    }

    static func store(_ dir: String, node: String) throws -> NodeStore {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return try NodeStore(.init(path: dir + "/node.sqlite", nodeID: node, federation: "test"))
    }
}

/// Keeps the last lines each child process wrote (read on a thread per child until it exits), so a
/// failing wait can show what the nodes were saying, and no child stalls on a full pipe.
final class ProcessLogTails: @unchecked Sendable {
    private let lock = NSLock()
    private var tails: [String: String] = [:]

    func drain(_ node: String, _ process: Process, _ pipe: Pipe) {
        let fd = pipe.fileHandleForReading.fileDescriptor
        Thread.detachNewThread { [self] in
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = read(fd, &chunk, chunk.count)
                if n > 0 {
                    let text = String(decoding: chunk[0..<n], as: UTF8.self)
                    lock.withLock {
                        var t = (tails[node] ?? "") + text
                        if t.utf8.count > 32_000 { t = String(t.suffix(16_000)) }
                        tails[node] = t
                    }
                } else if n == 0 || !process.isRunning {
                    break
                } else {
                    usleep(50_000)
                }
            }
            withExtendedLifetime(pipe) {}
        }
    }

    /// The last `lines` lines of every node, for failure messages.
    func text(lines: Int) -> String {
        lock.withLock {
            tails.sorted { $0.key < $1.key }.map { node, text in
                "--- \(node):\n" + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
            }.joined(separator: "\n")
        }
    }
}
