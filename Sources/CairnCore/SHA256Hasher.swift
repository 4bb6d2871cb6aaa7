internal import Crypto

/// A streaming SHA-256 hasher (swift-crypto, which uses the CPU's SHA extensions where present).
package struct SHA256Hasher: Sendable {
    private var state = SHA256()

    /// Creates a hasher with no input yet.
    package init() {}

    /// Adds the bytes in `bufferPointer` to the hash.
    @inline(__always)
    package mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        state.update(bufferPointer: bufferPointer)
    }

    /// Adds `bytes` to the hash.
    package mutating func update(_ bytes: some Sequence<UInt8>) {
        if let done = bytes.withContiguousStorageIfAvailable({ update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let array = Array(bytes)
        array.withUnsafeBytes { update(bufferPointer: $0) }
    }

    /// The 32-byte hash of everything added so far.
    package func finalize() -> [UInt8] {
        Array(state.finalize())
    }
}
