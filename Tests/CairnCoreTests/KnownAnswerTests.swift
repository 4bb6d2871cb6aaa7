import CairnCore
import Foundation
import Testing
import _CairnTestSupport

/// One committed vector from `spec/vectors/digests.json` (made by openssl, `b2sum -l 256` and `xxhsum`).
struct DigestVector: Decodable, Sendable, CustomTestStringConvertible {
    var name: String
    var kind: String
    var argument: Argument
    var sha256: String
    var blake2b256: String
    var xxh3_64: String
    var xxh3_128: String

    enum Argument: Decodable, Sendable {
        case text(String)
        case count(Int)

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                self = .count(count)
            } else {
                self = .text(try container.decode(String.self))
            }
        }
    }

    var testDescription: String { name }

    /// The input bytes the vector describes.
    var input: [UInt8] {
        switch (kind, argument) {
        case ("text", .text(let text)): Array(text.utf8)
        case ("repeat", .count(let count)): [UInt8](repeating: UInt8(ascii: "a"), count: count)
        case ("pattern", .count(let count)): (0..<count).map { UInt8($0 % 251) }
        default: []
        }
    }

    static let all: [DigestVector] = {
        let path = repositoryRoot() + "/spec/vectors/digests.json"
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONDecoder().decode([DigestVector].self, from: data)) ?? []
    }()
}

@Suite(.timeLimit(.minutes(15)))
struct KnownAnswerTests {
    @Test func vectorsAreLoaded() {
        #expect(DigestVector.all.count >= 20)
    }

    /// FIPS 180-2 appendix B examples, written out here independently of the generated file.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
    ])
    func nistSHA256(message: String, expected: String) {
        #expect(ContentHasher.digest(of: Array(message.utf8), algorithm: .sha256).hex == expected)
        var hasher = SHA256Hasher()
        hasher.update(Array(message.utf8))
        #expect(Hex.encode(hasher.finalize()) == expected)
    }

    @Test func nistMillionA() {
        var hasher = SHA256Hasher()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(Hex.encode(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test(arguments: DigestVector.all)
    func oneShot(vector: DigestVector) {
        let input = vector.input
        #expect(ContentHasher.digest(of: input, algorithm: .sha256).hex == vector.sha256)
        #expect(ContentHasher.digest(of: input, algorithm: .blake2b256).hex == vector.blake2b256)
        #expect(String(format: "%016llx", XXH3.hash64(input)) == vector.xxh3_64)
        let wide = XXH3.hash128(input)
        #expect(String(format: "%016llx%016llx", wide.high, wide.low) == vector.xxh3_128)
    }

    /// Chunked streaming equals one-shot, for chunk sizes that straddle every block boundary.
    @Test(arguments: DigestVector.all.filter { $0.input.count > 1 })
    func streamingInChunks(vector: DigestVector) {
        let input = vector.input
        for chunkSize in [1, 7, 63, 64, 65, 128, 4097] where chunkSize < input.count || chunkSize == 1 {
            var sha = ContentHasher(algorithm: .sha256)
            var blake = ContentHasher(algorithm: .blake2b256)
            var x64 = XXH3.Hasher64()
            var x128 = XXH3.Hasher128()
            var offset = 0
            while offset < input.count {
                let end = min(offset + chunkSize, input.count)
                input[offset..<end].withUnsafeBytes { buffer in
                    sha.update(bufferPointer: buffer)
                    blake.update(bufferPointer: buffer)
                    x64.update(bufferPointer: buffer)
                    x128.update(bufferPointer: buffer)
                }
                offset = end
            }
            #expect(sha.finalize().hex == vector.sha256, "chunk \(chunkSize)")
            #expect(blake.finalize().hex == vector.blake2b256, "chunk \(chunkSize)")
            #expect(String(format: "%016llx", x64.finalize()) == vector.xxh3_64, "chunk \(chunkSize)")
            let wide = x128.finalize()
            #expect(String(format: "%016llx%016llx", wide.high, wide.low) == vector.xxh3_128, "chunk \(chunkSize)")
        }
    }

    @Test func finalizeDoesNotEndTheHasher() {
        var hasher = ContentHasher(algorithm: .blake2b256)
        hasher.update(Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(Array("c".utf8))
        #expect(hasher.finalize() == ContentHasher.digest(of: Array("abc".utf8), algorithm: .blake2b256))
    }

    @Test func seededXXH3DiffersFromUnseeded() {
        let input = Array("abc".utf8)
        #expect(XXH3.hash64(input, seed: 1) != XXH3.hash64(input))
        #expect(XXH3.hash64(input, seed: 0) == 0x78af_5f94_892f_3950)
    }
}
