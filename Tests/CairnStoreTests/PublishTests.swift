import CairnCore
import Foundation
import Synchronization
import Testing
import _CairnTestSupport

@testable import CairnStore

/// The publish step's fallback, for kernels and filesystems without `renameat2(RENAME_NOREPLACE)`.
@Suite(.timeLimit(.minutes(15)))
struct PublishTests {
    @Test(arguments: [true, false])
    func publishStoresDeduplicatesAndHealsWithRenameOrLink(renameWorks: Bool) throws {
        for durability in Durability.allCases {
            let test = try TestStore(durability: durability)
            // This store alone takes the path under test; suites running beside this one keep their own.
            test.store.publishesByRename.store(renameWorks, ordering: .relaxed)
            let bytes = pseudoRandomBytes(count: 5000, seed: 7)
            let paths = try (0..<3).map { try test.makeFile("in\($0)", bytes) }
            let first = try test.store.putBatch(filesAt: paths)
            #expect(first.map(\.stored) == [true, false, false])
            // A damaged file at the object's path is replaced by the next put of the bytes.
            let path = test.store.objectPath(for: first[0].digest)
            try damage(path) { try $0.truncate(atOffset: 10) }
            let healed = try test.store.put(fileAt: paths[0])
            #expect(healed.stored)
            #expect(try test.store.verify(first[0].digest).kind == .intact)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o444)
            #expect(try FileManager.default.contentsOfDirectory(atPath: test.store.root + "/tmp").isEmpty)
            #expect(try test.store.fsck(jobs: 2).isClean)
        }
    }
}
