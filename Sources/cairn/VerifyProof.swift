import ArgumentParser
import CairnLedger
import CairnManifest
import Foundation

/// `cairn verify --proof FILE [--key KEY]`: checks a ledger proof bundle offline (spec/ledger.md).
enum VerifyProof {
    /// Checks the bundle at `path`; `key` is a verifier key (`name+id+base64`) or a file holding one (`key.pub`).
    ///
    /// Exit 0 when every check passes, 1 when one fails, 2 when the file or key cannot be read or is not a bundle.
    static func run(path: String, key: String?, json: Bool) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("cannot read proof bundle \(path)", exitCode: 2)
        }
        var keyText = key
        if let key, FileManager.default.fileExists(atPath: key) {
            guard let contents = FileManager.default.contents(atPath: key) else {
                throw CLIError("cannot read key file \(key)", exitCode: 2)
            }
            keyText = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let check: ProofCheck
        do {
            check = try ProofVerifier.check(bundle: Array(data), key: keyText)
        } catch {
            throw CLIError("\(path): \(error)", exitCode: 2)
        }
        if json {
            try JSONOutput.printCanonical(ProofFileRecord(file: path, check: check))
        } else {
            for finding in check.findings {
                if finding.hasPrefix("FAIL") {
                    Terminal.writeStderr(finding + "\n")
                } else {
                    Terminal.print(finding)
                }
            }
            if check.isValid {
                let pin = check.keyFromBundle ? " (key taken from the bundle; pass --key to pin a trusted key)" : ""
                Terminal.print("OK: \(check.kind) proof verified\(pin)")
            }
        }
        if !check.isValid { throw ExitCode(1) }
    }
}

/// The `--json` line of `verify --proof`: `file`, then the ``ProofCheck`` fields.
struct ProofFileRecord: Encodable {
    var file: String
    var check: ProofCheck

    private enum CodingKeys: String, CodingKey { case file }

    func encode(to encoder: any Encoder) throws {
        try check.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
    }
}
