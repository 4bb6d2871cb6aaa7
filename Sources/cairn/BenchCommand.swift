import ArgumentParser
import CairnStore
import Foundation

/// `cairn bench`: measures the store's filesystem, hashing and durability modes beside peer tools.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure hashing, ingest per durability mode, verified read and fsck on the store's filesystem.",
        discussion: """
            Works in a fresh folder under the store's tmp/ (removed afterwards). Prints MB/s or objects/s beside \
            the same-run figure of openssl dgst -sha256, b2sum -l 256, cp + sync and git hash-object where \
            installed, and the ratio (above 1: Cairn is faster). Single runs: use Benchmarks/compare/ for medians.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print the figures as JSON.")
    var json = false

    @Option(help: "Bytes in the large file (default 256 MiB).")
    var size: Int = 256 << 20

    @Option(help: "Number of 4 KiB files (default 2000).")
    var files: Int = 2000

    @Option(help: "Run only these measurements (comma-separated): hashing, large, small, fsck.")
    var only: String?

    func validate() throws {
        if size < 1 { throw ValidationError("--size must be at least 1") }
        if files < 1 { throw ValidationError("--files must be at least 1") }
    }

    func run() throws {
        var sections = Set(StoreBenchmark.Section.allCases)
        if let only {
            sections = []
            for name in only.split(separator: ",") {
                guard let section = StoreBenchmark.Section(rawValue: String(name)) else {
                    throw CLIError("--only: unknown measurement '\(name)' (hashing, large, small, fsck)")
                }
                sections.insert(section)
            }
        }
        let store = try storeOptions.openStore()
        let figures: [BenchmarkFigure]
        do {
            figures = try StoreBenchmark.run(
                in: store.root + "/tmp",
                options: StoreBenchmark.Options(size: size, files: files, sections: sections)
            ) { name in
                if Terminal.stderrIsTerminal { Terminal.writeStderr("\r\u{1B}[2Kbench: \(name)") }
            }
        } catch {
            throw StoreExit.cliError(error)
        }
        if Terminal.stderrIsTerminal { Terminal.writeStderr("\r\u{1B}[2K") }
        if json {
            try JSONOutput.print(figures)
            return
        }
        for figure in figures {
            var line = figure.name.padding(toLength: 42, withPad: " ", startingAt: 0)
            line += String(format: "%10.0f %-9@", figure.value, figure.unit as NSString)
            if let peer = figure.peer {
                if let peerValue = figure.peerValue, let ratio = figure.ratio {
                    line += String(format: "  %@: %.0f  ratio %.2fx", peer as NSString, peerValue, ratio)
                } else {
                    line += "  \(peer): not measured (not installed or failed)"
                }
            }
            Terminal.print(line)
        }
    }
}
