import ArgumentParser
import CairnCore
import CairnLedger
import CairnS3
import CairnStore
import Foundation

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

            With --objects s3://BUCKET/PREFIX the objects are to live in that bucket (which must exist): init first \
            lists and writes the bucket with the credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, \
            AWS_SESSION_TOKEN and AWS_REGION, and exits 2 saying what is wrong when it cannot; the store records \
            the bucket, prefix and endpoint in s3.json, never the credentials. Needs a cairn built with the S3 \
            trait (swift build --traits S3).

            With --ledger postgres://USER@HOST:PORT/DATABASE the ledger lives in that PostgreSQL database (the \
            password comes from PGPASSWORD or a passfile, never from the URL); this needs a build with the \
            PostgreSQL package trait (swift build --traits PostgreSQL).
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

    @Option(help: ArgumentHelp("Keep the objects in an S3 bucket.", valueName: "s3://BUCKET/PREFIX"))
    var objects: String?

    @Option(
        name: .customLong("s3-endpoint"),
        help: ArgumentHelp("The S3 service (default: AWS in $AWS_REGION).", valueName: "http(s)://HOST[:PORT]")
    )
    var s3Endpoint: String?

    @Option(help: "Keep the ledger in PostgreSQL: postgres://USER@HOST:PORT/DATABASE[?schema=NAME].")
    var ledger: String?

    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let path = storeOptions.storePath
        // The bucket is checked before anything is written, so a failed init leaves nothing behind.
        var s3Location: S3Location?
        if let objects {
            s3Location = try S3Support.checkedLocation(objects, endpoint: s3Endpoint, algorithm: algorithm)
        } else if s3Endpoint != nil {
            throw CLIError("--s3-endpoint goes with --objects s3://BUCKET/PREFIX")
        }
        // Reach the ledger's database before making anything, so a failure leaves no half-made store.
        if let ledger {
            try LedgerBackend.validate(url: ledger)
            let storage = try LedgerBackend.openPostgres(url: ledger)
            do {
                _ = try storage.withExclusiveAccess { try storage.recover() }
            } catch {
                throw CLIError("\(error)", exitCode: 2)
            }
        }
        let store: ObjectStore
        do {
            store = try ObjectStore.create(at: path, algorithm: algorithm, durability: durability)
        } catch {
            throw StoreExit.cliError(error)
        }
        if let s3Location {
            do {
                try S3StoreFile.write(s3Location, storeRoot: store.root)
            } catch {
                throw CLIError("cannot record the S3 location in \(store.root): \(error)")
            }
        }
        let key: NoteVerifier
        do {
            key = try Ledger.initialize(storeRoot: store.root, origin: origin)
        } catch {
            throw CLIError("cannot make the ledger's signing key in \(store.root): \(error)")
        }
        if let ledger {
            let file = LedgerBackend.locationFile(storeRoot: store.root)
            guard FileManager.default.createFile(atPath: file, contents: Data((ledger + "\n").utf8)) else {
                throw CLIError("cannot write \(file)")
            }
        }
        if json {
            try JSONOutput.print(InitReport(configuration: store.configuration, origin: key.name))
        } else {
            Terminal.print(
                "Initialized an empty Cairn store in \(path) (\(algorithm.rawValue), durability \(durability.rawValue))"
            )
            Terminal.print("Ledger checkpoints are signed as \(key.name)")
            if let s3Location {
                Terminal.print("Objects are to be kept in \(s3Location) (\(s3Location.endpoint ?? "AWS"))")
            }
            if let ledger { Terminal.print("The ledger lives in \(ledger)") }
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
