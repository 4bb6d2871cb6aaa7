import ArgumentParser

/// `cairn made DIGEST`: the runs that produced an object.
struct MadeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "made",
        abstract: "List the runs (and steps) that produced an object.",
        discussion: "Exit 1 when no run in the ledger produced it."
    )

    @OptionGroup var query: DigestQuery

    func run() throws {
        try DigestUseReport.run(
            storeOptions: query.storeOptions,
            digest: query.digest,
            produced: true,
            json: query.json
        )
    }
}
