internal import CXXHash

/// XXH3 non-cryptographic checksums (libxxhash), for framing and corruption checks only, never as an identity.
///
/// Values equal `xxhsum -H3` (64-bit) and `xxhsum -H2` (128-bit). Public: `spec/digests.md` names it as the
/// checksum of the ledger's framing (`spec/ledger.md`), so a program can check those files, and the separate
/// benchmark package measures it.
public enum XXH3 {
    /// The XXH3 64-bit hash of the bytes in `bytes`.
    public static func hash64(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        XXH3_64bits_withSeed(bytes.baseAddress, bytes.count, seed)
    }

    /// The XXH3 64-bit hash of `bytes`.
    public static func hash64(_ bytes: some Collection<UInt8>, seed: UInt64 = 0) -> UInt64 {
        if let value = bytes.withContiguousStorageIfAvailable({ hash64(UnsafeRawBufferPointer($0), seed: seed) }) {
            return value
        }
        return Array(bytes).withUnsafeBytes { hash64($0, seed: seed) }
    }

    /// The XXH3 128-bit hash of the bytes in `bytes`, as its high and low 64-bit halves.
    public static func hash128(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> (high: UInt64, low: UInt64) {
        let value = XXH3_128bits_withSeed(bytes.baseAddress, bytes.count, seed)
        return (value.high64, value.low64)
    }

    /// The XXH3 128-bit hash of `bytes`, as its high and low 64-bit halves.
    public static func hash128(_ bytes: some Collection<UInt8>, seed: UInt64 = 0) -> (high: UInt64, low: UInt64) {
        if let value = bytes.withContiguousStorageIfAvailable({ hash128(UnsafeRawBufferPointer($0), seed: seed) }) {
            return value
        }
        return Array(bytes).withUnsafeBytes { hash128($0, seed: seed) }
    }

    /// A streaming XXH3-64 hasher that owns its libxxhash state (freed when the value ends).
    public struct Hasher64: ~Copyable, @unchecked Sendable {
        // Invariant: `state` is owned uniquely by this non-copyable value and freed exactly once, in deinit.
        private let state: OpaquePointer

        /// Creates a hasher with `seed` and no input yet.
        public init(seed: UInt64 = 0) {
            guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
            XXH3_64bits_reset_withSeed(state, seed)
            self.state = state
        }

        /// Adds the bytes in `bufferPointer`.
        public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
            XXH3_64bits_update(state, bufferPointer.baseAddress, bufferPointer.count)
        }

        /// Adds `bytes`.
        public mutating func update(_ bytes: some Collection<UInt8>) {
            if bytes.withContiguousStorageIfAvailable({ update(bufferPointer: UnsafeRawBufferPointer($0)) }) != nil {
                return
            }
            Array(bytes).withUnsafeBytes { update(bufferPointer: $0) }
        }

        /// The hash of everything added so far (the hasher may keep going).
        public func finalize() -> UInt64 {
            XXH3_64bits_digest(state)
        }

        deinit { XXH3_freeState(state) }
    }

    /// A streaming XXH3-128 hasher that owns its libxxhash state (freed when the value ends).
    public struct Hasher128: ~Copyable, @unchecked Sendable {
        // Invariant: `state` is owned uniquely by this non-copyable value and freed exactly once, in deinit.
        private let state: OpaquePointer

        /// Creates a hasher with `seed` and no input yet.
        public init(seed: UInt64 = 0) {
            guard let state = XXH3_createState() else { fatalError("XXH3_createState: out of memory") }
            XXH3_128bits_reset_withSeed(state, seed)
            self.state = state
        }

        /// Adds the bytes in `bufferPointer`.
        public mutating func update(bufferPointer: UnsafeRawBufferPointer) {
            XXH3_128bits_update(state, bufferPointer.baseAddress, bufferPointer.count)
        }

        /// Adds `bytes`.
        public mutating func update(_ bytes: some Collection<UInt8>) {
            if bytes.withContiguousStorageIfAvailable({ update(bufferPointer: UnsafeRawBufferPointer($0)) }) != nil {
                return
            }
            Array(bytes).withUnsafeBytes { update(bufferPointer: $0) }
        }

        /// The hash of everything added so far, as high and low halves (the hasher may keep going).
        public func finalize() -> (high: UInt64, low: UInt64) {
            let value = XXH3_128bits_digest(state)
            return (value.high64, value.low64)
        }

        deinit { XXH3_freeState(state) }
    }
}
