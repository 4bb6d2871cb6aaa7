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
            try LedgerExit.printJSON(
                .array(
                    uses.map {
                        .object(
                            JSONObject([
                                ("run_id", .string($0.runID)),
                                ("step_index", $0.stepIndex.map { .integer(JSONInteger($0)) } ?? .null),
                                ("role", .string($0.role)), ("media_type", LedgerExit.optional($0.mediaType)),
                                ("entry_index", .integer(JSONInteger(Int($0.entryIndex)))),
                            ])
                        )
                    }
                )
            )
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
