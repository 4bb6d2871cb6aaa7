import SystemPackage

#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif

/// The owner of one open file descriptor, closed when the value goes away, with positioned reads and writes,
/// `fdatasync`, `flock` and `ftruncate`. Errors name the file. Not thread-safe: callers serialise access.
package final class SystemFile {
    /// The path the file was opened at.
    package let path: String
    /// The descriptor.
    package let fd: Int32

    /// Opens `path` with `flags` (`O_CLOEXEC` is always added).
    package init(path: String, flags: Int32, mode: mode_t = 0o644) throws(SystemError) {
        self.path = path
        fd = try SystemCalls.open(path, flags, mode: mode)
    }

    deinit { SystemCalls.close(fd) }

    /// The file's size in bytes.
    package func size() throws(SystemError) -> UInt64 {
        do { return UInt64(try SystemCalls.fstat(fd).st_size) } catch { throw error.at(path) }
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    package func read(at offset: UInt64, count: Int) throws(SystemError) -> [UInt8] {
        guard count > 0 else { return [] }
        var failure: SystemError? = nil
        var done = 0
        let buffer = [UInt8](unsafeUninitializedCapacity: count) { raw, initialized in
            do throws(SystemError) {
                done = try SystemCalls.preadFully(fd, raw.baseAddress!, count, offset: Int64(offset))
            } catch {
                failure = error
            }
            initialized = done
        }
        if let failure { throw failure.at(path) }
        return buffer
    }

    /// Writes all of `bytes` at `offset`.
    package func write(_ bytes: [UInt8], at offset: UInt64) throws(SystemError) {
        var failure: SystemError? = nil
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            do throws(SystemError) {
                try SystemCalls.pwriteAll(fd, base, raw.count, offset: Int64(offset))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure.at(path) }
    }

    package func truncate(to size: UInt64) throws(SystemError) {
        do { try SystemCalls.truncate(fd, to: Int64(size)) } catch { throw error.at(path) }
    }

    /// `fdatasync`: what was written is on the disk when this returns.
    package func syncData() throws(SystemError) {
        do { try SystemCalls.fdatasync(fd) } catch { throw error.at(path) }
    }

    package func lock(exclusive: Bool) throws(SystemError) {
        do { try SystemCalls.lock(fd, exclusive: exclusive) } catch { throw error.at(path) }
    }

    package func unlock() {
        SystemCalls.unlock(fd)
    }
}

extension SystemCalls {
    /// Reads the whole file at `path`.
    package static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let file = try SystemFile(path: path, flags: O_RDONLY)
        return try file.read(at: 0, count: Int(try file.size()))
    }

    /// A temporary name beside `path`, unique to this process and call: `PATH.tmp.<pid>.<random>`.
    package static func temporaryName(beside path: String) -> String {
        path + ".tmp.\(getpid()).\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
    }

    /// Publishes `bytes` at `path` atomically: written to a temporary file beside it (`O_EXCL`, `mode`), synced
    /// when `sync`, renamed over `path`, and the directory synced when `sync`. A reader sees the old file or the
    /// new one, never a part; on any failure the temporary file is removed and `path` is untouched.
    package static func publish(_ bytes: [UInt8], at path: String, mode: mode_t = 0o644, sync: Bool) throws(SystemError)
    {
        let temporary = temporaryName(beside: path)
        do {
            let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
            try file.write(bytes, at: 0)
            if sync { try file.syncData() }
            try rename(temporary, path)
        } catch {
            discard(temporary)
            throw error
        }
        if sync { try fsyncDirectory(directoryName(of: path)) }
    }

    /// Creates `path` holding `bytes` only if nothing is there yet: written and synced under a temporary name, then
    /// linked into place (which fails when `path` exists), and the directory synced. Returns false when `path`
    /// already existed (it is left as it was).
    package static func createExclusively(_ bytes: [UInt8], at path: String, mode: mode_t) throws(SystemError) -> Bool {
        let temporary = temporaryName(beside: path)
        defer { discard(temporary) }
        let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode)
        try file.write(bytes, at: 0)
        try file.syncData()
        do {
            try link(temporary, path)
        } catch {
            if error.errno == .fileExists { return false }
            throw error
        }
        try fsyncDirectory(directoryName(of: path))
        return true
    }

    /// The directory part of `path` ("." when there is none).
    package static func directoryName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
