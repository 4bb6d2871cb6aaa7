import CairnExport
import CairnLedger
import Foundation

/// `cairn verify DIR`, `--bundle FILE`, `--attestation FILE`: offline checks of what `checkout`, `bundle` and
/// `export intoto` wrote. Exit 0 verified, 1 a check failed (each failure named on stderr), 2 unreadable input.
enum VerifyExported {
    static func folder(path: String, json: Bool) throws {
        let report: VerificationReport
        do {
            report = try RunFolderVerifier.verify(directory: path)
        } catch {
            throw CLIError(ExportExit.message(error), exitCode: 2)
        }
        try ExportExit.finish(report, json: json, what: "run folder \(path)")
    }

    static func bundle(path: String, key: String?, assets: String?, json: Bool) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read bundle \(path)", exitCode: 2)
        }
        let report: VerificationReport
        do {
            report = try RunBundle.verify(
                bytes: Array(data),
                key: try keyText(key),
                assets: assets.map { DirectoryAssetSource(directory: $0) }
            )
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(path): \(ExportExit.message(error))", exitCode: 2)
        }
        try ExportExit.finish(report, json: json, what: "bundle \(path)")
    }

    static func attestation(path: String, key: String?, storeOptions: StoreOptions, json: Bool) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read attestation \(path)", exitCode: 2)
        }
        let ledger = try storeOptions.openLedger()
        let report: VerificationReport
        do {
            let verifier = try keyText(key).map { try NoteVerifier(encoded: $0) } ?? ledger.verifier
            report = try InTotoAttestation.verify(bytes: Array(data), verifier: verifier, store: ledger.store)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(path): \(ExportExit.message(error))", exitCode: 2)
        }
        try ExportExit.finish(report, json: json, what: "attestation \(path)")
    }

    /// A key given as text, or as a file holding it (`key.pub`).
    static func keyText(_ key: String?) throws -> String? {
        guard let key else { return nil }
        guard FileManager.default.fileExists(atPath: key) else { return key }
        guard let contents = FileManager.default.contents(atPath: key) else {
            throw CLIError("cannot read key file \(key)", exitCode: 2)
        }
        return String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
