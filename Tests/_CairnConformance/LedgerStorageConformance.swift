import CairnCore
public import CairnLedger
import Dispatch
import Foundation

/// The ledger-storage contract of `spec/backends.md`, as one suite every ``LedgerStorage`` must pass: the local
/// files run it in `CairnLedgerTests`, and a scale-out adapter runs the same function against its real server.
///
/// `make` opens a new instance on one and the same, initially empty, storage each time it is called (the suite
/// opens several, to check persistence and the locks between instances).
public enum LedgerStorageConformance {
    /// Runs every clause; throws the first ``ConformanceFailure`` (or the storage's own unexpected error).
    public static func run(make: () throws -> any LedgerStorage) throws {
        func require(_ condition: Bool, _ clause: String, _ seen: @autoclosure () -> String) throws {
            if !condition { throw ConformanceFailure(clause, seen()) }
        }
        func payload(_ index: Int, size: Int = 40) -> [UInt8] {
            Array("entry \(index) ".utf8) + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
        }
        let storage = try make()

        // L1: a new storage recovers to zero entries and no checkpoint.
        let fresh = try storage.withExclusiveAccess { try storage.recover() }
        try require(fresh.size == 0 && fresh.cut == nil, "L1", "a new storage recovered to \(fresh)")
        try require(try storage.withSharedAccess { try storage.committedSize() } == 0, "L1", "size is not 0")
        try require(try storage.withSharedAccess { try storage.checkpoint() } == nil, "L1", "a checkpoint exists")

        // L2: append without recover() in the same exclusive access is refused, and commits nothing.
        var refused = false
        do { _ = try storage.withExclusiveAccess { try storage.append([payload(0)]) } } catch { refused = true }
        try require(refused, "L2", "append without recover was accepted")
        try require(try storage.withSharedAccess { try storage.committedSize() } == 0, "L2", "it committed entries")

        // L3: batches append in order; entries read back byte for byte; the tree's nodes are RFC 9162's.
        var written: [[UInt8]] = []
        for batch in [5, 1, 10, 17] {
            let payloads = (written.count..<(written.count + batch)).map { payload($0, size: 20 + $0 * 7) }
            let size = try storage.withExclusiveAccess { () throws -> UInt64 in
                let recovered = try storage.recover()
                guard recovered.size == UInt64(written.count) else {
                    throw ConformanceFailure("L3", "recovered \(recovered.size) entries, \(written.count) were written")
                }
                return try storage.append(payloads)
            }
            written += payloads
            try require(size == UInt64(written.count), "L3", "append returned size \(size), not \(written.count)")
        }
        let total = UInt64(written.count)
        let read = try storage.withSharedAccess { try storage.entries(0..<total) }
        try require(read == written, "L3", "entries read back differ from those appended")
        let tail = try storage.withSharedAccess { try storage.entries(7..<9) }
        try require(tail == Array(written[7..<9]), "L3", "a range in the middle reads back wrong")
        let leaves = written.map { Merkle.leafHash($0) }
        for index in 0..<total {
            let leaf = try storage.withSharedAccess { try storage.node(level: 0, index: index) }
            try require(leaf == leaves[Int(index)], "L3", "leaf \(index) is not the RFC 9162 leaf hash")
        }
        for size in 1...total {
            let root = try storage.withSharedAccess { try storage.root(size: size) }
            try require(
                root == Merkle.root(ofLeaves: Array(leaves[0..<Int(size)])),
                "L3",
                "the root of the first \(size) entries differs from RFC 9162's"
            )
        }

        // L4: the checkpoint is compare-and-swap: it moves only from the sequence the writer saw.
        try storage.withExclusiveAccess {
            try require(try storage.replaceCheckpoint("note one", expecting: nil), "L4", "the first checkpoint failed")
            let first = try storage.checkpoint()
            try require(
                first?.sequence == 1 && first?.note == "note one",
                "L4",
                "checkpoint is \(String(describing: first))"
            )
            try require(
                !(try storage.replaceCheckpoint("stale writer", expecting: nil)),
                "L4",
                "a checkpoint replaced a newer one"
            )
            try require(try storage.checkpoint()?.note == "note one", "L4", "a refused replace changed the checkpoint")
            try require(try storage.replaceCheckpoint("note two", expecting: 1), "L4", "replace from sequence 1 failed")
            let second = try storage.checkpoint()
            try require(
                second?.sequence == 2 && second?.note == "note two",
                "L4",
                "checkpoint is \(String(describing: second))"
            )
        }

        // L5: an empty entry is refused and nothing of its batch is committed.
        var emptyRefused = false
        do {
            _ = try storage.withExclusiveAccess { () throws -> UInt64 in
                _ = try storage.recover()
                return try storage.append([payload(99), []])
            }
        } catch {
            emptyRefused = true
        }
        try require(emptyRefused, "L5", "an empty entry was accepted")
        let afterRefusal = try storage.withExclusiveAccess { try storage.recover().size }
        try require(afterRefusal == total, "L5", "a refused batch left \(afterRefusal - total) entries")

        // L6: another instance on the same storage sees everything committed, and the checkpoint.
        let other = try make()
        let seen = try other.withExclusiveAccess { try other.recover() }
        try require(seen.size == total && seen.cut == nil, "L6", "a second instance recovered to \(seen)")
        try require(try other.withSharedAccess { try other.entries(0..<total) } == written, "L6", "entries differ")
        try require(
            try other.withSharedAccess { try other.checkpoint()?.note } == "note two",
            "L6",
            "checkpoint differs"
        )

        // L7: exclusive access excludes another instance: appends from two instances on two threads interleave
        // as whole batches, and every entry lands once.
        // Each instance is used by one thread only, as the protocol requires.
        let instances = OneThreadEach([try make(), try make()])
        let failures = ConcurrentErrors()
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            let mine = instances.values[worker]
            for round in 0..<20 {
                do {
                    _ = try mine.withExclusiveAccess { () throws -> UInt64 in
                        _ = try mine.recover()
                        return try mine.append([
                            Array("w\(worker) r\(round) a".utf8), Array("w\(worker) r\(round) b".utf8),
                        ])
                    }
                } catch {
                    failures.add("worker \(worker) round \(round): \(error)")
                }
            }
        }
        if let failure = failures.first { throw ConformanceFailure("L7", failure) }
        let final = try storage.withExclusiveAccess { try storage.recover().size }
        try require(final == total + 80, "L7", "after 80 concurrent appends the size is \(final), not \(total + 80)")
        let added = try storage.withSharedAccess { try storage.entries(total..<final) }
        for pair in stride(from: 0, to: added.count, by: 2) {
            let a = String(decoding: added[pair], as: UTF8.self)
            let b = String(decoding: added[pair + 1], as: UTF8.self)
            try require(a.hasSuffix(" a") && b == a.dropLast() + "b", "L7", "batch split: \(a) then \(b)")
        }
        try require(Set(added).count == 80, "L7", "an entry landed twice")

        // L8: a storage that commits in one call appends at the end whoever appended last, and stores the
        // checkpoint of the tree it made.
        guard let first = try make() as? any CommittingLedgerStorage,
            let second = try make() as? any CommittingLedgerStorage
        else { return }
        @Sendable func note(_ size: UInt64, _ root: MerkleHash) -> String { "size \(size) root \(root.bytes)" }
        var expected = try storage.withSharedAccess { try storage.entries(0..<final) }
        var sequence = try storage.withSharedAccess { try storage.checkpoint()?.sequence } ?? 0
        // first, second, first again (now behind), then first twice in a row (the log where it left it).
        for (round, committer) in [first, second, first, first].enumerated() {
            let batch = (0..<(round + 1)).map { Array("commit \(round) entry \($0)".utf8) }
            let size = try committer.commit(batch, checkpoint: note)
            expected += batch
            sequence += 1
            try require(size == UInt64(expected.count), "L8", "round \(round) returned size \(size)")
            let stored = try storage.withSharedAccess { try storage.checkpoint() }
            let root = try storage.withSharedAccess { try storage.root(size: size) }
            try require(
                stored?.note == note(size, root) && stored?.sequence == sequence,
                "L8",
                "after round \(round) the checkpoint is \(String(describing: stored)), sequence \(sequence) expected"
            )
        }
        let committed = try storage.withSharedAccess { try storage.entries(0..<UInt64(expected.count)) }
        try require(committed == expected, "L8", "the committed entries differ from the batches in order")
        // Two instances committing at once, each often behind the other.
        let racers = OneThreadEach([first, second])
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for round in 0..<20 {
                do {
                    _ = try racers.values[worker].commit(
                        [Array("c\(worker) r\(round) a".utf8), Array("c\(worker) r\(round) b".utf8)],
                        checkpoint: note
                    )
                } catch {
                    failures.add("committer \(worker) round \(round): \(error)")
                }
            }
        }
        if let failure = failures.first { throw ConformanceFailure("L8", failure) }
        let raced = try storage.withSharedAccess { try storage.committedSize() }
        try require(raced == UInt64(expected.count) + 80, "L8", "after 80 racing commits the size is \(raced)")
        let racedEntries = try storage.withSharedAccess { try storage.entries(UInt64(expected.count)..<raced) }
        try require(Set(racedEntries).count == 80, "L8", "an entry landed twice")
        let lastRoot = try storage.withSharedAccess { try storage.root(size: raced) }
        try require(
            try storage.withSharedAccess { try storage.checkpoint()?.note } == note(raced, lastRoot),
            "L8",
            "the last checkpoint is not the final tree's"
        )
    }
}

/// Values handed to threads one each (never shared between threads), so they need not be Sendable.
final class OneThreadEach<Value>: @unchecked Sendable {
    let values: [Value]
    init(_ values: [Value]) { self.values = values }
}
