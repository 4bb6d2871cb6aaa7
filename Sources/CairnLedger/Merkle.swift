import Crypto
import Foundation

/// A SHA-256 hash of a node of the ledger's Merkle tree (32 bytes, stored inline without allocation).
public struct MerkleHash: Hashable, Sendable, CustomStringConvertible {
    var words: (UInt64, UInt64, UInt64, UInt64)

    /// The 32 hash bytes.
    public var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }

    /// Wraps `bytes`, which must be 32 bytes long.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        self.init(unchecked: Array(bytes))
    }

    init(unchecked bytes: [UInt8]) {
        precondition(bytes.count == 32)
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyBytes(from: bytes) }
    }

    init(buffer: UnsafeRawBufferPointer) {
        precondition(buffer.count == 32)
        words = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: buffer) }
    }

    init<D: Crypto.Digest>(digest: D) {
        words = (0, 0, 0, 0)
        digest.withUnsafeBytes { source in
            withUnsafeMutableBytes(of: &words) { $0.copyMemory(from: source) }
        }
    }

    /// Calls `body` with the 32 hash bytes in place, without making an array of them.
    package func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: words, body)
    }

    /// Compares hashes byte for byte.
    public static func == (lhs: MerkleHash, rhs: MerkleHash) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3
    }

    /// Hashes the 32 bytes.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    /// Parses 64 lowercase or uppercase hex digits.
    public init?(hex: String) {
        guard let decoded = MerkleHash.decodeHex(hex), decoded.count == 32 else { return nil }
        self.init(unchecked: decoded)
    }

    /// The hash as 64 lowercase hex digits.
    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The hash as 64 lowercase hex digits.
    public var description: String { hex }

    static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            case 0x41...0x46: return c - 0x41 + 10
            default: return nil
            }
        }
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}

/// The RFC 9162 (Certificate Transparency 2.0, section 2.1) Merkle tree over ledger entries.
///
/// Leaves are `SHA-256(0x00 || entry)`, interior nodes `SHA-256(0x01 || left || right)`, and the tree over `n`
/// entries splits at the largest power of two smaller than `n`. Proofs are generated from a source of
/// *perfect* subtree hashes (aligned subtrees of `2^level` leaves), so that a stored tree needs O(log n) reads.
public enum Merkle {
    /// The root of the empty tree: `SHA-256("")`.
    package static let emptyRoot = MerkleHash(digest: SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 || entry)`.
    public static func leafHash(_ entry: some Collection<UInt8>) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(0)) { hasher.update(bufferPointer: $0) }
        if let done = entry.withContiguousStorageIfAvailable({
            hasher.update(bufferPointer: UnsafeRawBufferPointer($0))
        }) {
            _ = done
        } else {
            hasher.update(data: Array(entry))
        }
        return MerkleHash(digest: hasher.finalize())
    }

    /// `SHA-256(0x01 || left || right)`.
    package static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var hasher = SHA256()
        withUnsafeBytes(of: UInt8(1)) { hasher.update(bufferPointer: $0) }
        left.withBytes { hasher.update(bufferPointer: $0) }
        right.withBytes { hasher.update(bufferPointer: $0) }
        return MerkleHash(digest: hasher.finalize())
    }

    /// `SHA-256(0x01 || left || right)` over raw byte strings of any length (for hasher test vectors).
    static func nodeHash(rawLeft left: [UInt8], rawRight right: [UInt8]) -> MerkleHash {
        MerkleHash(digest: SHA256.hash(data: [0x01] + left + right))
    }

    /// The largest power of two strictly smaller than `n` (`n` >= 2).
    static func splitPoint(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return UInt64(1) << (63 - UInt64((n - 1).leadingZeroBitCount))
    }

    /// The root over `leaves` (leaf hashes), computed in memory.
    package static func root(ofLeaves leaves: [MerkleHash]) -> MerkleHash {
        guard !leaves.isEmpty else { return emptyRoot }
        var stack: [(level: Int, hash: MerkleHash)] = []
        for leaf in leaves {
            stack.append((0, leaf))
            while stack.count >= 2, stack[stack.count - 1].level == stack[stack.count - 2].level {
                let right = stack.removeLast()
                let left = stack.removeLast()
                stack.append((left.level + 1, nodeHash(left.hash, right.hash)))
            }
        }
        var root = stack.removeLast().hash
        while let left = stack.popLast() {
            root = nodeHash(left.hash, root)
        }
        return root
    }

    /// A source of perfect subtree hashes: the hash of leaves `[index * 2^level, (index + 1) * 2^level)`.
    package typealias NodeSource = (_ level: Int, _ index: UInt64) throws -> MerkleHash

    /// The hash of the RFC 9162 subtree over leaves `[start, end)`, built from perfect subtrees.
    ///
    /// `start` must be aligned as every subtree of an RFC 9162 tree is (a multiple of the largest power of two
    /// not above `end - start`, rounded up). Costs O(log(end - start)) node reads.
    package static func subtreeHash(start: UInt64, end: UInt64, nodes: NodeSource) rethrows -> MerkleHash {
        let count = end - start
        precondition(count >= 1)
        if count & (count - 1) == 0 {
            let level = count.trailingZeroBitCount
            return try nodes(level, start >> UInt64(level))
        }
        let k = splitPoint(count)
        let left = try subtreeHash(start: start, end: start + k, nodes: nodes)
        let right = try subtreeHash(start: start + k, end: end, nodes: nodes)
        return nodeHash(left, right)
    }

    /// The root of the tree of `size` leaves.
    package static func root(size: UInt64, nodes: NodeSource) rethrows -> MerkleHash {
        guard size > 0 else { return emptyRoot }
        return try subtreeHash(start: 0, end: size, nodes: nodes)
    }

    /// The RFC 9162 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves, leaf to root.
    package static func inclusionProof(index: UInt64, size: UInt64, nodes: NodeSource) throws -> [MerkleHash] {
        guard index < size else {
            throw LedgerError(.invalidArgument, "leaf index \(index) is not below tree size \(size)")
        }
        var proof: [MerkleHash] = []
        var lo: UInt64 = 0
        var hi = size
        var path: [(UInt64, UInt64)] = []
        // Walk from the root down, collecting siblings; the proof is listed leaf first.
        while hi - lo > 1 {
            let k = splitPoint(hi - lo)
            if index - lo < k {
                path.append((lo + k, hi))
                hi = lo + k
            } else {
                path.append((lo, lo + k))
                lo += k
            }
        }
        for (start, end) in path.reversed() {
            proof.append(try subtreeHash(start: start, end: end, nodes: nodes))
        }
        return proof
    }

    /// The RFC 9162 consistency proof that the tree of `oldSize` leaves is a prefix of the tree of `newSize`.
    package static func consistencyProof(oldSize: UInt64, newSize: UInt64, nodes: NodeSource) throws -> [MerkleHash] {
        guard oldSize <= newSize else {
            throw LedgerError(.invalidArgument, "old size \(oldSize) is larger than new size \(newSize)")
        }
        guard oldSize > 0, oldSize < newSize else { return [] }
        var ranges: [(UInt64, UInt64)] = []
        var m = oldSize
        var lo: UInt64 = 0
        var hi = newSize
        var complete = true
        while true {
            let n = hi - lo
            if m == n {
                if !complete { ranges.append((lo, hi)) }
                break
            }
            let k = splitPoint(n)
            if m <= k {
                ranges.append((lo + k, hi))
                hi = lo + k
            } else {
                ranges.append((lo, lo + k))
                lo += k
                m -= k
                complete = false
            }
        }
        return try ranges.reversed().map { try subtreeHash(start: $0.0, end: $0.1, nodes: nodes) }
    }

    /// Recomputes the root from an inclusion proof (RFC 9162 section 2.1.3.2).
    ///
    /// - Throws: ``LedgerError`` with code `.proofInvalid` when the proof has the wrong shape for the position.
    package static func rootFromInclusionProof(
        index: UInt64,
        size: UInt64,
        leafHash: MerkleHash,
        proof: [MerkleHash]
    ) throws -> MerkleHash {
        guard index < size else {
            throw LedgerError(.proofInvalid, "leaf index \(index) is not below tree size \(size)")
        }
        var fn = index
        var sn = size - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw LedgerError(.proofInvalid, "inclusion proof is too long") }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw LedgerError(.proofInvalid, "inclusion proof is too short") }
        return r
    }

    /// Checks an inclusion proof against `root`.
    public static func verifyInclusion(
        index: UInt64,
        size: UInt64,
        leafHash: MerkleHash,
        proof: [MerkleHash],
        root: MerkleHash
    ) -> Bool {
        guard let computed = try? rootFromInclusionProof(index: index, size: size, leafHash: leafHash, proof: proof)
        else { return false }
        return computed == root
    }

    /// Checks a consistency proof between two roots (RFC 9162 section 2.1.4.2).
    public static func verifyConsistency(
        oldSize: UInt64,
        newSize: UInt64,
        oldRoot: MerkleHash,
        newRoot: MerkleHash,
        proof: [MerkleHash]
    ) -> Bool {
        if oldSize > newSize { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        guard !proof.isEmpty else { return false }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == oldRoot && sr == newRoot
    }
}
