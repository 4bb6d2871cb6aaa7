public import CairnCore
import Foundation
import Synchronization
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state of one object after rehashing it.
package struct ObjectStatus: Sendable, Hashable {
    /// What was found.
    package enum Kind: String, Sendable, Codable {
        /// The file is there, has its recorded size, and its bytes hash to its name.
        case intact
        /// No object file.
        case absent
        /// The file is empty (and not the empty object) or its size differs from the recorded one.
        case truncated
        /// The bytes hash to another digest.
        case corrupt
    }

    /// What was found.
    package var kind: Kind
    /// The object checked.
    package var digest: Digest
    /// The object's path.
    package var path: String
    /// The file's size, when there is a file.
    package var size: Int64?
    /// What the bytes hash to, when they were hashed and differ from `digest`.
    package var actualDigest: Digest?
    /// A one-line explanation, empty when intact.
    package var detail: String
}

/// One problem `fsck` found, and what `--repair` did about it.
public struct FsckProblem: Sendable, Codable, Hashable {
    /// The kind of problem.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// An object file whose bytes do not hash to its name.
        case corrupt
        /// An object file that is empty, or not the size recorded when it was stored.
        case truncated
        /// An object file under the wrong shard or algorithm directory.
        case misplaced
        /// A file in `objects/` whose name is not a digest, or that is not a regular file.
        case strayFile = "stray_file"
        /// A temporary file left in `tmp/` by an ingest that did not finish (its process is gone). Not damage:
        /// ``FsckReport/debris`` lists these, never ``FsckReport/problems``.
        case strayTemp = "stray_temp"
        /// An object file that could not be read.
        case unreadable
    }

    /// The kind of problem.
    public var kind: Kind
    /// The file concerned.
    public var path: String
    /// The digest its name claims, if the name is a digest.
    public var digest: Digest?
    /// What its bytes hash to, when that differs from `digest`.
    public var actualDigest: Digest?
    /// A one-line explanation.
    public var detail: String
    /// What `--repair` did ("quarantined to …", "moved to …", "removed"), or `nil`.
    public var repair: String?
}

/// The result of `ObjectStore.fsck(jobs:repair:progress:)`.
public struct FsckReport: Sendable, Codable, Hashable {
    /// Object files rehashed.
    public var objectsChecked: Int
    /// Bytes rehashed.
    public var bytesChecked: Int64
    /// Temporary files of ingests still running (not problems).
    public var temporaryFilesInUse: Int
    /// Damage found, sorted by path.
    public var problems: [FsckProblem]
    /// Removable debris, sorted by path: temporary files in `tmp/` whose process is gone (a killed `put`), kind
    /// ``FsckProblem/Kind/strayTemp``. Not damage: a store with debris and no problems is clean. With `repair` each
    /// one's ``FsckProblem/repair`` says whether it was removed.
    public var debris: [FsckProblem]
    /// True when no damage was found (debris may remain).
    public var isClean: Bool { problems.isEmpty }
}

/// A file found under `objects/`.
struct ObjectEntry: Sendable {
    var path: String
    /// The digest the file's name spells (with its directory's algorithm), if it spells one.
    var nameDigest: Digest?
    /// True when `path` is exactly `objectPath(for: nameDigest)`.
    var isWellPlaced: Bool
    var isRegularFile: Bool
    var inode: UInt64
    /// The file's size when it was listed (0 if it could not be known).
    var size: Int64
}

extension ObjectStore {
    /// Rehashes the object named `digest` and reports its state. O(size).
    ///
    /// - Throws: `StoreError` (`.io`) only when the file exists but cannot be read.
    package func verify(_ digest: Digest) throws -> ObjectStatus {
        let path = objectPath(for: digest)
        let info: stat?
        do { info = try SystemCalls.lstatIfPresent(path) } catch {
            throw StoreError.io("cannot check object", path: path, digest: digest, error)
        }
        guard let info, (info.st_mode & S_IFMT) == S_IFREG else {
            return ObjectStatus(
                kind: .absent,
                digest: digest,
                path: path,
                size: nil,
                actualDigest: nil,
                detail: "absent"
            )
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        let check = checkObjectFile(path: path, expected: digest, buffer: buffer)
        if let failure = check.failure {
            throw StoreError(code: .io, message: "cannot read object", path: path, digest: digest, errno: failure)
        }
        return ObjectStatus(
            kind: check.kind,
            digest: digest,
            path: path,
            size: check.size,
            actualDigest: check.actual == digest ? nil : check.actual,
            detail: check.detail
        )
    }

    /// Checks the whole store: rehashes every object file on `jobs` threads, and looks for misplaced and stray
    /// files and stale temporaries. O(total bytes).
    ///
    /// With `repair`, corrupt, truncated and stray files are moved into `quarantine/`, intact misplaced objects are
    /// moved to their right path (or quarantined if that path already holds the object), and stale temporaries are
    /// removed. A good object is never deleted.
    /// - Parameters:
    ///   - jobs: Threads hashing at once (at least 1).
    ///   - repair: Fix what was found, as above.
    ///   - progress: Called with (objects done, objects total) now and then, from any thread.
    /// - Throws: `StoreError` (`.io`) if the store's directories cannot be listed.
    public func fsck(
        jobs: Int = 1,
        repair: Bool = false,
        progress: (@Sendable (Int, Int) -> Void)? = nil
    ) throws -> FsckReport {
        let jobs = max(1, jobs)
        // Largest first: a big object's hash (sequential) starts at once, and the small ones fill in beside it.
        let entries = try listObjectFiles(jobs: jobs).sorted { $0.size > $1.size }
        let run = FsckRun(store: self, entries: entries)
        let threads = min(jobs, max(1, entries.count))
        if threads == 1 {
            run.work(progress: progress)
        } else {
            DispatchQueue.concurrentPerform(iterations: threads) { _ in run.work(progress: progress) }
        }
        var problems = run.problems()
        var inUse = 0
        var debris = try checkTemporaryFiles(inUse: &inUse)
        if repair {
            var inodes: [String: UInt64] = [:]
            for entry in entries { inodes[entry.path] = entry.inode }
            for index in problems.indices {
                problems[index].repair = self.repair(problems[index], inode: inodes[problems[index].path])
            }
            for index in debris.indices {
                debris[index].repair = self.repair(debris[index], inode: nil)
            }
            if configuration.durability != .none {
                do { try syncStore() } catch var error as StoreError {
                    error.message =
                        "repairs were made, but syncing them failed: \(error.message); run fsck --repair again"
                    throw error
                }
            }
        }
        problems.sort { $0.path < $1.path }
        debris.sort { $0.path < $1.path }
        return FsckReport(
            objectsChecked: run.checkedCount,
            bytesChecked: run.checkedBytes,
            temporaryFilesInUse: inUse,
            problems: problems,
            debris: debris
        )
    }

    /// Removes the debris in `tmp/`: temporary files whose process is gone (a killed `put`), and files of unknown
    /// name older than an hour. A temporary file of a live process is never touched. O(files in `tmp/`).
    ///
    /// `put` calls this once per open store, before its first temporary file; `gc` and `fsck --repair` call it too.
    /// - Returns: What was found, each with ``FsckProblem/repair`` saying whether it was removed.
    /// - Throws: `StoreError` (`.io`) if `tmp/` cannot be listed.
    @discardableResult
    package func removeDebris() throws -> [FsckProblem] {
        var inUse = 0
        var debris = try checkTemporaryFiles(inUse: &inUse)
        for index in debris.indices { debris[index].repair = repair(debris[index], inode: nil) }
        return debris.sorted { $0.path < $1.path }
    }

    /// The result of rehashing one object file.
    struct FileCheck {
        var kind: ObjectStatus.Kind
        var size: Int64?
        var actual: Digest?
        var detail: String
        var failure: Errno?
    }

    /// Rehashes the file at `path` against `expected`, using `buffer`. `listedSize` (the size when it was listed)
    /// only spares small files the read-ahead advice.
    func checkObjectFile(
        path: String,
        expected: Digest,
        buffer: UnsafeMutableRawBufferPointer,
        listedSize: Int64? = nil
    ) -> FileCheck {
        let fd: Int32
        do { fd = try SystemCalls.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == .noSuchFileOrDirectory {
                return FileCheck(kind: .absent, size: nil, actual: nil, detail: "absent", failure: nil)
            }
            return FileCheck(kind: .corrupt, size: nil, actual: nil, detail: "cannot open", failure: error.errno)
        }
        defer { SystemCalls.close(fd) }
        if (listedSize ?? Int64.max) > Int64(buffer.count) { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) }
        var hasher = ContentHasher(algorithm: expected.algorithm)
        var size: Int64 = 0
        while true {
            let n: Int
            do { n = try SystemCalls.preadFully(fd, buffer.baseAddress!, buffer.count, offset: size) } catch {
                return FileCheck(kind: .corrupt, size: size, actual: nil, detail: "cannot read", failure: error.errno)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            size += Int64(n)
            // preadFully returns a short count only at the end of the file: no extra read to see it.
            if n < buffer.count { break }
        }
        let actual = hasher.finalize()
        let recorded = (try? SystemCalls.attribute(fd, name: Self.sizeAttribute)).flatMap { $0 }.flatMap { Int64($0) }
        if size == 0 && expected != emptyDigest {
            return FileCheck(kind: .truncated, size: 0, actual: actual, detail: "empty file", failure: nil)
        }
        if let recorded, recorded != size {
            return FileCheck(
                kind: .truncated,
                size: size,
                actual: actual,
                detail: "has \(size) bytes, \(recorded) were stored",
                failure: nil
            )
        }
        if actual != expected {
            return FileCheck(
                kind: .corrupt,
                size: size,
                actual: actual,
                detail: "content hashes to \(actual)",
                failure: nil
            )
        }
        return FileCheck(kind: .intact, size: size, actual: actual, detail: "", failure: nil)
    }

    /// Visits every file under `objects/<store algorithm>/`.
    func walkObjects(_ visit: (ObjectEntry) -> Void) throws {
        try walk(directory: objectsDirectory, algorithm: configuration.algorithm, withSizes: false, visit)
    }

    /// Every file under `objects/`, whatever its directory, with its size. The top two levels are listed here; the
    /// shard directories below them on `jobs` threads (a listing costs a `stat` per file, for the size).
    func listObjectFiles(jobs: Int) throws -> [ObjectEntry] {
        var entries: [ObjectEntry] = []
        var shards: [(path: String, algorithm: DigestAlgorithm)] = []
        let top = root + "/objects"
        for entry in try listDirectory(top) {
            let path = top + "/" + entry.name
            guard entry.isDirectory else {
                entries.append(
                    ObjectEntry(
                        path: path,
                        nameDigest: nil,
                        isWellPlaced: false,
                        isRegularFile: false,
                        inode: entry.inode,
                        size: entry.size
                    )
                )
                continue
            }
            let algorithm = DigestAlgorithm(rawValue: entry.name) ?? configuration.algorithm
            for inner in try listDirectory(path, withSizes: true) {
                if inner.isDirectory {
                    shards.append((path + "/" + inner.name, algorithm))
                } else {
                    entries.append(objectEntry(directory: path, inner, algorithm: algorithm))
                }
            }
        }
        let shardList = shards
        let lists: [[ObjectEntry]]
        do {
            lists = try concurrentMap(count: shards.count, threads: jobs) { index in
                var found: [ObjectEntry] = []
                try self.walk(directory: shardList[index].path, algorithm: shardList[index].algorithm, withSizes: true)
                {
                    found.append($0)
                }
                return found
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(code: .io, message: "cannot list the store (\(error))", path: "")
        }
        return entries + lists.joined()
    }

    private func walk(
        directory: String,
        algorithm: DigestAlgorithm,
        withSizes: Bool,
        _ visit: (ObjectEntry) -> Void
    ) throws {
        for entry in try listDirectory(directory, withSizes: withSizes) {
            if entry.isDirectory {
                try walk(directory: directory + "/" + entry.name, algorithm: algorithm, withSizes: withSizes, visit)
                continue
            }
            visit(objectEntry(directory: directory, entry, algorithm: algorithm))
        }
    }

    private func objectEntry(directory: String, _ entry: DirectoryEntry, algorithm: DigestAlgorithm) -> ObjectEntry {
        let path = directory + "/" + entry.name
        let digest = entry.name.utf8.count == algorithm.hexCount ? Digest(algorithm.rawValue + ":" + entry.name) : nil
        return ObjectEntry(
            path: path,
            nameDigest: digest,
            isWellPlaced: digest.map { objectPath(for: $0) == path } ?? false,
            isRegularFile: entry.isRegularFile,
            inode: entry.inode,
            size: entry.size
        )
    }

    typealias DirectoryEntry = SystemCalls.DirectoryEntry

    /// The entries of a directory (not `.` and `..`); see ``SystemCalls/listDirectory(_:withSizes:)``.
    func listDirectory(_ path: String, withSizes: Bool = false) throws -> [DirectoryEntry] {
        do {
            return try SystemCalls.listDirectory(path, withSizes: withSizes)
        } catch {
            throw StoreError.io("cannot list directory", path: path, error)
        }
    }

    /// Finds temporary files in `tmp/`: those whose process is gone (or, for unknown names, older than an hour)
    /// are problems; the others belong to ingests still running.
    func checkTemporaryFiles(inUse: inout Int) throws -> [FsckProblem] {
        var problems: [FsckProblem] = []
        let now = Date().timeIntervalSince1970
        for entry in try listDirectory(temporaryDirectory) where !entry.isDirectory {
            let path = temporaryDirectory + "/" + entry.name
            let parts = entry.name.split(separator: "-")
            if parts.count == 3, ["put", "config"].contains(parts[0]), let pid = Int32(parts[1]) {
                if kill(pid, 0) == 0 || errno == EPERM {
                    inUse += 1
                    continue
                }
                problems.append(
                    FsckProblem(
                        kind: .strayTemp,
                        path: path,
                        digest: nil,
                        actualDigest: nil,
                        detail: "temporary file of process \(pid), which is gone",
                        repair: nil
                    )
                )
                continue
            }
            guard let info = try? SystemCalls.lstatIfPresent(path) else { continue }
            if now - SystemCalls.modificationTime(info) > 3600 {
                problems.append(
                    FsckProblem(
                        kind: .strayTemp,
                        path: path,
                        digest: nil,
                        actualDigest: nil,
                        detail: "unknown temporary file older than an hour",
                        repair: nil
                    )
                )
            } else {
                inUse += 1
            }
        }
        return problems
    }

    /// Repairs one problem; returns what was done, or why nothing was.
    func repair(_ problem: FsckProblem, inode: UInt64?) -> String {
        switch problem.kind {
        case .strayTemp:
            do {
                try SystemCalls.unlink(problem.path)
                return "removed"
            } catch {
                return "not removed: \(error.errno)"
            }
        case .unreadable:
            return "left in place (unreadable)"
        case .misplaced:
            if let digest = problem.digest, problem.actualDigest == nil {
                let canonical = objectPath(for: digest)
                if (try? contains(digest).isPresent) != true {
                    try? makeShardDirectories(for: digest, sync: configuration.durability != .none)
                    if (try? SystemCalls.link(problem.path, canonical)) != nil {
                        SystemCalls.discard(problem.path)
                        return "moved to \(canonical)"
                    }
                }
            }
            return quarantine(problem.path, inode: inode)
        case .corrupt, .truncated, .strayFile:
            return quarantine(problem.path, inode: inode)
        }
    }

    /// Moves `path` into `quarantine/`, unless it was replaced since it was checked (another inode).
    func quarantine(_ path: String, inode: UInt64?) -> String {
        let info: stat
        do {
            guard let found = try SystemCalls.lstatIfPresent(path) else { return "not moved: it is gone" }
            info = found
        } catch {
            return "not moved: \(error.errno)"
        }
        if let inode, UInt64(info.st_ino) != inode { return "not moved: the file was replaced since it was checked" }
        let directory = root + "/quarantine"
        _ = try? SystemCalls.mkdir(directory)
        let stamp = Int(Date().timeIntervalSince1970)
        let target =
            directory + "/\(stamp)-" + (path as NSString).lastPathComponent + "-"
            + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        do { try SystemCalls.rename(path, target) } catch { return "not moved: \(error.errno)" }
        return "quarantined to \(target)"
    }
}

/// Shared state of one parallel fsck.
final class FsckRun: @unchecked Sendable {
    // Invariant: `entries` and `store` are immutable; `next` hands each index to exactly one worker, which alone
    // writes `results[index]`; the totals sit behind `totals`. Results are read only after all workers returned.
    // Entries come largest first, so the longest sequential hashes start first and small ones balance the end.
    let store: ObjectStore
    let entries: [ObjectEntry]
    private let next = Mutex(0)
    private let totals = Mutex((count: 0, bytes: Int64(0)))
    private let results: UnsafeMutableBufferPointer<FsckProblem?>

    init(store: ObjectStore, entries: [ObjectEntry]) {
        self.store = store
        self.entries = entries
        results = .allocate(capacity: entries.count)
        results.initialize(repeating: nil)
    }

    deinit { results.deallocate() }

    var checkedCount: Int { totals.withLock { $0.count } }
    var checkedBytes: Int64 { totals.withLock { $0.bytes } }

    /// A worker's loop: take the next entry until none is left.
    func work(progress: (@Sendable (Int, Int) -> Void)?) {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ObjectStore.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let index = next.withLock { value -> Int in
                defer { value += 1 }
                return value
            }
            guard index < entries.count else { return }
            results[index] = check(entries[index], buffer: buffer)
            if let progress, index % 64 == 0 { progress(index, entries.count) }
        }
    }

    func problems() -> [FsckProblem] { results.compactMap { $0 } }

    private func check(_ entry: ObjectEntry, buffer: UnsafeMutableRawBufferPointer) -> FsckProblem? {
        guard entry.isRegularFile, let digest = entry.nameDigest else {
            let detail = entry.isRegularFile ? "file name is not a digest" : "not a regular file"
            return FsckProblem(
                kind: .strayFile,
                path: entry.path,
                digest: nil,
                actualDigest: nil,
                detail: detail,
                repair: nil
            )
        }
        let check = store.checkObjectFile(
            path: entry.path,
            expected: digest,
            buffer: buffer,
            listedSize: entry.size
        )
        totals.withLock {
            $0.count += 1
            $0.bytes += check.size ?? 0
        }
        if let failure = check.failure {
            return FsckProblem(
                kind: .unreadable,
                path: entry.path,
                digest: digest,
                actualDigest: nil,
                detail: "\(check.detail): \(failure)",
                repair: nil
            )
        }
        let placement = entry.isWellPlaced ? "" : " (and misplaced: belongs at \(store.objectPath(for: digest)))"
        switch check.kind {
        case .intact:
            if entry.isWellPlaced { return nil }
            return FsckProblem(
                kind: .misplaced,
                path: entry.path,
                digest: digest,
                actualDigest: nil,
                detail: "belongs at \(store.objectPath(for: digest))",
                repair: nil
            )
        case .absent:
            return nil  // removed while we looked
        case .truncated, .corrupt:
            return FsckProblem(
                kind: check.kind == .truncated ? .truncated : .corrupt,
                path: entry.path,
                digest: digest,
                actualDigest: check.actual,
                detail: check.detail + placement,
                repair: nil
            )
        }
    }
}
