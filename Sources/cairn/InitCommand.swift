import ArgumentParser
import CairnCore
import CairnLedger
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
        discussion: """
            Refuses to touch a directory that already holds a store (exit 2). Also makes the ledger's Ed25519 \
            signing key; its name (the checkpoint origin line) is --origin, or cairn.local/<random hex>.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "The digest algorithm objects are named by: sha256 or blake2b-256.", transform: parseChoice)
    var algorithm: DigestAlgorithm = .sha256

    @Option(
        help: "When a put is durable: object (each object), batch (one sync per put), none.",
        transform: parseChoice
    )
    var durability: Durability = .object

    @Option(help: "The ledger's checkpoint origin (default: cairn.local/<random hex>).")
    var origin: String?

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
        let key: NoteVerifier
        do {
            key = try Ledger.initialize(storeRoot: store.root, origin: origin)
        } catch {
            throw CLIError("cannot make the ledger's signing key in \(store.root): \(error)")
        }
        if json {
            try JSONOutput.print(InitReport(configuration: store.configuration, origin: key.name))
        } else {
            Terminal.print(
                "Initialized an empty Cairn store in \(path) (\(algorithm.rawValue), durability \(durability.rawValue))"
            )
            Terminal.print("Ledger checkpoints are signed as \(key.name)")
        }
    }
}

/// What `cairn init --json` prints: the store's configuration and the ledger's checkpoint origin.
private struct InitReport: Encodable {
    var configuration: StoreConfiguration
    var origin: String

    func encode(to encoder: any Encoder) throws {
        try configuration.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(origin, forKey: .origin)
    }

    private enum CodingKeys: String, CodingKey {
        case origin
    }
}
