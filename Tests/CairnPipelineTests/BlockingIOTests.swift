import CairnLedger
import CairnManifest
import CairnPipeline
import Foundation
import Testing
import _CairnConformance
import _CairnSystem
import _CairnTestSupport

/// Blocking store and ledger work runs off Swift's cooperative pool, so timers and other tasks keep running.
@Suite(.timeLimit(.minutes(15)))
struct BlockingIOTests {
    @Test func blockingWorkRunsOnItsOwnThreadsAndAllAtOnce() async throws {
        // Every body runs on the blocking-IO queue (never inline on the calling task's cooperative thread), and
        // bodies that block do not wait for each other: each one below waits until all sixteen have started, which
        // can only finish when they block side by side (the cooperative pool has one thread per core).
        let started = DispatchGroupCounter(expected: 16)
        let placed: [Bool] = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<16 {
                group.addTask {
                    try await BlockingIO.run {
                        started.arriveAndWait(timeout: .now() + 20)
                        return BlockingIO.isOnBlockingThread
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(placed == Array(repeating: true, count: 16))
        #expect(started.allArrived, "the bodies ran a few at a time, not side by side")
    }

    @Test(arguments: TestBackend.available)
    func aPipelineRunsItsStoreAndLedgerWorkOnTheBlockingThreads(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let before = BlockingIO.runCount
        let result = try await workspace.pipeline("blocking")
            .step(SyntheticProvider(), model: "image-v1", prompt: "a", modality: .image)
            .step(SyntheticProvider(), model: "image-v1", prompt: "b", modality: .image)
            .run()
        #expect(result.status == .completed)
        // Per step at least: the request's inputs, the outputs' ingest, the receipt; then the run's manifest.
        #expect(BlockingIO.runCount - before >= 2 * 3 + 1)
    }
}

/// A barrier for threads: each arrival waits until `expected` have arrived (or the deadline passes).
final class DispatchGroupCounter: @unchecked Sendable {
    private let condition = NSCondition()
    private var arrived = 0
    private let expected: Int

    init(expected: Int) { self.expected = expected }

    func arriveAndWait(timeout: DispatchTime) {
        condition.lock()
        defer { condition.unlock() }
        arrived += 1
        condition.broadcast()
        let deadline = Date(
            timeIntervalSinceNow: Double(timeout.uptimeNanoseconds - DispatchTime.now().uptimeNanoseconds) / 1e9
        )
        while arrived < expected, condition.wait(until: deadline) {}
    }

    var allArrived: Bool {
        condition.lock()
        defer { condition.unlock() }
        return arrived >= expected
    }
}
