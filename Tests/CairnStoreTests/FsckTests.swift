import CairnCore
import CairnStore
import Foundation
import Testing
import _CairnTestSupport

@Suite(.timeLimit(.minutes(15)))
struct FsckTests {
    /// A store with `count` intact objects.
    func populated(_ count: Int) throws -> (TestStore, [Digest]) {
        let test = try TestStore()
        var digests: [Digest] = []
        for index in 0..<count {
            digests.append(try test.store.put(pseudoRandomBytes(count: 3000 + index, seed: UInt64(index))).digest)
        }
        return (test, digests)
    }

    @Test func cleanStoreIsClean() throws {
        let (test, digests) = try populated(20)
        for jobs in [1, 2, 4] {
            let report = try test.store.fsck(jobs: jobs)
            #expect(report.isClean)
            #expect(report.objectsChecked == digests.count)
        }
    }

    @Test func findsAFlippedBit() throws {
        let (test, digests) = try populated(10)
        let path = test.store.objectPath(for: digests[3])
        try damage(path) { handle in
            try handle.seek(toOffset: 100)
            let byte = try handle.read(upToCount: 1)![0]
            try handle.seek(toOffset: 100)
            try handle.write(contentsOf: [byte ^ 0x01])
        }
        let report = try test.store.fsck(jobs: 2)
        #expect(report.problems.map(\.kind) == [.corrupt])
        #expect(report.problems.first?.path == path)
        #expect(report.problems.first?.digest == digests[3])
        #expect(report.problems.first?.actualDigest != nil)
    }

    @Test func findsATruncatedFile() throws {
        let (test, digests) = try populated(5)
        let path = test.store.objectPath(for: digests[0])
        try damage(path) { try $0.truncate(atOffset: 10) }
        let report = try test.store.fsck()
        #expect(report.problems.map(\.kind) == [.truncated])
        #expect(report.problems.first?.path == path)
    }

    @Test func findsAnObjectUnderTheWrongNameAndInTheWrongShard() throws {
        let (test, digests) = try populated(5)
        // Object 0's bytes under object 1's name: the content names another object.
        let wrongName = test.store.objectPath(for: digests[1])
        try FileManager.default.removeItem(atPath: wrongName)
        try FileManager.default.copyItem(atPath: test.store.objectPath(for: digests[0]), toPath: wrongName)
        // Object 2 moved into a shard that is not its own.
        let source = test.store.objectPath(for: digests[2])
        let otherShard = test.store.root + "/objects/sha256/zz"
        try FileManager.default.createDirectory(atPath: otherShard, withIntermediateDirectories: true)
        let misplaced = otherShard + "/" + digests[2].hex
        try FileManager.default.moveItem(atPath: source, toPath: misplaced)
        let report = try test.store.fsck(jobs: 2)
        let byPath = Dictionary(uniqueKeysWithValues: report.problems.map { ($0.path, $0) })
        #expect(byPath[wrongName]?.kind == .corrupt)
        #expect(byPath[wrongName]?.actualDigest == digests[0])
        #expect(byPath[misplaced]?.kind == .misplaced)
        #expect(report.problems.count == 2)

        // Repair quarantines the wrong-named file and moves the misplaced object home; no good object is lost.
        let repaired = try test.store.fsck(repair: true)
        #expect(repaired.problems.allSatisfy { $0.repair != nil })
        #expect(try test.store.verify(digests[2]).kind == .intact)
        #expect(try test.store.contains(digests[1]) == .absent)
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: test.store.root + "/quarantine")
        #expect(quarantined.count == 1)
        #expect(try test.store.fsck().isClean)
        for digest in digests where digest != digests[1] {
            #expect(try test.store.verify(digest).kind == .intact)
        }
    }

    @Test func findsFilesAboveTheShardDirectoriesAndChecksLargeAndSmallObjectsAlike() throws {
        let test = try TestStore()
        var digests: [Digest] = []
        let sizes: [Int] = [3 << 20, 10, 2 << 20, 5000, 1 << 20, 0]
        for (index, size) in sizes.enumerated() {
            digests.append(try test.store.put(pseudoRandomBytes(count: size, seed: UInt64(index))).digest)
        }
        let objects = test.store.root + "/objects"
        try Data("?".utf8).write(to: URL(fileURLWithPath: objects + "/loose"))
        try Data("?".utf8).write(to: URL(fileURLWithPath: objects + "/sha256/loose"))
        let aboveItsShard = objects + "/sha256/" + digests[1].hex
        try FileManager.default.moveItem(atPath: test.store.objectPath(for: digests[1]), toPath: aboveItsShard)
        let totalBytes: Int64 = (3 << 20) + 10 + (2 << 20) + 5000 + (1 << 20)
        for jobs in [1, 2, 3] {
            let report = try test.store.fsck(jobs: jobs)
            #expect(report.objectsChecked == digests.count)
            #expect(report.bytesChecked == totalBytes)
            // Sorted by path: a hex name sorts before "loose".
            #expect(report.problems.map(\.path) == [objects + "/loose", aboveItsShard, objects + "/sha256/loose"])
            #expect(report.problems.map(\.kind) == [.strayFile, .misplaced, .strayFile])
        }
    }

    @Test func findsStrayTempsAndStrayFiles() throws {
        let (test, _) = try populated(3)
        // A temp from a process that is gone (pid 2^22 + 1 is above Linux's pid_max default range).
        let stale = test.store.root + "/tmp/put-4194305-deadbeef"
        try Data("half".utf8).write(to: URL(fileURLWithPath: stale))
        // A temp of this (live) process is an ingest in flight, not a problem.
        let live = test.store.root + "/tmp/put-\(getpid())-cafe"
        try Data("busy".utf8).write(to: URL(fileURLWithPath: live))
        let stray = test.store.root + "/objects/sha256/ab/notes.txt"
        try FileManager.default.createDirectory(
            atPath: test.store.root + "/objects/sha256/ab",
            withIntermediateDirectories: true
        )
        try Data("?".utf8).write(to: URL(fileURLWithPath: stray))
        let report = try test.store.fsck()
        // The dead process's temp is debris, not damage; the stray file is damage.
        #expect(report.problems.map(\.kind) == [.strayFile])
        #expect(report.debris.map(\.path) == [stale])
        #expect(report.debris.map(\.kind) == [.strayTemp])
        #expect(report.temporaryFilesInUse == 1)
        let repaired = try test.store.fsck(repair: true)
        #expect(repaired.problems.count == 1)
        #expect(repaired.debris.map(\.repair) == ["removed"])
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live))
        let after = try test.store.fsck()
        #expect(after.isClean)
        #expect(after.debris.isEmpty)
    }

    @Test func debrisAloneLeavesTheStoreCleanAndTheNextPutRemovesIt() throws {
        let (test, _) = try populated(3)
        let stale = test.store.root + "/tmp/put-4194305-0123x0"
        try Data("half".utf8).write(to: URL(fileURLWithPath: stale))
        let live = test.store.root + "/tmp/put-\(getpid())-beefx0"
        try Data("busy".utf8).write(to: URL(fileURLWithPath: live))
        let report = try test.store.fsck()
        #expect(report.isClean)
        #expect(report.debris.count == 1)
        // A store opened afresh (as the next `cairn put` does) removes debris before its first temporary file.
        let reopened = try ObjectStore(at: test.store.root)
        _ = try reopened.put(Array("new bytes for a new temporary file".utf8))
        #expect(!FileManager.default.fileExists(atPath: stale))
        #expect(FileManager.default.fileExists(atPath: live), "a live process's temp is never removed")
        #expect(try reopened.fsck().debris.isEmpty)
        // removeDebris itself never touches a live process's temp.
        try Data("half".utf8).write(to: URL(fileURLWithPath: stale))
        let removed = try reopened.removeDebris()
        #expect(removed.map(\.path) == [stale])
        #expect(FileManager.default.fileExists(atPath: live))
    }

    @Test func repairNeverTouchesGoodObjects() throws {
        let (test, digests) = try populated(30)
        try damage(test.store.objectPath(for: digests[7])) { try $0.truncate(atOffset: 1) }
        let report = try test.store.fsck(jobs: 2, repair: true)
        #expect(report.problems.count == 1)
        for (index, digest) in digests.enumerated() where index != 7 {
            #expect(try test.store.verify(digest).kind == .intact)
        }
        #expect(try test.store.fsck().isClean)
    }
}
