import CairnLedger
import CairnManifest
import CairnPipeline
import Foundation
import Testing
import _CairnSystem
import _CairnTestSupport

/// Blocking store and ledger work runs off Swift's cooperative pool, so timers and other tasks keep running.
@Suite(.timeLimit(.minutes(1)))
struct BlockingIOTests {
    @Test func blockingWorkRunsOffTheCooperativePool() async throws {
        // Eight bodies per core (at most 64) that each block their thread for 250 ms. On the cooperative pool (one
        // thread per core) they would run a core's worth at a time, at least 8 x 250 ms, holding every thread,
        // timers included. On the blocking-IO threads they all wait at once.
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let count = min(64, 8 * cores)
        let clock = ContinuousClock()
        let start = clock.now
        let placed: [Bool] = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask {
                    try await BlockingIO.run {
                        usleep(250_000)
                        return BlockingIO.isOnBlockingThread
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let elapsed = clock.now - start
        #expect(placed == Array(repeating: true, count: count))
        let pooled = Duration.milliseconds(250 * (count / min(cores, count)))
        #expect(elapsed < pooled * 3 / 4, "\(count) x 250 ms of blocking work took \(elapsed) (pool-bound: \(pooled))")
    }

    @Test func aPipelineRunsItsStoreAndLedgerWorkOnTheBlockingThreads() async throws {
        let workspace = try Workspace()
        let before = BlockingIO.runCount
        let result = try await Pipeline("blocking", store: workspace.store)
            .step(SyntheticProvider(), model: "image-v1", prompt: "a", modality: .image)
            .step(SyntheticProvider(), model: "image-v1", prompt: "b", modality: .image)
            .run()
        #expect(result.status == .completed)
        // Per step at least: the request's inputs, the outputs' ingest, the receipt; then the run's manifest.
        #expect(BlockingIO.runCount - before >= 2 * 3 + 1)
    }
}
