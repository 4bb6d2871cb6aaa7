import CairnCore
import CairnStore
import Foundation
import SystemPackage
import Testing
import _CairnSystem
import _CairnTestSupport

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

    /// The order spec/store.md promises for an object-durable put: the staged file is synced, then renamed into
    /// its shard, then the shard directory is synced. Moving or dropping any of the three fails the test.
    @Test func anObjectIsSyncedThenPublishedThenItsDirectorySynced() throws {
        let test = try TestStore(durability: .object)
        let bytes = Array("ordered bytes".utf8)
        let hex = ContentHasher.digest(of: bytes, algorithm: .sha256).hex
        let watch = SyncAccounting.watch(test.store.root)
        defer { SyncAccounting.stop(watch) }
        _ = try test.store.put(bytes)
        let events = watch.events
        let shard = "objects/sha256/\(hex.prefix(2))"
        let published = try #require(
            events.firstIndex { ["rename", "link"].contains($0.operation) && $0.path == shard + "/" + hex },
            "the object was never published: \(events)"
        )
        #expect(
            events[..<published].contains { $0.operation == "fsync" && $0.path.hasPrefix("tmp/") },
            "the staged file was not synced before it was published: \(events)"
        )
        #expect(
            events[published...].contains { $0.operation == "fsync" && $0.path == shard },
            "the shard directory was not synced after the object was published: \(events)"
        )
    }

    /// A batch syncs the filesystem once before its first object becomes visible and once after its last.
    @Test func aBatchSyncsBeforeTheFirstPublishAndAfterTheLast() throws {
        let test = try TestStore(durability: .batch)
        let paths = try (0..<8).map { try test.makeFile("o\($0)", Array("ordered batch file \($0)".utf8)) }
        let watch = SyncAccounting.watch(test.store.root)
        defer { SyncAccounting.stop(watch) }
        _ = try test.store.putBatch(filesAt: paths)
        let events = watch.events
        let publishes = events.indices.filter {
            ["rename", "link"].contains(events[$0].operation) && events[$0].path.hasPrefix("objects/")
        }
        let syncs = events.indices.filter { events[$0].operation == "syncfs" }
        #expect(publishes.count == paths.count, "\(events)")
        let first = try #require(publishes.first)
        let last = try #require(publishes.last)
        #expect(syncs.contains { $0 < first }, "nothing was synced before the first object was visible: \(events)")
        #expect(syncs.contains { $0 > last }, "nothing was synced after the last object was visible: \(events)")
    }

    /// `config.json` is synced before it is linked into place, and the store's directories after.
    @Test func aNewStoreSyncsItsConfigurationBeforeAndItsDirectoriesAfter() throws {
        let directory = try TemporaryDirectory(prefix: "cairn-store")
        let watch = SyncAccounting.watch(directory.path)
        defer { SyncAccounting.stop(watch) }
        _ = try ObjectStore.create(at: directory.appending("store"), algorithm: .sha256, durability: .object)
        let events = watch.events
        let published = try #require(
            events.firstIndex { $0.operation == "link" && $0.path == "store/config.json" },
            "config.json was never published: \(events)"
        )
        #expect(
            events[..<published].contains { $0.operation == "fsync" && $0.path.hasPrefix("store/tmp/config-") },
            "config.json was not synced before it was published: \(events)"
        )
        #expect(
            events[published...].contains { $0.operation == "fsync" && $0.path == "store" },
            "the store directory was not synced after config.json was published: \(events)"
        )
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
