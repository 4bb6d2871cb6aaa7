import Foundation
import Testing
import _CairnTestSupport

@testable import CairnLedger

/// Perfect subtree hashes for an in-memory list of leaves, for generating proofs in tests.
struct InMemoryTree {
    var levels: [[MerkleHash]]

    init(leaves: [MerkleHash]) {
        levels = [leaves]
        while let last = levels.last, last.count >= 2 {
            var next: [MerkleHash] = []
            var i = 0
            while i + 1 < last.count {
                next.append(Merkle.nodeHash(last[i], last[i + 1]))
                i += 2
            }
            levels.append(next)
        }
    }

    func node(_ level: Int, _ index: UInt64) -> MerkleHash { levels[level][Int(index)] }
}

private struct Vectors: Decodable {
    struct Hasher: Decodable {
        var empty_root: String
        var empty_leaf: String
        var leaf_L123456: String
        var node_N123_N456: String
    }
    struct Inclusion: Decodable {
        var leaf: UInt64
        var size: UInt64
        var proof: [String]
    }
    struct Consistency: Decodable {
        var size1: UInt64
        var size2: UInt64
        var proof: [String]
    }
    var hasher: Hasher
    var leaves: [String]
    var roots: [String]
    var inclusion: [Inclusion]
    var consistency: [Consistency]

    static func load() throws -> Vectors {
        let path = repositoryRoot() + "/spec/vectors/merkle-rfc6962.json"
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

private func h(_ hex: String) -> MerkleHash { MerkleHash(hex: hex)! }

/// A small deterministic generator (SplitMix64) so failures reproduce.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func flipping(_ proof: [MerkleHash], element: Int, byte: Int, bit: Int) -> [MerkleHash] {
    var copy = proof
    var bytes = copy[element].bytes
    bytes[byte] ^= UInt8(1 << bit)
    copy[element] = MerkleHash(bytes: bytes)!
    return copy
}

@Suite(.timeLimit(.minutes(15)))
struct MerkleTests {
    @Test func hasherMatchesPublishedVectors() throws {
        let vectors = try Vectors.load()
        #expect(Merkle.emptyRoot == h(vectors.hasher.empty_root))
        #expect(Merkle.leafHash([UInt8]()) == h(vectors.hasher.empty_leaf))
        #expect(Merkle.leafHash(Array("L123456".utf8)) == h(vectors.hasher.leaf_L123456))
        let node = Merkle.nodeHash(rawLeft: Array("N123".utf8), rawRight: Array("N456".utf8))
        #expect(node == h(vectors.hasher.node_N123_N456))
    }

    @Test func rootsAndProofsMatchPublishedVectors() throws {
        let vectors = try Vectors.load()
        let leaves = vectors.leaves.map { Merkle.leafHash(MerkleHash.decodeHex($0)!) }
        let tree = InMemoryTree(leaves: leaves)
        for size in 1...leaves.count {
            #expect(Merkle.root(ofLeaves: Array(leaves[0..<size])) == h(vectors.roots[size - 1]))
            #expect(Merkle.root(size: UInt64(size), nodes: tree.node) == h(vectors.roots[size - 1]))
        }
        for vector in vectors.inclusion {
            let index = vector.leaf - 1
            let subTree = InMemoryTree(leaves: Array(leaves[0..<Int(vector.size)]))
            let proof = try Merkle.inclusionProof(index: index, size: vector.size, nodes: subTree.node)
            #expect(proof == vector.proof.map(h), "inclusion \(vector.leaf)/\(vector.size)")
            let root = h(vectors.roots[Int(vector.size) - 1])
            #expect(
                Merkle.verifyInclusion(
                    index: index,
                    size: vector.size,
                    leafHash: leaves[Int(index)],
                    proof: vector.proof.map(h),
                    root: root
                )
            )
        }
        for vector in vectors.consistency {
            let subTree = InMemoryTree(leaves: Array(leaves[0..<Int(vector.size2)]))
            let proof = try Merkle.consistencyProof(oldSize: vector.size1, newSize: vector.size2, nodes: subTree.node)
            #expect(proof == vector.proof.map(h), "consistency \(vector.size1)->\(vector.size2)")
            #expect(
                Merkle.verifyConsistency(
                    oldSize: vector.size1,
                    newSize: vector.size2,
                    oldRoot: h(vectors.roots[Int(vector.size1) - 1]),
                    newRoot: h(vectors.roots[Int(vector.size2) - 1]),
                    proof: vector.proof.map(h)
                )
            )
        }
    }

    @Test func edgeCasesFromTheReferenceVerifier() {
        let someRoot = Merkle.leafHash(Array("x".utf8))
        let other = Merkle.leafHash(Array("y".utf8))
        #expect(!Merkle.verifyInclusion(index: 0, size: 0, leafHash: someRoot, proof: [], root: someRoot))
        #expect(!Merkle.verifyInclusion(index: 1, size: 1, leafHash: someRoot, proof: [], root: someRoot))
        #expect(Merkle.verifyInclusion(index: 0, size: 1, leafHash: someRoot, proof: [], root: someRoot))
        #expect(Merkle.verifyConsistency(oldSize: 0, newSize: 0, oldRoot: someRoot, newRoot: someRoot, proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 0, newSize: 0, oldRoot: someRoot, newRoot: other, proof: []))
        #expect(Merkle.verifyConsistency(oldSize: 0, newSize: 1, oldRoot: someRoot, newRoot: other, proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 1, newSize: 0, oldRoot: someRoot, newRoot: other, proof: []))
        #expect(!Merkle.verifyConsistency(oldSize: 1, newSize: 2, oldRoot: someRoot, newRoot: other, proof: []))
        #expect(
            !Merkle.verifyConsistency(
                oldSize: 1,
                newSize: 1,
                oldRoot: Merkle.emptyRoot,
                newRoot: Merkle.emptyRoot,
                proof: [Merkle.emptyRoot]
            )
        )
    }

    /// Every inclusion and consistency proof for every tree size 1...300 verifies, and altering any proof element,
    /// the leaf, the root, the index or the size makes it fail.
    @Test func everyProofVerifiesAndAnyAlterationFailsForSizesUpTo300() throws {
        let maxSize = 300
        let leaves = (0..<maxSize).map { Merkle.leafHash(Array("entry \($0)".utf8)) }
        let tree = InMemoryTree(leaves: leaves)
        var rng = SplitMix64(state: 0x00C0_FFEE)
        var roots: [MerkleHash] = [Merkle.emptyRoot]
        for size in 1...maxSize { roots.append(Merkle.root(size: UInt64(size), nodes: tree.node)) }
        for size in 1...maxSize {
            let n = UInt64(size)
            #expect(roots[size] == Merkle.root(ofLeaves: Array(leaves[0..<size])))
            for index in 0..<n {
                let proof = try Merkle.inclusionProof(index: index, size: n, nodes: tree.node)
                #expect(proof.count <= 64 - (n - 1).leadingZeroBitCount)
                let leaf = leaves[Int(index)]
                guard Merkle.verifyInclusion(index: index, size: n, leafHash: leaf, proof: proof, root: roots[size])
                else {
                    Issue.record("inclusion \(index)/\(n) does not verify")
                    continue
                }
                // Alterations on a deterministic sample of positions per size keep the debug run short.
                guard index == 0 || index == n - 1 || index == n / 2 || rng.next() % 16 == 0 else { continue }
                for element in proof.indices {
                    let altered = flipping(
                        proof,
                        element: element,
                        byte: Int(rng.next() % 32),
                        bit: Int(rng.next() % 8)
                    )
                    #expect(
                        !Merkle.verifyInclusion(
                            index: index,
                            size: n,
                            leafHash: leaf,
                            proof: altered,
                            root: roots[size]
                        )
                    )
                }
                let badLeaf = MerkleHash(
                    unchecked: flipping([leaf], element: 0, byte: Int(rng.next() % 32), bit: 0)[0].bytes
                )
                #expect(
                    !Merkle.verifyInclusion(index: index, size: n, leafHash: badLeaf, proof: proof, root: roots[size])
                )
                let badRoot = flipping([roots[size]], element: 0, byte: Int(rng.next() % 32), bit: 3)[0]
                #expect(!Merkle.verifyInclusion(index: index, size: n, leafHash: leaf, proof: proof, root: badRoot))
                if n > 1 {
                    let otherIndex = (index + 1) % n
                    #expect(
                        !Merkle.verifyInclusion(
                            index: otherIndex,
                            size: n,
                            leafHash: leaf,
                            proof: proof,
                            root: roots[size]
                        )
                    )
                    #expect(
                        !Merkle.verifyInclusion(
                            index: index,
                            size: n,
                            leafHash: leaf,
                            proof: proof + [leaf],
                            root: roots[size]
                        )
                    )
                    #expect(
                        !Merkle.verifyInclusion(
                            index: index,
                            size: n,
                            leafHash: leaf,
                            proof: proof.dropLast(),
                            root: roots[size]
                        )
                    )
                }
            }
            for old in 1...size {
                let m = UInt64(old)
                let proof = try Merkle.consistencyProof(oldSize: m, newSize: n, nodes: tree.node)
                guard
                    Merkle.verifyConsistency(
                        oldSize: m,
                        newSize: n,
                        oldRoot: roots[old],
                        newRoot: roots[size],
                        proof: proof
                    )
                else {
                    Issue.record("consistency \(m)->\(n) does not verify")
                    continue
                }
                guard m == 1 || m == n - 1 || m == n / 2 || rng.next() % 16 == 0 else { continue }
                for element in proof.indices {
                    let altered = flipping(
                        proof,
                        element: element,
                        byte: Int(rng.next() % 32),
                        bit: Int(rng.next() % 8)
                    )
                    #expect(
                        !Merkle.verifyConsistency(
                            oldSize: m,
                            newSize: n,
                            oldRoot: roots[old],
                            newRoot: roots[size],
                            proof: altered
                        )
                    )
                }
                if m < n {
                    let badOld = flipping([roots[old]], element: 0, byte: Int(rng.next() % 32), bit: 5)[0]
                    #expect(
                        !Merkle.verifyConsistency(
                            oldSize: m,
                            newSize: n,
                            oldRoot: badOld,
                            newRoot: roots[size],
                            proof: proof
                        )
                    )
                    let badNew = flipping([roots[size]], element: 0, byte: Int(rng.next() % 32), bit: 6)[0]
                    #expect(
                        !Merkle.verifyConsistency(
                            oldSize: m,
                            newSize: n,
                            oldRoot: roots[old],
                            newRoot: badNew,
                            proof: proof
                        )
                    )
                    if m > 1 {
                        #expect(
                            !Merkle.verifyConsistency(
                                oldSize: m - 1,
                                newSize: n,
                                oldRoot: roots[old],
                                newRoot: roots[size],
                                proof: proof
                            )
                        )
                    }
                }
            }
        }
    }
}

@Suite(.timeLimit(.minutes(15)))
struct SignedNoteTests {
    private struct NoteVector: Decodable {
        var signer_key: String
        var verifier_key: String
        var text: String
        var signed_note: String
    }

    private func vector() throws -> NoteVector {
        let path = repositoryRoot() + "/spec/vectors/signed-note.json"
        return try JSONDecoder().decode(NoteVector.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test func signsThePublishedGoNoteByteForByte() throws {
        let v = try vector()
        let signer = try NoteSigner(encoded: v.signer_key)
        #expect(signer.encoded == v.signer_key)
        #expect(signer.verifier.encoded == v.verifier_key)
        #expect(try signer.sign(text: v.text) == v.signed_note)
        let verifier = try NoteVerifier(encoded: v.verifier_key)
        #expect(try verifier.open(v.signed_note) == v.text)
    }

    @Test func rejectsAlteredNotesAndKeys() throws {
        let v = try vector()
        let verifier = try NoteVerifier(encoded: v.verifier_key)
        #expect(throws: LedgerError.self) {
            try verifier.open(v.signed_note.replacingOccurrences(of: "cryptography", with: "cryptographY"))
        }
        let other = try NoteSigner.generate(name: "PeterNeumann")
        #expect(throws: LedgerError.self) { try other.verifier.open(v.signed_note) }
        #expect(throws: LedgerError.self) {
            try NoteVerifier(encoded: "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
        }
    }

    @Test func checkpointRoundTripsAndChecksOrigin() throws {
        let signer = try NoteSigner.generate(name: "cairn.example/test")
        let checkpoint = Checkpoint(origin: signer.name, size: 42, rootHash: Merkle.leafHash([1, 2, 3]))
        let note = try signer.sign(text: checkpoint.text)
        #expect(try Checkpoint.open(signedNote: note, verifier: signer.verifier) == checkpoint)
        let lines = note.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "42")
        let wrongSize = note.replacingOccurrences(of: "\n42\n", with: "\n43\n")
        #expect(throws: LedgerError.self) { try Checkpoint.open(signedNote: wrongSize, verifier: signer.verifier) }
    }
}
