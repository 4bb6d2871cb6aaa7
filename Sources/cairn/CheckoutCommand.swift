import ArgumentParser
import CairnExport
import CairnLedger

/// `cairn checkout [--link] RUN_ID DIR`: a run as a folder of plain files (spec/checkout.md).
struct CheckoutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkout",
        abstract: "Materialise a run as a folder: manifest.json, inputs/, steps/NNN_<name>/ with outputs and receipts.",
        discussion: """
            Files are reflinks where the filesystem has them, read-only (0444) copies otherwise, so editing one \
            never touches the store. --link makes hard links instead (no extra space): editing a linked file in \
            place then changes the store's object, which `cairn fsck` reports as corrupt. DIR must not exist or be \
            empty; the folder is built beside it and renamed into place, so a failure leaves nothing. `cairn verify \
            DIR` checks the folder later.

            Exit codes: 0 checked out; 2 no such run, an object missing or corrupt, DIR not empty, or an IO error.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Hard-link files to the store's objects (editing one changes the store: see above).")
    var link = false

    @Flag(help: "Print a JSON summary.")
    var json = false

    @Argument(help: "The run ID.")
    var runID: String

    @Argument(help: ArgumentHelp("The folder to create.", valueName: "dir"), completion: .directory)
    var directory: String

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let result: CheckoutResult
        do {
            result = try RunCheckout.checkout(
                ledger: ledger,
                runID: runID,
                into: directory,
                mode: link ? .link : .copy
            )
        } catch {
            throw CLIError(ExportExit.message(error), exitCode: 2)
        }
        if json {
            try JSONOutput.printCanonical(result)
        } else {
            Terminal.print(
                "checked out run \(runID) into \(result.directory): \(result.reflinked) reflinked, \(result.copied) "
                    + "copied, \(result.linked) hard-linked, \(result.written) written"
            )
        }
    }
}

/// Error text for export failures.
enum ExportExit {
    static func message(_ error: any Error) -> String {
        if let error = error as? ExportError { return error.message }
        return "\(error)"
    }

    /// Prints a verification report's findings (failures on stderr) and exits 1 when a check failed.
    static func finish(_ report: VerificationReport, json: Bool, what: String) throws {
        if json {
            try JSONOutput.printCanonical(report)
        } else {
            for finding in report.findings {
                if finding.ok { Terminal.print(finding.line) } else { Terminal.writeStderr(finding.line + "\n") }
            }
            if report.isValid {
                let pin = report.keyFromInput ? " (key taken from the file; pass --key to pin a trusted key)" : ""
                Terminal.print("OK: \(what) verified\(pin)")
            } else {
                Terminal.writeStderr("FAIL: \(what): \(report.failures.count) check(s) failed\n")
            }
        }
        if !report.isValid { throw ExitCode(1) }
    }
}
