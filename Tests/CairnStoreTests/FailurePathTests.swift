import CairnCore
import CairnStore
import Foundation
import SystemPackage
import Testing
import _CairnConformance
import _CairnSystem
import _CairnTestSupport

/// Failure paths of the IO layer and the object store that the contract suites do not reach.
@Suite(.timeLimit(.minutes(15)))
struct FailurePathTests {
    @Test(arguments: TestBackend.available)
    func anExpectedDigestOfAnotherAlgorithmIsRefusedAndStoresNothing(backend: TestBackend) throws {
        let test = try backend.make(algorithm: .sha256)
        let bytes = Array("named by blake".utf8)
        let blake = ContentHasher.digest(of: bytes, algorithm: .blake2b256)
        #expect {
            _ = try test.objects.put(bytes, expecting: blake)
        } throws: { error in
            (error as? StoreError)?.code == .wrongAlgorithm && (error as? StoreError)?.digest == blake
        }
        #expect(try test.objects.list().isEmpty)
        if let local = test.localStore {
            #expect(try FileManager.default.contentsOfDirectory(atPath: local.root + "/tmp").isEmpty)
        }
    }

    @Test func aPublishThatCannotRenameLeavesTheTargetAndNoTemporaryFile() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-publish")
        // A non-empty directory where the file should go: rename(2) refuses to replace it.
        let target = directory.appending("target")
        try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
        #expect {
            try SystemCalls.publish(Array("new bytes".utf8), at: target, sync: true)
        } throws: { error in
            (error as? SystemError)?.path == target && (error as? SystemError)?.operation.hasPrefix("rename") == true
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["target"])
        #expect(FileManager.default.fileExists(atPath: target + "/inside"))
    }

    @Test func createExclusivelyLeavesAnExistingFileAsItWas() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-exclusive")
        let path = directory.appending("key")
        #expect(try SystemCalls.createExclusively(Array("first".utf8), at: path, mode: 0o600))
        #expect(!(try SystemCalls.createExclusively(Array("second".utf8), at: path, mode: 0o600)))
        #expect(FileManager.default.contents(atPath: path) == Data("first".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["key"])
    }
}
