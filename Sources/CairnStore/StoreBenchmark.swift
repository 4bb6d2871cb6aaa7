import CairnCore
import Foundation
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One figure of `StoreBenchmark.run`, with the same-run figure of a peer tool when one was measured.
package struct BenchmarkFigure: Sendable, Codable, Hashable {
    /// What was measured, for example `put 256 MiB file, durability none`.
    package var name: String
    /// `MB/s` (10^6 bytes per second) or `objects/s`.
    package var unit: String
    /// Cairn's figure.
    package var value: Double
    /// The peer's command line, if a peer was measured.
    package var peer: String?
    /// The peer's figure in the same unit.
    package var peerValue: Double?
    /// `value / peerValue` (above 1: Cairn is faster).
    package var ratio: Double?
}

/// Measures the store on a filesystem: hashing, ingest in each durability mode, verified read and fsck, each beside
/// the same-run figure of `openssl dgst -sha256`, `b2sum -l 256`, `cp` + `sync` or `git hash-object` where installed.
package enum StoreBenchmark {
    /// What to measure.
    package struct Options: Sendable {
        /// Bytes in the large file.
        package var size: Int
        /// Number of small (4 KiB) files.
        package var files: Int
        /// Threads for the parallel fsck figure.
        package var jobs: Int
        /// Which measurements to run.
        package var sections: Set<Section>

        /// Creates options.
        package init(
            size: Int = 256 << 20,
            files: Int = 2000,
            jobs: Int = ProcessInfo.processInfo.activeProcessorCount,
            sections: Set<Section> = Set(Section.allCases)
        ) {
            self.size = size
            self.files = files
            self.jobs = jobs
            self.sections = sections
        }
    }

    /// A group of measurements.
    package enum Section: String, Sendable, CaseIterable, Hashable {
        /// Hashing a page-cached file per algorithm, beside `openssl dgst -sha256` and `b2sum -l 256`.
        case hashing
        /// `put` of the large file per durability mode, and a verified read of it.
        case large
        /// `put` of many 4 KiB files per durability mode.
        case small
        /// `fsck` with one job and with `jobs` jobs.
        case fsck
    }

    /// Runs every measurement in a fresh directory made inside `directory` (removed afterwards).
    ///
    /// - Parameters:
    ///   - directory: A directory on the filesystem to measure (the store's `tmp/` for `cairn bench`).
    ///   - options: Sizes.
    ///   - progress: Called with the name of each measurement as it starts.
    /// - Returns: The figures, in order.
    /// - Throws: `StoreError` if files cannot be written.
    package static func run(
        in directory: String,
        options: Options = Options(),
        progress: (String) -> Void = { _ in }
    ) throws -> [BenchmarkFigure] {
        // Absolute, because peer commands run in other working directories.
        let base = directory.hasPrefix("/") ? directory : FileManager.default.currentDirectoryPath + "/" + directory
        let work = base + "/bench-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        var figures: [BenchmarkFigure] = []
        let megabytes = Double(options.size) / 1e6
        let sizeName = options.size >= 1 << 20 ? "\(options.size >> 20) MiB" : "\(options.size) B"

        let large = work + "/large.bin"
        try writeLargeFile(at: large, size: options.size)
        _ = try hashFile(large, algorithm: .sha256)  // page-cache it

        let hashing: [(DigestAlgorithm, String)] =
            options.sections.contains(.hashing)
            ? [(.sha256, "openssl dgst -sha256"), (.blake2b256, "b2sum -l 256")] : []
        for (algorithm, peer) in hashing {
            progress("hash \(algorithm.rawValue)")
            let ours = try time { _ = try hashFile(large, algorithm: algorithm) }
            let theirs = shell("\(peer) '\(large)' > /dev/null")
            figures.append(
                figure(
                    "hash \(sizeName) file, \(algorithm.rawValue)",
                    megabytes / ours,
                    peer,
                    theirs.map { megabytes / $0 }
                )
            )
        }

        var largeDigest: Digest? = nil
        var lastStore: ObjectStore? = nil
        let largeSection = options.sections.contains(.large) || options.sections.contains(.fsck)
        for durability in largeSection ? Durability.allCases : [] {
            progress("put large, \(durability.rawValue)")
            let store = try ObjectStore.create(at: work + "/large-\(durability.rawValue)", durability: durability)
            let ours = try time { largeDigest = try store.put(fileAt: large).digest }
            let peer: String
            let theirs: Double?
            if durability == .none {
                peer = "openssl dgst -sha256"
                theirs = shell("openssl dgst -sha256 '\(large)' > /dev/null")
            } else {
                peer = "cp FILE x && sync x"
                theirs = shell(
                    "cp '\(large)' '\(work)/cp-\(durability.rawValue)' && sync '\(work)/cp-\(durability.rawValue)'"
                )
            }
            if options.sections.contains(.large) {
                figures.append(
                    figure(
                        "put \(sizeName) file, durability \(durability.rawValue)",
                        megabytes / ours,
                        peer,
                        theirs.map { megabytes / $0 }
                    )
                )
            }
            lastStore = store
        }

        if let store = lastStore, let digest = largeDigest, options.sections.contains(.large) {
            progress("verified read")
            let sink = open("/dev/null", O_WRONLY)
            defer { close(sink) }
            let ours = try time { try store.write(digest, to: sink, verify: true) }
            let theirs = shell("openssl dgst -sha256 '\(store.objectPath(for: digest))' > /dev/null")
            figures.append(
                figure(
                    "verified read of \(sizeName)",
                    megabytes / ours,
                    "openssl dgst -sha256 (object file)",
                    theirs.map { megabytes / $0 }
                )
            )
        }

        guard options.sections.contains(.small) || options.sections.contains(.fsck) else { return figures }
        let small = work + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        var paths: [String] = []
        for index in 0..<options.files {
            let path = small + "/f\(index)"
            var bytes = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 4096)
            withUnsafeBytes(of: UInt64(index).littleEndian) {
                for (offset, byte) in $0.enumerated() { bytes[offset] = byte }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let count = Double(options.files)
        var fsckStore: ObjectStore? = nil
        for durability in Durability.allCases {
            progress("put \(options.files) small files, \(durability.rawValue)")
            let store = try ObjectStore.create(at: work + "/small-\(durability.rawValue)", durability: durability)
            let ours = try time { _ = try store.putBatch(filesAt: paths) }
            var peer: String? = nil
            var theirs: Double? = nil
            switch durability {
            case .batch:
                peer = "git hash-object -w --stdin-paths"
                let repository = work + "/git"
                if shell("git init -q '\(repository)'") != nil {
                    theirs = shell(
                        "cd '\(repository)' && ls -1 '\(small)'/* | git hash-object -w --stdin-paths > /dev/null"
                    )
                    // Count git's loose objects: the figure only counts if git really wrote every file.
                    let written = FileManager.default.enumerator(atPath: repository + "/.git/objects")?
                        .compactMap { $0 as? String }.filter { $0.count == 41 }.count
                    if written != options.files { theirs = nil }
                }
            case .none:
                peer = "cp -r (no sync)"
                theirs = shell("cp -r '\(small)' '\(work)/cp-small'")
            case .object:
                peer = nil
            }
            if options.sections.contains(.small) {
                figures.append(
                    figure(
                        "put \(options.files) x 4 KiB, durability \(durability.rawValue)",
                        count / ours,
                        peer,
                        theirs.map { count / $0 },
                        unit: "objects/s"
                    )
                )
            }
            fsckStore = store
        }

        if let store = fsckStore, options.sections.contains(.fsck) {
            // Add the large object so fsck has bytes to hash as well as many files.
            _ = try store.put(fileAt: large)
            let bytes = Double(options.size + 4096 * options.files) / 1e6
            progress("fsck")
            let one = try time { _ = try store.fsck(jobs: 1) }
            let many = try time { _ = try store.fsck(jobs: options.jobs) }
            figures.append(figure("fsck, 1 job", bytes / one, nil, nil))
            figures.append(figure("fsck, \(options.jobs) jobs", bytes / many, "fsck, 1 job", bytes / one))
        }
        return figures
    }

    private static func figure(
        _ name: String,
        _ value: Double,
        _ peer: String?,
        _ peerValue: Double?,
        unit: String = "MB/s"
    ) -> BenchmarkFigure {
        let ratio = peerValue.flatMap { $0 > 0 ? value / $0 : nil }
        return BenchmarkFigure(name: name, unit: unit, value: value, peer: peer, peerValue: peerValue, ratio: ratio)
    }

    /// Seconds `body` took. Flushes dirty data first, so no measurement pays for an earlier one's writes.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        sync()
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Seconds `/bin/sh -c command` took, or `nil` if it failed (for example, the tool is not installed).
    /// Flushes dirty data first, as `time` does.
    static func shell(_ command: String) -> Double? {
        sync()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let start = DispatchTime.now().uptimeNanoseconds
        guard (try? process.run()) != nil else { return nil }
        process.waitUntilExit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return process.terminationStatus == 0 ? seconds : nil
    }

    /// Streams a file through `ContentHasher` (read + hash, what `openssl dgst` does).
    static func hashFile(_ path: String, algorithm: DigestAlgorithm) throws -> Digest {
        let fd: Int32
        do { fd = try SystemCalls.open(path, O_RDONLY) } catch {
            throw StoreError.io("cannot open", path: path, error)
        }
        defer { SystemCalls.close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ObjectStore.chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var hasher = ContentHasher(algorithm: algorithm)
        while true {
            let n: Int
            do { n = try SystemCalls.read(fd, buffer.baseAddress!, buffer.count) } catch {
                throw StoreError.io("cannot read", path: path, error)
            }
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<n]))
        }
        return hasher.finalize()
    }

    /// Writes `size` pseudo-random bytes (every 1 MiB chunk differs) to `path`.
    static func writeLargeFile(at path: String, size: Int) throws {
        let fd: Int32
        do { fd = try SystemCalls.open(path, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644) } catch {
            throw StoreError.io("cannot create", path: path, error)
        }
        defer { SystemCalls.close(fd) }
        var chunk = [UInt8](repeating: 0, count: ObjectStore.chunkSize)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in chunk.indices {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            chunk[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        var written = 0
        var counter: UInt64 = 0
        while written < size {
            counter += 1
            withUnsafeBytes(of: counter) { for (offset, byte) in $0.enumerated() { chunk[offset] = byte } }
            let n = min(chunk.count, size - written)
            do {
                try chunk.withUnsafeBytes { try SystemCalls.writeAll(fd, $0.baseAddress!, n) }
            } catch {
                throw StoreError.io("cannot write", path: path, error)
            }
            written += n
        }
    }
}
