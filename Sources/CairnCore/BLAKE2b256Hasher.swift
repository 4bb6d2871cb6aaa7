internal import CBlake2

/// A streaming BLAKE2b hasher with a 32-byte output (libb2), equal to `b2sum -l 256`.
///
/// The libb2 state is a plain C value held inline, so the hasher is a copyable `Sendable` value.
package struct BLAKE2b256Hasher: Sendable {
    private var state = blake2b_state()

    /// Creates a hasher with no input yet.
    package init() {
        let status = blake2b_init(&state, 32)
        precondition(status == 0, "blake2b_init failed")
    }

    /// Adds the bytes in `bufferPointer` to the hash.
    @inline(__always)
    package mutating func update(bufferPointer: UnsafeRawBufferPointer) {
        guard let base = bufferPointer.baseAddress, bufferPointer.count > 0 else { return }
        _ = CBlake2_blake2b_update(&state, base, bufferPointer.count)
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
        var copy = state
        var output = [UInt8](repeating: 0, count: 32)
        output.withUnsafeMutableBytes { buffer in
            _ = CBlake2_blake2b_final(&copy, buffer.baseAddress!, 32)
        }
        return output
    }
}
