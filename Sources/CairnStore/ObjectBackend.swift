public import CairnCore
public import Foundation
import _CairnSystem

/// Where content-addressed objects live: the contract every object backend implements (`spec/backends.md`).
///
/// The ledger, the pipeline, garbage collection and `cairn verify` reach objects only through this protocol, so a
/// second backend (an S3-compatible bucket, say) drops in beside the local ``ObjectStore`` without changing them.
/// Every implementation passes the same conformance suite (`ObjectBackendConformance` in the tests).
///
/// The rules, whatever the backend:
/// - An object is named by the digest of its bytes, in ``algorithm``. A name is never bound to other bytes: a put
///   whose bytes do not hash to the expected digest stores nothing and throws `.digestMismatch`.
/// - Once a put returns, the object is durable as the backend promises and visible to every reader; an object that
///   is visible is whole.
/// - A read verifies what it returns unless asked not to: bytes that do not match their name throw `.corrupt`.
/// - Presence is three-valued: present, absent, or an error. An unreachable or refusing backend throws; it never
///   answers absent.
/// - Every method may be called from several threads at once.
public protocol ObjectBackend: AnyObject, Sendable {
    /// The algorithm that names objects.
    var algorithm: DigestAlgorithm { get }

    /// A short description of where the objects are (a path, a bucket URL), for messages.
    var location: String { get }

    /// Stores `bytes`. When `expected` is given and the bytes hash to anything else, nothing is stored and
    /// `StoreError` `.digestMismatch` is thrown.
    func put(_ bytes: [UInt8], expecting expected: Digest?) throws -> PutResult

    /// Stores the contents of the file at `path`, streamed in constant memory. When `expected` is given and the
    /// bytes hash to anything else, nothing is stored and `StoreError` `.digestMismatch` is thrown.
    func put(fileAt path: String, expecting expected: Digest?) throws -> PutResult

    /// The object's bytes, verified against `digest` unless `verify` is false.
    ///
    /// - Throws: `StoreError` `.notFound`, `.corrupt`, `.truncated` or `.io`.
    func read(_ digest: Digest, verify: Bool) throws -> [UInt8]

    /// Calls `body` with the object's bytes in order, chunk by chunk, and verifies them at the end unless `verify`
    /// is false (a mismatch throws `.corrupt` after the last chunk).
    func stream(_ digest: Digest, verify: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) throws

    /// Copies the object to a file at `path`, atomically: the file is complete and verified, or untouched.
    func copy(_ digest: Digest, toFileAt path: String, verify: Bool) throws

    /// Whether the object is there and whole. An error reaching the backend is thrown, never reported as absent.
    func contains(_ digest: Digest) throws -> Presence

    /// The object's size in bytes.
    func size(of digest: Digest) throws -> Int64

    /// When the object was last stored or re-stored (garbage collection's grace period counts from it).
    func modificationDate(of digest: Digest) throws -> Date

    /// Every object's digest, in no particular order.
    func list() throws -> [Digest]

    /// Removes the object; false when it was not there.
    func remove(_ digest: Digest) throws -> Bool

    /// Removes what interrupted writers left behind (never the work of a live writer); returns how many were
    /// removed. A backend with no such leftovers returns 0.
    func cleanUpDebris() throws -> Int
}

extension ObjectBackend {
    /// Stores `bytes`.
    public func put(_ bytes: [UInt8]) throws -> PutResult { try put(bytes, expecting: nil) }

    /// Stores the contents of the file at `path`.
    public func put(fileAt path: String) throws -> PutResult { try put(fileAt: path, expecting: nil) }

    /// The object's bytes, verified.
    public func read(_ digest: Digest) throws -> [UInt8] { try read(digest, verify: true) }

    /// Writes the object to the descriptor `output` (standard output, a pipe), verified before its first byte
    /// leaves: objects up to 8 MiB are read and verified whole, larger ones are streamed twice (verified, then
    /// written), so bytes that do not match their name never reach `output` unless they change between the passes.
    package func writeVerified(_ digest: Digest, to output: Int32) throws {
        func send(_ buffer: UnsafeRawBufferPointer) throws {
            guard let base = buffer.baseAddress, buffer.count > 0 else { return }
            do { try SystemCalls.writeAll(output, base, buffer.count) } catch {
                throw StoreError.io("cannot write output", path: "-", digest: digest, error)
            }
        }
        if try size(of: digest) <= 8 << 20 {
            try read(digest, verify: true).withUnsafeBytes { try send($0) }
            return
        }
        try stream(digest, verify: true) { _ in }
        try stream(digest, verify: true) { try send($0) }
    }
}

extension ObjectStore: ObjectBackend {
    public var algorithm: DigestAlgorithm { configuration.algorithm }

    public var location: String { root }

    public func put(_ bytes: [UInt8], expecting expected: Digest?) throws -> PutResult {
        try put(bytes, durability: nil, expecting: expected)
    }

    public func put(fileAt path: String, expecting expected: Digest?) throws -> PutResult {
        try put(fileAt: path, durability: nil, expecting: expected)
    }

    public func cleanUpDebris() throws -> Int {
        try removeDebris().filter { $0.repair == "removed" }.count
    }
}
