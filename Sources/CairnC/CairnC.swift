// The C ABI (include/cairn.h, spec/c-abi.md): `@_cdecl` functions over CairnStore, CairnLedger and CairnManifest.
//
// Rules every function here keeps: every pointer and length is checked before use; every error is caught and
// turned into a status code and a message (no Swift error, trap or unwinding crosses the boundary); a handle's
// state is guarded by its own lock, so one handle may be used from many threads.

import CairnCore
import CairnLedger
import CairnManifest
import CairnStore
import Foundation
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: Status codes (include/cairn.h)

/// A status code and its message: what every failing call reports.
struct CairnFailure: Error {
    var status: Int32
    var message: String

    init(_ status: Int32, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// The status codes of include/cairn.h; `status / 10` is the CLI's exit code family.
enum Status {
    static let ok: Int32 = 0
    static let notFound: Int32 = 10
    static let corrupt: Int32 = 11
    static let invalid: Int32 = 12
    static let usage: Int32 = 20
    static let malformed: Int32 = 21
    static let io: Int32 = 22
    static let notAStore: Int32 = 23
    static let bufferTooSmall: Int32 = 24
    static let exists: Int32 = 25
    static let `internal`: Int32 = 29

    /// The status and message of any error a library call throws.
    static func of(_ error: any Error) -> CairnFailure {
        switch error {
        case let failure as CairnFailure:
            return failure
        case let error as StoreError:
            let status: Int32 =
                switch error.code {
                case .notFound: notFound
                case .corrupt, .truncated: corrupt
                case .notAStore: notAStore
                case .alreadyExists: exists
                case .badInput:
                    // A file that is missing or cannot be read is the filesystem's answer; a directory is bad input.
                    error.errno == .noSuchFileOrDirectory || error.errno == .permissionDenied ? io : malformed
                case .badConfiguration: malformed
                case .wrongAlgorithm: usage
                default: io
                }
            return CairnFailure(status, error.description)
        case let error as LedgerError:
            let status: Int32 =
                switch error.code {
                case .corruptLog, .proofInvalid, .signatureInvalid, .manifestInvalid: invalid
                case .manifestMalformed: malformed
                default: io
                }
            return CairnFailure(status, error.description)
        case let error as DigestError:
            return CairnFailure(usage, "invalid digest: \(error)")
        case let error as ManifestError:
            return CairnFailure(malformed, "\(error.kind): \(error.message)")
        default:
            return CairnFailure(`internal`, "\(error)")
        }
    }
}

// MARK: Memory handed to the caller

/// Copies `bytes` into a `malloc`ed buffer the caller frees with `cairn_free`; one extra NUL byte follows them.
func mallocCopy(_ bytes: some Collection<UInt8>) -> UnsafeMutablePointer<UInt8>? {
    guard let memory = malloc(bytes.count + 1)?.assumingMemoryBound(to: UInt8.self) else { return nil }
    let buffer = UnsafeMutableBufferPointer(start: memory, count: bytes.count + 1)
    _ = buffer.initialize(from: bytes)
    buffer[bytes.count] = 0
    return memory
}

/// Stores `message` in `*err` (a `malloc`ed NUL-terminated string) when the caller asked for it.
func report(_ failure: CairnFailure, _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    if let err {
        err.pointee = mallocCopy(Array(failure.message.utf8))
            .map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self) }
    }
    return failure.status
}

/// Runs `body`, turning any thrown error into a status code and a message in `*err`.
func guarded(
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
    _ body: () throws -> Void
) -> Int32 {
    if let err { err.pointee = nil }
    do {
        try body()
        return Status.ok
    } catch {
        return report(Status.of(error), err)
    }
}

// MARK: Argument checks

enum Arguments {
    /// A required NUL-terminated UTF-8 string.
    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let pointer else { throw CairnFailure(Status.usage, "\(name) is NULL") }
        guard let text = String(validatingCString: pointer) else {
            throw CairnFailure(Status.usage, "\(name) is not valid UTF-8")
        }
        return text
    }

    /// A required digest (`algo:hex`).
    static func digest(_ pointer: UnsafePointer<CChar>?) throws -> Digest {
        try Digest(parsing: try string(pointer, "digest"))
    }

    /// `length` bytes at `data` (NULL is allowed only for zero bytes).
    static func bytes(_ data: UnsafeRawPointer?, _ length: Int) throws -> UnsafeRawBufferPointer {
        guard length >= 0 else { throw CairnFailure(Status.usage, "length is negative") }
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let data else { throw CairnFailure(Status.usage, "data is NULL but length is \(length)") }
        return UnsafeRawBufferPointer(start: data, count: length)
    }

    /// A required output pointer.
    static func out<T>(_ pointer: UnsafeMutablePointer<T>?, _ name: String) throws -> UnsafeMutablePointer<T> {
        guard let pointer else { throw CairnFailure(Status.usage, "\(name) is NULL") }
        return pointer
    }

    /// The handle behind `pointer`.
    static func store(_ pointer: OpaquePointer?) throws -> StoreHandle {
        guard let pointer else { throw CairnFailure(Status.usage, "store handle is NULL") }
        return Unmanaged<StoreHandle>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }
}

/// Writes a digest's text and a NUL into `out` (at least `CAIRN_DIGEST_MAX` bytes).
func writeDigest(_ digest: Digest, to out: UnsafeMutablePointer<CChar>?) throws {
    let out = try Arguments.out(out, "digest_out")
    let text = Array(digest.description.utf8)
    guard text.count < Int(cairnDigestMax) else { throw CairnFailure(Status.internal, "digest longer than expected") }
    for (index, byte) in text.enumerated() { out[index] = CChar(bitPattern: byte) }
    out[text.count] = 0
}

/// `CAIRN_DIGEST_MAX`: bytes a digest's text and its NUL may take.
let cairnDigestMax: Int32 = 80

/// Hands `bytes` to the caller as a `malloc`ed buffer and its length.
func handOut(
    _ bytes: some Collection<UInt8>,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ length: UnsafeMutablePointer<Int>?
) throws {
    let out = try Arguments.out(out, "out")
    let length = try Arguments.out(length, "out_len")
    guard let memory = mallocCopy(bytes) else { throw CairnFailure(Status.internal, "out of memory") }
    out.pointee = memory
    length.pointee = bytes.count
}

/// `value` as canonical JSON bytes (the CLI's `--json` shapes).
func canonicalJSON(_ value: some Encodable) throws -> [UInt8] {
    Array(try CanonicalJSON.string(try JSONReader.parse(Array(try JSONEncoder().encode(value)))).utf8)
}

// MARK: The store handle

/// An open store (and, once a ledger call needs it, its ledger), guarded by one lock.
final class StoreHandle: @unchecked Sendable {
    // Invariant: `lock` guards `ledgerValue`.
    private let lock = NSLock()
    let store: ObjectStore
    private var ledgerValue: Ledger?
    private var durabilityValue: Durability?

    /// The durability puts through this handle use (nil: the store's own).
    var durability: Durability? {
        get { exclusive { durabilityValue } }
        set { exclusive { durabilityValue = newValue } }
    }

    init(store: ObjectStore) {
        self.store = store
    }

    /// The store's ledger, opened (and created) on first use.
    func ledger() throws -> Ledger {
        lock.lock()
        defer { lock.unlock() }
        if let ledgerValue { return ledgerValue }
        let ledger = try Ledger.open(store: store)
        ledgerValue = ledger
        return ledger
    }

    /// Runs `body` under the handle's lock (for calls that must not interleave, e.g. an idempotent import).
    func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// `int cairn_abi_version(void)`.
@_cdecl("cairn_abi_version")
public func cairn_abi_version() -> Int32 { 1 }

/// `const char *cairn_version(void)`: a static string, never freed.
@_cdecl("cairn_version")
public func cairn_version() -> UnsafePointer<CChar> {
    UnsafeRawPointer(versionString.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// "0.1.0" and a NUL, in static storage.
private let versionString: StaticString = "0.1.0"

/// `void cairn_free(void *)`: frees a buffer or message the library handed out (NULL is allowed).
@_cdecl("cairn_free")
public func cairn_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

/// `int cairn_store_open(const char *path, int flags, cairn_store **out, char **err)`.
@_cdecl("cairn_store_open")
public func cairn_store_open(
    _ path: UnsafePointer<CChar>?,
    _ flags: Int32,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let out = try Arguments.out(out, "out")
        out.pointee = nil
        let path = try Arguments.string(path, "path")
        guard !path.isEmpty else { throw CairnFailure(Status.usage, "path is empty") }
        guard flags & ~1 == 0 else { throw CairnFailure(Status.usage, "unknown flags \(flags)") }
        let store: ObjectStore
        do {
            store = try ObjectStore(at: path)
        } catch let error as StoreError where error.code == .notAStore && flags & 1 != 0 {
            do {
                store = try ObjectStore.create(at: path)
            } catch let raced as StoreError where raced.code == .alreadyExists {
                store = try ObjectStore(at: path)
            }
        }
        // Objects in S3 and a ledger in PostgreSQL are not reached through the C ABI yet: refuse rather than use
        // the wrong (empty, local) place.
        if FileManager.default.fileExists(atPath: store.root + "/s3.json") {
            throw CairnFailure(
                Status.usage,
                "the store at \(path) keeps its objects in S3; the C ABI works on local objects only"
            )
        }
        if let location = FileManager.default.contents(atPath: store.root + "/ledger/location"),
            !String(decoding: location, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        {
            throw CairnFailure(
                Status.usage,
                "the store at \(path) keeps its ledger elsewhere (ledger/location); the C ABI uses local ledgers only"
            )
        }
        let handle = StoreHandle(store: store)
        out.pointee = OpaquePointer(Unmanaged.passRetained(handle).toOpaque())
    }
}

/// `void cairn_store_close(cairn_store *)`: releases the handle (NULL is allowed).
@_cdecl("cairn_store_close")
public func cairn_store_close(_ handle: OpaquePointer?) {
    guard let handle else { return }
    Unmanaged<StoreHandle>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// `int cairn_put_bytes(cairn_store *, const void *data, size_t len, char digest_out[CAIRN_DIGEST_MAX], char **err)`.
@_cdecl("cairn_put_bytes")
public func cairn_put_bytes(
    _ handle: OpaquePointer?,
    _ data: UnsafeRawPointer?,
    _ length: Int,
    _ digestOut: UnsafeMutablePointer<CChar>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let bytes = try Arguments.bytes(data, length)
        _ = try Arguments.out(digestOut, "digest_out")
        try writeDigest(try handle.store.put(bytes, durability: handle.durability).digest, to: digestOut)
    }
}

/// `int cairn_put_file(cairn_store *, const char *path, char digest_out[CAIRN_DIGEST_MAX], char **err)`.
@_cdecl("cairn_put_file")
public func cairn_put_file(
    _ handle: OpaquePointer?,
    _ path: UnsafePointer<CChar>?,
    _ digestOut: UnsafeMutablePointer<CChar>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        let path = try Arguments.string(path, "path")
        _ = try Arguments.out(digestOut, "digest_out")
        try writeDigest(try handle.store.put(fileAt: path, durability: handle.durability).digest, to: digestOut)
    }
}

/// `int cairn_store_set_durability(cairn_store *, int mode, char **err)`: the durability of later puts through this
/// handle: 0 the store's own, 1 object, 2 batch, 3 none.
@_cdecl("cairn_store_set_durability")
public func cairn_store_set_durability(
    _ handle: OpaquePointer?,
    _ mode: Int32,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        handle.durability = try durability(mode)
    }
}

/// The durability a mode number names (0: nil, the store's own).
func durability(_ mode: Int32) throws -> Durability? {
    switch mode {
    case 0: nil
    case 1: .object
    case 2: .batch
    case 3: Durability.none
    default:
        throw CairnFailure(Status.usage, "unknown durability mode \(mode) (0 store default, 1 object, 2 batch, 3 none)")
    }
}

/// `int cairn_put_files(cairn_store *, size_t count, const char *const *paths, int jobs, char *digests_out,
/// char **err)`: stores `count` files (up to `jobs` at once, as `cairn put --jobs` does) and writes their digests,
/// `CAIRN_DIGEST_MAX` bytes each, in order. Every input is checked before anything is stored.
@_cdecl("cairn_put_files")
public func cairn_put_files(
    _ handle: OpaquePointer?,
    _ count: Int,
    _ paths: UnsafePointer<UnsafePointer<CChar>?>?,
    _ jobs: Int32,
    _ digestsOut: UnsafeMutablePointer<CChar>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let handle = try Arguments.store(handle)
        guard count >= 0 else { throw CairnFailure(Status.usage, "count is negative") }
        guard jobs >= 1 else { throw CairnFailure(Status.usage, "jobs must be at least 1") }
        guard count > 0 else { return }
        guard let paths else { throw CairnFailure(Status.usage, "paths is NULL") }
        let digestsOut = try Arguments.out(digestsOut, "digests_out")
        var sources: [PutSource] = []
        sources.reserveCapacity(min(count, 1 << 16))
        for index in 0..<count { sources.append(.file(try Arguments.string(paths[index], "paths[\(index)]"))) }
        let mode = handle.durability ?? handle.store.configuration.durability
        if mode != .batch { try handle.store.checkInputs(sources) }
        try handle.store.putEach(sources, durability: mode, concurrency: Int(jobs)) { index, result in
            try writeDigest(result.digest, to: digestsOut + index * Int(cairnDigestMax))
        }
    }
}

/// `int cairn_has(cairn_store *, const char *digest, int *present, char **err)`: `*present` is 1 or 0.
@_cdecl("cairn_has")
public func cairn_has(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ present: UnsafeMutablePointer<Int32>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let store = try Arguments.store(handle).store
        let digest = try Arguments.digest(digest)
        let present = try Arguments.out(present, "present")
        present.pointee = try store.contains(digest).isPresent ? 1 : 0
    }
}

/// `int cairn_size(cairn_store *, const char *digest, uint64_t *size, char **err)`.
@_cdecl("cairn_size")
public func cairn_size(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ size: UnsafeMutablePointer<UInt64>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let store = try Arguments.store(handle).store
        let digest = try Arguments.digest(digest)
        let size = try Arguments.out(size, "size")
        size.pointee = UInt64(max(0, try store.size(of: digest)))
    }
}

/// `int cairn_get(cairn_store *, const char *digest, uint8_t **out, size_t *out_len, char **err)`: a verified read
/// into a library-owned buffer the caller frees with `cairn_free`.
@_cdecl("cairn_get")
public func cairn_get(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?,
    _ length: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let store = try Arguments.store(handle).store
        let digest = try Arguments.digest(digest)
        _ = try Arguments.out(out, "out")
        _ = try Arguments.out(length, "out_len")
        try handOut(try store.read(digest), out, length)
    }
}

/// `int cairn_read(cairn_store *, const char *digest, void *buf, size_t cap, size_t *out_len, char **err)`: a
/// verified read into the caller's buffer; `CAIRN_E_BUFFER` with `*out_len` set to the size when `cap` is too small.
@_cdecl("cairn_read")
public func cairn_read(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ buffer: UnsafeMutableRawPointer?,
    _ capacity: Int,
    _ length: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let store = try Arguments.store(handle).store
        let digest = try Arguments.digest(digest)
        let length = try Arguments.out(length, "out_len")
        guard capacity >= 0 else { throw CairnFailure(Status.usage, "cap is negative") }
        let size = Int(try store.size(of: digest))
        length.pointee = size
        guard size <= capacity else {
            throw CairnFailure(Status.bufferTooSmall, "the object is \(size) bytes; the buffer holds \(capacity)")
        }
        guard size == 0 || buffer != nil else { throw CairnFailure(Status.usage, "buf is NULL") }
        var offset = 0
        try store.stream(digest) { chunk in
            guard offset + chunk.count <= capacity, let buffer else {
                throw CairnFailure(Status.corrupt, "the object grew while being read")
            }
            (buffer + offset).copyMemory(from: chunk.baseAddress!, byteCount: chunk.count)
            offset += chunk.count
        }
        length.pointee = offset
    }
}

// MARK: Streaming reads

/// An object opened for reading: the bytes come out in order and are hashed; the end checks the digest.
final class ReaderHandle: @unchecked Sendable {
    // Invariant: `lock` guards every mutable field.
    private let lock = NSLock()
    private var fd: Int32
    private var hasher: ContentHasher
    private let digest: Digest
    private var finished = false

    init(fd: Int32, digest: Digest) {
        self.fd = fd
        self.digest = digest
        self.hasher = ContentHasher(algorithm: digest.algorithm)
    }

    deinit { if fd >= 0 { SystemCalls.close(fd) } }

    /// Reads up to `capacity` bytes; 0 at the end, after the bytes were checked against the digest.
    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        lock.lock()
        defer { lock.unlock() }
        guard fd >= 0 else { throw CairnFailure(Status.usage, "the reader is closed") }
        if finished { return 0 }
        let count: Int
        do { count = try SystemCalls.read(fd, buffer, capacity) } catch {
            throw CairnFailure(Status.io, "cannot read object \(digest): \(error)")
        }
        if count > 0 {
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer, count: count))
            return count
        }
        finished = true
        guard hasher.finalize() == digest else {
            throw CairnFailure(Status.corrupt, "object \(digest) is corrupt (its bytes do not match)")
        }
        return 0
    }
}

/// `int cairn_reader_open(cairn_store *, const char *digest, cairn_reader **out, char **err)`.
@_cdecl("cairn_reader_open")
public func cairn_reader_open(
    _ handle: OpaquePointer?,
    _ digest: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<OpaquePointer?>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        let out = try Arguments.out(out, "out")
        out.pointee = nil
        let store = try Arguments.store(handle).store
        let digest = try Arguments.digest(digest)
        guard digest.algorithm == store.configuration.algorithm else {
            throw CairnFailure(Status.usage, "\(digest) is not a \(store.configuration.algorithm.rawValue) digest")
        }
        let path = store.objectPath(for: digest)
        let fd: Int32
        do throws(SystemError) { fd = try SystemCalls.open(path, O_RDONLY | O_NOFOLLOW) } catch {
            if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory {
                throw CairnFailure(Status.notFound, "no such object \(digest) in \(store.root)")
            }
            throw CairnFailure(Status.io, "cannot open object \(digest) (\(path)): \(error)")
        }
        out.pointee = OpaquePointer(Unmanaged.passRetained(ReaderHandle(fd: fd, digest: digest)).toOpaque())
    }
}

/// `int cairn_reader_read(cairn_reader *, void *buf, size_t cap, size_t *out_len, char **err)`: `*out_len` 0 is the
/// end (the bytes matched the digest); `CAIRN_E_CORRUPT` at the end when they did not.
@_cdecl("cairn_reader_read")
public func cairn_reader_read(
    _ reader: OpaquePointer?,
    _ buffer: UnsafeMutableRawPointer?,
    _ capacity: Int,
    _ length: UnsafeMutablePointer<Int>?,
    _ err: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> Int32 {
    guarded(err) {
        guard let reader else { throw CairnFailure(Status.usage, "reader handle is NULL") }
        let length = try Arguments.out(length, "out_len")
        length.pointee = 0
        guard capacity > 0, let buffer else { throw CairnFailure(Status.usage, "buf is NULL or cap is 0") }
        let handle = Unmanaged<ReaderHandle>.fromOpaque(UnsafeRawPointer(reader)).takeUnretainedValue()
        length.pointee = try handle.read(into: buffer, capacity: capacity)
    }
}

/// `void cairn_reader_close(cairn_reader *)` (NULL is allowed).
@_cdecl("cairn_reader_close")
public func cairn_reader_close(_ reader: OpaquePointer?) {
    guard let reader else { return }
    Unmanaged<ReaderHandle>.fromOpaque(UnsafeRawPointer(reader)).release()
}
