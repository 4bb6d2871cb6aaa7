import ArgumentParser
import CairnLedger
import CairnManifest
import Foundation

/// `cairn verify`: genblaze's manifest verdict, offline, plus a check of the asset bytes themselves.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify genblaze manifests: canonical hash, output sha256 and metadata, and asset bytes.",
        discussion: """
            Prints genblaze's verdict per file (OK on stdout, FAIL/Error on stderr). Asset bytes with a sha256 are \
            looked up and rehashed in the store (--store, $CAIRN_HOME or ./.cairn when it exists) and in \
            --assets DIR (by hex digest or by the file name in the asset's url). Bytes that differ are always a \
            failure. Bytes that are missing are a failure when you named the source (--store, --assets) or gave \
            --require-assets; a store found by itself ($CAIRN_HOME, ./.cairn) only checks the assets it holds, and \
            the rest are reported as not checked.

            Other forms, each offline: `cairn verify DIR` checks a run folder made by `cairn checkout` against its \
            manifest.json and receipts and names each file that differs; `--bundle FILE` checks a `cairn bundle` \
            file with no store or ledger (--key pins the verifier key, --assets DIR checks asset bytes); \
            `--attestation FILE` checks an `export intoto` statement or DSSE envelope: the signature (the store's \
            ledger key, or --key) and that every subject is in the store with its digests.

            Exit codes: 0 every file verified; 1 a hash mismatch, a missing or malformed output sha256, \
            out-of-spec output metadata, or missing or mismatching asset bytes; 2 a usage error or a file that \
            cannot be read or parsed.
            """
    )

    @Flag(help: "Print one JSON object per file (one per line).")
    var json = false

    @Flag(name: .customLong("hash-only"), help: "Check only the canonical hash (asset checks are skipped).")
    var hashOnly = false

    @Option(
        name: .customLong("assets"),
        help: ArgumentHelp("A folder holding asset bytes, named by hex digest or by url file name.", valueName: "dir"),
        completion: .directory
    )
    var assetsDirectory: String?

    @Flag(
        name: .customLong("require-assets"),
        help: "Fail when an asset's bytes are not found, even in a store found by itself ($CAIRN_HOME, ./.cairn)."
    )
    var requireAssets = false

    @OptionGroup var storeOptions: StoreOptions

    @Argument(
        help: ArgumentHelp("Manifest files (JSON), or one run folder (cairn checkout).", valueName: "manifest"),
        completion: .file()
    )
    var manifests: [String] = []

    @Option(
        help: ArgumentHelp("Check a ledger proof bundle (ledger prove/consistency --json) offline.", valueName: "file"),
        completion: .file()
    )
    var proof: String?

    @Option(help: ArgumentHelp("Check a run bundle (cairn bundle) offline.", valueName: "file"), completion: .file())
    var bundle: String?

    @Option(
        help: ArgumentHelp("Check an in-toto attestation (cairn export intoto) against the store.", valueName: "file"),
        completion: .file()
    )
    var attestation: String?

    @Option(
        help: ArgumentHelp(
            "With --proof, --bundle or --attestation: the trusted verifier key, or its key.pub file.",
            valueName: "key"
        )
    )
    var key: String?

    func validate() throws {
        let forms = [proof, bundle, attestation].compactMap { $0 }
        if forms.count > 1 { throw ValidationError("give only one of --proof, --bundle and --attestation") }
        if !forms.isEmpty {
            if !manifests.isEmpty {
                throw ValidationError("give either --proof/--bundle/--attestation FILE or MANIFEST files, not both")
            }
            if let assetsDirectory, !isDirectory(assetsDirectory) {
                throw ValidationError("--assets \(assetsDirectory) is not a directory")
            }
            return
        }
        if manifests.isEmpty { throw ValidationError("verify needs at least one MANIFEST file") }
        if hashOnly && requireAssets {
            throw ValidationError("--hash-only checks no asset bytes; it cannot be combined with --require-assets")
        }
        if let assetsDirectory, !isDirectory(assetsDirectory) {
            throw ValidationError("--assets \(assetsDirectory) is not a directory")
        }
    }

    func run() throws {
        if let proof { return try VerifyProof.run(path: proof, key: key, json: json) }
        if let bundle { return try VerifyExported.bundle(path: bundle, key: key, assets: assetsDirectory, json: json) }
        if let attestation {
            return try VerifyExported.attestation(path: attestation, key: key, storeOptions: storeOptions, json: json)
        }
        if manifests.count == 1, isDirectory(manifests[0]) {
            return try VerifyExported.folder(path: manifests[0], json: json)
        }
        let (source, named) =
            hashOnly
            ? (nil, false) : try VerifyAssetSources.make(storeOptions: storeOptions, directory: assetsDirectory)
        if requireAssets && source == nil {
            throw CLIError(
                "--require-assets: no asset source: give --store PATH or --assets DIR, or run where a store is "
                    + "($CAIRN_HOME, ./.cairn)",
                exitCode: 2
            )
        }
        let missingBytes: MissingAssetBytes = named || requireAssets ? .fail : .unchecked
        var worst: Int32 = 0
        for path in manifests {
            let prefix = manifests.count > 1 ? "\(path): " : ""
            let verdict: ManifestVerdict
            do {
                verdict = try ManifestVerdict.verify(
                    bytes: try VerifyAssetSources.readManifest(path),
                    hashOnly: hashOnly,
                    byteSource: source,
                    missingBytes: missingBytes
                )
            } catch {
                // An unreadable manifest (CLIError) or unreadable asset bytes (AssetSourceError): exit 2.
                let failure = error as? CLIError ?? CLIError("\(error)", exitCode: 2)
                worst = max(worst, failure.exitCode)
                if json {
                    try JSONOutput.print(VerifyJSON(file: path, error: failure.message))
                } else {
                    Terminal.error(failure.message)
                }
                continue
            }
            worst = max(worst, VerifyJSON.exitCode(verdict.outcome))
            if json {
                try JSONOutput.print(VerifyJSON(file: path, verdict: verdict))
            } else {
                for line in verdict.lines {
                    if line.isFailure {
                        Terminal.writeStderr(prefix + line.text + "\n")
                    } else {
                        Terminal.print(prefix + line.text)
                    }
                }
            }
        }
        if worst != 0 { throw ExitCode(worst) }
    }
}

/// The `--json` record of one file: `file` and `exit_code` beside the ``ManifestVerdict`` fields, or, for a file that
/// cannot be read, the verdict fields empty and the reason in `error`.
struct VerifyJSON: Encodable {
    var file: String
    var verdict: ManifestVerdict?
    var error: String?
    var exitCode: Int32

    init(file: String, error: String) {
        self.file = file
        self.error = error
        exitCode = 2
    }

    init(file: String, verdict: ManifestVerdict) {
        self.file = file
        self.verdict = verdict
        exitCode = Self.exitCode(verdict.outcome)
    }

    /// The CLI's exit code for a verdict: 0 verified, 1 a failing check, 2 a refused file.
    static func exitCode(_ outcome: ManifestVerdict.Outcome) -> Int32 {
        switch outcome {
        case .verified: 0
        case .failed: 1
        case .refused: 2
        }
    }

    private enum CodingKeys: String, CodingKey {
        case file, exit_code, schema_version, stored_hash, canonical_hash, hash_ok, verify_ok, unverified_sha256_ids,
            invalid_metadata_ids, assets, error
    }

    func encode(to encoder: any Encoder) throws {
        if let verdict { try verdict.encode(to: encoder) }
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(file, forKey: .file)
        try container.encode(exitCode, forKey: .exit_code)
        guard verdict == nil else { return }
        for key in [CodingKeys.schema_version, .stored_hash, .canonical_hash] {
            try container.encode(nil as String?, forKey: key)
        }
        try container.encode(false, forKey: .hash_ok)
        try container.encode(false, forKey: .verify_ok)
        try container.encode([String](), forKey: .unverified_sha256_ids)
        try container.encode([String](), forKey: .invalid_metadata_ids)
        try container.encode([AssetByteCheck](), forKey: .assets)
        try container.encode(error, forKey: .error)
    }
}

private func isDirectory(_ path: String) -> Bool {
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
}
