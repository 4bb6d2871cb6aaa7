import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension StoreOptions {
    /// Opens the store's ledger (local or PostgreSQL, with its index in the same place) over the store's objects
    /// (local or S3), reporting a torn tail
    /// that was cut on stderr; exit 2 when it cannot be opened.
    func openLedger(debrisAge: Double? = nil) throws -> Ledger {
        let (store, objects) = try openObjects(debrisAge: debrisAge)
        // A PostgreSQL ledger keeps its lineage index beside it, shared by every host (spec/postgres.md).
        let url = try LedgerBackend.configuredURL(storeRoot: store.root)
        let storage = try url.map { try LedgerBackend.openPostgres(url: $0) }
        let index = try url.map { try LedgerBackend.postgresIndex(url: $0) }
        do {
            let ledger =
                try storage.map {
                    try Ledger.open(objects: objects, storage: $0, root: store.root, index: index ?? .localSQLite)
                }
                ?? Ledger.open(objects: objects, root: store.root)
            if let cut = ledger.recoveredTail { Terminal.error("ledger: \(cut)") }
            return ledger
        } catch {
            throw LedgerExit.cliError(error)
        }
    }
}

/// Maps ledger errors onto the CLI's exit codes.
enum LedgerExit {
    /// Exit 1 for what a check finds (corrupt log, failed proof or signature); 2 for everything else.
    static func cliError(_ error: any Error) -> CLIError {
        if let error = error as? CLIError { return error }
        if let error = error as? LedgerError {
            let found: Set<LedgerError.Code> = [.corruptLog, .proofInvalid, .signatureInvalid, .manifestInvalid]
            return CLIError(error.description, exitCode: found.contains(error.code) ? 1 : 2)
        }
        return StoreExit.cliError(error)
    }

    /// Runs `body`, mapping its errors.
    static func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw cliError(error)
        }
    }
}

extension LedgerExit {
    /// Writes `text` to stdout unbuffered (so a line printed has left the process, even if it is killed next).
    static func writeStdout(_ text: String) {
        fflush(nil)
        // A closed stdout (a reader gone) is not this command's failure: the text is dropped.
        try? SystemCalls.writeAll(STDOUT_FILENO, Array(text.utf8))
    }
}

/// Reads receipts given as JSON lines.
enum ReceiptLines {
    static func read(_ file: String) throws -> [UInt8] {
        if file == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CLIError("cannot read \(file)", exitCode: 2)
        }
        return Array(data)
    }

    /// The first error raised by concurrent appenders.
    final class Failures: @unchecked Sendable {
        // Invariant: `lock` guards `first`.
        private let lock = NSLock()
        private var stored: (any Error)?

        func record(_ error: any Error) {
            lock.lock()
            if stored == nil { stored = error }
            lock.unlock()
        }

        var first: (any Error)? {
            lock.lock()
            defer { lock.unlock() }
            return stored
        }
    }

    /// Runs `body(i)` for i in 0..<count, each on its own thread, and waits for all.
    static func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let done = DispatchSemaphore(value: 0)
        for i in 0..<count {
            let thread = Thread {
                body(i)
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<count { done.wait() }
    }

    static func receipt(_ line: [UInt8], line number: Int) throws -> Receipt {
        do {
            return try Receipt(json: try JSONReader.parse(line))
        } catch {
            throw CLIError("line \(number): \(error)", exitCode: 2)
        }
    }
}
