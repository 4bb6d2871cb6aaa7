import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Serialises access to the ledger files within a process and group-commits concurrent appends.
///
/// Appenders queue their entries; the first becomes the leader, takes the cross-process `flock`, writes every queued
/// entry with one `fdatasync`, and wakes the others. Entries queued while a leader writes form the next batch.
final class LedgerCore: @unchecked Sendable {
    // Invariant: `condition` guards `pending` and `leaderActive`; `io` guards every use of `storage`.
    private let condition = NSCondition()
    private let io = NSLock()
    private var pending: [Ticket] = []
    private var leaderActive = false
    private let storage: any LedgerStorage
    private let afterCommit: (any LedgerStorage, UInt64) throws -> Void
    private let sign: (UInt64, MerkleHash) throws -> String

    final class Ticket {
        let payloads: [[UInt8]]
        var result: Result<UInt64, any Error>?
        init(payloads: [[UInt8]]) { self.payloads = payloads }
    }

    /// `afterCommit` writes the checkpoint after a commit through the separate calls; `sign` makes the checkpoint
    /// note of a tree (size, root) for a ``CommittingLedgerStorage``, which stores it itself.
    init(
        storage: any LedgerStorage,
        afterCommit: @escaping (any LedgerStorage, UInt64) throws -> Void,
        sign: @escaping (UInt64, MerkleHash) throws -> String
    ) {
        self.storage = storage
        self.afterCommit = afterCommit
        self.sign = sign
    }

    /// Appends `payloads` as consecutive entries; returns the index of the first once they are durable.
    func append(_ payloads: [[UInt8]]) throws -> UInt64 {
        let ticket = Ticket(payloads: payloads)
        condition.lock()
        pending.append(ticket)
        while ticket.result == nil {
            if leaderActive {
                condition.wait()
                continue
            }
            leaderActive = true
            let batch = pending
            pending.removeAll()
            condition.unlock()
            let outcome = Result { try commit(batch) }
            condition.lock()
            switch outcome {
            case .success(let firsts):
                for (item, first) in zip(batch, firsts) { item.result = .success(first) }
            case .failure(let error):
                for item in batch { item.result = .failure(error) }
            }
            leaderActive = false
            condition.broadcast()
        }
        condition.unlock()
        return try ticket.result!.get()
    }

    private func commit(_ batch: [Ticket]) throws -> [UInt64] {
        if let committing = storage as? any CommittingLedgerStorage {
            let payloads = batch.flatMap(\.payloads)
            let after: UInt64 = try {
                io.lock()
                defer { io.unlock() }
                return try committing.commit(payloads, checkpoint: sign)
            }()
            // The batch ends at the new size: each ticket's first index follows from there.
            var next = after - UInt64(payloads.count)
            return batch.map { ticket in
                defer { next += UInt64(ticket.payloads.count) }
                return next
            }
        }
        return try withExclusiveLock { storage in
            let (size, _) = try storage.recover()
            var firsts: [UInt64] = []
            var next = size
            var payloads: [[UInt8]] = []
            for ticket in batch {
                firsts.append(next)
                next += UInt64(ticket.payloads.count)
                payloads += ticket.payloads
            }
            let after = try storage.append(payloads)
            try afterCommit(storage, after)
            return firsts
        }
    }

    /// Runs `body` holding the exclusive cross-process lock (writers, reconcile).
    func withExclusiveLock<R>(_ body: (any LedgerStorage) throws -> R) throws -> R {
        io.lock()
        defer { io.unlock() }
        return try storage.withExclusiveAccess { try body(storage) }
    }

    /// Runs `body` holding the shared cross-process lock (readers see only committed entries).
    func withSharedLock<R>(_ body: (any LedgerStorage) throws -> R) throws -> R {
        io.lock()
        defer { io.unlock() }
        return try storage.withSharedAccess { try body(storage) }
    }
}
