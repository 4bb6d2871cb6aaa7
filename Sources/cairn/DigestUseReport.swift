import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest

/// What `made` and `used` share: look the digest up in the ledger and print the runs.
enum DigestUseReport {
    static func run(storeOptions: StoreOptions, digest text: String, produced: Bool, json: Bool) throws {
        let digest = try StoreExit.parseDigest(text)
        let ledger = try storeOptions.openLedger()
        let uses = try LedgerExit.run {
            produced ? try ledger.runs(producing: digest) : try ledger.runs(consuming: digest)
        }
        if json {
            try JSONOutput.printCanonical(uses)
        } else {
            for use in uses {
                Terminal.print("\(use.runID)  step \(use.stepIndex.map(String.init) ?? "-")  \(use.mediaType ?? "")")
            }
        }
        if uses.isEmpty {
            throw CLIError("no run in the ledger \(produced ? "produced" : "consumed") \(digest)", exitCode: 1)
        }
    }
}

/// The operands of `made` and `used`: a store, one digest, and `--json`.
struct DigestQuery: ParsableArguments {
    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The object digest (algo:hex).")
    var digest: String

    @Flag(help: "Print JSON (one array).")
    var json = false
}
