import CairnCore
import CairnStore
import Foundation
import SystemPackage
import Testing
import _CairnSystem

/// The store's sync promises, checked through the IO layer's sync accounting: each test fails when the sync it
/// names is removed, and an injected sync failure acknowledges nothing.
@Suite(.timeLimit(.minutes(15)))
struct SyncTests {
    /// Runs `body` with a watch on the test store's directory and returns the syncs it issued there.
    func syncs(in test: TestStore, failure: Errno? = nil, _ body: () throws -> Void) rethrows -> Int {
        let watch = SyncAccounting.watch(test.store.root, failure: failure)
        defer { SyncAccounting.stop(watch) }
        try body()
        return watch.count
    }

    @Test func objectDurabilitySyncsTheFileAndItsDirectory() throws {
        let test = try TestStore(durability: .object)
        let count = try syncs(in: test) { _ = try test.store.put(Array("durable bytes".utf8)) }
        // fsync of the object file and of its shard directory (and the shard's parent when it was new).
        #expect(count >= 2)
        // A second put of the same bytes is a dedup hit: nothing new to make durable.
        #expect(try syncs(in: test) { _ = try test.store.put(Array("durable bytes".utf8)) } == 0)
    }

    @Test func noneDurabilityNeverSyncs() throws {
        let test = try TestStore(durability: .none)
        #expect(try syncs(in: test) { _ = try test.store.put(Array("scratch bytes".utf8)) } == 0)
    }

    @Test func batchDurabilitySyncsTheFilesystemBeforeAndAfterPublishing() throws {
        let test = try TestStore(durability: .batch)
        let paths = try (0..<8).map { try test.makeFile("f\($0)", Array("batch file \($0)".utf8)) }
        let count = try syncs(in: test) { _ = try test.store.putBatch(filesAt: paths) }
        // One syncfs before anything is visible and one after everything is in place (spec/store.md).
        #expect(count >= 2)
    }

    @Test func aFailedSyncAcknowledgesNothing() throws {
        let test = try TestStore(durability: .object)
        let bytes = Array("bytes whose sync fails".utf8)
        let digest = ContentHasher.digest(of: bytes, algorithm: .sha256)
        var thrown: (any Error)? = nil
        let count = syncs(in: test, failure: .ioError) {
            do { _ = try test.store.put(bytes) } catch { thrown = error }
        }
        #expect(count >= 1)
        let error = try #require(thrown as? StoreError, "the put must fail when its sync fails")
        #expect(error.errno == .ioError)
        #expect(!(try test.store.contains(digest).isPresent), "an object whose sync failed is not visible")
        // With syncs working again the same put succeeds, and the store is clean.
        let put = try test.store.put(bytes)
        #expect(put.digest == digest)
        #expect(try test.store.fsck().isClean)
    }

    @Test func aRepairWhoseSyncFailsIsReportedNotDropped() throws {
        let test = try TestStore(durability: .object)
        // Debris of a process that is gone: fsck --repair removes it, then syncs the store.
        let stale = test.store.root + "/tmp/put-4194305-deadbeef"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data("partial".utf8)))
        var thrown: (any Error)? = nil
        let count = syncs(in: test, failure: .ioError) {
            do { _ = try test.store.fsck(repair: true) } catch { thrown = error }
        }
        #expect(count >= 1)
        let error = try #require(thrown as? StoreError, "fsck --repair must fail when its sync fails")
        #expect(error.errno == .ioError)
        #expect(error.message.contains("repairs were made"))
    }
}
