import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn ledger prove`: an inclusion proof bundle for a run's manifest entry or an entry index.
struct LedgerProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print an inclusion proof bundle for a run's manifest entry (or --index I), checkable offline.",
        discussion: "Check it anywhere with `cairn verify --proof FILE` (spec/ledger.md)."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID whose latest manifest entry to prove.")
    var runID: String?

    @Option(help: "Prove the entry at this index instead.")
    var index: UInt64?

    @Option(help: "The tree size to prove against (default: the latest checkpoint's size).")
    var size: UInt64?

    @Flag(help: "Print the bundle as JSON (the only format).")
    var json = false

    func validate() throws {
        guard (runID == nil) != (index == nil) else { throw ValidationError("give either RUN_ID or --index I") }
    }

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let bundle = try LedgerExit.run {
            let entryIndex = try index ?? ledger.manifestEntryIndex(runID: runID!)
            return try ledger.inclusionBundle(index: entryIndex, size: size)
        }
        try JSONOutput.printCanonical(bundle.jsonValue)
    }
}
