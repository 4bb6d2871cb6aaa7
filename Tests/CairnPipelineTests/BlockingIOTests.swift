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
    @Test func blockingWorkDoesNotStarveTimers() async throws {
        // Eight bodies that each block their thread for 300 ms: on the cooperative pool (one thread per core) they
        // would hold every thread for over a second, and the timer below would fire that late.
        let clock = ContinuousClock()
        async let blocked: [Bool] = withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await BlockingIO.run {
                        usleep(300_000)
                        return BlockingIO.isOnBlockingThread
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        try await Task.sleep(for: .milliseconds(20))
        var worst = Duration.zero
        for _ in 0..<10 {
            let start = clock.now
            try await Task.sleep(for: .milliseconds(20))
            worst = max(worst, clock.now - start - .milliseconds(20))
        }
        #expect(try await blocked == Array(repeating: true, count: 8))
        #expect(worst < .milliseconds(250), "a 20 ms timer fired \(worst) late while blocking work ran")
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
