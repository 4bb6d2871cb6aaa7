import ArgumentParser
import CairnExport
import CairnLedger
import _CairnSystem

/// `cairn bundle RUN_ID -o FILE`: one file that proves a run offline (spec/bundle.md).
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Write one self-contained file proving a run: manifest, receipts, inclusion proofs, checkpoint, key.",
        discussion: """
            `cairn verify --bundle FILE [--key KEY] [--assets DIR]` checks it with no store and no ledger. The file \
            is written whole (temporary file, sync, rename) or not at all.

            Exit codes: 0 written; 2 no such run, or the file cannot be written.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID.")
    var runID: String

    @Option(name: .shortAndLong, help: ArgumentHelp("The bundle file to write.", valueName: "file"))
    var output: String

    func run() throws {
        let ledger = try storeOptions.openLedger()
        do {
            let bytes = try RunBundle.make(ledger: ledger, runID: runID)
            try SystemCalls.publish(bytes, at: output, mode: 0o644, sync: true)
        } catch {
            throw CLIError(ExportExit.message(error), exitCode: 2)
        }
    }
}
