public import CairnCore
import Foundation
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ObjectStore {
    /// Reads the whole object named `digest` into memory.
    ///
    /// - Parameters:
    ///   - digest: The object.
    ///   - verify: Rehash the bytes and throw `.corrupt` if they do not match `digest`.
    /// - Throws: `StoreError` with `.notFound`, `.truncated` (size differs from the recorded one), `.corrupt`, `.io`.
    public func read(_ digest: Digest, verify: Bool = true) throws -> [UInt8] {
        let (fd, path, size) = try openObject(digest)
        defer { SystemCalls.close(fd) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let count: Int
        do {
            count = try bytes.withUnsafeMutableBytes { buffer in
                try SystemCalls.preadFully(fd, buffer.baseAddress!, buffer.count, offset: 0)
            }
        } catch {
            throw StoreError.io("cannot read object", path: path, digest: digest, error)
        }
        guard count == Int(size) else {
            throw StoreError(code: .truncated, message: "object shrank while being read", path: path, digest: digest)
        }
        if verify && ContentHasher.digest(of: bytes, algorithm: digest.algorithm) != digest {
            throw StoreError(
                code: .corrupt,
                message: "object is corrupt (its bytes do not match)",
                path: path,
                digest: digest
            )
        }
        return bytes
    }

    /// Writes the object named `digest` to the open descriptor `output` (for example standard output).
    ///
    /// With `verify`, objects up to 8 MiB are checked before any byte is written. Larger ones are checked in a
    /// first pass, then streamed while being hashed again; if the file changes between the passes the error comes
    /// after the bytes were written. Memory stays constant.
    /// - Throws: `StoreError` with `.notFound`, `.truncated`, `.corrupt`, or `.io` (including a closed pipe).
    public func write(_ digest: Digest, to output: Int32, verify: Bool = true) throws {
        if verify { return try writeVerified(digest, to: output) }
        try stream(digest, verify: verify) { chunk in
            do { try SystemCalls.writeAll(output, chunk.baseAddress!, chunk.count) } catch {
                throw StoreError.io("cannot write output", path: "-", digest: digest, error)
            }
        }
    }

    /// Copies the object named `digest` to `path`, atomically: a temporary file beside `path` is written,
    /// verified, fsynced and renamed over `path`, so `path` is never left half-written.
    ///
    /// - Throws: `StoreError` with `.notFound`, `.truncated`, `.corrupt` (and `path` is left untouched), `.io`.
    public func copy(_ digest: Digest, toFileAt path: String, verify: Bool = true) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let temp =
            (directory.isEmpty ? "" : directory + "/") + ".\(base).cairn-\(getpid())-"
            + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let fd: Int32
        do { fd = try SystemCalls.open(temp, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644) } catch {
            throw StoreError.io("cannot create output", path: path, digest: digest, error)
        }
        do {
            try stream(digest, verify: verify) { chunk in
                do { try SystemCalls.writeAll(fd, chunk.baseAddress!, chunk.count) } catch {
                    throw StoreError.io("cannot write output", path: temp, digest: digest, error)
                }
            }
            do { try SystemCalls.fsync(fd) } catch {
                throw StoreError.io("cannot sync output", path: temp, digest: digest, error)
            }
            SystemCalls.close(fd)
        } catch {
            SystemCalls.close(fd)
            unlink(temp)
            throw error
        }
        if rename(temp, path) != 0 {
            let code = errno
            unlink(temp)
            throw StoreError(
                code: .io,
                message: "cannot write output",
                path: path,
                digest: digest,
                errno: Errno(rawValue: code)
            )
        }
    }

    /// Calls `body` with the object's bytes, chunk by chunk (1 MiB at most), hashing them when `verify` is set.
    ///
    /// - Throws: `.corrupt` after the last chunk if the bytes do not match; whatever `body` throws.
    public func stream(
        _ digest: Digest,
        verify: Bool = true,
        _ body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let (fd, path, size) = try openObject(digest)
        defer { SystemCalls.close(fd) }
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = ContentHasher(algorithm: digest.algorithm)
        var offset: Int64 = 0
        while offset < size {
            let want = Int(min(Int64(Self.chunkSize), size - offset))
            let n: Int
            do { n = try SystemCalls.preadFully(fd, buffer.baseAddress!, want, offset: offset) } catch {
                throw StoreError.io("cannot read object", path: path, digest: digest, error)
            }
            if n < want {
                throw StoreError(
                    code: .truncated,
                    message: "object shrank while being read",
                    path: path,
                    digest: digest
                )
            }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<n])
            if verify { hasher.update(bufferPointer: chunk) }
            try body(chunk)
            offset += Int64(n)
        }
        if verify && hasher.finalize() != digest {
            throw StoreError(
                code: .corrupt,
                message: "object is corrupt (its bytes do not match)",
                path: path,
                digest: digest
            )
        }
    }

    /// Opens an object for reading and checks its size against the recorded one.
    func openObject(_ digest: Digest) throws -> (fd: Int32, path: String, size: Int64) {
        let path = objectPath(for: digest)
        let fd: Int32
        do { fd = try SystemCalls.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory
                || error.errno == .tooManySymbolicLinkLevels
            {
                throw StoreError(code: .notFound, message: "no such object", path: path, digest: digest)
            }
            throw StoreError.io("cannot open object", path: path, digest: digest, error)
        }
        do {
            let info = try SystemCalls.fstat(fd)
            guard (info.st_mode & S_IFMT) == S_IFREG else {
                throw StoreError(
                    code: .notFound,
                    message: "no such object (not a regular file)",
                    path: path,
                    digest: digest
                )
            }
            let size = Int64(info.st_size)
            if size == 0 && digest != emptyDigest {
                throw StoreError(code: .truncated, message: "object is empty", path: path, digest: digest)
            }
            let recorded: String?
            do { recorded = try SystemCalls.attribute(fd, name: Self.sizeAttribute) } catch {
                throw StoreError.io("cannot read object attributes", path: path, digest: digest, error)
            }
            if let recorded, Int64(recorded) != size {
                throw StoreError(
                    code: .truncated,
                    message: "object has \(size) bytes, \(recorded) were stored",
                    path: path,
                    digest: digest
                )
            }
            return (fd, path, size)
        } catch {
            SystemCalls.close(fd)
            throw error
        }
    }
}
