import ArgumentParser
import CairnExport
import CairnLedger
import CairnManifest

/// `cairn export`: provenance in other tools' formats (spec/export.md).
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the ledger's runs in other tools' formats: Parquet datasets, OpenLineage events.",
        subcommands: [
            // One entry per line.
            ExportParquetCommand.self,
            ExportOpenLineageCommand.self,
            ExportInTotoCommand.self,
        ]
    )
}

/// Maps export errors onto exit codes: 2 for a bad `--since`, an unusable folder or an unreadable manifest, and
/// for IO failures.
extension ExportExit {
    static func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ExportError {
            throw CLIError(error.message, exitCode: 2)
        } catch {
            throw LedgerExit.cliError(error)
        }
    }

    static func since(_ text: String?, ledger: Ledger) throws -> ExportSince {
        guard let text else { return .all }
        return try run { try ExportSince.parse(text, ledger: ledger) }
    }
}

/// `cairn export parquet OUT_DIR`.
struct ExportParquetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parquet",
        abstract: "Write runs/, steps/ and assets/ Parquet datasets laid out as genblaze's ParquetSink writes them.",
        discussion: """
            Hive partitions dt=YYYY-MM-DD/tenant_id=T/modality=M/provider=P, genblaze's columns then Cairn's \
            (spec/export.md). Incremental: OUT_DIR/_cairn_export.json remembers what was exported, so a second \
            export writes only new or changed runs, and a run is always one row. Each file is written under a hidden \
            temporary name, synced and renamed. Exit 2 for a --since that is neither a run ID nor a time.
            """
    )

    enum Compression: String, CaseIterable, ExpressibleByArgument { case zstd, none }

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Export only runs recorded after this run ID, or at or after this time (RFC 3339 or YYYY-MM-DD).")
    var since: String?

    @Option(help: "Page compression: zstd or none.")
    var compression: Compression = .zstd

    @Flag(help: "Print a JSON summary.")
    var json = false

    @Argument(help: "The output folder (created when missing).", completion: .directory)
    var outDir: String

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let since = try ExportExit.since(since, ledger: ledger)
        let export = ParquetExport(
            directory: outDir,
            compression: compression == .zstd ? .zstd : .none,
            createdBy: "cairn version \(CairnVersion.string)"
        )
        let summary = try ExportExit.run { try export.export(from: ledger, since: since) }
        if json {
            try JSONOutput.printCanonical(
                JSONValue.object([
                    "runs": .integer(JSONInteger(summary.runs)),
                    "rows": .object(
                        JSONObject(
                            summary.rows.sorted { $0.key < $1.key }.map { ($0.key, .integer(JSONInteger($0.value))) }
                        )
                    ),
                    "files_written": .array(summary.filesWritten.map { .string($0) }),
                    "files_removed": .array(summary.filesRemoved.map { .string($0) }),
                    "batch": .integer(JSONInteger(summary.batch)),
                ])
            )
        } else {
            let rows = ["runs", "steps", "assets"].map { "\(summary.rows[$0] ?? 0) \($0)" }.joined(separator: ", ")
            Terminal.print(
                "exported \(summary.runs) runs (\(rows) rows) in \(summary.filesWritten.count) files to \(outDir)"
            )
        }
    }
}

/// `cairn export openlineage`.
struct ExportOpenLineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openlineage",
        abstract: "Print OpenLineage RunEvents: START, then COMPLETE, FAIL or ABORT per run, one JSON per line.",
        discussion: """
            OpenLineage 2-0-2 RunEvents (spec/export.md): the job is the run's name (else its ID) in --namespace, a \
            ParentRunFacet names the parent run, inputs and outputs are datasets named by digest (sha256:HEX). \
            Exit 2 for a --since that is neither a run ID nor a time.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "Export only runs recorded after this run ID, or at or after this time (RFC 3339 or YYYY-MM-DD).")
    var since: String?

    @Option(help: "The namespace of jobs and datasets.")
    var namespace = "cairn"

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let since = try ExportExit.since(since, ledger: ledger)
        let export = OpenLineageExport(namespace: namespace, producer: "urn:cairn:\(CairnVersion.string)")
        let lines = try ExportExit.run { try export.events(from: ledger, since: since) }
        var text = ""
        for line in lines { text += line + "\n" }
        Terminal.write(text)
    }
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
