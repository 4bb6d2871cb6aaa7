import CairnCore
import CairnLedger
import CairnManifest
import Foundation
import Testing
import _CairnConformance
import _CairnTestSupport

@testable import CairnPipeline

#if canImport(Glibc)
import Glibc
#endif

/// The retry promise of pipeline runs, timed by a fake clock: which failures are retried, how often, how long each
/// backoff is (exact without jitter, drawn from the injected random source with it, `Retry-After` honoured), and
/// that attempt and run time limits fire and cancel the provider. No test waits on the wall clock for a backoff.
@Suite(.timeLimit(.minutes(15)))
struct RetryPolicyTests {
    /// 250 ms, doubling, capped at 1.5 s, no jitter: 250 ms, 500 ms, 1 s, 1.5 s, 1.5 s, ...
    static func policy(maxAttempts: Int, jitter: Bool = false, attemptTimeout: Duration? = nil) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: maxAttempts,
            baseDelay: .milliseconds(250),
            factor: 2,
            maxDelay: .milliseconds(1500),
            jitter: jitter,
            attemptTimeout: attemptTimeout
        )
    }

    func run(
        _ provider: any Provider,
        in workspace: Workspace,
        clock: FakeClock,
        random: RandomDraws = RandomDraws([]),
        prompt: String = "a cairn",
        timeout: Duration? = nil
    ) async throws -> RunResult {
        var pipeline = try Pipeline("retry", store: workspace.store)
            .step(provider, model: "m", prompt: prompt, modality: .text, name: "make")
        pipeline.timing = clock.timing(random: random)
        return try await pipeline.run(timeout: timeout)
    }

    @Test(arguments: [
        ProviderError.Code.invalidInput, .authFailure, .modelError, .contentPolicy, .unknown,
    ])
    func nonRetryableCodesAreTriedOnce(code: ProviderError.Code) async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = FailureSequenceProvider(retryPolicy: Self.policy(maxAttempts: 5), failures: [code, code])
        let result = try await run(provider, in: workspace, clock: clock)
        #expect(result.status == .failed)
        #expect(result.steps[0].attempts == 1)
        #expect(provider.log.startedAttempts == [1])
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1])
        #expect(receipts[0].error == "\(code.rawValue): planned failure of attempt 1")
        #expect(clock.requested.isEmpty)
    }

    @Test(arguments: [ProviderError.Code.timeout, .rateLimit, .serverError])
    func retryableCodesAreRetriedUpToMaxAttempts(code: ProviderError.Code) async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 4),
            failures: Array(repeating: code, count: 10)
        )
        let result = try await run(provider, in: workspace, clock: clock)
        #expect(result.status == .failed)
        #expect(result.steps[0].attempts == 4)
        #expect(result.steps[0].errorCode == code.rawValue)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1, 2, 3, 4])
        #expect(receipts.allSatisfy { $0.status == .failed })
        #expect(receipts.map(\.error) == (1...4).map { "\(code.rawValue): planned failure of attempt \($0)" })
        #expect(clock.requested == [.milliseconds(250), .milliseconds(500), .seconds(1)])
    }

    @Test func aSyntheticProviderThatFailsTwiceSucceedsOnTheThirdAttempt() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = SyntheticProvider(retryPolicy: Self.policy(maxAttempts: 5), failingAttempts: 2)
        let result = try await run(provider, in: workspace, clock: clock)
        #expect(result.status == .completed)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1, 2, 3])
        #expect(receipts.map(\.status) == [.failed, .failed, .succeeded])
        #expect(receipts[1].error == "server_error: synthetic failure of step make attempt 2")
        #expect(clock.requested == [.milliseconds(250), .milliseconds(500)])
    }

    @Test func backoffGrowsByTheFactorAndStopsAtTheCap() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = FailureSequenceProvider(
            retryPolicy: RetryPolicy(
                maxAttempts: 7,
                baseDelay: .milliseconds(100),
                factor: 3,
                maxDelay: .seconds(5),
                jitter: false
            ),
            failures: Array(repeating: .serverError, count: 10)
        )
        let result = try await run(provider, in: workspace, clock: clock)
        #expect(result.steps[0].attempts == 7)
        // 0.1 * 3^(n-1): 0.1, 0.3, 0.9, 2.7, then the 5 s cap (8.1 and 24.3 are over it).
        #expect(
            clock.requested == [
                .milliseconds(100), .milliseconds(300), .milliseconds(900), .milliseconds(2700), .seconds(5),
                .seconds(5),
            ]
        )
        #expect(clock.now == .milliseconds(14_000))
    }

    @Test func jitterDrawsEachDelayFromTheInjectedRandomSource() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let random = RandomDraws([0.5, 0.25, 1.0, 0.0, 0.75])
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 6, jitter: true),
            failures: Array(repeating: .rateLimit, count: 10)
        )
        _ = try await run(provider, in: workspace, clock: clock, random: random)
        // Computed: 250 ms, 500 ms, 1 s, 1.5 s, 1.5 s; each multiplied by its draw.
        #expect(
            clock.requested == [
                .milliseconds(125), .milliseconds(125), .seconds(1), .zero, .milliseconds(1125),
            ]
        )
        #expect(random.drawn == 5)
    }

    @Test func jitteredDelaysStayBetweenZeroAndTheComputedBackoff() async throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        print("RetryPolicyTests jitter seed \(seed)")
        var generator = SeededGenerator(seed: seed)
        let draws = (0..<11).map { _ in Double(generator.next() >> 11) / Double(1 << 53) }
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let random = RandomDraws(draws)
        let policy = Self.policy(maxAttempts: 12, jitter: true)
        let provider = FailureSequenceProvider(retryPolicy: policy, failures: Array(repeating: .timeout, count: 12))
        _ = try await run(provider, in: workspace, clock: clock, random: random)
        let computed: [Int64] = [250_000_000, 500_000_000, 1_000_000_000] + Array(repeating: 1_500_000_000, count: 8)
        #expect(clock.requested.count == 11)
        #expect(random.drawn == 11)
        for (index, delay) in clock.requested.enumerated() {
            #expect(delay >= .zero && delay <= .nanoseconds(computed[index]), "delay \(index + 1), seed \(seed)")
            // Exactly the draw's share of the computed backoff, to the nanosecond.
            let expected = Int64(draws[index] * Double(computed[index]))
            #expect(delay == .nanoseconds(expected), "delay \(index + 1), seed \(seed)")
        }
    }

    @Test(arguments: [
        (retryAfter: Duration.seconds(7), expected: Duration.seconds(7)),
        (retryAfter: Duration.milliseconds(100), expected: Duration.milliseconds(250)),
    ])
    func retryAfterLongerThanTheBackoffWins(retryAfter: Duration, expected: Duration) async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 3),
            failures: [.rateLimit],
            retryAfter: retryAfter
        )
        let result = try await run(provider, in: workspace, clock: clock)
        #expect(result.status == .completed)
        #expect(clock.requested == [expected])
    }

    @Test(arguments: [("7", Duration.seconds(7)), ("0.1", Duration.milliseconds(250))])
    func anHTTPProviderHonoursALongerRetryAfterHeader(header: String, expected: Duration) async throws {
        let server = try EchoJobServer()
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = HTTPProvider(name: "http", endpoint: server.endpoint, retryPolicy: Self.policy(maxAttempts: 3))
        let result = try await run(provider, in: workspace, clock: clock, prompt: "retry-after=\(header)")
        #expect(result.status == .completed)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.failed, .succeeded])
        #expect(receipts[0].error?.hasPrefix("server_error: POST") == true)
        #expect(clock.requested == [expected])
        #expect(try server.requests().count == 2)
    }

    @Test func anHTTPClientErrorIsNotRetried() async throws {
        let server = try EchoJobServer()
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let provider = HTTPProvider(name: "http", endpoint: server.endpoint, retryPolicy: Self.policy(maxAttempts: 3))
        let result = try await run(provider, in: workspace, clock: clock, prompt: "bad")
        #expect(result.status == .failed)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1])
        #expect(receipts[0].error?.hasPrefix("invalid_input: POST") == true)
        #expect(clock.requested.isEmpty)
        #expect(try server.requests().count == 1)
    }

    @Test func aProcessExitingWithATemporaryFailureIsRetriedAndOtherStatusesAreNot() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: true)
        let temporary = ProcessProvider(
            name: "tempfail",
            command: ["/bin/sh", "-c", "exit 75"],
            retryPolicy: Self.policy(maxAttempts: 3)
        )
        let retried = try await run(temporary, in: workspace, clock: clock)
        #expect(try workspace.ledger.receipts(runID: retried.runID).map(\.attempt) == [1, 2, 3])
        #expect(clock.requested == [.milliseconds(250), .milliseconds(500)])
        let broken = ProcessProvider(
            name: "broken",
            command: ["/bin/sh", "-c", "exit 3"],
            retryPolicy: Self.policy(maxAttempts: 3)
        )
        let once = try await run(broken, in: workspace, clock: clock)
        let receipts = try workspace.ledger.receipts(runID: once.runID)
        #expect(receipts.map(\.attempt) == [1])
        #expect(receipts[0].error == "model_error: /bin/sh exited with status 3")
        #expect(clock.requested.count == 2)
    }

    @Test func anAttemptTimeoutFiresOnTheFakeClockAndCancelsTheProvider() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: false)
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 1, attemptTimeout: .seconds(30)),
            failures: [],
            hangs: true
        )
        let running = Task { try await run(provider, in: workspace, clock: clock) }
        defer { running.cancel() }  // ends a hanging run if a wait below fails
        try await provider.log.waitForStart()
        try await clock.waitForRequests(1)
        #expect(clock.requested == [.seconds(30)])
        clock.advance(by: .seconds(29))
        clock.advance(by: .seconds(1))
        let result = try await running.value
        #expect(provider.log.cancelledAttempts == [1])
        #expect(result.status == .failed)
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.failed])
        #expect(receipts[0].error == "timeout: attempt 1 of make ran longer than 30.0 seconds")
    }

    @Test func aTimedOutAttemptIsRetriedAfterItsBackoff() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: false)
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 2, attemptTimeout: .seconds(10)),
            failures: [],
            hangs: true
        )
        let running = Task { try await run(provider, in: workspace, clock: clock) }
        defer { running.cancel() }  // ends a hanging run if a wait below fails
        try await clock.waitForRequests(1)
        clock.advance(by: .seconds(10))
        try await clock.waitForRequests(2)  // the backoff
        clock.advance(by: .milliseconds(250))
        try await clock.waitForRequests(3)  // attempt 2's time limit
        clock.advance(by: .seconds(10))
        let result = try await running.value
        #expect(clock.requested == [.seconds(10), .milliseconds(250), .seconds(10)])
        #expect(provider.log.cancelledAttempts == [1, 2])
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1, 2])
        #expect(receipts.allSatisfy { $0.error?.hasPrefix("timeout: attempt") == true })
    }

    @Test func anAttemptTimeoutKillsAHangingProcess() async throws {
        let workspace = try Workspace()
        let scratch = try TemporaryDirectory(prefix: "cairn-hang")
        let pidFile = scratch.appending("pid")
        let clock = FakeClock(autoAdvance: false)
        let provider = ProcessProvider(
            name: "hang",
            command: ["/bin/sh", "-c", "echo $$ > \"$0.tmp\" && mv \"$0.tmp\" \"$0\" && exec sleep 300", pidFile],
            retryPolicy: Self.policy(maxAttempts: 1, attemptTimeout: .seconds(60))
        )
        let running = Task { try await run(provider, in: workspace, clock: clock) }
        defer { running.cancel() }  // ends a hanging run if a wait below fails
        try await clock.waitForRequests(1)
        // Wait (bounded) until the child is running, so the time limit ends a live process.
        var waited = 0
        while !FileManager.default.fileExists(atPath: pidFile) && waited < 3000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        let pid = try #require(
            Int32(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
        )
        #expect(kill(pid, 0) == 0)
        clock.advance(by: .seconds(60))
        let result = try await running.value
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.failed])
        #expect(receipts[0].error == "timeout: attempt 1 of make ran longer than 60.0 seconds")
        // The child was killed and reaped before the run returned.
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }

    @Test func theRunTimeoutFiresOnTheFakeClockAndCancelsTheProvider() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: false)
        let provider = FailureSequenceProvider(retryPolicy: Self.policy(maxAttempts: 3), failures: [], hangs: true)
        let running = Task { try await run(provider, in: workspace, clock: clock, timeout: .seconds(120)) }
        defer { running.cancel() }  // ends a hanging run if a wait below fails
        try await provider.log.waitForStart()
        try await clock.waitForRequests(1)
        #expect(clock.requested == [.seconds(120)])
        clock.advance(by: .seconds(120))
        let result = try await running.value
        #expect(provider.log.cancelledAttempts == [1])
        #expect(result.status == .failed)
        #expect(result.error == "the run timed out")
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.status) == [.cancelled])
        #expect(receipts[0].error == "timeout: cancelled: the run timed out")
        #expect(clock.requested == [.seconds(120)])
    }

    @Test func cancellingDuringABackoffWaitRecordsTheRunAsCancelled() async throws {
        let workspace = try Workspace()
        let clock = FakeClock(autoAdvance: false)
        let provider = FailureSequenceProvider(
            retryPolicy: Self.policy(maxAttempts: 3),
            failures: Array(repeating: .serverError, count: 3)
        )
        let running = Task { try await run(provider, in: workspace, clock: clock) }
        defer { running.cancel() }  // ends a hanging run if a wait below fails
        try await clock.waitForRequests(1)
        #expect(clock.requested == [.milliseconds(250)])
        running.cancel()
        let result = try await running.value
        #expect(result.status == .cancelled)
        #expect(result.steps[0].status == .cancelled)
        #expect(result.steps[0].error == "cancelled before attempt 2")
        #expect(provider.log.startedAttempts == [1])
        let receipts = try workspace.ledger.receipts(runID: result.runID)
        #expect(receipts.map(\.attempt) == [1])
        #expect(receipts[0].status == .failed)
        let manifest = try workspace.manifest(result)
        #expect(manifest.objectValue?["run"]?.objectValue?["status"]?.stringValue == "cancelled")
        #expect(clock.now == .zero)
    }

    @Test func theRetryFieldOfAPipelineFileSetsEveryPart() throws {
        let file = try PipelineFile.parse(
            """
            name: r
            providers:
              flaky:
                type: synthetic
                fail_attempts: 2
                retry: {max_attempts: 5, base_delay_ms: 250, max_delay_ms: 1500, attempt_timeout_s: 2.5, jitter: false}
            steps:
              - {provider: flaky, model: m, modality: text}
            """
        )
        let policy = file.stages[0].steps[0].provider.retryPolicy
        #expect(policy.maxAttempts == 5)
        #expect(policy.baseDelay == .milliseconds(250))
        #expect(policy.maxDelay == .milliseconds(1500))
        #expect(policy.attemptTimeout == .milliseconds(2500))
        #expect(policy.jitter == false)
        #expect(policy.factor == 2)
        #expect(policy.retryableCodes == [.timeout, .rateLimit, .serverError])
        // Unset fields keep the provider type's defaults.
        let defaults = try PipelineFile.parse(
            "name: r\nproviders:\n  p: {type: process, command: [/bin/true], retry: {jitter: false}}\n"
                + "steps:\n  - {provider: p, model: m, modality: text}\n"
        )
        let standard = defaults.stages[0].steps[0].provider.retryPolicy
        #expect(standard == RetryPolicy(jitter: false))
    }

    @Test(arguments: TestBackend.available)
    func aPipelineFilesRetryFieldDrivesTheBackoffOfItsRun(backend: TestBackend) async throws {
        let workspace = try Workspace(backend)
        let file = try PipelineFile.parse(
            """
            name: r
            providers:
              flaky:
                type: synthetic
                fail_attempts: 3
                retry: {max_attempts: 4, base_delay_ms: 40, max_delay_ms: 100, jitter: false}
            steps:
              - {provider: flaky, model: m, modality: text}
            """
        )
        var pipeline = file.makePipeline(ledger: workspace.ledger)
        let clock = FakeClock(autoAdvance: true)
        pipeline.timing = clock.timing()
        let result = try await pipeline.run()
        #expect(result.status == .completed)
        #expect(try workspace.ledger.receipts(runID: result.runID).map(\.attempt) == [1, 2, 3, 4])
        #expect(clock.requested == [.milliseconds(40), .milliseconds(80), .milliseconds(100)])
    }

    @Test(arguments: [
        ("max_attempts: 0", "retry.max_attempts: must be in 1...100"),
        ("max_attempts: 101", "retry.max_attempts: must be in 1...100"),
        ("base_delay_ms: fast", "retry.base_delay_ms: must be an integer"),
        ("max_delay_ms: -1", "retry.max_delay_ms: must be in 0...3600000"),
        ("attempt_timeout_s: -2", "retry.attempt_timeout_s: must be a non-negative number"),
        ("jitter: sometimes", "retry.jitter: must be true or false"),
        ("retries: 3", "retry.retries: unknown field"),
    ])
    func badRetryFieldsNameTheProblem(field: String, message: String) {
        let text =
            "name: r\nproviders:\n  p: {type: synthetic, retry: {\(field)}}\nsteps:\n  - {provider: p, model: m, modality: text}\n"
        let error = #expect(throws: PipelineError.self) { _ = try PipelineFile.parse(text, source: "r.yaml") }
        #expect(error?.code == .invalidFile)
        #expect(error?.message.contains("providers.p.\(message)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("line 3") == true, "\(error?.message ?? "")")
    }
}
