import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest

/// `cairn made DIGEST` / `cairn used DIGEST`: the runs that produced or consumed an object.
struct MadeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "made",
        abstract: "List the runs (and steps) that produced an object.",
        discussion: "Exit 1 when no run in the ledger produced it."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The object digest (algo:hex).")
    var digest: String

    @Flag(help: "Print JSON (one array).")
    var json = false

    func run() throws {
        try DigestUseReport.run(storeOptions: storeOptions, digest: digest, produced: true, json: json)
    }
}

/// `cairn used DIGEST`: the runs that consumed an object.
struct UsedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "used",
        abstract: "List the runs (and steps) that consumed an object as input.",
        discussion: "Exit 1 when no run in the ledger consumed it."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The object digest (algo:hex).")
    var digest: String

    @Flag(help: "Print JSON (one array).")
    var json = false

    func run() throws {
        try DigestUseReport.run(storeOptions: storeOptions, digest: digest, produced: false, json: json)
    }
}

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
