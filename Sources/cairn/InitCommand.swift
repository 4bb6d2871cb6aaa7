import ArgumentParser
import CairnCore
import CairnStore

/// Parses an enum option by its raw value, or fails with a usage error listing the choices.
func parseChoice<T: RawRepresentable & CaseIterable>(_ text: String) throws -> T where T.RawValue == String {
    if let value = T(rawValue: text) { return value }
    let choices = T.allCases.map(\.rawValue).joined(separator: ", ")
    throw ValidationError("'\(text)' is not one of: \(choices)")
}

/// `cairn init`: creates a store.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a new, empty store.",
        discussion: "Refuses to touch a directory that already holds a store (exit 2)."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The digest algorithm objects are named by: sha256 or blake2b-256.", transform: parseChoice)
    var algorithm: DigestAlgorithm = .sha256

    @Option(
        help: "When a put is durable: object (each object), batch (one sync per put), none.",
        transform: parseChoice
    )
    var durability: Durability = .object

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let path = storeOptions.storePath
        let store: ObjectStore
        do {
            store = try ObjectStore.create(at: path, algorithm: algorithm, durability: durability)
        } catch {
            throw StoreExit.cliError(error)
        }
        if json {
            try Terminal.printJSON(store.configuration)
        } else {
            Terminal.print(
                "Initialized an empty Cairn store in \(path) (\(algorithm.rawValue), durability \(durability.rawValue))"
            )
        }
    }
}
