public import CairnCore
public import CairnManifest
public import CairnStore
import Foundation

/// Why an asset source could not read bytes it found (an unreadable file, a store that fails).
///
/// Missing bytes are never an error: a source returns nil for them.
public struct AssetSourceError: Error, Sendable, CustomStringConvertible {
    /// The file whose bytes could not be read, if the failure is about one file.
    public var path: String?
    /// What went wrong, in words (for a store failure, the store error's description).
    public var reason: String
    /// The store error that caused this one, if any.
    public var storeError: StoreError?

    /// A failure about the file at `path` (nil when no one file is involved).
    package init(path: String?, reason: String) {
        self.path = path
        self.reason = reason
    }

    /// A store that failed while being listed, checked or read.
    package init(_ storeError: StoreError) {
        self.path = storeError.path
        self.reason = storeError.description
        self.storeError = storeError
    }

    /// `PATH: REASON` for a file, the store error's description for a store failure.
    public var description: String {
        if storeError != nil { return reason }
        return path.map { "\($0): \(reason)" } ?? reason
    }

    static func wrapping(_ error: any Error) -> AssetSourceError {
        if let error = error as? AssetSourceError { return error }
        if let error = error as? StoreError { return AssetSourceError(error) }
        return AssetSourceError(path: nil, reason: "\(error)")
    }
}

/// Progress of a ``StoreAssetSource`` that hashes its store's objects with SHA-256 to find assets by digest.
public enum StoreAliasProgress: Sendable, Hashable {
    /// Hashing starts: the store names its `objectCount` objects by `algorithm`, not SHA-256.
    case started(algorithm: DigestAlgorithm, objectCount: Int)
    /// One more object is about to be hashed.
    case advanced
    /// Hashing is over (also when it failed).
    case finished
}

/// Asset bytes in an ``ObjectStore``: the object whose digest is the asset's declared SHA-256.
///
/// A store that names objects by another algorithm (BLAKE2b, XXH3) cannot look up a SHA-256 directly; on the first
/// lookup this source hashes every object with SHA-256, once, and keeps the map for later lookups, reporting its
/// progress through `progress`. Found bytes are always rehashed before they are reported.
///
/// ```swift
/// let source = StoreAssetSource(store: try ObjectStore(at: ".cairn"))
/// let verdict = try ManifestVerdict.verify(bytes: manifest, byteSource: source)
/// ```
public final class StoreAssetSource: AssetByteSource, @unchecked Sendable {
    /// The store searched.
    public let store: ObjectStore
    private let progress: (@Sendable (StoreAliasProgress) -> Void)?
    // Invariant: `lock` guards `objectBySHA256`.
    private let lock = NSLock()
    private var objectBySHA256: [String: Digest]? = nil

    /// A source reading `store`; `progress`, if given, hears about the one-time SHA-256 hashing of a store that
    /// names objects by another algorithm.
    public init(store: ObjectStore, progress: (@Sendable (StoreAliasProgress) -> Void)? = nil) {
        self.store = store
        self.progress = progress
    }

    /// The SHA-256 of the store object holding `sha256`'s bytes and its location `store:ALGO:HEX`, or nil.
    ///
    /// - Throws: ``AssetSourceError`` when the store or an object cannot be read.
    public func sha256OfBytes(declaredSHA256 sha256: String, url: String) throws -> (sha256: String, location: String)?
    {
        if store.configuration.algorithm != .sha256, isValidSHA256(sha256),
            let object = try object(withSHA256: sha256)
        {
            // The map was built from these very bytes; rehash them now, as for any other source.
            return (try sha256OfFile(store.objectPath(for: object)), "store:" + object.description)
        }
        if let digest = try? Digest(parsing: "sha256:" + sha256) {
            let presence: Presence
            do { presence = try store.contains(digest) } catch { throw AssetSourceError.wrapping(error) }
            if presence.isPresent {
                return (try sha256OfFile(store.objectPath(for: digest)), "store:" + digest.description)
            }
        }
        return nil
    }

    /// The store object whose bytes have SHA-256 `hex`, if any (building the map on first use).
    private func object(withSHA256 hex: String) throws -> Digest? {
        lock.lock()
        defer { lock.unlock() }
        if let objectBySHA256 { return objectBySHA256[hex] }
        var built: [String: Digest] = [:]
        let objects: [Digest]
        do { objects = try store.list() } catch { throw AssetSourceError.wrapping(error) }
        progress?(.started(algorithm: store.configuration.algorithm, objectCount: objects.count))
        defer { progress?(.finished) }
        for digest in objects {
            progress?(.advanced)
            var hasher = ContentHasher(algorithm: .sha256)
            do {
                try store.stream(digest, verify: false) { hasher.update(bufferPointer: $0) }
            } catch {
                throw AssetSourceError.wrapping(error)
            }
            built[hasher.finalize().hex] = digest
        }
        objectBySHA256 = built
        return built[hex]
    }
}

/// Asset bytes in a folder: a file named by the asset's SHA-256 hex (bare, `sha256:HEX` or `sha256-HEX`), or by the
/// file name of the asset's url; the location reported is the file's path.
public struct DirectoryAssetSource: AssetByteSource, Sendable {
    /// The folder searched.
    public var directory: String

    /// A source reading files in `directory`.
    public init(directory: String) {
        self.directory = directory
    }

    /// The SHA-256 of the first matching regular file and its path, or nil when none exists.
    ///
    /// - Throws: ``AssetSourceError`` when a matching file cannot be read.
    public func sha256OfBytes(declaredSHA256 sha256: String, url: String) throws -> (sha256: String, location: String)?
    {
        var candidates = [sha256, "sha256:" + sha256, "sha256-" + sha256]
        if let name = Self.fileName(in: url) { candidates.append(name) }
        for name in candidates {
            let path = (directory as NSString).appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
                return (try sha256OfFile(path), path)
            }
        }
        return nil
    }

    /// The last path component of a URL's path, percent-decoded; nil when there is none.
    package static func fileName(in url: String) -> String? {
        guard let components = URLComponents(string: url) else {
            let last = url.split(separator: "/").last.map(String.init)
            return last?.isEmpty == false ? last : nil
        }
        let name = (components.path as NSString).lastPathComponent
        return name.isEmpty || name == "/" ? nil : name
    }
}

/// Several asset sources searched in order; the first that finds bytes answers.
///
/// ```swift
/// let source = CombinedAssetSource([StoreAssetSource(store: store), DirectoryAssetSource(directory: "media")])
/// ```
public struct CombinedAssetSource: AssetByteSource {
    /// The sources, in search order.
    public var sources: [any AssetByteSource]

    /// A source searching `sources` in order.
    public init(_ sources: [any AssetByteSource]) {
        self.sources = sources
    }

    /// The first source's answer that is not nil.
    ///
    /// - Throws: Whatever a source throws (the sources after it are not searched).
    public func sha256OfBytes(declaredSHA256 sha256: String, url: String) throws -> (sha256: String, location: String)?
    {
        for source in sources {
            if let found = try source.sha256OfBytes(declaredSHA256: sha256, url: url) { return found }
        }
        return nil
    }
}

/// Streams a file through SHA-256 (lowercase hex).
///
/// - Throws: ``AssetSourceError`` naming the path when the file cannot be opened or read.
package func sha256OfFile(_ path: String) throws -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else {
        throw AssetSourceError(path: path, reason: "cannot read asset bytes")
    }
    defer { try? handle.close() }
    var hasher = ContentHasher(algorithm: .sha256)
    do {
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        }
    } catch {
        throw AssetSourceError(path: path, reason: "cannot read asset bytes: \(error.localizedDescription)")
    }
    return hasher.finalize().hex
}
