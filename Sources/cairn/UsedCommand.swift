import ArgumentParser

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
