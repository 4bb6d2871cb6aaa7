import ArgumentParser
import CairnLedger
import CairnStore
import Foundation
import _CairnSystem

/// What `cairn ledger export` and `import` print.
private struct TransferReport: Encodable {
    var from: String
    var to: String
    var entries: UInt64
    var rootHash: String
    var checkpointSize: UInt64?

    init(_ transfer: LedgerTransfer, from: String, to: String) {
        self.from = from
        self.to = to
        entries = transfer.entryCount
        rootHash = transfer.rootHash.hex
        checkpointSize = transfer.checkpointSize
    }

    func printed(json: Bool) throws {
        if json {
            try JSONOutput.print(self)
        } else {
            Terminal.print(
                "copied \(entries) entries from \(from) to \(to); root \(rootHash); checkpoint size "
                    + (checkpointSize.map { "\($0)" } ?? "(none)")
            )
        }
    }

    enum CodingKeys: String, CodingKey {
        case from, to, entries
        case rootHash = "root_hash"
        case checkpointSize = "checkpoint_size"
    }
}

extension StoreOptions {
    /// The storage of the store's ledger (PostgreSQL when `init --ledger` chose it, else the local files) and a
    /// description of it.
    func ledgerStorage() throws -> (storage: any LedgerStorage, name: String, root: String) {
        let store = try openLocalStore()
        if let storage = try LedgerBackend.configuredStorage(storeRoot: store.root) {
            return (storage, storage.location, store.root)
        }
        let directory = store.root + "/ledger"
        return (try LedgerBackend.storage(named: directory), directory, store.root)
    }
}

/// `cairn ledger export DEST`: copies the store's ledger to a PostgreSQL database or a ledger directory.
struct LedgerExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Copy the store's ledger to an empty PostgreSQL ledger or an empty local ledger directory.",
        discussion: """
            DEST is postgres://USER@HOST:PORT/DATABASE[?schema=NAME] or a directory. Every entry is copied in order \
            and the latest signed checkpoint verbatim; the copy's tree root is compared with the source's before \
            the checkpoint is written. A directory also gets the verifier key (key.pub). Exit 2 when DEST already \
            holds a ledger or cannot be reached.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A postgres:// URL or a directory.")
    var destination: String

    @Flag(help: "Print JSON: {from, to, entries, root_hash, checkpoint_size}.")
    var json = false

    func run() throws {
        let source = try storeOptions.ledgerStorage()
        let target = try LedgerBackend.storage(named: destination)
        let transfer = try LedgerExit.run { try Ledger.transfer(from: source.storage, to: target) }
        if !LedgerBackend.isPostgresURL(destination) {
            // The verifier key goes beside the copy: published whole and synced, never over a key already there.
            let key = source.root + "/ledger/key.pub"
            let copy = destination + "/key.pub"
            if SystemCalls.exists(key) {
                do {
                    _ = try SystemCalls.createExclusively(try SystemCalls.readFile(key), at: copy, mode: 0o644)
                } catch {
                    throw CLIError("cannot copy the verifier key to \(copy): \(error)")
                }
            }
        }
        try TransferReport(transfer, from: source.name, to: target.location).printed(json: json)
    }
}

/// `cairn ledger import SRC`: fills the store's empty ledger from a PostgreSQL database or a ledger directory.
struct LedgerImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Copy a PostgreSQL ledger or a local ledger directory into the store's empty ledger.",
        discussion: """
            SRC is postgres://USER@HOST:PORT/DATABASE[?schema=NAME] or a ledger directory. Every entry is copied in \
            order and the latest signed checkpoint verbatim; the tree roots are compared. Run `cairn ledger \
            reindex` afterwards to rebuild the lineage index. Exit 2 when the store's ledger is not empty.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Argument(help: "A postgres:// URL or a ledger directory.")
    var source: String

    @Flag(help: "Print JSON: {from, to, entries, root_hash, checkpoint_size}.")
    var json = false

    func run() throws {
        let destination = try storeOptions.ledgerStorage()
        let origin = try LedgerBackend.storage(named: source)
        let transfer = try LedgerExit.run { try Ledger.transfer(from: origin, to: destination.storage) }
        try TransferReport(transfer, from: origin.location, to: destination.name).printed(json: json)
    }
}
