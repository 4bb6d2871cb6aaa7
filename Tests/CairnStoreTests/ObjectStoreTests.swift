import CairnCore
import CairnStore
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

@Suite(.timeLimit(.minutes(15)))
struct ObjectStoreTests {
    /// Every algorithm on every backend; the local store in every durability too (a bucket has no such setting).
    static let roundTripCases: [(TestBackend, DigestAlgorithm, Durability)] = TestBackend.available.flatMap { backend in
        DigestAlgorithm.allCases.flatMap { algorithm in
            (backend.s3Objects ? [.object] : Durability.allCases).map { (backend, algorithm, $0) }
        }
    }

    @Test(arguments: roundTripCases)
    func roundTripsBytesAndFiles(backend: TestBackend, algorithm: DigestAlgorithm, durability: Durability) throws {
        let test = try backend.make(algorithm: algorithm, durability: durability)
        let store = test.objects
        for size in [0, 1, 4096, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 17] {
            let bytes = pseudoRandomBytes(count: size, seed: UInt64(size))
            let expected = ContentHasher.digest(of: bytes, algorithm: algorithm)
            let fromBytes = try store.put(bytes)
            #expect(fromBytes.digest == expected)
            #expect(fromBytes.size == Int64(size))
            #expect(fromBytes.stored)
            let path = try test.makeFile("input-\(size)", bytes)
            let fromFile = try store.put(fileAt: path)
            #expect(fromFile == PutResult(digest: expected, size: Int64(size), stored: false))
            #expect(try store.read(expected) == bytes)
            #expect(try store.contains(expected) == .present(size: Int64(size)))
            #expect(try store.size(of: expected) == Int64(size))
            var streamed: [UInt8] = []
            try store.stream(expected, verify: true) { streamed += $0 }
            #expect(streamed == bytes)
            if let local = test.localStore { #expect(try local.verify(expected).kind == .intact) }
        }
        if let local = test.localStore { #expect(try local.fsck(jobs: 2).isClean) }
    }

    @Test(arguments: TestBackend.available)
    func largeFileStreamsThroughThePipelineAndMatchesOneShotHash(backend: TestBackend) throws {
        let test = try backend.make()
        let bytes = pseudoRandomBytes(count: 9 * (1 << 20) + 5, seed: 9)
        let path = try test.makeFile("large", bytes)
        let result = try test.objects.put(fileAt: path)
        #expect(result.digest == ContentHasher.digest(of: bytes, algorithm: .sha256))
        #expect(result.stored)
        let copy = test.directory.appending("copy")
        try test.objects.copy(result.digest, toFileAt: copy, verify: true)
        #expect(FileManager.default.contents(atPath: copy) == Data(bytes))
    }

    @Test func objectsAreReadOnlyAndShardedByTheFirstTwoHexDigits() throws {
        let test = try TestStore()
        let result = try test.store.put(Array("hello".utf8))
        let path = test.store.objectPath(for: result.digest)
        let hex = result.digest.hex
        #expect(path == test.store.root + "/objects/sha256/\(hex.prefix(2))/\(hex)")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o444)
        #expect(try FileManager.default.contentsOfDirectory(atPath: test.store.root + "/tmp").isEmpty)
    }

    @Test func batchPutStoresEverythingAndDeduplicatesWithinTheBatch() throws {
        let test = try TestStore(durability: .batch)
        var paths: [String] = []
        for index in 0..<50 {
            paths.append(try test.makeFile("f\(index)", pseudoRandomBytes(count: 4096, seed: UInt64(index % 25))))
        }
        let results = try test.store.putBatch(filesAt: paths)
        #expect(results.count == 50)
        #expect(results.filter(\.stored).count == 25)
        #expect(Set(results.map(\.digest)).count == 25)
        #expect(try test.store.list().count == 25)
        #expect(try test.store.fsck().isClean)
    }

    @Test func aBadInputStoresNothing() throws {
        let test = try TestStore(durability: .batch)
        let good = try test.makeFile("good", Array("good".utf8))
        for bad in [test.directory.appending("missing"), test.directory.path] {
            #expect {
                try test.store.putBatch(filesAt: [good, bad])
            } throws: { error in
                (error as? StoreError)?.code == .badInput && (error as? StoreError)?.path == bad
            }
        }
        #expect(try test.store.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: test.store.root + "/tmp").isEmpty)
    }

    @Test func aBadInputInALargeBatchStoresNothingAndIsNamedFirst() throws {
        let test = try TestStore(durability: .batch)
        var paths: [String] = []
        for index in 0..<120 {
            paths.append(try test.makeFile("f\(index)", pseudoRandomBytes(count: 4096 + index, seed: UInt64(index))))
        }
        let missing = [test.directory.appending("missing-37"), test.directory.appending("missing-80")]
        paths[37] = missing[0]
        paths[80] = missing[1]
        paths[100] = test.directory.path
        #expect {
            try test.store.putBatch(filesAt: paths)
        } throws: { error in
            (error as? StoreError)?.code == .badInput && (error as? StoreError)?.path == missing[0]
        }
        #expect(try test.store.list().isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: test.store.root + "/tmp").isEmpty)
        // Without the bad inputs the same batch stores everything, in order.
        let good = paths.enumerated().filter { ![37, 80, 100].contains($0.offset) }.map(\.element)
        let results = try test.store.putBatch(filesAt: good)
        #expect(results.filter(\.stored).count == good.count)
        for (path, result) in zip(good, results) {
            let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
            #expect(result.digest == ContentHasher.digest(of: bytes, algorithm: .sha256))
        }
        #expect(try test.store.fsck(jobs: 2).isClean)
    }

    @Test(arguments: Durability.allCases)
    func putEachReportsInInputOrderAndStopsAtTheFirstFailure(durability: Durability) throws {
        let test = try TestStore(durability: durability)
        var paths: [String] = []
        for index in 0..<40 {
            paths.append(
                try test.makeFile("f\(index)", pseudoRandomBytes(count: 100 + 997 * index, seed: UInt64(index)))
            )
        }
        var reported: [Int] = []
        try test.store.putEach(paths.map { .file($0) }, concurrency: 4) { index, result in
            reported.append(index)
            let bytes = [UInt8](FileManager.default.contents(atPath: paths[index])!)
            #expect(result.digest == ContentHasher.digest(of: bytes, algorithm: .sha256))
            let presence = try test.store.contains(result.digest)
            #expect(presence.isPresent)
        }
        #expect(reported == Array(0..<40))

        let other = try TestStore(durability: durability)
        var failing = paths
        failing[10] = test.directory.path
        reported = []
        #expect {
            try other.store.putEach(failing.map { .file($0) }, concurrency: 4) { index, _ in reported.append(index) }
        } throws: { error in
            (error as? StoreError)?.code == .badInput && (error as? StoreError)?.path == test.directory.path
        }
        // Batch mode stores nothing; otherwise everything before the failure is stored and reported.
        #expect(reported == (durability == .batch ? [] : Array(0..<10)))
        #expect(try other.store.fsck(jobs: 2).isClean)
    }

    @Test func createRefusesAnExistingStoreAndOpenRefusesANonStore() throws {
        let test = try TestStore()
        #expect {
            try ObjectStore.create(at: test.store.root)
        } throws: { ($0 as? StoreError)?.code == .alreadyExists }
        #expect {
            try ObjectStore(at: test.directory.appending("nowhere"))
        } throws: { ($0 as? StoreError)?.code == .notAStore }
        let reopened = try ObjectStore(at: test.store.root)
        #expect(reopened.configuration == test.store.configuration)
        #expect(reopened.configuration.shardDepth == 1)
    }

    @Test func zeroLengthAndWrongSizeFilesAreNotPresent() throws {
        let test = try TestStore()
        let result = try test.store.put(pseudoRandomBytes(count: 1000, seed: 1))
        let path = test.store.objectPath(for: result.digest)
        try damage(path) { try $0.truncate(atOffset: 999) }
        #expect(try test.store.contains(result.digest) == .absent)
        #expect(throws: StoreError.self) { try test.store.read(result.digest) }
        try damage(path) { try $0.truncate(atOffset: 0) }
        #expect(try test.store.contains(result.digest) == .absent)
        #expect(try test.store.verify(result.digest).kind == .truncated)
        // Putting the bytes again heals the damaged object.
        let again = try test.store.put(pseudoRandomBytes(count: 1000, seed: 1))
        #expect(again.stored)
        #expect(try test.store.verify(result.digest).kind == .intact)
        // The empty object is the one that may have zero length.
        let empty = try test.store.put([UInt8]())
        #expect(try test.store.contains(empty.digest) == .present(size: 0))
    }

    @Test(arguments: TestBackend.available)
    func readOfACorruptObjectThrowsInsteadOfReturningBytes(backend: TestBackend) throws {
        let test = try backend.make()
        let store = test.objects
        var bytes = pseudoRandomBytes(count: 5000, seed: 2)
        let result = try store.put(bytes)
        // One byte changed behind the store's back (the same length, other content).
        bytes[1234] ^= 0xFF
        try test.damageObject(result.digest, with: bytes)
        #expect {
            try store.read(result.digest)
        } throws: { ($0 as? StoreError)?.code == .corrupt }
        #expect {
            try store.stream(result.digest, verify: true) { _ in }
        } throws: { ($0 as? StoreError)?.code == .corrupt }
        #expect(try store.read(result.digest, verify: false) == bytes)
        let target = test.directory.appending("out")
        #expect(throws: StoreError.self) { try store.copy(result.digest, toFileAt: target, verify: true) }
        #expect(!FileManager.default.fileExists(atPath: target))
        if let local = test.localStore { #expect(try local.verify(result.digest).kind == .corrupt) }
    }

    @Test(.disabled(if: getuid() == 0, "root ignores directory permissions"))
    func containsThrowsOnPermissionErrorsInsteadOfSayingAbsent() throws {
        let test = try TestStore()
        let result = try test.store.put(Array("secret".utf8))
        let shard = (test.store.objectPath(for: result.digest) as NSString).deletingLastPathComponent
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: shard)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: shard) }
        #expect(throws: StoreError.self) { try test.store.contains(result.digest) }
    }

    @Test func containsThrowsWhenTheShardIsNotADirectoryInsteadOfSayingAbsent() throws {
        let test = try TestStore()
        let digest = ContentHasher.digest(of: Array("never stored".utf8), algorithm: .sha256)
        let shard = (test.store.objectPath(for: digest) as NSString).deletingLastPathComponent
        try FileManager.default.removeItem(atPath: shard)
        #expect(FileManager.default.createFile(atPath: shard, contents: Data("not a directory".utf8)))
        #expect(throws: StoreError.self) { try test.store.contains(digest) }
    }

    @Test(arguments: TestBackend.available)
    func removeAndList(backend: TestBackend) throws {
        let test = try backend.make()
        let store = test.objects
        let a = try store.put(Array("a".utf8)).digest
        let b = try store.put(Array("b".utf8)).digest
        // The local store lists in digest order; the contract promises no order.
        let listed = try store.list()
        #expect((test.localStore == nil ? listed.sorted() : listed) == [a, b].sorted())
        #expect(try store.remove(a))
        #expect(try !store.remove(a))
        #expect(try store.contains(a) == .absent)
        #expect(try store.list() == [b])
        #expect(try store.modificationDate(of: b).timeIntervalSinceNow > -60)
    }

    @Test func putOfStoredBytesRefreshesTheModificationTime() throws {
        let test = try TestStore()
        let bytes = Array("put twice".utf8)
        let path = try test.makeFile("twice", bytes)
        let digest = try test.store.put(bytes).digest
        for again in [{ try test.store.put(bytes) }, { try test.store.put(fileAt: path) }] {
            let old = Date(timeIntervalSinceNow: -7 * 86_400)
            try FileManager.default.setAttributes(
                [.modificationDate: old],
                ofItemAtPath: test.store.objectPath(for: digest)
            )
            #expect(try test.store.modificationDate(of: digest).timeIntervalSinceNow < -86_400)
            #expect(try again().stored == false)
            #expect(try test.store.modificationDate(of: digest).timeIntervalSinceNow > -60)
        }
    }

    @Test(arguments: TestBackend.available)
    func digestsOfAnotherAlgorithmAreAbsent(backend: TestBackend) throws {
        let test = try backend.make(algorithm: .blake2b256)
        let result = try test.objects.put(Array("x".utf8))
        #expect(result.digest.algorithm == .blake2b256)
        let sha = ContentHasher.digest(of: Array("x".utf8), algorithm: .sha256)
        #expect(try test.objects.contains(sha) == .absent)
    }

    @Test(arguments: TestBackend.available)
    func concurrentPutsOfTheSameAndDifferentBytesStoreEachObjectOnce(backend: TestBackend) async throws {
        let test = try backend.make()
        let store = test.objects
        let inputs = (0..<8).map { pseudoRandomBytes(count: 200_000, seed: UInt64($0 % 4)) }
        let results = try await withThrowingTaskGroup(of: PutResult.self) { group in
            for input in inputs { group.addTask { try store.put(input) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.digest)).count == 4)
        #expect(results.filter(\.stored).count >= 4)
        #expect(try store.list().count == 4)
        for input in inputs { #expect(try store.read(ContentHasher.digest(of: input, algorithm: .sha256)) == input) }
        if let local = test.localStore { #expect(try local.fsck(jobs: 2).isClean) }
    }
}
