import ArgumentParser

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks (see docs/benchmarks.md).")
    func run() async throws { print("not yet") }
}
