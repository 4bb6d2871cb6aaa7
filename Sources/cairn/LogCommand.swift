import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn log`: the runs in the ledger, newest first.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "List the runs recorded in the ledger, newest first."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(name: .short, help: "Show at most this many runs.")
    var n: Int?

    @Flag(help: "Print the runs as JSON (one array).")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let runs = try LedgerExit.run { try ledger.runs(limit: n) }
        if json {
            try JSONOutput.printCanonical(runs)
            return
        }
        for run in runs {
            Terminal.print(
                "\(run.runID)  \(run.timestamp)  \(run.status ?? "-")  \(run.name ?? "-")"
                    + "  parent=\(run.parentRunID ?? "-")  hash=\(run.canonicalHash)"
            )
        }
    }
}
