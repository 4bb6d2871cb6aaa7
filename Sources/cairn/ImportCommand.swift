import ArgumentParser
import CairnCore
import CairnLedger
import CairnManifest
import Foundation

/// `cairn import MANIFEST...`: verifies genblaze manifests and appends them to the ledger.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Verify genblaze manifests and append them to the ledger (bring existing genblaze history).",
        discussion: """
            Each manifest must pass genblaze's checks (canonical hash, output sha256, metadata); one that fails is \
            refused and the others are still imported. With --assets DIR, asset files named by their sha256 hex or \
            by their url's file name are hashed, checked and put in the store. Exit 0 all imported; 1 one or more \
            manifests failed a check; 2 usage error, or a file unreadable or not a manifest (malformed JSON, \
            no run): the others are still imported.
            """
    )

    @OptionGroup var storeOptions: StoreOptions

    @Option(help: "A folder of asset files to put in the store.", completion: .directory)
    var assets: String?

    @Flag(help: "Print one JSON object per manifest (one per line).")
    var json = false

    @Argument(help: "genblaze manifest files.", completion: .file())
    var manifests: [String]

    func validate() throws {
        if manifests.isEmpty { throw ValidationError("import needs at least one MANIFEST file") }
    }

    func run() throws {
        let ledger = try storeOptions.openLedger()
        var worst: Int32 = 0
        for path in manifests {
            guard let data = FileManager.default.contents(atPath: path) else {
                worst = max(worst, 2)
                report(path: path, error: "cannot read \(path)")
                continue
            }
            do {
                let result = try ledger.importManifest(bytes: Array(data), assetsDirectory: assets)
                if json {
                    try JSONOutput.printCanonical(ImportRecord(file: path, result: result))
                } else {
                    Terminal.print(
                        "imported \(path): run \(result.runID), entry \(result.entry.index), "
                            + "\(result.assetsStored.count) asset file(s) stored"
                    )
                }
            } catch {
                let mapped = LedgerExit.cliError(error)
                worst = max(worst, mapped.exitCode)
                report(path: path, error: mapped.message)
            }
        }
        if worst != 0 { throw ExitCode(worst) }
    }

    private func report(path: String, error: String) {
        if json {
            try? JSONOutput.printCanonical(ImportRecord(file: path, error: error))
        } else {
            Terminal.error("\(path): \(error)")
        }
    }
}

/// One manifest's `--json` line: `file` and `ok`, then the ``ImportResult`` fields or the `error`.
struct ImportRecord: Encodable {
    var file: String
    var result: ImportResult? = nil
    var error: String? = nil

    private enum CodingKeys: String, CodingKey { case file, ok, error }

    func encode(to encoder: any Encoder) throws {
        try result?.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(result != nil, forKey: .ok)
        try container.encodeIfPresent(error, forKey: .error)
    }
}
