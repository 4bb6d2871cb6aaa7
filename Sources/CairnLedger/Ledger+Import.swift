public import CairnCore
public import CairnManifest
import CairnStore
import Foundation

/// What importing one genblaze manifest did.
public struct ImportResult: Sendable, Hashable {
    /// The run's ID.
    public var runID: String
    /// Where the manifest entry landed.
    public var entry: LedgerEntryRef
    /// The digest of the stored manifest bytes.
    public var manifestDigest: Digest
    /// Asset files found in the assets folder and put in the store.
    public var assetsStored: [Digest]
    /// Output asset IDs whose bytes were not found in the assets folder (nothing was stored for them).
    public var assetsMissing: [String]
}

extension Ledger {
    /// Appends a manifest: stores `bytes` (default: the manifest's genblaze file bytes) and appends a `manifest`
    /// entry; durable on return.
    @discardableResult
    public func appendManifest(_ manifest: Manifest, bytes: [UInt8]? = nil) throws -> LedgerEntryRef {
        try appendManifest(bytes: try bytes ?? manifest.canonicalFileBytes())
    }

    /// The stored manifest of run `runID` (its latest manifest entry), or nil when there is none.
    public func manifest(runID: String) throws -> Manifest? {
        guard let bytes = try manifestBytes(runID: runID) else { return nil }
        return try Manifest.parse(bytes)
    }

    /// Verifies a genblaze manifest as genblaze does (canonical hash, output sha256, metadata), refusing any that
    /// fails, optionally puts its asset files in the store, and appends it.
    ///
    /// - Parameters:
    ///   - bytes: the manifest file bytes (stored as they are).
    ///   - assetsDirectory: a folder of asset files, found by lowercase hex sha256 or by the file name of the
    ///     asset's url; each is hashed and must match the manifest's sha256 before it is stored.
    /// - Throws: ``LedgerError`` `.manifestMalformed` for bytes that are not a manifest, `.manifestInvalid` naming
    ///   the first failed check of one that is (nothing is appended then).
    public func importManifest(bytes: [UInt8], assetsDirectory: String? = nil) throws -> ImportResult {
        let verdict = try ManifestVerdict.verify(bytes: bytes)
        if let error = verdict.error {
            throw LedgerError(.manifestMalformed, "not a manifest: \(error)")
        }
        guard verdict.isVerified else {
            let reason = verdict.lines.first(where: \.isFailure)?.text ?? "verification failed"
            throw LedgerError(.manifestInvalid, "manifest does not verify: \(reason)")
        }
        let manifest = try Manifest.parse(bytes)
        var stored: [Digest] = []
        var missing: [String] = []
        if let assetsDirectory {
            // Check every file first, store after: a mismatch leaves the store and the ledger untouched.
            var files: [(path: String, digest: Digest)] = []
            for step in manifest.run.steps {
                for asset in step.assets + step.inputs {
                    guard let hex = asset.sha256, let expected = Digest("sha256:" + hex) else { continue }
                    let candidates = [hex, (asset.url as NSString).lastPathComponent].map {
                        (assetsDirectory as NSString).appendingPathComponent($0)
                    }
                    guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
                        if step.assets.contains(asset) { missing.append(asset.assetID) }
                        continue
                    }
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw LedgerError(.io, "cannot read asset file \(path)")
                    }
                    let actual = ContentHasher.digest(of: data, algorithm: .sha256)
                    guard actual == expected else {
                        throw LedgerError(
                            .manifestInvalid,
                            "asset \(asset.assetID): \(path) hashes to \(actual), the manifest declares \(expected)"
                        )
                    }
                    files.append((path, expected))
                }
            }
            for file in files {
                stored.append(try store.put(fileAt: file.path).digest)
            }
        }
        let digest = try store.put(bytes).digest
        let record = try Self.manifestRecord(bytes: bytes, digest: digest)
        let ref = try append([.manifest(record)])[0]
        return ImportResult(
            runID: manifest.run.runID,
            entry: ref,
            manifestDigest: digest,
            assetsStored: stored,
            assetsMissing: missing
        )
    }
}
