import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A thin owner of one open file descriptor with the few syscalls the ledger needs (pread/pwrite loops,
/// fdatasync, flock, ftruncate). Not thread-safe: callers serialise access.
final class SystemFile {
    let path: String
    let fd: Int32

    init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        self.path = path
        var descriptor: Int32
        repeat {
            descriptor = open(path, flags | O_CLOEXEC, mode)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw LedgerError(.io, "cannot open \(path)", errno: errno) }
        fd = descriptor
    }

    deinit { close(fd) }

    func size() throws -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw LedgerError(.io, "cannot stat \(path)", errno: errno) }
        return UInt64(info.st_size)
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let n = pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LedgerError(.io, "cannot read \(path) at \(offset)", errno: errno)
                }
                if n == 0 { break }
                done += n
            }
        }
        if done < count { buffer.removeLast(count - done) }
        return buffer
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws {
        var done = 0
        try bytes.withUnsafeBytes { raw in
            while done < raw.count {
                let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw LedgerError(.io, "cannot write \(path) at \(offset)", errno: errno)
                }
                done += n
            }
        }
    }

    func truncate(to size: UInt64) throws {
        guard ftruncate(fd, off_t(size)) == 0 else {
            throw LedgerError(.io, "cannot truncate \(path) to \(size)", errno: errno)
        }
    }

    func syncData() throws {
        while fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw LedgerError(.io, "cannot fdatasync \(path)", errno: errno)
        }
    }

    func lock(exclusive: Bool) throws {
        while flock(fd, exclusive ? LOCK_EX : LOCK_SH) != 0 {
            if errno == EINTR { continue }
            throw LedgerError(.io, "cannot lock \(path)", errno: errno)
        }
    }

    func unlock() {
        _ = flock(fd, LOCK_UN)
    }
}

enum FileSystem {
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw LedgerError(.io, "cannot create directory \(path)", errno: errno)
        }
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let file = try SystemFile(path: path, flags: O_RDONLY)
        return try file.read(at: 0, count: Int(try file.size()))
    }

    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }

    /// Writes `bytes` to a temporary file beside `path` and renames it into place.
    static func replaceFile(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644, sync: Bool) throws {
        let temporary = path + ".tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            try file.write(bytes, at: 0)
            if sync { try file.syncData() }
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw LedgerError(.io, "cannot rename \(temporary) to \(path)", errno: code)
        }
        if sync { syncDirectory((path as NSString).deletingLastPathComponent) }
    }

    /// Creates `path` with `bytes` only if it does not exist yet; returns false when it already existed.
    static func createExclusively(_ path: String, with bytes: [UInt8], mode: mode_t) throws -> Bool {
        let temporary = path + ".tmp.\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        do {
            let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            try file.write(bytes, at: 0)
            try file.syncData()
        }
        defer { unlink(temporary) }
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            throw LedgerError(.io, "cannot create \(path)", errno: errno)
        }
        syncDirectory((path as NSString).deletingLastPathComponent)
        return true
    }
}
