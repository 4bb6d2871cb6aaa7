import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation

/// The IO side of `cairn verify`: reading manifest files and finding asset bytes in a store or a folder.
enum VerifyAssetSources {
    /// The largest manifest file `verify` reads.
    static let maximumManifestSize = 1 << 30

    /// Reads a manifest file, or fails with exit 2 naming the file and the reason.
    static func readManifest(_ path: String) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CLIError("\(path): cannot read: no such file", exitCode: 2)
        }
        if isDirectory.boolValue { throw CLIError("\(path): cannot read: is a directory", exitCode: 2) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError("\(path): cannot read: permission denied or unreadable", exitCode: 2)
        }
        defer { try? handle.close() }
        do {
            guard let data = try handle.readToEnd() else { return [] }
            if data.count > maximumManifestSize {
                throw CLIError("\(path): cannot read: larger than \(maximumManifestSize) bytes", exitCode: 2)
            }
            return [UInt8](data)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(path): cannot read: \(error.localizedDescription)", exitCode: 2)
        }
    }

    /// The byte source for the given options: the store (explicit `--store`, or `$CAIRN_HOME`/`./.cairn` when it
    /// holds a store) and/or `--assets DIR`; nil when there is neither. `named` is true when the user named the
    /// source (`--store` or `--assets`): only then must it hold every asset.
    static func make(
        storeOptions: StoreOptions,
        directory: String?
    ) throws -> (source: (any AssetByteSource)?, named: Bool) {
        var store: ObjectStore? = nil
        if storeOptions.store != nil {
            store = try storeOptions.openStore()
        } else if FileManager.default.fileExists(atPath: storeOptions.storePath + "/config.json") {
            store = try storeOptions.openStore()
        }
        let named = storeOptions.store != nil || directory != nil
        var sources: [any AssetByteSource] = []
        if let store { sources.append(StoreAssetSource(store: store, progress: storeHashingProgress())) }
        if let directory { sources.append(DirectoryAssetSource(directory: directory)) }
        if sources.isEmpty { return (nil, named) }
        return (CombinedAssetSource(sources), named)
    }

    /// Reports a store's one-time SHA-256 hashing: a note on stderr, then a progress line while it runs.
    static func storeHashingProgress() -> @Sendable (StoreAliasProgress) -> Void {
        let line = ProgressHolder()
        return { event in
            switch event {
            case .started(let algorithm, let objectCount):
                Terminal.error(
                    "the store names objects by \(algorithm.rawValue); hashing its "
                        + "\(objectCount) objects with SHA-256 to find manifest assets"
                )
                line.progress = ProgressLine("hashing store objects", total: Int64(objectCount))
            case .advanced:
                line.progress?.advance()
            case .finished:
                line.progress?.finish()
                line.progress = nil
            }
        }
    }

    /// The progress line of a hashing in progress.
    private final class ProgressHolder: @unchecked Sendable {
        // Invariant: only the source's lookups (one at a time, under its lock) touch `progress`.
        var progress: ProgressLine?
    }
}
