#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over the POSIX calls the store uses: they retry `EINTR` and return `errno` on failure.
///
/// GNU extensions that the Swift `Glibc` module does not export (`syncfs`, `sync_file_range`, extended
/// attributes, `copy_file_range`, `renameat2`) are looked up once with `dlsym`; where a call is missing the wrapper
/// falls back to a portable equivalent (`sync`, nothing, "unsupported").
enum SystemCalls {
    /// An `errno` value from a failed call.
    struct Failure: Error {
        var errno: Int32
    }

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
    private static let syncFileRangeCall = lookUp(
        "sync_file_range",
        as: SyncFileRangeFunction.self
    )
    private static let fsetxattrCall = lookUp("fsetxattr", as: FSetXattrFunction.self)
    private static let fgetxattrCall = lookUp("fgetxattr", as: FGetXattrFunction.self)
    private static let lgetxattrCall = lookUp("lgetxattr", as: LGetXattrFunction.self)
    private static let renameAt2Call = lookUp("renameat2", as: RenameAt2Function.self)
    private static let copyFileRangeCall = lookUp(
        "copy_file_range",
        as: CopyFileRangeFunction.self
    )

    static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) throws(Failure) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno != EINTR { throw Failure(errno: errno) }
        }
    }

    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// Reads up to `count` bytes; returns 0 only at end of input.
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(Failure) -> Int {
        while true {
            let n = Glibc.read(fd, buffer, count)
            if n >= 0 { return n }
            if errno != EINTR { throw Failure(errno: errno) }
        }
    }

    /// Reads until `count` bytes or end of input; returns the number read.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws(Failure) -> Int {
        var total = 0
        while total < count {
            let n = try read(fd, buffer + total, count - total)
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Reads at `offset` until `count` bytes or end of file; returns the number read.
    static func preadFully(
        _ fd: Int32,
        _ buffer: UnsafeMutableRawPointer,
        _ count: Int,
        offset: Int64
    ) throws(Failure) -> Int {
        var total = 0
        while total < count {
            let n = Glibc.pread(fd, buffer + total, count - total, off_t(offset) + off_t(total))
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(errno: errno)
            }
            if n == 0 { break }
            total += n
        }
        return total
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) throws(Failure) {
        var offset = 0
        while offset < count {
            let n = Glibc.write(fd, buffer + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw Failure(errno: errno)
            }
            offset += n
        }
    }

    static func fsync(_ fd: Int32) throws(Failure) {
        while Glibc.fsync(fd) != 0 {
            if errno != EINTR { throw Failure(errno: errno) }
        }
    }

    /// Opens the directory at `path` and fsyncs it, making its entries durable.
    static func fsyncDirectory(_ path: String) throws(Failure) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd)
    }

    /// Flushes the whole filesystem holding `fd` (`syncfs`; `sync` where `syncfs` is missing).
    static func syncFileSystem(_ fd: Int32) throws(Failure) {
        if let call = syncFSCall {
            if call(fd) != 0 { throw Failure(errno: errno) }
        } else {
            Glibc.sync()
        }
    }

    /// Starts writeback of a written range without waiting for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`).
    static func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {
        // SYNC_FILE_RANGE_WRITE == 2. Only a hint: errors surface at the later fsync.
        _ = syncFileRangeCall?(fd, offset, count, 2)
    }

    static func fstat(_ fd: Int32) throws(Failure) -> stat {
        var info = stat()
        if Glibc.fstat(fd, &info) != 0 { throw Failure(errno: errno) }
        return info
    }

    /// `lstat`, returning `nil` for `ENOENT`/`ENOTDIR` (nothing there).
    static func lstatIfPresent(_ path: String) throws(Failure) -> stat? {
        var info = stat()
        if Glibc.lstat(path, &info) == 0 { return info }
        // ENOTDIR (a file where a shard directory belongs) is damage, not absence: it is thrown.
        if errno == ENOENT { return nil }
        throw Failure(errno: errno)
    }

    static func setAttribute(_ fd: Int32, name: String, value: String) throws(Failure) {
        guard let call = fsetxattrCall else { return }
        let bytes = Array(value.utf8)
        let status = bytes.withUnsafeBytes { call(fd, name, $0.baseAddress!, $0.count, 0) }
        if status != 0 {
            // A filesystem without user attributes still stores objects; sizes are then unrecorded.
            if errno == ENOTSUP || errno == EOPNOTSUPP { return }
            throw Failure(errno: errno)
        }
    }

    /// An extended attribute's value, or `nil` when it is absent or the filesystem has none.
    static func attribute(_ fd: Int32, name: String) throws(Failure) -> String? {
        guard let call = fgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { call(fd, name, $0.baseAddress!, $0.count) }
        return try attributeResult(n, buffer)
    }

    /// An extended attribute's value by path (not following a symbolic link), or `nil` when absent.
    static func attribute(atPath path: String, name: String) throws(Failure) -> String? {
        guard let call = lgetxattrCall else { return nil }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { call(path, name, $0.baseAddress!, $0.count) }
        return try attributeResult(n, buffer)
    }

    private static func attributeResult(_ n: Int, _ buffer: [UInt8]) throws(Failure) -> String? {
        if n >= 0 { return String(decoding: buffer[..<n], as: UTF8.self) }
        // ENODATA (61 on Linux): no such attribute. ERANGE: not ours (too long).
        if errno == ENODATA || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ERANGE { return nil }
        throw Failure(errno: errno)
    }

    /// Copies `count` bytes in the kernel from `source` at `sourceOffset` to `destination`'s current position.
    /// Returns the number copied (0 at end of file), or throws `ENOSYS` where the call is missing.
    static func copyFileRange(
        _ source: Int32,
        sourceOffset: inout Int64,
        _ destination: Int32,
        count: Int
    )
        throws(Failure) -> Int
    {
        guard let call = copyFileRangeCall else { throw Failure(errno: ENOSYS) }
        while true {
            let n = call(source, &sourceOffset, destination, nil, count, 0)
            if n >= 0 { return n }
            if errno != EINTR { throw Failure(errno: errno) }
        }
    }

    /// Renames `source` to `destination` unless `destination` exists (`renameat2` with `RENAME_NOREPLACE`): one
    /// atomic step that never replaces a file. Throws `EEXIST` when `destination` exists, and `ENOSYS` or `EINVAL`
    /// where the C library, kernel or filesystem lacks the call or the flag (callers then use `link` + `unlink`).
    static func renameNoReplace(_ source: String, _ destination: String) throws(Failure) {
        guard let call = renameAt2Call else { throw Failure(errno: ENOSYS) }
        // RENAME_NOREPLACE == 1.
        while call(AT_FDCWD, source, AT_FDCWD, destination, 1) != 0 {
            if errno != EINTR { throw Failure(errno: errno) }
        }
    }

    static func mkdir(_ path: String, mode: mode_t = 0o755) throws(Failure) -> Bool {
        if Glibc.mkdir(path, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw Failure(errno: errno)
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
