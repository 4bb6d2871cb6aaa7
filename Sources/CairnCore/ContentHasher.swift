/// A streaming hasher for the store's digest algorithms: SHA-256 or BLAKE2b-256, chosen at creation.
public struct ContentHasher: Sendable {
    /// The algorithm this hasher computes.
    public let algorithm: DigestAlgorithm
    private var sha256: SHA256Hasher
    private var blake2b: BLAKE2b256Hasher

    /// Creates a hasher for `algorithm` with no input yet.
    public init(algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        // Only the selected state is ever updated; the other stays empty.
        self.sha256 = SHA256Hasher()
        self.blake2b = BLAKE2b256Hasher()
    }

    /// Adds the bytes in `bufferPointer` to the hash.
    @inline(__always)
    public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        switch algorithm {
        case .sha256: sha256.update(bufferPointer: bufferPointer)
        case .blake2b256: blake2b.update(bufferPointer: bufferPointer)
        }
    }

    /// Adds `bytes` to the hash.
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let array = Array(bytes)
        array.withUnsafeBytes { update(bufferPointer: $0) }
    }

    /// The digest of everything added so far.
    public func finalize() -> Digest {
        switch algorithm {
        case .sha256: Digest(algorithm: .sha256, bytes: sha256.finalize())
        case .blake2b256: Digest(algorithm: .blake2b256, bytes: blake2b.finalize())
        }
    }

    /// The digest of `bytes` with `algorithm`, in one call.
    public static func digest(of bytes: some Sequence<UInt8>, algorithm: DigestAlgorithm) -> Digest {
        var hasher = ContentHasher(algorithm: algorithm)
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// The digest of the bytes in `bufferPointer` with `algorithm`, in one call.
    public static func digest(of bufferPointer: UnsafeRawBufferPointer, algorithm: DigestAlgorithm) -> Digest {
        var hasher = ContentHasher(algorithm: algorithm)
        hasher.update(bufferPointer: bufferPointer)
        return hasher.finalize()
    }
}
