public import CairnCore

/// How an ``S3ObjectBackend`` reaches its bucket and sizes its requests (`spec/s3.md`).
public struct S3BackendConfiguration: Sendable, Hashable {
    /// Bucket, prefix and endpoint.
    public var location: S3Location
    /// The algorithm that names the objects.
    public var algorithm: DigestAlgorithm
    /// Files larger than this go by multipart upload; smaller ones by one `PUT` from memory.
    public var multipartThreshold: Int
    /// The size of each uploaded part (S3's minimum is 5 MiB, except for the last part), and so the memory a
    /// streamed upload holds.
    public var partSize: Int
    /// The size of each ranged `GET` a read or stream makes, and so the memory a streamed read holds.
    public var readChunkSize: Int
    /// When requests are tried again.
    public var retry: S3RetryPolicy
    /// Seconds to wait for a connection.
    public var connectTimeout: Double
    /// Seconds one request (one attempt) may take in all.
    public var requestTimeout: Double
    /// A multipart upload older than this many seconds is an interrupted writer's debris for `cleanUpDebris`.
    public var debrisAge: Double

    /// Creates a configuration with the defaults of `spec/s3.md`.
    public init(
        location: S3Location,
        algorithm: DigestAlgorithm = .sha256,
        multipartThreshold: Int = 16 << 20,
        partSize: Int = 8 << 20,
        readChunkSize: Int = 8 << 20,
        retry: S3RetryPolicy = S3RetryPolicy(),
        connectTimeout: Double = 5,
        requestTimeout: Double = 300,
        debrisAge: Double = 24 * 3_600
    ) {
        self.location = location
        self.algorithm = algorithm
        self.multipartThreshold = multipartThreshold
        self.partSize = max(partSize, 5 << 20)
        self.readChunkSize = max(readChunkSize, 64 << 10)
        self.retry = retry
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.debrisAge = debrisAge
    }

    /// The endpoint requests go to: the location's, or AWS's regional one for `region`.
    public func endpoint(region: String) -> String {
        var endpoint = location.endpoint ?? "https://s3.\(region).amazonaws.com"
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        return endpoint
    }
}
