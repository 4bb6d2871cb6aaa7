import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of the ledger's files (log, offsets, tree nodes, checkpoint, lock), over the IO layer's ``SystemFile``:
/// the same calls, with failures reported as ``LedgerError`` `.io` naming the file, the operation and the errno.
/// Not thread-safe: callers serialise access.
final class LedgerFile {
    let file: SystemFile
    var path: String { file.path }
    var fd: Int32 { file.fd }

    init(path: String, flags: Int32, mode: mode_t = 0o644) throws(LedgerError) {
        do { file = try SystemFile(path: path, flags: flags, mode: mode) } catch { throw LedgerError(error) }
    }

    /// True when the file at ``path`` is still the one this value has open (same device and inode): false when it
    /// was removed, or removed and made again, since it was opened.
    func isStillAtItsPath() throws(LedgerError) -> Bool {
        let open: stat
        let atPath: stat?
        do {
            open = try SystemCalls.fstat(fd)
            atPath = try SystemCalls.statIfPresent(path)
        } catch { throw LedgerError(error) }
        guard let atPath else { return false }
        return atPath.st_dev == open.st_dev && atPath.st_ino == open.st_ino
    }

    func size() throws(LedgerError) -> UInt64 {
        do { return try file.size() } catch { throw LedgerError(error) }
    }

    /// Reads exactly `count` bytes at `offset`, or fewer at end of file.
    func read(at offset: UInt64, count: Int) throws(LedgerError) -> [UInt8] {
        do { return try file.read(at: offset, count: count) } catch {
            throw LedgerError(error, detail: "at \(offset)")
        }
    }

    func write(_ bytes: [UInt8], at offset: UInt64) throws(LedgerError) {
        do { try file.write(bytes, at: offset) } catch { throw LedgerError(error, detail: "at \(offset)") }
    }

    func truncate(to size: UInt64) throws(LedgerError) {
        do { try file.truncate(to: size) } catch { throw LedgerError(error, detail: "to \(size)") }
    }

    func syncData() throws(LedgerError) {
        do { try file.syncData() } catch { throw LedgerError(error) }
    }

    func lock(exclusive: Bool) throws(LedgerError) {
        do { try file.lock(exclusive: exclusive) } catch { throw LedgerError(error) }
    }

    func unlock() {
        file.unlock()
    }
}

/// Whole-file operations on the ledger's directory, over the IO layer, failing with ``LedgerError``.
enum FileSystem {
    static func exists(_ path: String) -> Bool {
        SystemCalls.exists(path)
    }

    static func makeDirectory(_ path: String) throws(LedgerError) {
        do { _ = try SystemCalls.mkdir(path) } catch { throw LedgerError(error) }
    }

    static func readFile(_ path: String) throws(LedgerError) -> [UInt8] {
        do { return try SystemCalls.readFile(path) } catch { throw LedgerError(error) }
    }

    /// Publishes `bytes` at `path` atomically (temporary file beside it, renamed into place; synced with `sync`).
    static func replaceFile(_ path: String, with bytes: [UInt8], mode: mode_t = 0o644, sync: Bool) throws(LedgerError) {
        do { try SystemCalls.publish(bytes, at: path, mode: mode, sync: sync) } catch { throw LedgerError(error) }
    }

    /// Creates `path` with `bytes` only if it does not exist yet; returns false when it already existed.
    static func createExclusively(_ path: String, with bytes: [UInt8], mode: mode_t) throws(LedgerError) -> Bool {
        do { return try SystemCalls.createExclusively(bytes, at: path, mode: mode) } catch { throw LedgerError(error) }
    }
}

extension LedgerError {
    /// A failed system call as a ledger `.io` error: "cannot OPERATION PATH[ DETAIL]" and the errno.
    init(_ error: SystemError, detail: String? = nil) {
        var message = "cannot \(error.operation)"
        if let path = error.path { message += " \(path)" }
        if let detail { message += " \(detail)" }
        self.init(.io, message, errno: error.errno)
    }
}
