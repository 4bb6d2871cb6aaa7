import ArgumentParser

/// `cairn used DIGEST`: the runs that consumed an object.
struct UsedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "used",
        abstract: "List the runs (and steps) that consumed an object as input.",
        discussion: "Exit 1 when no run in the ledger consumed it."
    )

    @OptionGroup var query: DigestQuery

    func run() throws {
        try DigestUseReport.run(
            storeOptions: query.storeOptions,
            digest: query.digest,
            produced: false,
            json: query.json
        )
    }
}
