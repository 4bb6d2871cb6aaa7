import ArgumentParser
import CairnExport
import CairnLedger

/// `cairn report RUN_ID|--all -o FILE`: the lineage report, one self-contained HTML file (docs/report.md).
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a run's lineage (or every run's) as one self-contained HTML file.",
        discussion: """
            The page shows the lineage graph as SVG (laid out by Graphviz's `dot`: apt-get install graphviz), a \
            card per run (name, prompt, params, provider, status, attempts as a timeline, verification badge), \
            images, audio and video up to --embed-limit bytes each, and links between parent and child runs. It \
            loads nothing from the network. Exit 1 when the run has no manifest entry; 2 when `dot` is missing or \
            fails, or the file cannot be written (nothing is left behind).
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID (its ancestors and descendants are shown).")
    var runID: String?

    @Flag(help: "Show every run in the ledger.")
    var all = false

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("The HTML file to write.", valueName: "file"))
    var output: String

    @Option(help: ArgumentHelp("Embed images, audio and video of at most this many bytes each.", valueName: "bytes"))
    var embedLimit: Int = 1 << 20

    @Option(help: ArgumentHelp("The Graphviz `dot` to run (default: the first on PATH).", valueName: "path"))
    var dot: String?

    @Flag(help: "Skip manifest verification (the badges say 'not verified').")
    var noVerify = false

    func validate() throws {
        if all == (runID != nil) { throw ValidationError("Give a RUN_ID or --all (one of them).") }
        if embedLimit < 0 { throw ValidationError("--embed-limit must be 0 or more.") }
    }

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let options = LineageReport.Options(embedLimit: embedLimit, dotPath: dot, verify: !noVerify)
        do {
            let html = try LineageReport.html(for: runID.map { .run($0) } ?? .all, in: ledger, options: options)
            try LineageReport.write(html, to: output)
        } catch {
            throw CLIError(error.message, exitCode: error.kind == .runNotFound ? 1 : 2)
        }
    }
}
