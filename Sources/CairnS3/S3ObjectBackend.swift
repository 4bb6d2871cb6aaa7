#if S3
public import CairnCore
public import CairnStore
public import Foundation
import NIOHTTP1
import SystemPackage
import _CairnSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Content-addressed objects in an S3-compatible bucket: the `ObjectBackend` of `spec/s3.md`.
///
/// Object `D` is the key `<prefix>/objects/<algo>/<ab>/<hex>`. Puts never overwrite (`If-None-Match: *`; 412 means
/// the object is there: dedup) and let the server check the bytes (`x-amz-checksum-sha256` in sha256 stores,
/// `Content-MD5` otherwise). Files above the multipart threshold go up in parts, one part in memory at a time, and
/// an upload that fails is aborted. Reads go by ranged `GET`s and are verified while they stream. Presence is
/// present, absent (404 only) or an error. Failed requests are retried as ``S3RetryPolicy`` says.
///
/// The protocol is synchronous: each call blocks its thread on the backend's own `HTTPClient` (callers are on
/// blocking-IO threads, never on an event loop). Call ``shutdown()`` when done (deinit does it otherwise).
public final class S3ObjectBackend: ObjectBackend {
    /// Bucket, prefix, sizes and retry policy.
    public let configuration: S3BackendConfiguration
    /// The key layout.
    public let layout: S3KeyLayout
    let client: S3Client

    /// Opens the bucket described by `configuration` with `credentials` (from the environment when nil). Makes no
    /// request: use ``checkAccess()`` to find out whether the bucket can be written.
    ///
    /// - Throws: `StoreError` `.badConfiguration` when the credentials are missing or the endpoint is not a URL.
    public init(configuration: S3BackendConfiguration, credentials: S3Credentials? = nil) throws(StoreError) {
        self.configuration = configuration
        layout = S3KeyLayout(prefix: configuration.location.prefix, algorithm: configuration.algorithm)
        do throws(S3Error) {
            var given = credentials
            if given == nil { given = try S3Credentials.fromEnvironment() }
            guard let credentials = given else { preconditionFailure("credentials were just read") }
            client = try S3Client(
                bucket: configuration.location.bucket,
                endpoint: configuration.endpoint(region: credentials.region),
                credentials: credentials,
                configuration: configuration
            )
        } catch {
            throw StoreError(
                code: .badConfiguration,
                message: "cannot use the S3 store",
                path: configuration.location.description,
                underlying: error
            )
        }
    }

    /// Closes the connection pool and its threads. Idempotent; calls after it fail.
    public func shutdown() { client.shutdown() }

    public var algorithm: DigestAlgorithm { configuration.algorithm }

    public var location: String { configuration.location.description }

    // MARK: Put

    public func put(_ bytes: [UInt8], expecting expected: Digest?) throws -> PutResult {
        let digest = ContentHasher.digest(of: bytes, algorithm: algorithm)
        try check(digest, expected: expected)
        return try putObject(bytes, digest: digest)
    }

    public func put(fileAt path: String, expecting expected: Digest?) throws -> PutResult {
        let file: SystemFile
        let info: stat
        do throws(SystemError) {
            file = try SystemFile(path: path, flags: O_RDONLY)
            info = try SystemCalls.fstat(file.fd)
        } catch {
            throw StoreError(
                code: .badInput,
                message: "cannot read the file to store",
                path: path,
                errno: error.errno,
                underlying: error
            )
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(code: .badInput, message: "not a regular file", path: path)
        }
        let size = Int(info.st_size)
        if size <= configuration.multipartThreshold {
            let bytes: [UInt8]
            do throws(SystemError) { bytes = try file.read(at: 0, count: size) } catch {
                throw StoreError(
                    code: .badInput,
                    message: "cannot read the file to store",
                    path: path,
                    underlying: error
                )
            }
            guard bytes.count == size else {
                throw StoreError(code: .badInput, message: "the file changed size while being stored", path: path)
            }
            let digest = ContentHasher.digest(of: bytes, algorithm: algorithm)
            try check(digest, expected: expected)
            return try putObject(bytes, digest: digest)
        }
        // Large: hash first (the key is the digest), then upload in parts, hashing again what is sent so a file
        // that changes in between is never stored under the first digest.
        let digest = try hashFile(file, size: size, path: path)
        try check(digest, expected: expected)
        let key = layout.key(for: digest)
        if case .present = try presence(key: key, digest: digest) {
            return PutResult(digest: digest, size: Int64(size), stored: false)
        }
        let stored = try multipartUpload(file, size: size, path: path, digest: digest, key: key)
        return PutResult(digest: digest, size: Int64(size), stored: stored)
    }

    private func check(_ digest: Digest, expected: Digest?) throws(StoreError) {
        guard let expected else { return }
        guard expected.algorithm == algorithm else {
            throw StoreError(
                code: .wrongAlgorithm,
                message: "expected digest is not \(algorithm.rawValue), this store's algorithm",
                digest: expected
            )
        }
        guard expected == digest else {
            throw StoreError(
                code: .digestMismatch,
                message: "the bytes hash to \(digest), not the expected digest; nothing was stored",
                digest: expected
            )
        }
    }

    /// From this size up, a put first looks the object up (spec/s3.md, "Put"): a one-byte read costs a round trip,
    /// where sending the bytes of an object already there only to have them refused costs their whole transfer.
    package static let lookUpBeforePutSize = 1 << 20

    private func putObject(_ bytes: [UInt8], digest: Digest) throws -> PutResult {
        let key = layout.key(for: digest)
        if bytes.count >= Self.lookUpBeforePutSize, case .present = try presence(key: key, digest: digest) {
            return PutResult(digest: digest, size: Int64(bytes.count), stored: false)
        }
        let check = S3Checksums.integrity(bytes, digest: digest)
        let reply = try request(
            .PUT,
            key: key,
            digest: digest,
            headers: [("If-None-Match", "*"), check.header],
            body: bytes,
            payloadHash: check.sha256,
            accept: [200, 412],
            what: "cannot store object"
        )
        return PutResult(digest: digest, size: Int64(bytes.count), stored: reply.status == 200)
    }

    private func hashFile(_ file: SystemFile, size: Int, path: String) throws(StoreError) -> Digest {
        var hasher = ContentHasher(algorithm: algorithm)
        var offset = 0
        while offset < size {
            let chunk: [UInt8]
            do throws(SystemError) {
                chunk = try file.read(at: UInt64(offset), count: min(1 << 20, size - offset))
            } catch {
                throw StoreError(
                    code: .badInput,
                    message: "cannot read the file to store",
                    path: path,
                    underlying: error
                )
            }
            guard !chunk.isEmpty else {
                throw StoreError(code: .badInput, message: "the file changed size while being stored", path: path)
            }
            hasher.update(chunk)
            offset += chunk.count
        }
        return hasher.finalize()
    }

    /// Uploads the file in parts and completes the upload with `If-None-Match: *`; returns false when the object
    /// was already there. Any failure aborts the upload.
    private func multipartUpload(
        _ file: SystemFile,
        size: Int,
        path: String,
        digest: Digest,
        key: String
    ) throws
        -> Bool
    {
        let started = try request(
            .POST,
            key: key,
            digest: digest,
            query: [("uploads", "")],
            body: [],
            accept: [200],
            what: "cannot start a multipart upload"
        )
        let uploadID: String
        do throws(S3Error) { uploadID = try S3Reply.uploadID(started.body) } catch {
            throw storeError(error, "cannot start a multipart upload", key: key, digest: digest)
        }
        do {
            var hasher = ContentHasher(algorithm: algorithm)
            var etags: [String] = []
            var offset = 0
            while offset < size {
                let part: [UInt8]
                do throws(SystemError) {
                    part = try file.read(at: UInt64(offset), count: min(configuration.partSize, size - offset))
                } catch {
                    throw StoreError(
                        code: .badInput,
                        message: "cannot read the file to store",
                        path: path,
                        underlying: error
                    )
                }
                guard !part.isEmpty else {
                    throw StoreError(code: .badInput, message: "the file changed size while being stored", path: path)
                }
                hasher.update(part)
                let check = S3Checksums.integrity(part, digest: nil)
                let reply = try request(
                    .PUT,
                    key: key,
                    digest: digest,
                    query: [("partNumber", String(etags.count + 1)), ("uploadId", uploadID)],
                    headers: [check.header],
                    body: part,
                    payloadHash: check.sha256,
                    accept: [200],
                    what: "cannot upload part \(etags.count + 1)"
                )
                guard let etag = reply.header("ETag") else {
                    throw storeError(
                        S3Error(kind: .badReply, message: "an uploaded part has no ETag"),
                        "cannot upload part \(etags.count + 1)",
                        key: key,
                        digest: digest
                    )
                }
                etags.append(etag)
                offset += part.count
            }
            guard hasher.finalize() == digest else {
                throw StoreError(code: .badInput, message: "the file changed while being stored", path: path)
            }
            let reply = try request(
                .POST,
                key: key,
                digest: digest,
                query: [("uploadId", uploadID)],
                headers: [("If-None-Match", "*")],
                body: S3Reply.completeMultipartUpload(etags: etags),
                accept: [200, 412],
                what: "cannot complete a multipart upload"
            )
            // A 200 may still carry an <Error> (S3 reports late failures of CompleteMultipartUpload that way).
            if reply.status == 200, let error = S3Reply.errorBody(reply.body) {
                throw storeError(
                    S3Error(
                        kind: .status,
                        message: "cannot complete a multipart upload",
                        status: 200,
                        code: error.code,
                        serverMessage: error.message,
                        requestID: error.requestID
                    ),
                    "cannot complete a multipart upload",
                    key: key,
                    digest: digest
                )
            }
            if reply.status == 412 { abort(key: key, uploadID: uploadID) }
            return reply.status == 200
        } catch {
            abort(key: key, uploadID: uploadID)
            throw error
        }
    }

    /// Aborts a multipart upload, best effort (what is left is found by `cleanUpDebris`).
    private func abort(key: String, uploadID: String) {
        _ = try? client.send(
            .DELETE,
            key: key,
            query: [("uploadId", uploadID)],
            accept: [204, 200, 404],
            what: "abort"
        )
    }

    // MARK: Read

    public func read(_ digest: Digest, verify: Bool) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try fetch(digest, verify: verify) { chunk in
            // One range (the usual case) is handed over without a copy.
            if bytes.isEmpty { bytes = chunk } else { bytes += chunk }
        }
        return bytes
    }

    public func stream(_ digest: Digest, verify: Bool, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try fetch(digest, verify: verify) { chunk in try chunk.withUnsafeBytes { try body($0) } }
    }

    /// The object's bytes range by range, in order, verified after the last one unless `verify` is false.
    private func fetch(_ digest: Digest, verify: Bool, _ body: ([UInt8]) throws -> Void) throws {
        try checkAlgorithm(digest)
        let key = layout.key(for: digest)
        var hasher = ContentHasher(algorithm: algorithm)
        var offset = 0
        var total: Int?
        repeat {
            let end = offset + configuration.readChunkSize - 1
            let reply: S3Client.Reply
            do throws(S3Error) {
                reply = try client.send(
                    .GET,
                    key: key,
                    headers: [("Range", "bytes=\(offset)-\(end)")],
                    accept: [200, 206, 416],
                    hashing: verify ? hasher : nil,
                    what: "cannot read object"
                )
            } catch let error where error.kind == .status && error.status == 404 && error.code == "NoSuchKey" {
                throw StoreError(
                    code: .notFound,
                    message: "no such object",
                    path: client.target(key),
                    digest: digest,
                    underlying: error
                )
            } catch {
                throw storeError(error, "cannot read object", key: key, digest: digest)
            }
            switch reply.status {
            case 416 where offset == 0:
                // The range starts past the end: the object is empty.
                total = 0
                continue
            case 200 where offset == 0:
                // The server sent the whole object.
                total = reply.body.count
            case 206:
                guard let range = reply.header("Content-Range").flatMap(Self.contentRange),
                    range.first == offset, range.count == reply.body.count, range.count > 0,
                    total == nil || total == range.total
                else {
                    throw StoreError(
                        code: .io,
                        message: "a ranged read returned an unexpected range",
                        path: client.target(key),
                        digest: digest
                    )
                }
                total = range.total
            default:
                throw StoreError(
                    code: .io,
                    message: "a ranged read returned HTTP \(reply.status)",
                    path: client.target(key),
                    digest: digest
                )
            }
            if verify {
                // Hashed while it arrived (a retried request starts again from the hasher it was given).
                guard let fed = reply.hasher else {
                    throw StoreError(
                        code: .io,
                        message: "a ranged read returned HTTP \(reply.status) without its body hashed",
                        path: client.target(key),
                        digest: digest
                    )
                }
                hasher = fed
            }
            offset += reply.body.count
            try body(reply.body)
        } while offset < total ?? 0
        if verify, hasher.finalize() != digest {
            throw StoreError(
                code: .corrupt,
                message: "the stored bytes hash to \(hasher.finalize()), not their name",
                path: client.target(key),
                digest: digest
            )
        }
    }

    /// `bytes FIRST-LAST/TOTAL` as (first, count, total).
    static func contentRange(_ text: String) -> (first: Int, count: Int, total: Int)? {
        guard text.hasPrefix("bytes ") else { return nil }
        let parts = text.dropFirst(6).split(separator: "/")
        guard parts.count == 2, let total = Int(parts[1]) else { return nil }
        let bounds = parts[0].split(separator: "-")
        guard bounds.count == 2, let first = Int(bounds[0]), let last = Int(bounds[1]), last >= first else {
            return nil
        }
        return (first, last - first + 1, total)
    }

    public func copy(_ digest: Digest, toFileAt path: String, verify: Bool) throws {
        let temporary = SystemCalls.temporaryName(beside: path)
        do {
            let file = try SystemFile(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            var offset: UInt64 = 0
            try stream(digest, verify: verify) { chunk in
                try file.write(Array(chunk), at: offset)
                offset += UInt64(chunk.count)
            }
            try file.syncData()
            try SystemCalls.rename(temporary, path)
        } catch let error as StoreError {
            _ = try? SystemCalls.unlink(temporary)
            throw error
        } catch {
            _ = try? SystemCalls.unlink(temporary)
            let system = error as? SystemError
            throw StoreError(
                code: .io,
                message: "cannot write the copy",
                path: path,
                digest: digest,
                errno: system?.errno,
                underlying: system
            )
        }
    }

    // MARK: Presence and metadata

    public func contains(_ digest: Digest) throws -> Presence {
        // A digest of another algorithm names nothing this store can hold: absent, as in the local store (O1).
        guard digest.algorithm == algorithm else { return .absent }
        return try presence(key: layout.key(for: digest), digest: digest)
    }

    private func presence(key: String, digest: Digest) throws -> Presence {
        guard let probe = try probe(key: key, digest: digest) else { return .absent }
        return .present(size: probe.size)
    }

    /// The object's size and date, or nil when S3 says the key does not exist (404 `NoSuchKey`).
    ///
    /// A one-byte ranged GET rather than a HEAD: a HEAD reply has no body, so a missing bucket (404
    /// `NoSuchBucket`) would look like a missing object. Every other status throws: 403, 5xx and a 404 without
    /// `NoSuchKey` are never "absent".
    private func probe(key: String, digest: Digest) throws -> (size: Int64, date: Date?)? {
        let reply: S3Client.Reply
        do throws(S3Error) {
            reply = try client.send(
                .GET,
                key: key,
                headers: [("Range", "bytes=0-0")],
                accept: [200, 206, 416],
                what: "cannot look up object"
            )
        } catch let error where error.kind == .status && error.status == 404 && error.code == "NoSuchKey" {
            return nil
        } catch {
            throw storeError(error, "cannot look up object", key: key, digest: digest)
        }
        let date = reply.header("Last-Modified").flatMap(S3Dates.httpDate)
        switch reply.status {
        case 206:
            guard let range = reply.header("Content-Range").flatMap(Self.contentRange) else { break }
            return (Int64(range.total), date)
        case 416:
            // Not even one byte: the object is empty.
            return (0, date)
        default:
            if let length = reply.header("Content-Length").flatMap(Int64.init) { return (length, date) }
        }
        throw StoreError(
            code: .io,
            message: "a ranged read returned no object size",
            path: client.target(key),
            digest: digest
        )
    }

    public func size(of digest: Digest) throws -> Int64 {
        try checkAlgorithm(digest)
        let key = layout.key(for: digest)
        guard let probe = try probe(key: key, digest: digest) else {
            throw StoreError(code: .notFound, message: "no such object", path: client.target(key), digest: digest)
        }
        return probe.size
    }

    public func modificationDate(of digest: Digest) throws -> Date {
        try checkAlgorithm(digest)
        let key = layout.key(for: digest)
        guard let probe = try probe(key: key, digest: digest) else {
            throw StoreError(code: .notFound, message: "no such object", path: client.target(key), digest: digest)
        }
        guard let date = probe.date else {
            throw StoreError(
                code: .io,
                message: "a HEAD reply has no Last-Modified date",
                path: client.target(key),
                digest: digest
            )
        }
        return date
    }

    // MARK: List, remove, debris

    public func list() throws -> [Digest] {
        var digests: [Digest] = []
        var token: String?
        repeat {
            var query: [(name: String, value: String)] = [("list-type", "2"), ("prefix", layout.objectsPrefix)]
            if let token { query.append(("continuation-token", token)) }
            let reply = try request(
                .GET,
                key: nil,
                digest: nil,
                query: query,
                accept: [200],
                what: "cannot list objects"
            )
            let page: S3Reply.ObjectList
            do throws(S3Error) { page = try S3Reply.objectList(reply.body) } catch {
                throw storeError(error, "cannot list objects", key: nil, digest: nil)
            }
            digests += page.keys.compactMap(layout.digest(forKey:))
            token = page.continuationToken
        } while token != nil
        return digests
    }

    public func remove(_ digest: Digest) throws -> Bool {
        try checkAlgorithm(digest)
        let key = layout.key(for: digest)
        guard try probe(key: key, digest: digest) != nil else { return false }
        _ = try request(.DELETE, key: key, digest: digest, accept: [204, 200], what: "cannot remove object")
        return true
    }

    /// Aborts multipart uploads under this store's objects that were started more than `debrisAge` seconds ago
    /// (an interrupted writer's parts; a live writer's upload is younger). Returns how many were aborted.
    public func cleanUpDebris() throws -> Int {
        var removed = 0
        for upload in try staleUploads(olderThan: configuration.debrisAge) {
            _ = try request(
                .DELETE,
                key: upload.key,
                digest: nil,
                query: [("uploadId", upload.uploadID)],
                accept: [204, 200, 404],
                what: "cannot abort a stale multipart upload"
            )
            removed += 1
        }
        return removed
    }

    /// The multipart uploads under this store's objects started more than `age` seconds ago.
    public func staleUploads(olderThan age: Double) throws -> [S3Reply.Upload] {
        var stale: [S3Reply.Upload] = []
        var marker: (keyMarker: String, uploadIDMarker: String)?
        let cutoff = Date().addingTimeInterval(-age)
        repeat {
            var query: [(name: String, value: String)] = [("uploads", ""), ("prefix", layout.objectsPrefix)]
            if let marker {
                query.append(("key-marker", marker.keyMarker))
                query.append(("upload-id-marker", marker.uploadIDMarker))
            }
            let reply = try request(
                .GET,
                key: nil,
                digest: nil,
                query: query,
                accept: [200],
                what: "cannot list multipart uploads"
            )
            let page: S3Reply.UploadList
            do throws(S3Error) { page = try S3Reply.uploadList(reply.body) } catch {
                throw storeError(error, "cannot list multipart uploads", key: nil, digest: nil)
            }
            stale += page.uploads.filter { $0.initiated <= cutoff && $0.key.hasPrefix(layout.objectsPrefix) }
            marker = page.next
        } while marker != nil
        return stale
    }

    /// Finds out whether the bucket can be used: lists one key under the prefix (the bucket exists and can be
    /// read; some servers create a missing bucket on the first PUT, so this comes first), then writes and removes a
    /// probe object under the prefix. The error says what is wrong (no such bucket, access denied, no reply).
    public func checkAccess() throws {
        _ = try request(
            .GET,
            key: nil,
            digest: nil,
            query: [("list-type", "2"), ("max-keys", "1"), ("prefix", layout.objectsPrefix)],
            accept: [200],
            what: "cannot list the bucket"
        )
        let name = "cairn-access-check-\(UInt64.random(in: 0...UInt64.max))"
        let key = (layout.prefix.isEmpty ? "" : layout.prefix + "/") + name
        let bytes = Array("cairn access check".utf8)
        let digest = ContentHasher.digest(of: bytes, algorithm: .sha256)
        let check = S3Checksums.integrity(bytes, digest: digest)
        _ = try request(
            .PUT,
            key: key,
            digest: nil,
            headers: [("If-None-Match", "*"), check.header],
            body: bytes,
            payloadHash: check.sha256,
            accept: [200],
            what: "cannot write to the bucket"
        )
        _ = try request(.DELETE, key: key, digest: nil, accept: [204, 200], what: "cannot remove from the bucket")
    }

    // MARK: Helpers

    private func checkAlgorithm(_ digest: Digest) throws(StoreError) {
        guard digest.algorithm == algorithm else {
            throw StoreError(
                code: .wrongAlgorithm,
                message: "this store names objects by \(algorithm.rawValue)",
                path: location,
                digest: digest
            )
        }
    }

    private func request(
        _ method: HTTPMethod,
        key: String?,
        digest: Digest?,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        payloadHash: String? = nil,
        accept: Set<Int>,
        what: String
    ) throws(StoreError) -> S3Client.Reply {
        do throws(S3Error) {
            return try client.send(
                method,
                key: key,
                query: query,
                headers: headers,
                body: body,
                payloadHash: payloadHash,
                accept: accept,
                what: what
            )
        } catch {
            throw storeError(error, what, key: key, digest: digest)
        }
    }

    private func storeError(_ error: S3Error, _ message: String, key: String?, digest: Digest?) -> StoreError {
        StoreError(code: .io, message: message, path: client.target(key), digest: digest, underlying: error)
    }

    /// Replaces an object's stored bytes without any check, as damage behind the backend's back would (for
    /// tests of verified reads).
    package func overwriteStoredBytes(of digest: Digest, with bytes: [UInt8]) throws {
        _ = try request(
            .PUT,
            key: layout.key(for: digest),
            digest: digest,
            body: bytes,
            accept: [200],
            what: "overwrite"
        )
    }

    /// Sends a PUT of `bytes` to `key` with `headers` and returns the status (for tests of what the server checks).
    package func putForTesting(key: String, bytes: [UInt8], headers: [(name: String, value: String)]) throws -> Int {
        try request(.PUT, key: key, digest: nil, headers: headers, body: bytes, accept: [200], what: "test put").status
    }

    /// Makes the configured bucket (tests that need a bucket of their own); one that exists already is fine.
    package func createBucketForTesting() throws {
        _ = try request(.PUT, key: nil, digest: nil, body: [], accept: [200, 409], what: "create bucket")
    }

    /// Starts a multipart upload for `digest`'s key and leaves it unfinished (for tests of `cleanUpDebris`).
    package func startUploadForTesting(_ digest: Digest) throws -> String {
        let reply = try request(
            .POST,
            key: layout.key(for: digest),
            digest: digest,
            query: [("uploads", "")],
            body: [],
            accept: [200],
            what: "start upload"
        )
        return try S3Reply.uploadID(reply.body)
    }
}
#endif
