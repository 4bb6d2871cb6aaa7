import ArgumentParser
import CairnExport
import CairnLedger
import CairnManifest

/// `cairn export FORMAT ...`: provenance in other formats.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export provenance in other formats.",
        subcommands: [
            // One entry per format; keep one entry per line.
            ExportInTotoCommand.self
        ]
    )
}

/// `cairn export intoto RUN_ID [--sign]`: an in-toto Statement v1 with an SLSA Provenance v1 predicate.
struct ExportInTotoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "intoto",
        abstract: "Print a run as an in-toto Statement v1 with an SLSA Provenance v1 predicate (spec/attestation.md).",
        discussion: """
            Subjects are the run's outputs (sha256, and blake2b-256 when the store names objects by it); \
            resolvedDependencies are its inputs; the invocation id is the run id. --sign wraps the statement in a \
            DSSE envelope signed with the ledger's Ed25519 key; `cairn verify --attestation FILE` checks it.

            Exit codes: 0 printed; 2 no such run, or a run without outputs.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Sign: print a DSSE envelope instead of the bare statement.")
    var sign = false

    @Argument(help: "The run ID.")
    var runID: String

    func run() throws {
        let ledger = try storeOptions.openLedger()
        do {
            let statement = try InTotoAttestation.statement(
                ledger: ledger,
                runID: runID,
                builderVersion: ["cairn": CairnVersion.string]
            )
            let value = sign ? try InTotoAttestation.envelope(statement: statement, ledger: ledger) : statement
            Terminal.print(try CanonicalJSON.string(value))
        } catch {
            throw CLIError(ExportExit.message(error), exitCode: 2)
        }
    }
}
