import ArgumentParser
import CairnLedger
import CairnManifest

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
