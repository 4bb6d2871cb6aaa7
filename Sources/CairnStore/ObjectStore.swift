public import CairnCore
public import Foundation
import Synchronization
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether an object is in the store. An I/O or permission error is thrown, never reported as `absent`.
public enum Presence: Sendable, Hashable {
    /// The object's file is there with its recorded size.
    case present(size: Int64)
    /// No object file, or one that cannot be the object (zero-length, or not its recorded size).
    case absent

    /// True for `present`.
    public var isPresent: Bool {
        if case .present = self { return true }
        return false
    }
}

/// The outcome of storing one input.
public struct PutResult: Sendable, Hashable {
    /// The digest of the bytes.
    public var digest: Digest
    /// The number of bytes.
    public var size: Int64
    /// False when the object was already in the store (deduplicated).
    public var stored: Bool

    /// Creates a result (what an ``ObjectBackend``'s `put` returns).
    public init(digest: Digest, size: Int64, stored: Bool) {
        self.digest = digest
        self.size = size
        self.stored = stored
    }
}

extension PutResult: Encodable {
    private enum CodingKeys: String, CodingKey { case digest, size, stored }

    /// `{digest, size, stored}`, the digest as `algo:hex`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(digest.description, forKey: .digest)
        try container.encode(size, forKey: .size)
        try container.encode(stored, forKey: .stored)
    }
}

/// A local content-addressed object store: a directory of read-only files named by their digests.
///
/// Layout (see `spec/store.md`): `config.json`, `objects/<algorithm>/<ab>/<hex>` (one shard level by default),
/// `tmp/` for ingests in flight, `quarantine/` for what `fsck --repair` moves aside. Every method is safe to call
/// from several threads and several processes at once. All methods block.
public final class ObjectStore: Sendable {
    /// The store's root directory, as given.
    public let root: String
    /// The store's configuration, read from `config.json`.
    public let configuration: StoreConfiguration
    /// `root/objects/<algorithm>`.
    let objectsDirectory: String
    /// `root/tmp`.
    let temporaryDirectory: String
    /// The digest of the empty input, the one object that may have zero length.
    let emptyDigest: Digest
    /// Set once the first ingest has removed the debris of processes that are gone (see ``removeDebris()``).
    let debrisRemoved = Atomic<Bool>(false)
    /// False once `renameat2(RENAME_NOREPLACE)` failed as unsupported here: later puts through this store use
    /// `link` (tests clear it to run the fallback on a filesystem that has the rename).
    let publishesByRename = Atomic<Bool>(true)

    /// The name of the extended attribute recording an object's size (decimal ASCII).
    static let sizeAttribute = "user.cairn.size"
    /// The size of the buffers used to stream bytes.
    static let chunkSize = 1 << 20
    /// The size of each buffer in the ingest pipeline's ring (small enough to stay in cache between threads).
    static let pipelineSlotSize = 256 << 10

    /// Creates a new, empty store at `path` and opens it.
    ///
    /// The directory may exist (empty or not), but must not already hold a store's `config.json`.
    /// - Parameters:
    ///   - path: The store's root directory; created with its parents if missing.
    ///   - algorithm: The primary digest algorithm.
    ///   - durability: The default durability of `put`.
    /// - Throws: `StoreError` with `.alreadyExists` if a store is there, `.io` if a directory or file can't be made.
    public static func create(
        at path: String,
        algorithm: DigestAlgorithm = .sha256,
        durability: Durability = .object
    ) throws -> ObjectStore {
        let configPath = path + "/config.json"
        if FileManager.default.fileExists(atPath: configPath) {
            throw StoreError(code: .alreadyExists, message: "a store already exists", path: path)
        }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw StoreError(code: .io, message: "cannot create the store directory (\(error))", path: path)
        }
        let configuration = StoreConfiguration(algorithm: algorithm, durability: durability)
        for directory in ["objects", "objects/\(algorithm.rawValue)", "tmp"] {
            do {
                _ = try SystemCalls.mkdir(path + "/" + directory)
            } catch {
                throw StoreError.writeFailed("cannot create directory", path: path + "/" + directory, error)
            }
        }
        // With one shard level, make all 256 shard directories now: a put then never creates a directory, so an
        // object-durable put costs two fsyncs (file, shard directory), not three.
        if configuration.shardDepth == 1 {
            for index in 0..<256 {
                let shard = path + "/objects/\(algorithm.rawValue)/" + Hex.encode([UInt8(index)])
                do { _ = try SystemCalls.mkdir(shard) } catch {
                    throw StoreError.writeFailed("cannot create directory", path: shard, error)
                }
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        var bytes = [UInt8]((try? encoder.encode(configuration)) ?? Data())
        bytes.append(UInt8(ascii: "\n"))
        // Write config.json as a temp, fsync, then link without clobbering: two racing inits cannot both win.
        let temp = path + "/tmp/config-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        do {
            let fd = try SystemCalls.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            defer { SystemCalls.close(fd) }
            try bytes.withUnsafeBytes { buffer in
                try SystemCalls.writeAll(fd, buffer.baseAddress!, buffer.count)
            }
            try SystemCalls.fsync(fd)
        } catch {
            SystemCalls.discard(temp)
            throw StoreError.writeFailed("cannot write the store configuration", path: temp, error)
        }
        defer { SystemCalls.discard(temp) }
        do { try SystemCalls.link(temp, configPath) } catch {
            if error.errno == .fileExists {
                throw StoreError(code: .alreadyExists, message: "a store already exists", path: path)
            }
            throw StoreError(code: .io, message: "cannot create", path: configPath, errno: error.errno)
        }
        for directory in [path + "/objects/" + algorithm.rawValue, path + "/objects", path] {
            do { try SystemCalls.fsyncDirectory(directory) } catch {
                throw StoreError.writeFailed("cannot sync directory", path: directory, error)
            }
        }
        return try ObjectStore(at: path)
    }

    /// Opens the existing store at `path`.
    ///
    /// - Throws: `StoreError` with `.notAStore` if there is no `config.json`, `.badConfiguration` if it is
    ///   malformed or names an unsupported layout, `.io` if it cannot be read.
    public init(at path: String) throws {
        let configPath = path + "/config.json"
        guard let data = FileManager.default.contents(atPath: configPath) else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: configPath, isDirectory: &isDirectory) {
                throw StoreError(code: .io, message: "cannot read the store configuration", path: configPath)
            }
            throw StoreError(code: .notAStore, message: "no Cairn store (run `cairn init`)", path: path)
        }
        // The layout version first: a store of a newer layout may name algorithms or fields this code does not
        // know, and the useful answer is "newer layout", not "malformed".
        struct LayoutVersion: Decodable { var layoutVersion: Int }
        guard let version = try? JSONDecoder().decode(LayoutVersion.self, from: data) else {
            throw StoreError(code: .badConfiguration, message: "malformed store configuration", path: configPath)
        }
        guard version.layoutVersion == StoreConfiguration.currentLayoutVersion else {
            let advice =
                version.layoutVersion > StoreConfiguration.currentLayoutVersion
                ? "a newer Cairn made this store; use that version" : "this layout is not one Cairn reads"
            throw StoreError(
                code: .badConfiguration,
                message:
                    "unsupported store layout version \(version.layoutVersion) (this Cairn reads version "
                    + "\(StoreConfiguration.currentLayoutVersion); \(advice)); nothing was changed",
                path: configPath
            )
        }
        let configuration: StoreConfiguration
        do {
            configuration = try JSONDecoder().decode(StoreConfiguration.self, from: data)
        } catch {
            throw StoreError(code: .badConfiguration, message: "malformed store configuration", path: configPath)
        }
        guard (1...2).contains(configuration.shardDepth) else {
            throw StoreError(
                code: .badConfiguration,
                message: "unsupported shard depth \(configuration.shardDepth)",
                path: configPath
            )
        }
        self.root = path
        self.configuration = configuration
        self.objectsDirectory = path + "/objects/" + configuration.algorithm.rawValue
        self.temporaryDirectory = path + "/tmp"
        self.emptyDigest = ContentHasher.digest(of: [UInt8](), algorithm: configuration.algorithm)
        // A store whose tmp/ or objects/ was removed still works: recreate them.
        for directory in [path + "/objects", objectsDirectory, temporaryDirectory] {
            do { _ = try SystemCalls.mkdir(directory) } catch {
                throw StoreError.writeFailed("cannot create directory", path: directory, error)
            }
        }
    }

    /// The path where the object named `digest` lives (whether or not it is there).
    ///
    /// The path is always inside the store: a `Digest` holds only lowercase hex.
    package func objectPath(for digest: Digest) -> String {
        shardDirectory(for: digest, base: root + "/objects/" + digest.algorithm.rawValue) + "/" + digest.hex
    }

    /// The shard directory of `digest` under `base`.
    func shardDirectory(for digest: Digest, base: String) -> String {
        let hex = digest.hex.utf8
        var path = base
        var index = hex.startIndex
        for _ in 0..<configuration.shardDepth {
            let end = hex.index(index, offsetBy: 2)
            path += "/" + String(decoding: hex[index..<end], as: UTF8.self)
            index = end
        }
        return path
    }

    /// Whether the object named `digest` is in the store, and its size.
    ///
    /// A zero-length file (unless `digest` is the empty input's), a file whose size differs from the size recorded
    /// when it was stored, or anything but a regular file at the object's path counts as `absent`.
    /// - Throws: `StoreError` (`.io`) when the answer cannot be known, for example on a permission error.
    public func contains(_ digest: Digest) throws -> Presence {
        let path = objectPath(for: digest)
        let info: stat?
        do { info = try SystemCalls.lstatIfPresent(path) } catch {
            throw StoreError.io("cannot check object", path: path, digest: digest, error)
        }
        guard let info, (info.st_mode & S_IFMT) == S_IFREG else { return .absent }
        let size = Int64(info.st_size)
        if size == 0 && digest != emptyDigest { return .absent }
        let recorded: String?
        do { recorded = try SystemCalls.attribute(atPath: path, name: Self.sizeAttribute) } catch {
            if error.errno == .noSuchFileOrDirectory { return .absent }
            throw StoreError.io("cannot check object", path: path, digest: digest, error)
        }
        if let recorded, Int64(recorded) != size { return .absent }
        return .present(size: size)
    }

    /// The size of the object named `digest`.
    ///
    /// - Throws: `StoreError` with `.notFound` if it is absent, `.io` on an I/O error.
    public func size(of digest: Digest) throws -> Int64 {
        switch try contains(digest) {
        case .present(let size): return size
        case .absent:
            throw StoreError(code: .notFound, message: "no such object", path: objectPath(for: digest), digest: digest)
        }
    }

    /// The last modification time of the object's file (the time it was stored), for a GC grace period.
    ///
    /// - Throws: `StoreError` with `.notFound` if it is absent, `.io` on an I/O error.
    public func modificationDate(of digest: Digest) throws -> Date {
        let path = objectPath(for: digest)
        let info: stat?
        do { info = try SystemCalls.lstatIfPresent(path) } catch {
            throw StoreError.io("cannot check object", path: path, digest: digest, error)
        }
        guard let info else { throw StoreError(code: .notFound, message: "no such object", path: path, digest: digest) }
        return Date(timeIntervalSince1970: SystemCalls.modificationTime(info))
    }

    /// Every object of the store's algorithm, sorted. O(number of objects): it lists the shard directories.
    ///
    /// Only well-formed names in their right shard are listed; `fsck` reports anything else.
    /// - Throws: `StoreError` (`.io`) if a directory cannot be read.
    public func list() throws -> [Digest] {
        var result: [Digest] = []
        try walkObjects { entry in
            if entry.isWellPlaced, let digest = entry.nameDigest { result.append(digest) }
        }
        return result.sorted()
    }

    /// Removes the object named `digest` (for garbage collection). With `object` durability the removal is durable.
    ///
    /// - Returns: `false` if the object was not there.
    /// - Throws: `StoreError` (`.io`) if it cannot be removed.
    @discardableResult
    public func remove(_ digest: Digest) throws -> Bool {
        let path = objectPath(for: digest)
        if unlink(path) != 0 {
            let code = errno
            if code == ENOENT { return false }
            throw StoreError(
                code: .io,
                message: "cannot remove object",
                path: path,
                digest: digest,
                errno: Errno(rawValue: code)
            )
        }
        if configuration.durability != .none {
            let directory = shardDirectory(for: digest, base: objectsDirectory)
            do { try SystemCalls.fsyncDirectory(directory) } catch {
                throw StoreError.writeFailed("cannot sync directory", path: directory, error)
            }
        }
        return true
    }
}
