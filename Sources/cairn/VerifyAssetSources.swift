import CairnCore
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
        if store == nil && directory == nil { return (nil, named) }
        return (CombinedSource(store: store, directory: directory, aliases: SHA256Aliases()), named)
    }

    /// For a store that names objects by another algorithm: each object's SHA-256, computed once, on first use.
    final class SHA256Aliases {
        private var objectBySHA256: [String: Digest]? = nil

        /// The store object whose bytes have SHA-256 `hex`, if any.
        func object(withSHA256 hex: String, in store: ObjectStore) throws -> Digest? {
            if let objectBySHA256 { return objectBySHA256[hex] }
            var built: [String: Digest] = [:]
            let objects: [Digest]
            do { objects = try store.list() } catch { throw CLIError("\(error)", exitCode: 2) }
            Terminal.error(
                "cairn: the store names objects by \(store.configuration.algorithm.rawValue); hashing its "
                    + "\(objects.count) objects with SHA-256 to find manifest assets"
            )
            let progress = ProgressLine("hashing store objects", total: Int64(objects.count))
            defer { progress.finish() }
            for digest in objects {
                progress.advance()
                var hasher = ContentHasher(algorithm: .sha256)
                do {
                    try store.stream(digest, verify: false) { hasher.update(bufferPointer: $0) }
                } catch {
                    throw CLIError("\(error)", exitCode: 2)
                }
                built[hasher.finalize().hex] = digest
            }
            objectBySHA256 = built
            return built[hex]
        }
    }

    /// Looks in the store first, then in the folder.
    struct CombinedSource: AssetByteSource {
        var store: ObjectStore?
        var directory: String?
        let aliases: SHA256Aliases

        func sha256OfBytes(declaredSHA256 sha256: String, url: String) throws -> (sha256: String, location: String)? {
            if let store, store.configuration.algorithm != .sha256, isValidSHA256(sha256),
                let object = try aliases.object(withSHA256: sha256, in: store)
            {
                // The map was built from these very bytes; rehash them now, as for any other source.
                return (try sha256OfFile(store.objectPath(for: object)), "store:" + object.description)
            }
            if let store, let digest = try? Digest(parsing: "sha256:" + sha256) {
                let presence: Presence
                do { presence = try store.contains(digest) } catch { throw CLIError("\(error)", exitCode: 2) }
                if presence.isPresent {
                    let path = store.objectPath(for: digest)
                    return (try sha256OfFile(path), "store:" + digest.description)
                }
            }
            guard let directory else { return nil }
            var candidates = [sha256, "sha256:" + sha256, "sha256-" + sha256]
            if let name = fileName(in: url) { candidates.append(name) }
            for name in candidates {
                let path = (directory as NSString).appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                    return (try sha256OfFile(path), path)
                }
            }
            return nil
        }
    }

    /// The last path component of a URL's path, percent-decoded; nil when there is none.
    static func fileName(in url: String) -> String? {
        guard let components = URLComponents(string: url) else {
            let last = url.split(separator: "/").last.map(String.init)
            return last?.isEmpty == false ? last : nil
        }
        let name = (components.path as NSString).lastPathComponent
        return name.isEmpty || name == "/" ? nil : name
    }

    /// Streams a file through SHA-256.
    static func sha256OfFile(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CLIError("\(path): cannot read asset bytes", exitCode: 2)
        }
        defer { try? handle.close() }
        var hasher = ContentHasher(algorithm: .sha256)
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            }
        } catch {
            throw CLIError("\(path): cannot read asset bytes: \(error.localizedDescription)", exitCode: 2)
        }
        return hasher.finalize().hex
    }
}
