#if S3
import AsyncHTTPClient
import CairnCore
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A signed S3 request sender with retries, bridged to blocking callers (`spec/s3.md`, "Requests").
///
/// It owns one event loop group and one `HTTPClient` (a connection pool); callers are on ordinary threads (never
/// an event loop), and each call blocks its thread until the reply is in. `shutdown()` closes both.
final class S3Client: Sendable {
    /// A reply whose status the caller asked for.
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: [UInt8]
        /// The `hashing` hasher given to ``S3Client/send``, fed the body of an accepted 2xx reply as it arrived.
        var hasher: ContentHasher?

        func header(_ name: String) -> String? { headers.first(name: name) }
    }

    let bucket: String
    let endpoint: String
    let credentials: S3Credentials
    let retry: S3RetryPolicy
    let requestTimeout: Double
    private let host: String
    private let group: MultiThreadedEventLoopGroup
    private let client: HTTPClient
    private let closed = Mutex(false)

    init(
        bucket: String,
        endpoint: String,
        credentials: S3Credentials,
        configuration: S3BackendConfiguration
    )
        throws(S3Error)
    {
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let hostName = url.host, !hostName.isEmpty, url.path.isEmpty || url.path == "/"
        else {
            throw S3Error(kind: .badLocation, message: "an S3 endpoint is http(s)://HOST[:PORT], not '\(endpoint)'")
        }
        self.bucket = bucket
        self.endpoint = endpoint
        self.credentials = credentials
        self.retry = configuration.retry
        self.requestTimeout = configuration.requestTimeout
        let defaultPort = scheme == "https" ? 443 : 80
        host = url.port.map { $0 == defaultPort ? hostName : "\(hostName):\($0)" } ?? hostName
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: nil,
            redirectConfiguration: .disallow,
            timeout: HTTPClient.Configuration.Timeout(
                connect: .milliseconds(Int64(configuration.connectTimeout * 1_000)),
                read: .milliseconds(Int64(configuration.requestTimeout * 1_000))
            ),
            connectionPool: HTTPClient.Configuration.ConnectionPool(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: 16
            ),
            proxy: nil,
            ignoreUncleanSSLShutdown: false,
            decompression: .disabled
        )
        httpConfiguration.httpVersion = .http1Only
        client = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: httpConfiguration)
    }

    deinit { shutdown() }

    /// Closes the connection pool and stops the event loop threads; later requests fail. Idempotent.
    func shutdown() {
        let wasClosed = closed.withLock { closed in
            defer { closed = true }
            return closed
        }
        if wasClosed { return }
        try? client.syncShutdown()
        try? group.syncShutdownGracefully()
    }

    /// `s3://bucket/key` (or `s3://bucket`), for messages.
    func target(_ key: String?) -> String { "s3://\(bucket)" + (key.map { "/" + $0 } ?? "") }

    /// Sends a signed request, trying again as the retry policy says, and returns the reply when its status is in
    /// `accept`.
    ///
    /// - Parameters:
    ///   - key: The object key, or nil for a request on the bucket.
    ///   - payloadHash: The body's hex SHA-256 when the caller has it (it is computed otherwise).
    /// - Throws: ``S3Error``: `.status` for any other status (after retries when it was retryable), `.transport`
    ///   when no reply came (after retries).
    func send(
        _ method: HTTPMethod,
        key: String?,
        query: [(name: String, value: String)] = [],
        headers extra: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        payloadHash: String? = nil,
        accept: Set<Int>,
        hashing: ContentHasher? = nil,
        what: String
    ) throws(S3Error) -> Reply {
        let path = "/" + bucket + (key.map { "/" + $0 } ?? "")
        var queryText = ""
        var encoded: [(String, String)] = query.map {
            (SigV4Signer.uriEncode($0.name, keepSlash: false), SigV4Signer.uriEncode($0.value, keepSlash: false))
        }
        encoded.sort { $0.0 == $1.0 ? $0.1 < $1.1 : $0.0 < $1.0 }
        for (index, pair) in encoded.enumerated() { queryText += (index == 0 ? "?" : "&") + pair.0 + "=" + pair.1 }
        let url = endpoint + SigV4Signer.uriEncode(path, keepSlash: true) + queryText
        let requestText =
            "\(method.rawValue) \(target(key))" + (query.isEmpty ? "" : "?" + query.map(\.name).joined(separator: "&"))
        let payload = body ?? []
        let hash = payloadHash ?? SigV4Signer.hex(SHA256.hash(data: payload))
        // PUT and POST always carry a body (maybe empty), so the client sends its Content-Length.
        let buffer = body.map { ByteBuffer(bytes: $0) } ?? (method == .PUT || method == .POST ? ByteBuffer() : nil)
        let signer = credentials.signer
        var generator = SystemRandomNumberGenerator()

        var attempt = 0
        while true {
            attempt += 1
            let now = Date()
            var signed: [(name: String, value: String)] = [
                ("host", host), ("x-amz-date", SigV4Signer.amzDate(now)), ("x-amz-content-sha256", hash),
            ]
            if let token = credentials.sessionToken { signed.append(("x-amz-security-token", token)) }
            signed += extra
            let authorization = signer.authorization(
                for: SigV4Signer.Request(
                    method: method.rawValue,
                    path: path,
                    query: query,
                    headers: signed,
                    payloadHash: hash
                ),
                date: now
            )
            var httpHeaders = HTTPHeaders()
            for header in signed { httpHeaders.add(name: header.name, value: header.value) }
            httpHeaders.add(name: "Authorization", value: authorization)

            let response: (head: HTTPResponseHead, body: [UInt8], hasher: ContentHasher?)
            do {
                let request = try HTTPClient.Request(
                    url: url,
                    method: method,
                    headers: httpHeaders,
                    body: buffer.map { .byteBuffer($0) }
                )
                let collector = BodyCollector()
                let task = client.execute(
                    request: request,
                    delegate: collector,
                    deadline: .now() + .milliseconds(Int64(requestTimeout * 1_000))
                )
                task.futureResult.whenComplete { _ in collector.finish() }
                let (body, hasher) = collector.drain(hashing: hashing)
                response = (try task.futureResult.wait(), body, hasher)
            } catch {
                let retryable = Self.isRetryableTransport(error)
                if retryable && attempt < retry.maxAttempts {
                    Thread.sleep(
                        forTimeInterval: retry.delay(afterAttempt: attempt, retryAfter: nil, using: &generator)
                    )
                    continue
                }
                throw S3Error(
                    kind: .transport,
                    message: "\(what): no reply from \(endpoint): \(credentials.redacting(Self.describe(error)))",
                    request: requestText,
                    attempts: attempt
                )
            }

            let status = Int(response.head.status.code)
            let bytes = response.body
            if accept.contains(status) {
                return Reply(status: status, headers: response.head.headers, body: bytes, hasher: response.hasher)
            }
            let error = S3Reply.errorBody(bytes)
            if S3RetryPolicy.isRetryable(status: status, code: error?.code) && attempt < retry.maxAttempts {
                let retryAfter = response.head.headers.first(name: "Retry-After")
                Thread.sleep(
                    forTimeInterval: retry.delay(afterAttempt: attempt, retryAfter: retryAfter, using: &generator)
                )
                continue
            }
            throw S3Error(
                kind: .status,
                message: what,
                request: requestText,
                status: status,
                code: error?.code,
                serverMessage: error?.message.map(credentials.redacting),
                requestID: response.head.headers.first(name: "x-amz-request-id") ?? error?.requestID,
                attempts: attempt
            )
        }
    }

    /// Hands a reply's body parts from the event loop that receives them to the thread that sent the request,
    /// which copies them into one array (sized by `Content-Length`) and, given a hasher, hashes a 2xx body as it
    /// arrives. The event loop only reads the socket, so hashing and copying overlap the transfer instead of
    /// following it on the same thread. At most ``highWater`` bytes wait between the two: past it, the event loop
    /// stops reading until the caller has caught up.
    final class BodyCollector: HTTPClientResponseDelegate, @unchecked Sendable {
        static let highWater = 4 << 20

        // All guarded by `condition`.
        private let condition = NSCondition()
        private var head: HTTPResponseHead?
        private var parts: [ByteBuffer] = []
        private var queuedBytes = 0
        private var resume: EventLoopPromise<Void>?
        private var finished = false

        func didReceiveHead(task: HTTPClient.Task<HTTPResponseHead>, _ head: HTTPResponseHead) -> EventLoopFuture<Void>
        {
            condition.lock()
            self.head = head
            condition.unlock()
            return task.eventLoop.makeSucceededVoidFuture()
        }

        func didReceiveBodyPart(task: HTTPClient.Task<HTTPResponseHead>, _ buffer: ByteBuffer) -> EventLoopFuture<Void>
        {
            condition.lock()
            defer { condition.unlock() }
            parts.append(buffer)
            queuedBytes += buffer.readableBytes
            condition.signal()
            guard queuedBytes > Self.highWater else { return task.eventLoop.makeSucceededVoidFuture() }
            let promise = task.eventLoop.makePromise(of: Void.self)
            resume = promise
            return promise.futureResult
        }

        func didFinishRequest(task: HTTPClient.Task<HTTPResponseHead>) throws -> HTTPResponseHead {
            condition.lock()
            defer { condition.unlock() }
            guard let head else { throw HTTPClientError.remoteConnectionClosed }
            return head
        }

        /// Called once the request has succeeded or failed: ``drain(hashing:)`` returns after the parts left.
        func finish() {
            condition.lock()
            finished = true
            condition.signal()
            condition.unlock()
        }

        /// Takes the body parts as they arrive until the request is over; returns the body and the hasher fed with
        /// it, or nil in its place for a reply that is not 2xx (an error reply's body is not the object's).
        func drain(hashing: ContentHasher?) -> (body: [UInt8], hasher: ContentHasher?) {
            var body: [UInt8] = []
            var hasher = hashing
            var sized = false
            while true {
                condition.lock()
                while parts.isEmpty && !finished { condition.wait() }
                let taken = parts
                let over = finished
                let seen = head
                parts = []
                queuedBytes = 0
                let promise = resume
                resume = nil
                condition.unlock()
                promise?.succeed()

                if !sized, let seen {
                    sized = true
                    if !(200..<300).contains(seen.status.code) { hasher = nil }
                    if let length = seen.headers.first(name: "Content-Length").flatMap(Int.init), length > 0 {
                        body.reserveCapacity(length)
                    }
                }
                for part in taken {
                    part.withUnsafeReadableBytes { raw in
                        body.append(contentsOf: raw.assumingMemoryBound(to: UInt8.self))
                        hasher?.update(bufferPointer: raw)
                    }
                }
                if over && taken.isEmpty { return (body, sized ? hasher : nil) }
            }
        }
    }

    /// Whether a failure to get any reply is worth another attempt: refused or reset connections, timeouts and
    /// closed channels are; a bad URL, a TLS verification failure or a shut-down client are not.
    static func isRetryableTransport(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            let retryable: [HTTPClientError] = [
                .readTimeout, .writeTimeout, .connectTimeout, .remoteConnectionClosed, .deadlineExceeded,
                .getConnectionFromPoolTimeout, .tlsHandshakeTimeout,
            ]
            return retryable.contains(error)
        }
        return error is IOError || error is ChannelError || error is NIOConnectionError
    }

    /// A short text for a transport error (NIO's connection errors are verbose).
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError {
            if let first = error.connectionErrors.first {
                return "cannot connect to \(error.host):\(error.port): \(first.error)"
            }
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "cannot resolve \(error.host): \(dns)" }
            return "cannot connect to \(error.host):\(error.port)"
        }
        return String(describing: error)
    }
}
#endif
