import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn ledger checkpoint`: prints the latest signed checkpoint.
struct LedgerCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the latest signed checkpoint (C2SP signed note) and, with --json, the verifier key."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON: {origin, tree_size, root_hash, checkpoint, verifier_key}.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let published = try LedgerExit.run { try ledger.publishedCheckpoint() }
        if json {
            try JSONOutput.printCanonical(published)
        } else {
            LedgerExit.writeStdout(published.note)
        }
    }
}
