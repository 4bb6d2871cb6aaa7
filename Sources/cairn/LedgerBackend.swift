import CairnLedger
import CairnPostgres
import Foundation

/// Where a store's ledger lives: its local files (`<store>/ledger/`), or the PostgreSQL database named in
/// `<store>/ledger/location` by `cairn init --ledger postgres://...` (a URL without password: spec/postgres.md).
enum LedgerBackend {
    /// The file naming a store's PostgreSQL ledger.
    static func locationFile(storeRoot: String) -> String { storeRoot + "/ledger/location" }

    /// The PostgreSQL URL the store's ledger lives at, or nil for the local files.
    static func configuredURL(storeRoot: String) throws -> String? {
        guard let data = FileManager.default.contents(atPath: locationFile(storeRoot: storeRoot)) else { return nil }
        let url = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return url.isEmpty ? nil : url
    }

    /// True for a `postgres://` or `postgresql://` URL.
    static func isPostgresURL(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    /// Checks that `url` is a ledger URL this build can use, before anything is made (exit 2 when not).
    static func validate(url: String) throws {
        guard isPostgresURL(url) else {
            throw CLIError("--ledger takes a postgres://HOST:PORT/DATABASE URL, not '\(url)'", exitCode: 2)
        }
        guard PostgresSupport.isAvailable else { throw CLIError(PostgresSupport.missingSupportMessage, exitCode: 2) }
        do {
            _ = try PostgresLedgerLocation(url: url)
        } catch {
            throw CLIError("\(error)", exitCode: 2)
        }
    }

    /// Opens the PostgreSQL ledger storage at `url` (exit 2 when this build lacks PostgreSQL or cannot reach it).
    static func openPostgres(url: String) throws -> any LedgerStorage {
        #if PostgreSQL
        do {
            return try PostgresLedgerStorage(url: url)
        } catch {
            throw CLIError("\(error)", exitCode: 2)
        }
        #else
        throw CLIError(PostgresSupport.missingSupportMessage, exitCode: 2)
        #endif
    }

    /// The lineage index in the PostgreSQL database at `url` (exit 2 when this build lacks PostgreSQL or the URL is
    /// malformed; the connection is made when the ledger opens).
    static func postgresIndex(url: String) throws -> LedgerIndexLocation {
        #if PostgreSQL
        do {
            return .postgres(try PostgresLedgerLocation(url: url))
        } catch {
            throw CLIError("\(error)", exitCode: 2)
        }
        #else
        throw CLIError(PostgresSupport.missingSupportMessage, exitCode: 2)
        #endif
    }

    /// The storage of the store's ledger: PostgreSQL when configured, else nil (the local files).
    static func configuredStorage(storeRoot: String) throws -> (any LedgerStorage)? {
        guard let url = try configuredURL(storeRoot: storeRoot) else { return nil }
        return try openPostgres(url: url)
    }

    /// A storage named on the command line: a PostgreSQL URL, or a local ledger directory.
    static func storage(named operand: String) throws -> any LedgerStorage {
        if isPostgresURL(operand) { return try openPostgres(url: operand) }
        do {
            try FileManager.default.createDirectory(atPath: operand, withIntermediateDirectories: true)
            return try Ledger.localStorage(directory: operand)
        } catch {
            throw CLIError("cannot open a ledger directory at \(operand): \(error)", exitCode: 2)
        }
    }
}
