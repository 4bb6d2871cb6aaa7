import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest

/// `cairn show RUN_ID`: a run's manifest and its receipts.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a run's manifest, receipts and tags.",
        discussion: "Exit 1 when the ledger has no manifest or receipt for the run."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID.")
    var runID: String

    @Flag(help: "Print JSON: {run, manifest, receipts, tags}.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        guard let record = try LedgerExit.run({ try ledger.runRecord(runID) }) else {
            throw CLIError("no run \(runID) in the ledger", exitCode: 1)
        }
        let (summary, manifest, receipts, tags) = (record.summary, record.manifest, record.receipts, record.tags)
        let manifestValue = try manifest.map { try JSONReader.parse($0) } ?? .null
        if json {
            try JSONOutput.printCanonical(try record.jsonValue())
            return
        }
        if let summary {
            Terminal.print("run       \(summary.runID)")
            Terminal.print("name      \(summary.name ?? "-")")
            Terminal.print("status    \(summary.status ?? "-")")
            Terminal.print("parent    \(summary.parentRunID ?? "-")")
            Terminal.print("hash      \(summary.canonicalHash)")
            Terminal.print("manifest  \(summary.manifestDigest) (entry \(summary.entryIndex), \(summary.timestamp))")
        } else {
            Terminal.print("run       \(runID) (no manifest yet)")
        }
        for tag in tags { Terminal.print("tag       \(tag.key)=\(tag.value)") }
        for receipt in receipts {
            let outputs = receipt.outputs.map(\.digest.description).joined(separator: " ")
            Terminal.print(
                "step \(receipt.stepIndex) \(receipt.stepName) attempt \(receipt.attempt): \(receipt.status)"
                    + " via \(receipt.provider) \(receipt.startedAt) -> \(receipt.finishedAt)"
                    + (outputs.isEmpty ? "" : " outputs \(outputs)") + (receipt.error.map { " error: \($0)" } ?? "")
            )
        }
        if manifest != nil {
            Terminal.print("")
            Terminal.print(try CanonicalJSON.string(manifestValue))
        }
    }
}
