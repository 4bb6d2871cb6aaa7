import ArgumentParser
import CairnCore
import CairnStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `cairn put`: stores files (or standard input) and prints their digests.
struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put",
        abstract: "Store files (or - for standard input) and print their digests.",
        discussion: """
            Prints `<digest>  <path>` per input (sha256sum style), each line once that object is stored as \
            durably as the store's policy says. Every input is checked before anything is stored: a missing or \
            unreadable file is exit 2 with nothing stored.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print a JSON array of {\"path\", \"digest\", \"size\", \"stored\"}.")
    var json = false

    @Option(help: "Override the store's durability for this put: object, batch or none.", transform: parseChoice)
    var durability: Durability?

    @Argument(help: ArgumentHelp("Files to store; - reads standard input.", valueName: "file"), completion: .file())
    var files: [String]

    func validate() throws {
        if files.isEmpty { throw ValidationError("put needs at least one FILE (or - for standard input)") }
        if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("- (standard input) may be given only once") }
    }

    struct Line: Encodable {
        var path: String
        var digest: String
        var size: Int64
        var stored: Bool
    }

    func run() throws {
        let store = try storeOptions.openStore()
        let sources: [PutSource] = files.map { $0 == "-" ? .descriptor(STDIN_FILENO) : .file($0) }
        let mode = durability ?? store.configuration.durability
        var lines: [Line] = []
        do {
            try store.checkInputs(sources)
            // A batch becomes visible all at once; otherwise print each line as soon as its object is stored.
            let groups: [[PutSource]] = mode == .batch ? [sources] : sources.map { [$0] }
            for group in groups {
                let results = try store.putBatch(group, durability: mode)
                for (source, result) in zip(group, results) {
                    let line = Line(
                        path: source.displayName,
                        digest: result.digest.description,
                        size: result.size,
                        stored: result.stored
                    )
                    if json {
                        lines.append(line)
                    } else {
                        Terminal.print("\(line.digest)  \(line.path)")
                        if mode != .batch { fflush(nil) }
                    }
                }
            }
        } catch {
            throw StoreExit.cliError(error)
        }
        if json { try Terminal.printJSON(lines) }
    }
}
