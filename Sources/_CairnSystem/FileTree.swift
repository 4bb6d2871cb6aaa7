import SystemPackage

#if canImport(Glibc)
package import Glibc
#elseif canImport(Darwin)
package import Darwin
#endif

/// How ``SystemCalls/cloneFile(from:to:mode:)`` made its copy.
package enum CloneMethod: String, Sendable, Hashable {
    /// A reflink (`FICLONE`): the copy shares the source's extents until either is written.
    case reflink
    /// The bytes were copied (`copy_file_range`, or read and write).
    case copy
}

extension SystemCalls {
    /// `FICLONE` = `_IOW(0x94, 9, int)`.
    private static let ficlone: UInt = 0x4004_9409

    /// Makes `destination` (which must not exist) a copy of `source` with permission bits `mode`: a reflink where
    /// the filesystem has them (Btrfs, XFS with reflink, bcachefs), else a copy of the bytes. The file is synced
    /// before it is given its mode; on failure nothing is left at `destination`.
    ///
    /// - Returns: how the copy was made.
    package static func cloneFile(
        from source: String,
        to destination: String,
        mode: mode_t
    ) throws(SystemError)
        -> CloneMethod
    {
        let input = try open(source, O_RDONLY)
        defer { close(input) }
        let output = try open(destination, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        var method = CloneMethod.reflink
        do {
            if ioctl(output, ficlone, input) != 0 {
                method = .copy
                try copyAll(from: input, to: output, destination: destination)
            }
            try fsync(output)
            try setPermissions(output, mode, path: destination)
        } catch {
            close(output)
            discard(destination)
            throw error
        }
        close(output)
        return method
    }

    /// Copies every byte of `input` (from offset 0) to `output`'s current position.
    private static func copyAll(from input: Int32, to output: Int32, destination: String) throws(SystemError) {
        var offset: Int64 = 0
        var kernelCopy = true
        while kernelCopy {
            do {
                let copied = try copyFileRange(input, sourceOffset: &offset, output, count: 1 << 30)
                if copied == 0 { return }
            } catch {
                // Not supported here (another filesystem, an old kernel): fall back to read and write from where
                // the kernel copy stopped.
                switch error.errno {
                case .noFunction, .invalidArgument, .notSupported, .improperLink, .badFileDescriptor:
                    kernelCopy = false
                default: throw error.at(destination)
                }
            }
        }
        let capacity = 1 << 20
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try preadFully(input, buffer, capacity, offset: offset)
            if count == 0 { return }
            try writeAll(output, buffer, count)
            offset += Int64(count)
        }
    }

    /// Removes `path` and, when it is a directory, everything under it (symbolic links are removed, never
    /// followed). A missing `path` is not an error.
    package static func removeTree(_ path: String) throws(SystemError) {
        guard let info = try lstatIfPresent(path) else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for entry in try listDirectory(path) { try removeTree(path + "/" + entry.name) }
            if rmdir(path) != 0 {
                let code = errno
                if code != ENOENT { throw SystemError("remove directory", path: path, errno: Errno(rawValue: code)) }
            }
        } else {
            try unlink(path)
        }
    }
}
