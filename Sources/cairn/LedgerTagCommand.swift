import ArgumentParser
import CairnLedger
import CairnManifest

/// `cairn ledger tag RUN_ID KEY=VALUE`: records run metadata after the fact.
struct LedgerTagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Tag a run after the fact (e.g. selected=true); VALUE is JSON, or else taken as a string."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID.")
    var runID: String

    @Argument(help: "KEY=VALUE")
    var assignment: String

    func run() throws {
        guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
            throw CLIError("expected KEY=VALUE, got '\(assignment)'", exitCode: 2)
        }
        let key = String(assignment[..<equals])
        let text = String(assignment[assignment.index(after: equals)...])
        let value = (try? JSONReader.parse(text)) ?? .string(text)
        let ledger = try storeOptions.openLedger()
        let ref = try LedgerExit.run { try ledger.appendTag(runID: runID, key: key, value: value) }
        Terminal.print("\(ref.index) \(ref.leafHash.hex)")
    }
}
