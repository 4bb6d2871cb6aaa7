package import CairnCore
public import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How `cairn checkout` puts object bytes into the folder.
public enum CheckoutMode: String, Sendable, Hashable {
    /// Reflinks where the filesystem has them, read-only (0444) copies otherwise: editing a file never touches the
    /// store.
    case copy
    /// Hard links to the store's objects: no extra space, but editing a linked file in place changes the store's
    /// object (`cairn fsck` then reports it corrupt). Objects must be in a local store on the same filesystem.
    case link
}

/// What a checkout made.
public struct CheckoutResult: Sendable, Hashable, Encodable {
    /// The run.
    public var runID: String
    /// The folder.
    public var directory: String
    /// Files made by reflink.
    public var reflinked: Int
    /// Files made by copying bytes.
    public var copied: Int
    /// Files made by hard link.
    public var linked: Int
    /// Small files written from the ledger (`manifest.json`, `receipt.json`).
    public var written: Int

    private enum CodingKeys: String, CodingKey { case run_id, directory, reflinked, copied, linked, written }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(runID, forKey: .run_id)
        try container.encode(directory, forKey: .directory)
        try container.encode(reflinked, forKey: .reflinked)
        try container.encode(copied, forKey: .copied)
        try container.encode(linked, forKey: .linked)
        try container.encode(written, forKey: .written)
    }
}

/// Materialises a run as a folder of plain files (spec/checkout.md).
public enum RunCheckout {
    /// Checks run `runID` out of `ledger` into `directory`.
    ///
    /// The folder is built beside `directory` under a temporary name and renamed into place at the end, so a failure
    /// leaves nothing; `directory` must not exist or be an empty directory. Every object's bytes are verified
    /// against its digest as they are placed.
    /// - Throws: ``ExportError`` `.notFound` (no such run, an object missing), `.exists`, `.io`; ledger and store
    ///   errors.
    public static func checkout(
        ledger: Ledger,
        runID: String,
        into directory: String,
        mode: CheckoutMode = .copy
    ) throws -> CheckoutResult {
        guard let manifestBytes = try ledger.manifestBytes(runID: runID) else {
            throw ExportError(.notFound, "no manifest for run \(runID) in the ledger")
        }
        let manifest: Manifest
        do {
            manifest = try Manifest.parse(manifestBytes)
        } catch {
            throw ExportError(.malformed, "the stored manifest of run \(runID) cannot be read: \(error)")
        }
        let receiptEntries = try ledger.receiptEntries(runID: runID)
        let receipts = try receiptEntries.map { entry -> Receipt in
            guard case .receipt(let receipt) = try LedgerEntry.decode(entry.bytes).entry else {
                throw ExportError(.malformed, "entry \(entry.index) is not a receipt")
            }
            return receipt
        }
        let layout = RunLayout(manifest: manifest, receipts: receipts)
        let local = ledger.store as? ObjectStore
        if mode == .link && local == nil {
            throw ExportError(.io, "--link needs a local store; \(ledger.store.location) is not one")
        }

        let target = directory.hasSuffix("/") && directory.count > 1 ? String(directory.dropLast()) : directory
        if let info = try io({ try SystemCalls.lstatIfPresent(target) }) {
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                throw ExportError(.exists, "\(target) exists and is not a directory")
            }
            guard try io({ try SystemCalls.listDirectory(target) }).isEmpty else {
                throw ExportError(.exists, "\(target) is not empty: check out into a new or empty directory")
            }
        }
        let parent = SystemCalls.directoryName(of: target)
        let base = (target as NSString).lastPathComponent
        let temporary =
            (parent == "." && !target.hasPrefix("./") ? "" : parent + "/")
            + ".\(base).cairn-checkout-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        var result = CheckoutResult(
            runID: runID,
            directory: target,
            reflinked: 0,
            copied: 0,
            linked: 0,
            written: 0
        )
        do {
            try io { _ = try SystemCalls.mkdir(temporary) }
            try write(manifestBytes, to: temporary + "/manifest.json")
            result.written += 1
            for file in layout.files {
                try makeParents(of: file.path, under: temporary)
                let destination = temporary + "/" + file.path
                switch try place(file.digest, at: destination, store: ledger, local: local, mode: mode) {
                case .reflink: result.reflinked += 1
                case .copy: result.copied += 1
                case nil: result.linked += 1
                }
            }
            for (attempt, entry) in zip(layout.attempts, receiptEntries) {
                try makeParents(of: attempt.directory + "/receipt.json", under: temporary)
                try write(entry.bytes, to: temporary + "/" + attempt.directory + "/receipt.json")
                result.written += 1
            }
            try syncTree(temporary)
            try io { try SystemCalls.rename(temporary, target) }
            try io { try SystemCalls.fsyncDirectory(parent) }
        } catch {
            // Best effort: the failure being reported matters more; a tree left behind is a dot-named sibling.
            try? SystemCalls.removeTree(temporary)
            throw error
        }
        return result
    }

    /// Puts object `digest` at `destination`; returns how (nil for a hard link).
    private static func place(
        _ digest: Digest,
        at destination: String,
        store ledger: Ledger,
        local: ObjectStore?,
        mode: CheckoutMode
    ) throws -> CloneMethod? {
        guard let local, local.algorithm == digest.algorithm else {
            // Not a local object (another backend, or an asset named by another algorithm): a verified copy.
            do {
                try ledger.store.copy(digest, toFileAt: destination, verify: true)
            } catch let error as StoreError where error.code == .notFound {
                throw ExportError(.notFound, "object \(digest) (for \(destination)) is not in the store")
            }
            try io {
                let fd = try SystemCalls.open(destination, O_RDONLY)
                defer { SystemCalls.close(fd) }
                try SystemCalls.setPermissions(fd, 0o444, path: destination)
            }
            return .copy
        }
        guard try local.contains(digest).isPresent else {
            throw ExportError(.notFound, "object \(digest) (for \(destination)) is not in the store")
        }
        let source = local.objectPath(for: digest)
        switch mode {
        case .link:
            // Verify the object before handing out a link to it.
            try local.stream(digest, verify: true) { _ in }
            try io { try SystemCalls.link(source, destination) }
            return nil
        case .copy:
            let method = try io { try SystemCalls.cloneFile(from: source, to: destination, mode: 0o444) }
            let found = try FileDigest.of(destination, algorithm: digest.algorithm)
            guard found == digest else {
                SystemCalls.discard(destination)
                throw ExportError(.io, "object \(digest) in the store is corrupt (its bytes hash to \(found))")
            }
            return method
        }
    }

    private static func write(_ bytes: [UInt8], to path: String) throws {
        try io {
            let file = try SystemFile(path: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o444)
            try file.write(bytes, at: 0)
            try file.syncData()
        }
    }

    private static func makeParents(of path: String, under root: String) throws {
        var current = root
        for component in path.split(separator: "/").dropLast() {
            current += "/" + component
            try io { _ = try SystemCalls.mkdir(current) }
        }
    }

    /// Syncs every directory of the tree (files were synced as they were written).
    private static func syncTree(_ path: String) throws {
        for entry in try io({ try SystemCalls.listDirectory(path) }) where entry.isDirectory {
            try syncTree(path + "/" + entry.name)
        }
        try io { try SystemCalls.fsyncDirectory(path) }
    }

    static func io<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SystemError {
            throw ExportError(.io, error.description)
        }
    }
}

/// Streaming digests of files.
package enum FileDigest {
    /// The digest of the file at `path` in `algorithm`.
    package static func of(_ path: String, algorithm: DigestAlgorithm) throws -> Digest {
        try of(path, algorithms: [algorithm])[0]
    }

    /// The digests of the file at `path` in each of `algorithms`, in one pass.
    package static func of(_ path: String, algorithms: [DigestAlgorithm]) throws -> [Digest] {
        try RunCheckout.io {
            let fd = try SystemCalls.open(path, O_RDONLY)
            defer { SystemCalls.close(fd) }
            var hashers = algorithms.map { ContentHasher(algorithm: $0) }
            let capacity = 1 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                let count = try SystemCalls.read(fd, buffer, capacity)
                if count == 0 { break }
                let chunk = UnsafeRawBufferPointer(start: buffer, count: count)
                for index in hashers.indices { hashers[index].update(bufferPointer: chunk) }
            }
            return hashers.map { $0.finalize() }
        }
    }
}
