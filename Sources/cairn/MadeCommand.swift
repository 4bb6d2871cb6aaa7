import ArgumentParser

/// `cairn made DIGEST`: the runs that produced an object.
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
