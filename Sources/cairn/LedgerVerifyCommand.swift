import ArgumentParser
import CairnLedger
import CairnManifest
import CairnStore
import Foundation

/// `cairn ledger verify`: recomputes every leaf, the tree and the checkpoint signature.
struct LedgerVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Recompute every leaf and the tree from the log and check the latest checkpoint signature.",
        discussion: """
            Exit 0 when all holds; 1 naming the first bad entry index; 2 when the ledger cannot be read. A ledger in \
            PostgreSQL is copied into a temporary local ledger first (its stored root is compared with the copy's), \
            and the copy is verified the same way.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        // Opening repairs what a crash leaves (a torn tail, derived files behind the log) and reports it; a log that
        // cannot be opened is still verified below, which names the bad entry.
        let (store, objects) = try storeOptions.openObjects()
        let report: LedgerVerification
        if let storage = try LedgerBackend.configuredStorage(storeRoot: store.root) {
            report = try LedgerExit.run { try Self.verifyCopy(of: storage, keyFrom: store.root, objects: objects) }
        } else {
            if let ledger = try? Ledger.open(objects: objects, root: store.root), let cut = ledger.recoveredTail {
                Terminal.error("ledger: \(cut)")
            }
            report = try LedgerExit.run { try Ledger.verify(storeRoot: storeOptions.storePath, objects: objects) }
        }
        if json {
            try JSONOutput.printCanonical(report)
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

    /// Copies a ledger kept elsewhere (PostgreSQL) into a temporary local ledger with the store's verifier key,
    /// and verifies the copy from its entries.
    static func verifyCopy(
        of storage: any LedgerStorage,
        keyFrom storeRoot: String,
        objects: any ObjectBackend
    ) throws -> LedgerVerification {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-verify-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch + "/ledger", withIntermediateDirectories: true)
        try Ledger.transfer(from: storage, to: try Ledger.localStorage(directory: scratch + "/ledger"))
        try FileManager.default.copyItem(atPath: storeRoot + "/ledger/key.pub", toPath: scratch + "/ledger/key.pub")
        return try Ledger.verify(storeRoot: scratch, objects: objects)
    }
}
