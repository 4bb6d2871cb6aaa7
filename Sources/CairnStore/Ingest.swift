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

/// One input to `ObjectStore.putBatch(_:durability:)`.
public enum PutSource: Sendable, Hashable {
    /// The file at a path, read to its end.
    case file(String)
    /// An open file descriptor (for example 0 for standard input), read to its end and not closed.
    case descriptor(Int32)

    /// The path, or `-` for a descriptor, as the CLI prints it.
    package var displayName: String {
        switch self {
        case .file(let path): path
        case .descriptor: "-"
        }
    }
}

/// An ingest written to `tmp/`, hashed, not yet linked into place.
struct StagedObject: Sendable {
    var temporaryPath: String
    var digest: Digest
    var size: Int64
    /// False when the object was already present at staging time (the temp is gone).
    var needsPublishing: Bool
}

extension ObjectStore {
    /// Stores `bytes` and returns their digest.
    ///
    /// - Parameters:
    ///   - bytes: The content.
    ///   - durability: Overrides the store's durability for this call.
    /// - Throws: `StoreError` (`.io`) if the object cannot be written.
    public func put(_ bytes: some Collection<UInt8>, durability: Durability? = nil) throws -> PutResult {
        try put(bytes, durability: durability, expecting: nil)
    }

    /// Stores `bytes`, and only if they hash to `expected` (when given): otherwise nothing is stored and
    /// `StoreError` `.digestMismatch` is thrown.
    public func put(
        _ bytes: some Collection<UInt8>,
        durability: Durability? = nil,
        expecting expected: Digest?
    ) throws -> PutResult {
        let durability = durability ?? configuration.durability
        let staged: StagedObject
        if let done = try bytes.withContiguousStorageIfAvailable({ buffer in
            try stage(bytes: UnsafeRawBufferPointer(buffer), durability: durability)
        }) {
            staged = done
        } else {
            staged = try Array(bytes).withUnsafeBytes { try stage(bytes: $0, durability: durability) }
        }
        try check(staged, expected: expected)
        return try finish([staged], durability: durability)[0]
    }

    /// Stores the file at `path` (streamed), and only if its bytes hash to `expected` (when given): otherwise
    /// nothing is stored and `StoreError` `.digestMismatch` is thrown.
    public func put(fileAt path: String, durability: Durability? = nil, expecting expected: Digest?) throws -> PutResult
    {
        guard let expected else { return try put(fileAt: path, durability: durability) }
        let durability = durability ?? configuration.durability
        try checkInputs([.file(path)])
        let staged = try stage(.file(path), durability: durability)
        try check(staged, expected: expected)
        return try finish([staged], durability: durability)[0]
    }

    /// Throws `.digestMismatch` (removing the staged temporary file) when `staged` is not `expected`.
    func check(_ staged: StagedObject, expected: Digest?) throws {
        guard let expected, staged.digest != expected else { return }
        if staged.needsPublishing { SystemCalls.discard(staged.temporaryPath) }
        if expected.algorithm != staged.digest.algorithm {
            throw StoreError(
                code: .wrongAlgorithm,
                message: "expected \(expected), but this store names objects by \(staged.digest.algorithm.rawValue)",
                digest: expected
            )
        }
        throw StoreError(
            code: .digestMismatch,
            message: "bytes hash to \(staged.digest), not the expected",
            digest: expected
        )
    }

    /// Stores the contents of the file at `path`, streaming it once (read, hash, write) in constant memory.
    ///
    /// - Parameters:
    ///   - path: A regular file (or anything readable to its end, such as a FIFO).
    ///   - durability: Overrides the store's durability for this call.
    /// - Throws: `StoreError` with `.badInput` if `path` is missing, a directory or unreadable; `.io` otherwise.
    public func put(fileAt path: String, durability: Durability? = nil) throws -> PutResult {
        try putBatch([.file(path)], durability: durability)[0]
    }

    /// Stores everything read from `descriptor` until its end, in constant memory. The descriptor is not closed.
    ///
    /// - Throws: `StoreError` with `.badInput` if reading fails, `.io` if writing fails.
    package func put(contentsOf descriptor: Int32, durability: Durability? = nil) throws -> PutResult {
        try putBatch([.descriptor(descriptor)], durability: durability)[0]
    }

    /// Stores the files at `paths`; see `putBatch(_:durability:)`.
    package func putBatch(filesAt paths: [String], durability: Durability? = nil) throws -> [PutResult] {
        try putBatch(paths.map { .file($0) }, durability: durability)
    }

    /// Stores several inputs, returning one result per input in order.
    ///
    /// Every file is checked first (it exists, is not a directory, can be opened): if one fails, nothing is
    /// stored. With `batch` durability all inputs are written to `tmp/` (on up to `stagingThreads` threads; a
    /// bad input there removes every temp, so nothing is stored either), one filesystem sync makes them durable,
    /// then they are moved into place and a second sync makes the names durable before the call returns: no
    /// object is visible before its bytes are durable. With `object` durability each object is made durable in
    /// turn; with `none`, nothing is synced.
    /// - Parameters:
    ///   - sources: The inputs, in order.
    ///   - durability: Overrides the store's durability for this call.
    ///   - checkingInputs: Check every input first, as above; pass false only after `checkInputs(_:)` did so.
    /// - Throws: `StoreError` with `.badInput` naming the first bad input, or `.io`.
    package func putBatch(
        _ sources: [PutSource],
        durability: Durability? = nil,
        checkingInputs: Bool = true
    ) throws -> [PutResult] {
        let durability = durability ?? configuration.durability
        if durability == .batch {
            // No separate check pass for files: staging fails on the first bad input and then removes every temp it
            // made. A descriptor is read only once, so with one among the inputs the files are checked first.
            if checkingInputs, sources.contains(where: { if case .descriptor = $0 { true } else { false } }) {
                try checkInputs(sources)
            }
            return try finish(
                try stageAll(sources, durability: durability, threads: Self.stagingThreads),
                durability: durability
            )
        }
        if checkingInputs { try checkInputs(sources) }
        var results: [PutResult] = []
        results.reserveCapacity(sources.count)
        for source in sources {
            let staged = try stage(source, durability: durability)
            results.append(try finish([staged], durability: durability)[0])
        }
        return results
    }

    /// Stores each input on its own, up to `concurrency` inputs in flight, and calls `published` on the calling
    /// thread, in input order, for each input once it and every input before it are stored.
    ///
    /// With `object` durability every reported object is durable (its data and its name fsynced) before `published`
    /// sees it, exactly as with one `put` per input; running several at once overlaps their fsyncs, whose device
    /// latency dominates. With `batch` durability this is `putBatch(_:durability:)` (staging on at most
    /// `concurrency` threads) followed by the calls.
    /// Other modes do not check the inputs first: call `checkInputs(_:)` for that.
    /// - Parameters:
    ///   - sources: The inputs, in order.
    ///   - durability: Overrides the store's durability for this call.
    ///   - concurrency: Inputs in flight at once (at least 1).
    ///   - published: Called with each input's index and result, in order.
    /// - Throws: The error of the first input (in input order) that failed. Every input before it was stored and
    ///   reported; inputs after it that were already in flight may have been stored, but are not reported.
    public func putEach(
        _ sources: [PutSource],
        durability: Durability? = nil,
        concurrency: Int = 4,
        published: (Int, PutResult) throws -> Void
    ) throws {
        let durability = durability ?? configuration.durability
        if durability == .batch {
            if sources.contains(where: { if case .descriptor = $0 { true } else { false } }) {
                try checkInputs(sources)
            }
            let threads = min(max(1, concurrency), Self.stagingThreads)
            let staged = try stageAll(sources, durability: durability, threads: threads)
            for (index, result) in try finish(staged, durability: durability).enumerated() {
                try published(index, result)
            }
            return
        }
        let work: @Sendable (Int) throws -> PutResult = { index in
            try self.finish([try self.stage(sources[index], durability: durability)], durability: durability)[0]
        }
        try forEachInOrder(count: sources.count, workers: concurrency, work, published: published)
    }

    /// The threads that stage a batch at once: the store's work is mostly system calls (create, write) and
    /// hashing, which two cores overlap.
    static let stagingThreads = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

    /// Stages every source (a shared queue, at most `threads` threads), returning them in order. On failure every
    /// temp is removed and the error of the first failing source (in input order) is thrown.
    func stageAll(_ sources: [PutSource], durability: Durability, threads: Int) throws -> [StagedObject] {
        let threads = min(threads, sources.count / 16 + 1)
        // Temps of objects staged before a failure are removed.
        func removeTemps(_ staged: [StagedObject]) {
            for object in staged where object.needsPublishing { SystemCalls.discard(object.temporaryPath) }
        }
        return try concurrentMap(count: sources.count, threads: threads, cleanup: removeTemps) { index in
            try self.stage(sources[index], durability: durability)
        }
    }

    /// Checks every file source before anything is stored: it exists, can be opened for reading, and is not a
    /// directory. Descriptors are not checked.
    ///
    /// - Throws: `StoreError` with `.badInput` naming the first bad input.
    public func checkInputs(_ sources: [PutSource]) throws {
        for source in sources {
            if case .file(let path) = source { try checkReadable(path) }
        }
    }

    /// Throws `.badInput` unless `path` can be opened for reading and is not a directory.
    func checkReadable(_ path: String) throws {
        let fd: Int32
        do { fd = try SystemCalls.open(path, O_RDONLY | O_NONBLOCK) } catch {
            throw StoreError(code: .badInput, message: "cannot read input", path: path, errno: error.errno)
        }
        defer { SystemCalls.close(fd) }
        let info = try? SystemCalls.fstat(fd)
        if let info, (info.st_mode & S_IFMT) == S_IFDIR {
            throw StoreError(code: .badInput, message: "input is a directory", path: path, errno: .isDirectory)
        }
    }

    /// Makes staged objects durable as `durability` says and links them into place.
    func finish(_ staged: [StagedObject], durability: Durability) throws -> [PutResult] {
        if durability == .batch, staged.contains(where: \.needsPublishing) {
            try syncStore()
        }
        var results: [PutResult] = []
        results.reserveCapacity(staged.count)
        do {
            for (index, object) in staged.enumerated() {
                guard object.needsPublishing else {
                    results.append(PutResult(digest: object.digest, size: object.size, stored: false))
                    continue
                }
                do {
                    let stored = try publish(object, syncDirectory: durability == .object)
                    results.append(PutResult(digest: object.digest, size: object.size, stored: stored))
                } catch {
                    for rest in staged[index...] where rest.needsPublishing { SystemCalls.discard(rest.temporaryPath) }
                    throw error
                }
            }
        }
        if durability == .batch, results.contains(where: \.stored) {
            try syncStore()
        }
        return results
    }

    /// One `syncfs` on the store's filesystem.
    func syncStore() throws {
        let fd: Int32
        do { fd = try SystemCalls.open(temporaryDirectory, O_RDONLY | O_DIRECTORY) } catch {
            throw StoreError.writeFailed("cannot open", path: temporaryDirectory, error)
        }
        defer { SystemCalls.close(fd) }
        do { try SystemCalls.syncFileSystem(fd) } catch {
            throw StoreError.writeFailed("cannot sync the store's filesystem", path: root, error)
        }
    }

    /// Moves a staged object into place without clobbering, fsyncs its shard directory if asked, drops the temp.
    /// Returns false when an intact object was already there.
    func publish(_ object: StagedObject, syncDirectory: Bool) throws -> Bool {
        let final = objectPath(for: object.digest)
        var temporaryNameLeft = true
        defer { if temporaryNameLeft { SystemCalls.discard(object.temporaryPath) } }
        try refuseShardThatIsNotADirectory(of: object.digest)
        var stored = false
        var attempts = 0
        while true {
            attempts += 1
            let code = moveIntoPlace(object.temporaryPath, final, temporaryNameLeft: &temporaryNameLeft)
            if code == 0 {
                stored = true
                break
            }
            if code == ENOENT && attempts < 4 {
                try makeShardDirectories(for: object.digest, sync: syncDirectory)
                continue
            }
            if code == EEXIST {
                if try contains(object.digest).isPresent {
                    try refreshModificationTime(of: object.digest)
                    break
                }
                // A broken file (empty or wrong size) sits at the object's path: replace it atomically.
                do { try SystemCalls.rename(object.temporaryPath, final) } catch {
                    throw StoreError(
                        code: .io,
                        message: "cannot replace a damaged object",
                        path: final,
                        digest: object.digest,
                        errno: error.errno
                    )
                }
                temporaryNameLeft = false
                stored = true
                break
            }
            throw StoreError(
                code: .io,
                message: "cannot link object",
                path: final,
                digest: object.digest,
                errno: Errno(rawValue: code)
            )
        }
        if stored && syncDirectory {
            let shard = shardDirectory(for: object.digest, base: objectsDirectory)
            do { try SystemCalls.fsyncDirectory(shard) } catch {
                throw StoreError.writeFailed("cannot sync directory", path: shard, error)
            }
        }
        return stored
    }

    /// Gives the temp the object's name unless that name exists: `renameat2(RENAME_NOREPLACE)` (one atomic step;
    /// the temp's name is gone), or, where the kernel or filesystem lacks it, `link` (the temp's name stays, for
    /// the caller to unlink). Returns 0 or the `errno` (`EEXIST`: something is already at `final`).
    func moveIntoPlace(_ temporary: String, _ final: String, temporaryNameLeft: inout Bool) -> Int32 {
        if publishesByRename.load(ordering: .relaxed) {
            do {
                try SystemCalls.renameNoReplace(temporary, final)
                temporaryNameLeft = false
                return 0
            } catch {
                guard error.errno == .noFunction || error.errno == .invalidArgument || error.errno == .notSupported
                else {
                    return error.errno.rawValue
                }
                publishesByRename.store(false, ordering: .relaxed)
            }
        }
        do {
            try SystemCalls.link(temporary, final)
            return 0
        } catch {
            return error.errno.rawValue
        }
    }

    /// Sets an already-stored object's modification time to now, so that a put of existing bytes restarts the
    /// garbage collector's grace period for them (the object may be about to be referenced by a new ledger entry).
    /// A put that cannot do so fails: reporting the bytes as stored would promise a grace period not given.
    func refreshModificationTime(of digest: Digest) throws {
        let path = objectPath(for: digest)
        do { try SystemCalls.touch(path) } catch {
            throw StoreError(
                code: .io,
                message: "cannot restart the garbage collector's grace period of an existing object",
                path: path,
                digest: digest,
                errno: error.errno
            )
        }
    }

    /// Throws when a shard directory of `digest` is anything but a real directory: a symbolic link there could point
    /// outside the store, and Cairn writes only inside it. One `lstat` per shard level; a missing shard directory is
    /// fine (the publish creates it).
    func refuseShardThatIsNotADirectory(of digest: Digest) throws {
        var path = objectsDirectory
        let hex = Array(digest.hex.utf8)
        for level in 0..<configuration.shardDepth {
            path += "/" + String(decoding: hex[(2 * level)..<(2 * level + 2)], as: UTF8.self)
            let info: stat?
            do { info = try SystemCalls.lstatIfPresent(path) } catch {
                throw StoreError.writeFailed("cannot inspect shard directory", path: path, error)
            }
            guard let info else { return }
            if info.st_mode & S_IFMT != S_IFDIR {
                let what = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a directory"
                throw StoreError(
                    code: .io,
                    message:
                        "shard directory is \(what); Cairn writes only inside the store: replace it with a real "
                        + "directory (cairn fsck lists it)",
                    path: path,
                    digest: digest
                )
            }
        }
    }

    /// Creates the shard directories of `digest`, fsyncing each parent that gained an entry when `sync` is set.
    func makeShardDirectories(for digest: Digest, sync: Bool) throws {
        var parent = objectsDirectory
        let hex = Array(digest.hex.utf8)
        for level in 0..<configuration.shardDepth {
            let directory = parent + "/" + String(decoding: hex[(2 * level)..<(2 * level + 2)], as: UTF8.self)
            do {
                if try SystemCalls.mkdir(directory), sync { try SystemCalls.fsyncDirectory(parent) }
            } catch {
                throw StoreError.writeFailed("cannot create shard directory", path: directory, error)
            }
            parent = directory
        }
    }

    /// Copies everything `descriptor` holds (standard input, say) into a new temporary file in `tmp/` and returns its
    /// path, for a backend elsewhere that uploads files; the caller removes it. Nothing is left on failure.
    package func spool(_ descriptor: Int32) throws -> String {
        let (fd, path) = try makeTemporaryFile()
        defer { SystemCalls.close(fd) }
        do {
            _ = try copyInline(
                from: descriptor,
                name: "-",
                to: fd,
                path: path,
                prefix: UnsafeRawBufferPointer(start: nil, count: 0)
            )
        } catch {
            SystemCalls.discard(path)
            throw error
        }
        return path
    }

    /// Creates a new temporary file in `tmp/`, named `put-<pid>-<random>` so `fsck` can tell a stale one.
    /// The first one made through this `ObjectStore` first removes the debris of processes that are gone.
    func makeTemporaryFile() throws -> (fd: Int32, path: String) {
        if !debrisRemoved.load(ordering: .acquiring), !debrisRemoved.exchange(true, ordering: .acquiringAndReleasing) {
            // Debris is not damage: failing to remove it must not fail the put.
            _ = try? removeDebris()
        }
        while true {
            let path = temporaryDirectory + "/put-" + TemporaryNames.next()
            do {
                let fd = try SystemCalls.open(path, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
                return (fd, path)
            } catch {
                if error.errno == .fileExists { continue }
                throw StoreError.writeFailed("cannot create a temporary file", path: path, error)
            }
        }
    }

    /// Stages bytes already in memory.
    func stage(bytes: UnsafeRawBufferPointer, durability: Durability) throws -> StagedObject {
        let digest = ContentHasher.digest(of: bytes, algorithm: configuration.algorithm)
        if try contains(digest).isPresent {
            try refreshModificationTime(of: digest)
            return StagedObject(temporaryPath: "", digest: digest, size: Int64(bytes.count), needsPublishing: false)
        }
        let (fd, path) = try makeTemporaryFile()
        do {
            if bytes.count > 0 {
                do { try SystemCalls.writeAll(fd, bytes.baseAddress!, bytes.count) } catch {
                    throw StoreError.writeFailed("cannot write", path: path, error)
                }
            }
            try seal(fd: fd, path: path, size: Int64(bytes.count), durability: durability)
        } catch {
            SystemCalls.close(fd)
            SystemCalls.discard(path)
            throw error
        }
        SystemCalls.close(fd)
        return StagedObject(temporaryPath: path, digest: digest, size: Int64(bytes.count), needsPublishing: true)
    }

    /// Stages one source: streams it into a temp while hashing, then seals it (or drops it as a duplicate).
    func stage(_ source: PutSource, durability: Durability) throws -> StagedObject {
        let input: Int32
        let shouldClose: Bool
        switch source {
        case .file(let path):
            do { input = try SystemCalls.open(path, O_RDONLY) } catch {
                throw StoreError(code: .badInput, message: "cannot read input", path: path, errno: error.errno)
            }
            shouldClose = true
        case .descriptor(let descriptor):
            input = descriptor
            shouldClose = false
        }
        defer { if shouldClose { SystemCalls.close(input) } }
        let name = source.displayName
        var sizeHint: Int64? = nil
        if let info = try? SystemCalls.fstat(input) {
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw StoreError(code: .badInput, message: "input is a directory", path: name, errno: .isDirectory)
            }
            if (info.st_mode & S_IFMT) == S_IFREG {
                sizeHint = Int64(info.st_size)
                if info.st_size > Self.chunkSize { _ = posix_fadvise(input, 0, 0, POSIX_FADV_SEQUENTIAL) }
            }
        }
        // A small file is read whole and hashed first: a duplicate then costs no temporary file at all.
        var prefix: UnsafeMutableRawBufferPointer? = nil
        defer { prefix?.deallocate() }
        if let sizeHint, sizeHint <= Int64(Self.chunkSize) {
            let capacity = Int(sizeHint) + 1
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
            prefix = buffer
            let n: Int
            do { n = try SystemCalls.readFully(input, buffer.baseAddress!, capacity) } catch {
                throw StoreError(code: .badInput, message: "cannot read input", path: name, errno: error.errno)
            }
            if n < capacity {
                return try stage(bytes: UnsafeRawBufferPointer(rebasing: buffer[..<n]), durability: durability)
            }
            // The file grew while we read it: go on streaming, starting with what was read.
        }
        let (fd, path) = try makeTemporaryFile()
        do {
            let startWriteback = durability != .none
            let (digest, size) =
                if let prefix {
                    try copyInline(
                        from: input,
                        name: name,
                        to: fd,
                        path: path,
                        prefix: UnsafeRawBufferPointer(prefix)
                    )
                } else {
                    try copyPipelined(from: input, name: name, to: fd, path: path, startWriteback: startWriteback)
                }
            if try contains(digest).isPresent {
                SystemCalls.close(fd)
                SystemCalls.discard(path)
                try refreshModificationTime(of: digest)
                return StagedObject(temporaryPath: "", digest: digest, size: size, needsPublishing: false)
            }
            try seal(fd: fd, path: path, size: size, durability: durability)
            SystemCalls.close(fd)
            return StagedObject(temporaryPath: path, digest: digest, size: size, needsPublishing: true)
        } catch {
            SystemCalls.close(fd)
            SystemCalls.discard(path)
            throw error
        }
    }

    /// Records the size, makes the temp read-only and, with `object` durability, fsyncs it.
    func seal(fd: Int32, path: String, size: Int64, durability: Durability) throws {
        do {
            try SystemCalls.setAttribute(fd, name: Self.sizeAttribute, value: String(size))
            try SystemCalls.setPermissions(fd, 0o444, path: path)
            if durability == .object { try SystemCalls.fsync(fd) }
        } catch {
            throw StoreError.writeFailed("cannot seal temporary object", path: path, error)
        }
    }

    /// Single-threaded copy of the rest of an input whose first bytes (`prefix`) were already read.
    func copyInline(
        from input: Int32,
        name: String,
        to output: Int32,
        path: String,
        prefix: UnsafeRawBufferPointer
    ) throws -> (Digest, Int64) {
        var hasher = ContentHasher(algorithm: configuration.algorithm)
        hasher.update(bufferPointer: prefix)
        if let base = prefix.baseAddress, prefix.count > 0 {
            do { try SystemCalls.writeAll(output, base, prefix.count) } catch {
                throw StoreError.writeFailed("cannot write", path: path, error)
            }
        }
        var total = Int64(prefix.count)
        let capacity = 64 << 10
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 4096)
        defer { buffer.deallocate() }
        while true {
            let n: Int
            do { n = try SystemCalls.read(input, buffer.baseAddress!, capacity) } catch {
                throw StoreError(code: .badInput, message: "cannot read input", path: name, errno: error.errno)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            do { try SystemCalls.writeAll(output, buffer.baseAddress!, n) } catch {
                throw StoreError.writeFailed("cannot write", path: path, error)
            }
            total += Int64(n)
        }
        return (hasher.finalize(), total)
    }

    /// Streaming copy for large or unknown-size inputs: this thread reads each chunk and writes it to the temp
    /// while a second thread hashes the same chunk, through a ring of eight 256 KiB buffers (2 MiB, constant memory).
    /// With `startWriteback`, each written chunk's writeback starts at once so the disk works while we hash.
    func copyPipelined(
        from input: Int32,
        name: String,
        to output: Int32,
        path: String,
        startWriteback: Bool
    ) throws -> (Digest, Int64) {
        let ring = HashingRing(algorithm: configuration.algorithm, slotSize: Self.pipelineSlotSize)
        let hasherThread = Thread { ring.runHasher() }
        hasherThread.stackSize = 1 << 20
        hasherThread.start()
        var total: Int64 = 0
        var slot = 0
        var failure: StoreError? = nil
        while true {
            ring.free.wait()
            let buffer = ring.slot(slot)
            let n: Int
            do {
                n = try SystemCalls.readFully(input, buffer, ring.slotSize)
            } catch {
                failure = StoreError(code: .badInput, message: "cannot read input", path: name, errno: error.errno)
                ring.setLength(-1, at: slot)
                ring.filled.signal()
                break
            }
            if n > 0 {
                do { try SystemCalls.writeAll(output, buffer, n) } catch {
                    failure = StoreError.writeFailed("cannot write", path: path, error)
                    ring.setLength(-1, at: slot)
                    ring.filled.signal()
                    break
                }
                if startWriteback { SystemCalls.startWriteback(output, offset: total, count: Int64(n)) }
            }
            ring.setLength(n, at: slot)
            ring.filled.signal()
            if n == 0 { break }
            total += Int64(n)
            slot = (slot + 1) % HashingRing.slotCount
        }
        ring.finished.wait()
        if let failure { throw failure }
        return (ring.digest!, total)
    }
}

/// Unique temporary-file names without a system call per name: `<pid>-<random per process><counter>`.
enum TemporaryNames {
    private static let prefix = "\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "x"
    private static let counter = Mutex(UInt64(0))

    /// The next name; `fsck` reads the pid from the part before the first `-`.
    static func next() -> String {
        let value = counter.withLock { value -> UInt64 in
            value += 1
            return value
        }
        return prefix + String(value, radix: 16)
    }
}

/// Buffers handed from the reading thread to the hashing thread.
final class HashingRing: @unchecked Sendable {
    // Invariant: slot i belongs to the reader between `free.wait()` and `filled.signal()`, and to the hasher
    // between `filled.wait()` and `free.signal()`; the semaphores order every access to `memory` and `lengths`.
    // `hasher` and `digest` are touched only by the hasher thread until it signals `finished`.
    static let slotCount = 8
    let slotSize: Int
    // Created at 0 and signalled up: libdispatch traps if a semaphore dies below its initial value.
    let free = DispatchSemaphore(value: 0)
    let filled = DispatchSemaphore(value: 0)
    let finished = DispatchSemaphore(value: 0)
    private let memory: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    private var hasher: ContentHasher
    private(set) var digest: Digest?

    init(algorithm: DigestAlgorithm, slotSize: Int) {
        self.slotSize = slotSize
        memory = UnsafeMutableRawPointer.allocate(byteCount: slotSize * Self.slotCount, alignment: 4096)
        lengths = UnsafeMutablePointer<Int>.allocate(capacity: Self.slotCount)
        lengths.initialize(repeating: 0, count: Self.slotCount)
        hasher = ContentHasher(algorithm: algorithm)
        for _ in 0..<Self.slotCount { free.signal() }
    }

    deinit {
        memory.deallocate()
        lengths.deallocate()
    }

    func slot(_ index: Int) -> UnsafeMutableRawPointer { memory + index * slotSize }

    func setLength(_ length: Int, at index: Int) { lengths[index] = length }

    /// The hasher thread's loop: hash each filled slot in order until the end marker (0) or an abort (-1).
    func runHasher() {
        var index = 0
        while true {
            filled.wait()
            let length = lengths[index]
            if length <= 0 {
                if length == 0 { digest = hasher.finalize() }
                break
            }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: slot(index), count: length))
            free.signal()
            index = (index + 1) % Self.slotCount
        }
        finished.signal()
    }
}

/// Runs `work` for `0..<count` on up to `workers` threads and hands each result to `published` in index order, as
/// soon as it and every one before it are done (so a line printed for an input never precedes one for an earlier
/// input). After the first failure no new index starts; those in flight finish, and the failure is thrown once every
/// result before it has been published. With one worker, or one index, it all runs on the calling thread.
package func forEachInOrder<Value: Sendable>(
    count: Int,
    workers: Int,
    _ work: @escaping @Sendable (Int) throws -> Value,
    published: (Int, Value) throws -> Void
) throws {
    let workers = min(max(1, workers), count)
    if workers <= 1 {
        for index in 0..<count { try published(index, try work(index)) }
        return
    }
    let queue = InOrderResults<Value>(count: count)
    let group = DispatchGroup()
    // Threads of their own: a global dispatch queue may run no more blocking work items at once than there are cores.
    for _ in 0..<workers {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            while let index = queue.take() {
                queue.deliver(Result { try work(index) }, at: index)
            }
        }
    }
    defer {
        queue.stop()
        group.wait()
    }
    for index in 0..<count {
        try published(index, try queue.wait(for: index).get())
    }
}

/// Results of `forEachInOrder`, produced by worker threads in any order and consumed in index order. Holds only the
/// results not yet consumed (at most the indexes in flight, plus those done ahead of a slower one).
final class InOrderResults<Value: Sendable>: @unchecked Sendable {
    // Invariant: `take()` hands each index to exactly one worker, which delivers its result once; every access to the
    // next index, the stop flag and the finished results is under `state`. `delivered` is signalled once per delivery,
    // so a consumer that found its index missing and then waits cannot miss the delivery it waits for.
    private struct State {
        var next = 0
        var stopped = false
        var finished: [Int: Result<Value, any Error>] = [:]
    }

    private let count: Int
    private let state = Mutex(State())
    private let delivered = DispatchSemaphore(value: 0)

    init(count: Int) { self.count = count }

    /// The next index to work on, or `nil` when all are taken or the work stopped (after a failure).
    func take() -> Int? {
        state.withLock { state -> Int? in
            guard !state.stopped, state.next < count else { return nil }
            defer { state.next += 1 }
            return state.next
        }
    }

    func deliver(_ result: Result<Value, any Error>, at index: Int) {
        state.withLock { state in
            if case .failure = result { state.stopped = true }
            state.finished[index] = result
        }
        delivered.signal()
    }

    /// No index is taken after this; those in flight finish.
    func stop() { state.withLock { $0.stopped = true } }

    /// Blocks until index `index` is done, and hands its result over. Every index before the first failure is
    /// taken, so it is delivered.
    func wait(for index: Int) -> Result<Value, any Error> {
        while true {
            if let result = state.withLock({ $0.finished.removeValue(forKey: index) }) { return result }
            delivered.wait()
        }
    }
}
