import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn ledger consistency OLD NEW`: a consistency proof between two tree sizes.
struct LedgerConsistencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Print the consistency proof that the tree of OLD_SIZE entries is a prefix of NEW_SIZE."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The older tree size.")
    var oldSize: UInt64

    @Argument(help: "The newer tree size (default: the latest checkpoint's size).")
    var newSize: UInt64?

    @Flag(help: "Print the bundle as JSON (the only format).")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let bundle = try LedgerExit.run {
            try ledger.consistencyBundle(oldSize: oldSize, newSize: try newSize ?? ledger.checkpoint().size)
        }
        try JSONOutput.printCanonical(bundle.jsonValue)
    }
}
