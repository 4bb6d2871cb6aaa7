import ArgumentParser
import CairnLedger
import CairnManifest
import Foundation

/// `cairn ledger ...`: integrity checks, checkpoints, proofs and maintenance of the ledger.
struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Verify the ledger, print checkpoints and proofs, rebuild the index, append receipts and tags.",
        subcommands: [
            LedgerVerifyCommand.self,
            LedgerCheckpointCommand.self,
            LedgerProveCommand.self,
            LedgerConsistencyCommand.self,
            LedgerReindexCommand.self,
            LedgerAppendReceiptsCommand.self,
            LedgerTagCommand.self,
        ]
    )
}

/// `cairn ledger verify`: recomputes every leaf, the tree and the checkpoint signature.
struct LedgerVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every leaf and the tree from the log and check the latest checkpoint signature.",
        discussion: "Exit 0 when all holds; 1 naming the first bad entry index; 2 when the ledger cannot be read."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        // Opening repairs what a crash leaves (a torn tail, derived files behind the log) and reports it; a log that
        // cannot be opened is still verified below, which names the bad entry.
        let store = try storeOptions.openStore()
        if let ledger = try? Ledger.open(store: store), let cut = ledger.recoveredTail {
            Terminal.error("ledger: \(cut)")
        }
        let report = try LedgerExit.run { try Ledger.verify(storeRoot: storeOptions.storePath) }
        if json {
            try LedgerExit.printJSON(
                .object(
                    JSONObject([
                        ("ok", .bool(report.isOK)), ("entries", .integer(JSONInteger(Int(report.entryCount)))),
                        ("root_hash", .string(report.rootHash.hex)),
                        ("checkpoint_size", report.checkpoint.map { .integer(JSONInteger(Int($0.size))) } ?? .null),
                        ("first_bad_index", report.firstBadIndex.map { .integer(JSONInteger(Int($0))) } ?? .null),
                        ("problems", .array(report.problems.map { .string($0.description) })),
                    ])
                )
            )
        } else if report.isOK {
            Terminal.print(
                "OK: \(report.entryCount) entries, root \(report.rootHash.hex), checkpoint signature verified"
            )
        } else {
            for problem in report.problems { Terminal.error("ledger verify: \(problem)") }
        }
        if !report.isOK {
            let index = report.firstBadIndex.map { " (first bad entry: \($0))" } ?? ""
            throw CLIError("ledger verification failed\(index)", exitCode: 1)
        }
    }
}

/// `cairn ledger checkpoint`: prints the latest signed checkpoint.
struct LedgerCheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Print the latest signed checkpoint (C2SP signed note) and, with --json, the verifier key."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print JSON: {origin, tree_size, root_hash, checkpoint, verifier_key}.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let (note, checkpoint) = try LedgerExit.run { (try ledger.checkpointNote(), try ledger.checkpoint()) }
        if json {
            try LedgerExit.printJSON(
                .object(
                    JSONObject([
                        ("origin", .string(checkpoint.origin)),
                        ("tree_size", .integer(JSONInteger(Int(checkpoint.size)))),
                        ("root_hash", .string(checkpoint.rootHash.hex)), ("checkpoint", .string(note)),
                        ("verifier_key", .string(ledger.verifier.encoded)),
                    ])
                )
            )
        } else {
            LedgerExit.writeStdout(note)
        }
    }
}

/// `cairn ledger prove`: an inclusion proof bundle for a run's manifest entry or an entry index.
struct LedgerProveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prove",
        abstract: "Print an inclusion proof bundle for a run's manifest entry (or --index I), checkable offline.",
        discussion: "Check it anywhere with `cairn verify --proof FILE` (spec/ledger.md)."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID whose latest manifest entry to prove.")
    var runID: String?

    @Option(help: "Prove the entry at this index instead.")
    var index: UInt64?

    @Option(help: "The tree size to prove against (default: the latest checkpoint's size).")
    var size: UInt64?

    @Flag(help: "Print the bundle as JSON (the only format).")
    var json = false

    func validate() throws {
        guard (runID == nil) != (index == nil) else { throw ValidationError("give either RUN_ID or --index I") }
    }

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let bundle = try LedgerExit.run {
            let entryIndex = try index ?? ledger.manifestEntryIndex(runID: runID!)
            return try ledger.inclusionBundle(index: entryIndex, size: size)
        }
        try LedgerExit.printJSON(bundle.jsonValue)
    }
}

/// `cairn ledger consistency OLD NEW`: a consistency proof between two tree sizes.
struct LedgerConsistencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consistency",
        abstract: "Print the consistency proof that the tree of OLD_SIZE entries is a prefix of NEW_SIZE."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The older tree size.")
    var oldSize: UInt64

    @Argument(help: "The newer tree size (default: the latest checkpoint's size).")
    var newSize: UInt64?

    @Flag(help: "Print the bundle as JSON (the only format).")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let bundle = try LedgerExit.run {
            try ledger.consistencyBundle(oldSize: oldSize, newSize: try newSize ?? ledger.checkpoint().size)
        }
        try LedgerExit.printJSON(bundle.jsonValue)
    }
}

/// `cairn ledger reindex`: rebuilds the SQLite index from the log.
struct LedgerReindexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reindex",
        abstract: "Delete and rebuild the derived SQLite index (index.sqlite) from the log."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print {entries} as JSON.")
    var json = false

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let count = try LedgerExit.run { try ledger.reindex() }
        if json {
            try LedgerExit.printJSON(.object(JSONObject([("entries", .integer(JSONInteger(Int(count))))])))
        } else {
            Terminal.print("Indexed \(count) entries")
        }
    }
}

/// `cairn ledger append-receipts FILE`: appends receipts given as JSON lines.
struct LedgerAppendReceiptsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append-receipts",
        abstract: "Append step receipts given as JSON lines (the receipt entry fields of spec/ledger.md).",
        discussion: """
            Each line is appended durably on its own (or --batch N lines per durable write) and then reported on \
            stdout as `<entry index> <leaf hash>`, so a line printed is an entry that will survive a crash. With \
            --concurrency N, N threads append at once and are group-committed. Use - for stdin.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A file of JSON lines, or - for stdin.")
    var file: String

    @Option(help: "Lines per durable write (default 1).")
    var batch: Int = 1

    @Option(help: "Threads appending at once (default 1).")
    var concurrency: Int = 1

    func validate() throws {
        guard batch >= 1, concurrency >= 1 else { throw ValidationError("--batch and --concurrency must be >= 1") }
    }

    func run() throws {
        let ledger = try storeOptions.openLedger()
        let bytes = try LedgerExit.run { try ReceiptLines.read(file) }
        var receipts: [Receipt] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) where !line.allSatisfy({ $0 == 32 || $0 == 13 }) {
            receipts.append(try ReceiptLines.receipt(Array(line), line: receipts.count + 1))
        }
        let threads = min(concurrency, max(1, receipts.count))
        let failures = ReceiptLines.Failures()
        let chunks = stride(from: 0, to: receipts.count, by: batch).map {
            Array(receipts[$0..<min($0 + batch, receipts.count)])
        }
        // Real threads (DispatchQueue.concurrentPerform caps its width at the core count).
        ReceiptLines.onThreads(threads) { thread in
            for chunk in stride(from: thread, to: chunks.count, by: threads) {
                do {
                    let refs = try ledger.appendReceipts(chunks[chunk])
                    LedgerExit.writeStdout(refs.map { "\($0.index) \($0.leafHash.hex)\n" }.joined())
                } catch {
                    failures.record(error)
                    return
                }
            }
        }
        if let error = failures.first { throw LedgerExit.cliError(error) }
    }
}

/// `cairn ledger tag RUN_ID KEY=VALUE`: records run metadata after the fact.
struct LedgerTagCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tag",
        abstract: "Tag a run after the fact (e.g. selected=true); VALUE is JSON, or else taken as a string."
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "The run ID.")
    var runID: String

    @Argument(help: "KEY=VALUE")
    var assignment: String

    func run() throws {
        guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
            throw CLIError("expected KEY=VALUE, got '\(assignment)'", exitCode: 2)
        }
        let key = String(assignment[..<equals])
        let text = String(assignment[assignment.index(after: equals)...])
        let value = (try? JSONReader.parse(text)) ?? .string(text)
        let ledger = try storeOptions.openLedger()
        let ref = try LedgerExit.run { try ledger.appendTag(runID: runID, key: key, value: value) }
        Terminal.print("\(ref.index) \(ref.leafHash.hex)")
    }
}
