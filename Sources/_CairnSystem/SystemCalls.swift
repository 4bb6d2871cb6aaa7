import Synchronization
package import SystemPackage

#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif

// The C calls, reached from file scope: inside `SystemCalls` an unqualified `open` would name the wrapper itself,
// and a module-qualified name (`Glibc.open`) would tie the file to one C library.
private func cOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 { open(path, flags, mode) }
private func cClose(_ fd: Int32) -> Int32 { close(fd) }
private func cRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int { read(fd, buffer, count) }
private func cPread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pread(fd, buffer, count, offset)
}
private func cWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }
private func cPwrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: off_t) -> Int {
    pwrite(fd, buffer, count, offset)
}
private func cFsync(_ fd: Int32) -> Int32 { fsync(fd) }
private func cFdatasync(_ fd: Int32) -> Int32 {
    #if os(Linux)
    fdatasync(fd)
    #else
    fsync(fd)
    #endif
}
private func cFstat(_ fd: Int32, _ info: inout stat) -> Int32 { fstat(fd, &info) }
private func cLstat(_ path: String, _ info: inout stat) -> Int32 { lstat(path, &info) }
private func cStat(_ path: String, _ info: inout stat) -> Int32 { stat(path, &info) }
private func cMkdir(_ path: String, _ mode: mode_t) -> Int32 { mkdir(path, mode) }
private func cFlock(_ fd: Int32, _ operation: Int32) -> Int32 { flock(fd, operation) }
private func cFtruncate(_ fd: Int32, _ size: off_t) -> Int32 { ftruncate(fd, size) }
private func cRename(_ source: String, _ destination: String) -> Int32 { rename(source, destination) }
private func cLink(_ source: String, _ destination: String) -> Int32 { link(source, destination) }
private func cUnlink(_ path: String) -> Int32 { unlink(path) }
private func cFchmod(_ fd: Int32, _ mode: mode_t) -> Int32 { fchmod(fd, mode) }
private func cSync() { sync() }
private var cErrno: Int32 { errno }

/// The one place Cairn makes system calls that touch files: each wrapper retries `EINTR` and throws a
/// ``SystemError`` carrying the call, the path when it has one, and the `Errno`.
///
/// GNU extensions that the Swift C-library module does not export (`syncfs`, `sync_file_range`, extended
/// attributes, `copy_file_range`, `renameat2`) are looked up once with `dlsym`; where a call is missing the wrapper
/// falls back to a portable equivalent (`sync`, nothing, "unsupported").
///
/// Every sync (`fsync`, `fdatasync`, a directory fsync, `syncfs`) goes through ``SyncAccounting``, so a test can
/// count them or make them fail; every rename and link that makes a file visible is recorded there too, so a test
/// can check the order of syncs and publishes.
package enum SystemCalls {
    private typealias SyncFSFunction = @convention(c) (Int32) -> Int32
    private typealias SyncFileRangeFunction = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    private typealias FSetXattrFunction =
        @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer, Int, Int32) -> Int32
    private typealias FGetXattrFunction =
        @convention(c) (Int32, UnsafePointer<CChar>, UnsafeMutableRawPointer, Int) -> Int
    private typealias LGetXattrFunction =
        @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer, Int) -> Int
    private typealias RenameAt2Function =
        @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    private typealias CopyFileRangeFunction =
        @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int

    private static func lookUp<F>(_ name: String, as type: F.Type) -> F? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    private static let syncFSCall = lookUp("syncfs", as: SyncFSFunction.self)
    private static let syncFileRangeCall = lookUp("sync_file_range", as: SyncFileRangeFunction.self)
    private static let fsetxattrCall = lookUp("fsetxattr", as: FSetXattrFunction.self)
    private static let fgetxattrCall = lookUp("fgetxattr", as: FGetXattrFunction.self)
    private static let lgetxattrCall = lookUp("lgetxattr", as: LGetXattrFunction.self)
    private static let renameAt2Call = lookUp("renameat2", as: RenameAt2Function.self)
    private static let copyFileRangeCall = lookUp("copy_file_range", as: CopyFileRangeFunction.self)

    /// The failure of `operation` with the current `errno`.
    @inline(__always)
    private static func failure(_ operation: String, _ path: String? = nil) -> SystemError {
        SystemError(operation, path: path, errno: Errno(rawValue: cErrno))
    }

    /// True when the last call failed with `EINTR`.
    @inline(__always)
    private static var interrupted: Bool { cErrno == EINTR }

    // MARK: Descriptors

    /// Opens `path` (always with `O_CLOEXEC`).
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(SystemError) -> Int32 {
        while true {
            let fd = cOpen(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if !interrupted { throw failure("open", path) }
        }
    }

    /// Closes `fd`, ignoring errors (the descriptor is gone either way).
    package static func close(_ fd: Int32) {
        _ = cClose(fd)
    }

    /// Reads up to `count` bytes; returns 0 only at end of input.
    package static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(SystemError) -> Int {
        while true {
            let n = cRead(fd, buffer, count)
            if n >= 0 { return n }
            if !interrupted { throw failure("read") }
        }
    }

    /// Reads until `count` bytes or end of input; returns the number read.
    package static func readFully(
        _ fd: Int32,
        _ buffer: UnsafeMutableRawPointer,
        _ count: Int
    ) throws(SystemError) -> Int {
        var total = 0
        while total < count {
            let n = try read(fd, buffer + total, count - total)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads at `offset` until `count` bytes or end of file; returns the number read.
    package static func preadFully(
        _ fd: Int32,
        _ buffer: UnsafeMutableRawPointer,
        _ count: Int,
        offset: Int64
    ) throws(SystemError) -> Int {
        var total = 0
        while total < count {
            let n = cPread(fd, buffer + total, count - total, off_t(offset) + off_t(total))
            if n < 0 {
                if interrupted { continue }
                throw failure("read")
            }
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Writes all `count` bytes (looping over short writes).
    package static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(SystemError) {
        var offset = 0
        while offset < count {
            let n = cWrite(fd, buffer + offset, count - offset)
            if n < 0 {
                if interrupted { continue }
                throw failure("write")
            }
            offset += n
        }
    }

    /// Writes all of `bytes`.
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        var failure: SystemError? = nil
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            do throws(SystemError) { try writeAll(fd, base, raw.count) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Writes all `count` bytes at `offset` (looping over short writes).
    package static func pwriteAll(
        _ fd: Int32,
        _ buffer: UnsafeRawPointer,
        _ count: Int,
        offset: Int64
    ) throws(SystemError) {
        var done = 0
        while done < count {
            let n = cPwrite(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if interrupted { continue }
                throw failure("write")
            }
            done += n
        }
    }

    package static func fstat(_ fd: Int32) throws(SystemError) -> stat {
        var info = stat()
        if cFstat(fd, &info) != 0 { throw failure("stat") }
        return info
    }

    /// `lstat`, returning `nil` for `ENOENT` (nothing there). `ENOTDIR` (a file where a directory belongs) is
    /// damage, not absence: it is thrown.
    package static func lstatIfPresent(_ path: String) throws(SystemError) -> stat? {
        var info = stat()
        if cLstat(path, &info) == 0 { return info }
        if cErrno == ENOENT { return nil }
        throw failure("stat", path)
    }

    /// `stat` (following symbolic links), returning `nil` for `ENOENT`.
    package static func statIfPresent(_ path: String) throws(SystemError) -> stat? {
        var info = stat()
        if cStat(path, &info) == 0 { return info }
        if cErrno == ENOENT { return nil }
        throw failure("stat", path)
    }

    /// The modification time of `info`, in seconds since 1970.
    package static func modificationTime(_ info: stat) -> Double {
        #if canImport(Darwin)
        Double(info.st_mtimespec.tv_sec) + Double(info.st_mtimespec.tv_nsec) / 1e9
        #else
        Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        #endif
    }

    package static func truncate(_ fd: Int32, to size: Int64) throws(SystemError) {
        while cFtruncate(fd, off_t(size)) != 0 {
            if !interrupted { throw failure("truncate") }
        }
    }

    /// Takes an advisory lock on the whole file (`flock`), waiting for it.
    package static func lock(_ fd: Int32, exclusive: Bool) throws(SystemError) {
        while cFlock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if !interrupted { throw failure("lock") }
        }
    }

    package static func unlock(_ fd: Int32) {
        _ = cFlock(fd, LOCK_UN)
    }

    // MARK: Syncs

    /// `fsync`: the file's data and metadata reach the disk.
    package static func fsync(_ fd: Int32) throws(SystemError) {
        try SyncAccounting.willSync("fsync", fd: fd)
        while cFsync(fd) != 0 {
            if !interrupted { throw failure("fsync") }
        }
    }

    /// `fdatasync`: the file's data (and the metadata needed to read it back) reach the disk.
    package static func fdatasync(_ fd: Int32) throws(SystemError) {
        try SyncAccounting.willSync("fdatasync", fd: fd)
        while cFdatasync(fd) != 0 {
            if !interrupted { throw failure("fdatasync") }
        }
    }

    /// Opens the directory at `path` and fsyncs it, making its entries (creations, renames) durable.
    package static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        do { try fsync(fd) } catch { throw error.at(path) }
    }

    /// Flushes the whole filesystem holding `fd` (`syncfs`; `sync` where `syncfs` is missing).
    package static func syncFileSystem(_ fd: Int32) throws(SystemError) {
        try SyncAccounting.willSync("syncfs", fd: fd)
        if let call = syncFSCall {
            if call(fd) != 0 { throw failure("syncfs") }
        } else {
            cSync()
        }
    }

    /// Starts writeback of a written range without waiting for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`).
    /// Only a hint: errors surface at the later fsync.
    package static func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {
        // SYNC_FILE_RANGE_WRITE == 2.
        _ = syncFileRangeCall?(fd, offset, count, 2)
    }

    // MARK: Extended attributes

    /// Sets a user extended attribute; a filesystem without them is not an error (the value is then unrecorded).
    package static func setAttribute(_ fd: Int32, name: String, value: String) throws(SystemError) {
        guard let call = fsetxattrCall else { return }
        let bytes = Array(value.utf8)
        let status = bytes.withUnsafeBytes { call(fd, name, $0.baseAddress!, $0.count, 0) }
        if status != 0 {
            if cErrno == ENOTSUP || cErrno == EOPNOTSUPP { return }
            throw failure("set attribute \(name) of")
        }
    }

    /// An extended attribute's value, or `nil` when it is absent or the filesystem has none.
    package static func attribute(_ fd: Int32, name: String) throws(SystemError) -> String? {
        guard let call = fgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { call(fd, name, $0.baseAddress!, $0.count) }
        return try attributeResult(n, buffer, name: name, path: nil)
    }

    /// An extended attribute's value by path (not following a symbolic link), or `nil` when absent.
    package static func attribute(atPath path: String, name: String) throws(SystemError) -> String? {
        guard let call = lgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { call(path, name, $0.baseAddress!, $0.count) }
        return try attributeResult(n, buffer, name: name, path: path)
    }

    private static func attributeResult(
        _ n: Int,
        _ buffer: [UInt8],
        name: String,
        path: String?
    ) throws(SystemError) -> String? {
        if n >= 0 { return String(decoding: buffer[..<n], as: UTF8.self) }
        // ENODATA: no such attribute. ERANGE: not ours (too long).
        if cErrno == ENODATA || cErrno == ENOTSUP || cErrno == EOPNOTSUPP || cErrno == ERANGE { return nil }
        throw failure("read attribute \(name) of", path)
    }

    // MARK: Names

    /// Copies `count` bytes in the kernel from `source` at `sourceOffset` to `destination`'s current position.
    /// Returns the number copied (0 at end of file), or throws `ENOSYS` where the call is missing.
    package static func copyFileRange(
        _ source: Int32,
        sourceOffset: inout Int64,
        _ destination: Int32,
        count: Int
    ) throws(SystemError) -> Int {
        guard let call = copyFileRangeCall else { throw SystemError("copy_file_range", errno: .noFunction) }
        while true {
            let n = call(source, &sourceOffset, destination, nil, count, 0)
            if n >= 0 { return n }
            if !interrupted { throw failure("copy_file_range") }
        }
    }

    /// Renames `source` to `destination` unless `destination` exists (`renameat2` with `RENAME_NOREPLACE`): one
    /// atomic step that never replaces a file. Throws `EEXIST` when `destination` exists, and `ENOSYS` or `EINVAL`
    /// where the C library, kernel or filesystem lacks the call or the flag (callers then use `link` + `unlink`).
    package static func renameNoReplace(_ source: String, _ destination: String) throws(SystemError) {
        guard let call = renameAt2Call else { throw SystemError("rename", path: destination, errno: .noFunction) }
        // RENAME_NOREPLACE == 1.
        while call(AT_FDCWD, source, AT_FDCWD, destination, 1) != 0 {
            if !interrupted { throw failure("rename \(source) to", destination) }
        }
        SyncAccounting.didPublish("rename", path: destination)
    }

    /// Renames `source` over `destination` (replacing it).
    package static func rename(_ source: String, _ destination: String) throws(SystemError) {
        if cRename(source, destination) != 0 { throw failure("rename \(source) to", destination) }
        SyncAccounting.didPublish("rename", path: destination)
    }

    /// Creates a hard link `destination` to `source`; throws `EEXIST` when `destination` exists.
    package static func link(_ source: String, _ destination: String) throws(SystemError) {
        if cLink(source, destination) != 0 { throw failure("link \(source) to", destination) }
        SyncAccounting.didPublish("link", path: destination)
    }

    /// Removes `path`; true when it was there.
    @discardableResult
    package static func unlink(_ path: String) throws(SystemError) -> Bool {
        if cUnlink(path) == 0 { return true }
        if cErrno == ENOENT { return false }
        throw failure("remove", path)
    }

    /// Creates a directory; false when it already exists.
    package static func mkdir(_ path: String, mode: mode_t = 0o755) throws(SystemError) -> Bool {
        if cMkdir(path, mode) == 0 { return true }
        if cErrno == EEXIST { return false }
        throw failure("create directory", path)
    }

    /// Removes a temporary file left by a failed operation, as a last step that must not hide the failure being
    /// reported: an error here is dropped, and a file it leaves is debris that `fsck` lists and removes.
    package static func discard(_ path: String) {
        _ = cUnlink(path)
    }

    /// Sets a file's access and modification times to now.
    package static func touch(_ path: String) throws(SystemError) {
        if utimensat(AT_FDCWD, path, nil, 0) != 0 { throw failure("set the modification time of", path) }
    }

    /// Sets a file's permission bits.
    package static func setPermissions(_ fd: Int32, _ mode: mode_t, path: String) throws(SystemError) {
        if cFchmod(fd, mode) != 0 { throw failure("chmod", path) }
    }

    /// One entry of a directory listing.
    package struct DirectoryEntry: Sendable, Hashable {
        package var name: String
        package var isDirectory: Bool
        package var isRegularFile: Bool
        package var inode: UInt64
        /// The size of a regular file when listed `withSizes` (else, or if it could not be known, 0).
        package var size: Int64
    }

    /// The entries of a directory (not `.` and `..`), with their types (`lstat` when `d_type` is unknown) and, when
    /// `withSizes` is set, the sizes of regular files (one `fstatat` each). A missing directory has no entries.
    package static func listDirectory(_ path: String, withSizes: Bool = false) throws(SystemError) -> [DirectoryEntry] {
        guard let stream = opendir(path) else {
            if cErrno == ENOENT { return [] }
            throw failure("list directory", path)
        }
        defer { closedir(stream) }
        let descriptor = dirfd(stream)
        var result: [DirectoryEntry] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if cErrno != 0 { throw failure("list directory", path) }
                break
            }
            var nameTuple = entry.pointee.d_name
            let name = withUnsafePointer(to: &nameTuple) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." { continue }
            var type = Int32(entry.pointee.d_type)
            var size: Int64 = 0
            if type == Int32(DT_UNKNOWN) || (withSizes && type == Int32(DT_REG)) {
                var info = stat()
                if fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 {
                    type =
                        (info.st_mode & S_IFMT) == S_IFDIR
                        ? Int32(DT_DIR) : (info.st_mode & S_IFMT) == S_IFREG ? Int32(DT_REG) : 0
                    if type == Int32(DT_REG) { size = Int64(info.st_size) }
                }
            }
            result.append(
                DirectoryEntry(
                    name: name,
                    isDirectory: type == Int32(DT_DIR),
                    isRegularFile: type == Int32(DT_REG),
                    inode: UInt64(entry.pointee.d_ino),
                    size: size
                )
            )
        }
        return result
    }

    /// True when something is at `path` (not following a final symbolic link).
    package static func exists(_ path: String) -> Bool {
        var info = stat()
        return cLstat(path, &info) == 0
    }

    /// The system's text for an errno value.
    package static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Counts the syncs Cairn issues under a directory and, for tests, makes them fail: the single place a sync promise
/// can be checked.
///
/// Every `fsync`, `fdatasync`, directory fsync and `syncfs` that ``SystemCalls`` makes passes through here first,
/// and every rename or link that publishes a file is recorded after it succeeds.
/// A test starts a ``Watch`` on its own temporary directory, runs an operation, and reads ``Watch/count`` to prove
/// a sync happened (so the test fails when the sync is removed), ``Watch/events`` to prove the order (the file's
/// sync before its rename, the directory's sync after it), or gives the watch an errno to see that a failed
/// sync is reported and nothing is acknowledged. Watches see only syncs of files under their directory, so tests
/// running side by side in one process do not disturb each other. With no watch active a sync costs one atomic load
/// here.
package enum SyncAccounting {
    /// Syncs of files under one directory: counted, and failed with `failure` when it is set.
    package final class Watch: Sendable {
        /// One sync or publish, in the order it happened: `operation` is `fsync`, `fdatasync`, `syncfs`, `rename`
        /// or `link`; `path` is the file synced (a directory for a directory fsync) or the name published.
        package struct Event: Sendable, Equatable, CustomStringConvertible {
            package var operation: String
            package var path: String
            package var description: String { "\(operation) \(path)" }
        }

        /// The directory watched (absolute, without a trailing slash).
        package let directory: String
        private let issued = Atomic<Int>(0)
        private let failing: Atomic<Int32>
        private let log = Mutex<[Event]>([])

        init(directory: String, failure: Errno?) {
            self.directory = directory
            failing = Atomic(failure?.rawValue ?? 0)
        }

        /// Syncs of files under ``directory`` since the watch started.
        package var count: Int { issued.load(ordering: .relaxed) }

        /// The syncs and publishes under ``directory`` since the watch started, oldest first, with paths relative
        /// to ``directory`` (`.` for the directory itself).
        package var events: [Event] {
            log.withLock { $0 }.map { event in
                var relative = event
                relative.path =
                    event.path == directory ? "." : String(event.path.dropFirst(directory.count + 1))
                return relative
            }
        }

        /// When set, every sync of a file under ``directory`` fails with this errno instead of running.
        package var failure: Errno? {
            get {
                let code = failing.load(ordering: .relaxed)
                return code == 0 ? nil : Errno(rawValue: code)
            }
            set { failing.store(newValue?.rawValue ?? 0, ordering: .relaxed) }
        }

        func covers(_ path: String) -> Bool {
            path == directory || path.hasPrefix(directory + "/")
        }

        func record(_ operation: String, path: String) -> Int32 {
            issued.add(1, ordering: .relaxed)
            log.withLock { $0.append(Event(operation: operation, path: path)) }
            return failing.load(ordering: .relaxed)
        }

        func recordPublish(_ operation: String, path: String) {
            log.withLock { $0.append(Event(operation: operation, path: path)) }
        }
    }

    private static let active = Atomic<Int>(0)
    private static let watches = Mutex<[Watch]>([])

    /// Starts watching syncs of files under `directory` (an absolute path); `failure` makes them fail at once.
    package static func watch(_ directory: String, failure: Errno? = nil) -> Watch {
        // Descriptors resolve to real paths, so the watch names the directory's real path too.
        var trimmed = directory
        if let real = realpath(directory, nil) {
            trimmed = String(cString: real)
            free(real)
        }
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let watch = Watch(directory: trimmed, failure: failure)
        watches.withLock { $0.append(watch) }
        active.add(1, ordering: .relaxed)
        return watch
    }

    /// Stops a watch.
    package static func stop(_ watch: Watch) {
        let removed = watches.withLock { list in
            let before = list.count
            list.removeAll { $0 === watch }
            return before - list.count
        }
        if removed > 0 { active.subtract(removed, ordering: .relaxed) }
    }

    @inline(__always)
    static func willSync(_ operation: String, fd: Int32) throws(SystemError) {
        guard active.load(ordering: .relaxed) > 0 else { return }
        try record(operation, path: pathOfDescriptor(fd))
    }

    static func record(_ operation: String, path: String?) throws(SystemError) {
        guard let path else { return }
        let matching = watches.withLock { $0.filter { $0.covers(path) } }
        var failure: Int32 = 0
        for watch in matching {
            let code = watch.record(operation, path: path)
            if code != 0 { failure = code }
        }
        if failure != 0 { throw SystemError(operation, path: path, errno: Errno(rawValue: failure)) }
    }

    /// Records a rename or link that made `path` visible (never fails: the publish has happened).
    @inline(__always)
    static func didPublish(_ operation: String, path: String) {
        guard active.load(ordering: .relaxed) > 0 else { return }
        let absolute = absolutePath(path)
        for watch in watches.withLock({ $0.filter { $0.covers(absolute) } }) {
            watch.recordPublish(operation, path: absolute)
        }
    }

    /// `path` made absolute against the working directory, with its directory resolved (the file itself may be
    /// a name just published), so it compares with the real paths descriptors report.
    private static func absolutePath(_ path: String) -> String {
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let real = realpath(parent, nil) else { return path }
        defer { free(real) }
        let directory = String(cString: real)
        return directory == "/" ? "/" + name : directory + "/" + name
    }

    /// The path a descriptor was opened at (`/proc/self/fd`), or nil where that cannot be read.
    private static func pathOfDescriptor(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink("/proc/self/fd/\(fd)", &buffer, 4096)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
