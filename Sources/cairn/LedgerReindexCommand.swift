import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn ledger reindex`: rebuilds the lineage index (SQLite, or PostgreSQL beside a PostgreSQL ledger) from the log.
struct LedgerReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract:
            "Delete and rebuild the derived lineage index from the log (index.sqlite, or in PostgreSQL beside a "
            + "PostgreSQL ledger)."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print {entries} as JSON.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let count = try LedgerExit.run { try ledger.reindex() }
        if json {
            try JSONOutput.printCanonical(.object(JSONObject([("entries", .integer(JSONInteger(Int(count))))])))
        } else {
            Terminal.print("Indexed \(count) entries")
        }
    }
}
