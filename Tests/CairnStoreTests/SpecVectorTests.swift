import CairnCore
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

/// The store vectors of spec/store.md: a committed store and the table `spec/vectors/store.txt`.
@Suite(.timeLimit(.minutes(15)))
struct SpecVectorTests {
    struct Vector: Sendable {
        var input: String
        var size: Int64
        var digest: String
        var objectPath: String
    }

    static let vectors: [Vector] = {
        let path = repositoryRoot() + "/spec/vectors/store.txt"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count == 4, let size = Int64(fields[1]) else { return nil }
            return Vector(input: fields[0], size: size, digest: fields[2], objectPath: fields[3])
        }
    }()

    @Test func theCommittedStoreReadsAsSpecified() throws {
        #expect(Self.vectors.count == 3)
        let directory = try TemporaryDirectory()
        let copy = directory.appending("store")
        try FileManager.default.copyItem(atPath: repositoryRoot() + "/spec/vectors/store", toPath: copy)
        let store = try ObjectStore(at: copy)
        #expect(store.configuration == StoreConfiguration(algorithm: .sha256, durability: .object))
        for vector in Self.vectors {
            let digest = try Digest(parsing: vector.digest)
            #expect(store.objectPath(for: digest) == copy + "/" + vector.objectPath)
            #expect(try store.contains(digest) == .present(size: vector.size))
            let input = repositoryRoot() + "/spec/vectors/store-inputs/" + vector.input
            #expect(try store.read(digest) == [UInt8](FileManager.default.contents(atPath: input) ?? Data()))
        }
        #expect(try store.fsck().isClean)
    }

    @Test func aFreshStoreWritesTheSameNamesAndPaths() throws {
        let test = try TestStore()
        for vector in Self.vectors {
            let result = try test.store.put(fileAt: repositoryRoot() + "/spec/vectors/store-inputs/" + vector.input)
            #expect(result.digest.description == vector.digest)
            #expect(result.size == vector.size)
            #expect(test.store.objectPath(for: result.digest) == test.store.root + "/" + vector.objectPath)
        }
    }
}
